//! Telemetry for every gongkai process, built once at start-up.
//!
//! Logs always go to stderr through `tracing` (filter with `RUST_LOG`).
//! OpenTelemetry traces and metrics are exported over OTLP only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise nothing leaves the process.
//! Traces carry gongkai's own spans from INFO up whatever `RUST_LOG` says,
//! so quieter logs never cut a trace apart.
//! The returned [`Telemetry`] flushes and shuts the exporters down on drop.
//!
//! This crate is also the one place that knows how a trace crosses a process
//! boundary ([`propagation`]: W3C `traceparent` in gRPC metadata, outbox rows
//! and Kafka headers) and which metrics gongkai reports ([`metrics`]). Both
//! do nothing, and allocate nothing, unless [`exporting`] is true.

pub mod metrics;
pub mod propagation;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The environment variable that switches OTLP export on.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Set once the OTLP exporters are installed; never cleared.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces and metrics over OTLP. Without it
/// there is nobody to hand a trace context or a measurement to, so callers
/// skip that work.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Failures while setting telemetry up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from the environment.
    #[error("could not build the OTLP exporter")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed.
    #[error("could not install the tracing subscriber")]
    Subscriber(#[source] tracing_subscriber::util::TryInitError),
}

/// Log output format on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Keeps the exporters alive; flushes and shuts them down when dropped.
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

impl Telemetry {
    /// Installs the global subscriber, propagator and, when configured,
    /// the OTLP exporters. `service` names this process in traces.
    pub fn init(service: &str, format: LogFormat) -> Result<Self, TelemetryError> {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let filter = EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,rdkafka=warn,h2=warn,tower=warn"));
        let fmt_layer = match format {
            LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed(),
            LogFormat::Json => tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr).boxed(),
        }
        .with_filter(filter);

        let mut telemetry = Telemetry::default();
        let otel_layer = if std::env::var_os(OTLP_ENDPOINT_VAR).is_some() {
            let resource = Resource::builder().with_service_name(service.to_owned()).build();
            let spans =
                opentelemetry_otlp::SpanExporter::builder().with_tonic().build().map_err(TelemetryError::Exporter)?;
            let tracer_provider =
                SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource.clone()).build();
            let metrics =
                opentelemetry_otlp::MetricExporter::builder().with_tonic().build().map_err(TelemetryError::Exporter)?;
            let meter_provider =
                SdkMeterProvider::builder().with_periodic_exporter(metrics).with_resource(resource).build();
            opentelemetry::global::set_tracer_provider(tracer_provider.clone());
            opentelemetry::global::set_meter_provider(meter_provider.clone());
            let tracer = tracer_provider.tracer("gongkai");
            telemetry.tracer_provider = Some(tracer_provider);
            telemetry.meter_provider = Some(meter_provider);
            // Every crate of gongkai is named `gongkai…`.
            let gongkai_spans =
                Targets::new().with_target("gongkai", LevelFilter::INFO).with_default(LevelFilter::WARN);
            Some(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(gongkai_spans))
        } else {
            None
        };

        tracing_subscriber::registry()
            .with(fmt_layer)
            .with(otel_layer)
            .try_init()
            .map_err(TelemetryError::Subscriber)?;
        EXPORTING.store(telemetry.tracer_provider.is_some(), Ordering::Relaxed);
        Ok(telemetry)
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Shutdown flushes what is buffered; a failure here can only be logged.
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("Trace exporter shutdown failed: {error}");
        }
        if let Some(provider) = self.meter_provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("Metric exporter shutdown failed: {error}");
        }
    }
}
