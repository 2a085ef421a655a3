//! One submission, one trace: ingestion, relay and projector run as separate
//! processes against PostgreSQL and Kafka and export over OTLP to a collector
//! inside the test, which checks that a submission's spans form one connected
//! trace across the Kafka hop, and that the metrics arrive.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gongkai_proto::v1 as pb;
use gongkai_proto::v1::project_service_client::ProjectServiceClient;
use gongkai_proto::v1::tender_service_client::TenderServiceClient;
use gongkai_scenarios::{Request, ppp_lifecycle};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::ingestion::{Backend, HARBIN_TOKEN, Ingestion};
use crate::projection::{KafkaLog, wait_for_public_seq};
use crate::resilience::worker;
use crate::support::{channel, start_gongkai};

/// A span as the collector received it.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    /// `service.name` of the process that sent it.
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
}

/// One data point of a metric as the collector received it.
#[derive(Debug, Clone)]
struct ReceivedPoint {
    service: String,
    metric: String,
    attributes: BTreeMap<String, String>,
}

/// An OTLP/gRPC receiver for traces and metrics that keeps what it is sent.
#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    points: Arc<Mutex<Vec<ReceivedPoint>>>,
}

/// String and integer attributes as text.
fn attributes(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .filter_map(|pair| {
            let value = match pair.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(text) => text.clone(),
                any_value::Value::IntValue(number) => number.to_string(),
                _ => return None,
            };
            Some((pair.key.clone(), value))
        })
        .collect()
}

fn service_name(resource: Option<&Resource>) -> String {
    resource.and_then(|resource| attributes(&resource.attributes).remove("service.name")).unwrap_or_default()
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("collector lock");
        for resource_spans in request.into_inner().resource_spans {
            let service = service_name(resource_spans.resource.as_ref());
            for span in resource_spans.scope_spans.into_iter().flat_map(|scope| scope.spans) {
                spans.push(ReceivedSpan {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex::encode(span.trace_id),
                    span_id: hex::encode(span.span_id),
                    parent_span_id: hex::encode(span.parent_span_id),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut points = self.points.lock().expect("collector lock");
        for resource_metrics in request.into_inner().resource_metrics {
            let service = service_name(resource_metrics.resource.as_ref());
            for metric in resource_metrics.scope_metrics.into_iter().flat_map(|scope| scope.metrics) {
                let point_attributes: Vec<BTreeMap<String, String>> = match &metric.data {
                    Some(Data::Sum(sum)) => sum.data_points.iter().map(|p| attributes(&p.attributes)).collect(),
                    Some(Data::Gauge(gauge)) => gauge.data_points.iter().map(|p| attributes(&p.attributes)).collect(),
                    Some(Data::Histogram(histogram)) => {
                        histogram.data_points.iter().map(|p| attributes(&p.attributes)).collect()
                    }
                    _ => Vec::new(),
                };
                points.extend(point_attributes.into_iter().map(|attributes| ReceivedPoint {
                    service: service.clone(),
                    metric: metric.name.clone(),
                    attributes,
                }));
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

impl Collector {
    /// Serves on a free loopback port; returns the OTLP endpoint.
    async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("collector binds");
        let endpoint = format!("http://{}", listener.local_addr().expect("bound address"));
        let collector = Collector::default();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(async move { server.await.expect("collector serves") });
        (collector, endpoint)
    }

    fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans.lock().expect("collector lock").iter().filter(|span| span.trace_id == trace_id).cloned().collect()
    }

    fn points(&self) -> Vec<ReceivedPoint> {
        self.points.lock().expect("collector lock").clone()
    }
}

/// Polls `check` until it gives a value, failing after `limit`.
async fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < limit, "{what} did not arrive within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ASCII"));
    request
}

/// The span of the trading center that sends the traced approval.
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The approval of `project`, sent by `token` as part of the caller's span
/// [`CALLER_SPAN`] of a new trace; returns the trace id and the receipt.
async fn send_traced_approval(grpc: tonic::transport::Channel, token: &str, project: &str) -> (String, pb::Receipt) {
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let lifecycle = ppp_lifecycle(project, "traced");
    let Request::RecordApproval(approval) = lifecycle.requests[0].clone() else {
        panic!("a lifecycle starts with its approval");
    };
    let mut request = authorized(approval, token);
    request.metadata_mut().insert("traceparent", format!("00-{trace_id}-{CALLER_SPAN}-01").parse().expect("ASCII"));
    let receipt = ProjectServiceClient::new(grpc).record_approval(request).await.expect("accepted").into_inner();
    (trace_id, receipt)
}

/// The spans of trace `trace_id` once every one of `names` has arrived.
async fn wait_for_spans(collector: &Collector, trace_id: &str, names: &[&str]) -> Vec<ReceivedSpan> {
    let spans = eventually("every span of the submission", Duration::from_secs(60), || {
        let spans = collector.trace(trace_id);
        names.iter().all(|name| spans.iter().any(|span| span.name == *name)).then_some(spans)
    })
    .await;
    for span in &spans {
        println!("{:<18} {:<42} {} <- {}", span.service, span.name, span.span_id, span.parent_span_id);
    }
    spans
}

/// The one span called `name`.
fn one<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let named: Vec<&ReceivedSpan> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(named.len(), 1, "one `{name}` span in {spans:#?}");
    named[0]
}

/// Every process exports over OTLP to `otlp`, spans every 100 ms and
/// metrics every 500 ms instead of every 5 s and 60 s.
fn otlp_env(otlp: &str) -> [(&str, &str); 3] {
    [("OTEL_EXPORTER_OTLP_ENDPOINT", otlp), ("OTEL_BSP_SCHEDULE_DELAY", "100"), ("OTEL_METRIC_EXPORT_INTERVAL", "500")]
}

/// The spans of one submission, from the gRPC call to the fold.
const SUBMISSION_SPANS: [&str; 8] = [
    "gongkai.v1.ProjectService/RecordApproval",
    "ingest.submit",
    "ingest.validate",
    "store.load_stream",
    "ingest.decide",
    "store.append",
    "relay.publish",
    "projector.fold",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_submission_is_one_trace_from_the_grpc_call_through_kafka_to_the_projector() {
    let (collector, otlp) = Collector::start().await;
    let log = KafkaLog::isolated();
    let mut env = log.env().to_vec();
    env.extend(otlp_env(&otlp));
    // Three processes, so that each component reports as its own service.
    let ingestion = Ingestion::start_with(Backend::Postgres, "projects", &env).await;
    let relay = worker(&ingestion, "relay", &env).await;
    let projector = worker(&ingestion, "projector", &env).await;

    let grpc = channel(ingestion.process.endpoint("grpc")).await;
    let project = "2024-230113-77-01-000020";
    let (trace_id, receipt) = send_traced_approval(grpc.clone(), HARBIN_TOKEN, project).await;
    let refused = ProjectServiceClient::new(grpc.clone())
        .record_approval(authorized(pb::RecordApprovalRequest::default(), HARBIN_TOKEN))
        .await
        .expect_err("an empty approval is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    // This process serves the projects service only.
    let missing = TenderServiceClient::new(grpc)
        .announce_tender(authorized(pb::AnnounceTenderRequest::default(), HARBIN_TOKEN))
        .await
        .expect_err("tenders are not served here");
    assert_eq!(missing.code(), tonic::Code::Unimplemented);
    wait_for_public_seq(&ingestion.store, project, receipt.project_seq, Duration::from_secs(60)).await;

    let spans = wait_for_spans(&collector, &trace_id, &SUBMISSION_SPANS).await;
    let one = |name: &str| one(&spans, name);
    let call = one(SUBMISSION_SPANS[0]);
    let submit = one("ingest.submit");
    let append = one("store.append");
    let publish = one("relay.publish");
    let fold = one("projector.fold");
    for (span, service) in [(call, "gongkai-projects"), (append, "gongkai-projects")]
        .into_iter()
        .chain([(publish, "gongkai-relay"), (fold, "gongkai-projector")])
    {
        assert_eq!(span.service, service, "{} is recorded by {service}", span.name);
    }
    // The parent chain: caller → gRPC call → submission → its steps; the
    // append → the relay's publish → the projector's fold.
    assert_eq!(call.parent_span_id, CALLER_SPAN, "the call continues the caller's trace");
    assert_eq!(submit.parent_span_id, call.span_id);
    for step in ["ingest.validate", "store.load_stream", "ingest.decide", "store.append"] {
        assert_eq!(one(step).parent_span_id, submit.span_id, "{step} is a step of the submission");
    }
    assert_eq!(publish.parent_span_id, append.span_id, "the relay continues the append's context from the outbox");
    assert_eq!(fold.parent_span_id, publish.span_id, "the projector continues the relay's context from Kafka");
    // Connected: every span hangs off the caller or another span of the trace.
    for span in &spans {
        let parent_known = span.parent_span_id == CALLER_SPAN || spans.iter().any(|s| s.span_id == span.parent_span_id);
        assert!(parent_known, "{span:?} is cut off from the trace");
    }

    let has = |points: &[ReceivedPoint], service: &str, metric: &str, wanted: &[(&str, &str)]| {
        points.iter().any(|point| {
            point.service == service
                && point.metric == metric
                && wanted.iter().all(|(key, value)| point.attributes.get(*key).map(String::as_str) == Some(*value))
        })
    };
    let method = ("rpc.method", "/gongkai.v1.ProjectService/RecordApproval");
    let expected = [
        ("gongkai-projects", "gongkai.submissions", &[("domain", "projects"), ("outcome", "accepted")][..]),
        ("gongkai-projects", "gongkai.submissions", &[("outcome", "refused"), ("reason", "INVALID_ARGUMENT")]),
        ("gongkai-projects", "gongkai.rpc.server.duration", &[method]),
        ("gongkai-projects", "gongkai.rpc.server.duration", &[("rpc.method", "unimplemented")]),
        ("gongkai-relay", "gongkai.relay.backlog", &[]),
        ("gongkai-projector", "gongkai.projector.lag", &[]),
        ("gongkai-relay", "gongkai.relay.parked", &[]),
        ("gongkai-projector", "gongkai.projector.parked", &[]),
    ];
    for (service, metric, wanted) in expected {
        eventually(&format!("{metric} {wanted:?} from {service}"), Duration::from_secs(30), || {
            has(&collector.points(), service, metric, wanted).then_some(())
        })
        .await;
    }

    // Each process flushes its exporters and exits cleanly.
    for process in [relay, projector] {
        assert!(process.terminate(Duration::from_secs(30)).await.success(), "exits 0 after flushing telemetry");
    }
    assert!(ingestion.terminate().await.success(), "ingestion exits 0 after flushing telemetry");
}

#[tokio::test]
async fn the_embedded_projector_folds_a_submission_within_its_trace() {
    let (collector, otlp) = Collector::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = gongkai_testkit::fresh_sqlite_url(dir.path());
    let mut env = vec![("GONGKAI_STORAGE__URL", storage.as_str())];
    env.extend(otlp_env(&otlp));
    let gongkai = start_gongkai(&["dev", "--grpc-listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"], &env).await;

    let grpc = channel(gongkai.endpoint("grpc")).await;
    let (trace_id, _) = send_traced_approval(grpc, gongkai.endpoint("token"), "2024-230113-77-01-000021").await;
    let spans = wait_for_spans(&collector, &trace_id, &["store.append", "projector.fold"]).await;
    let (append, fold) = (one(&spans, "store.append"), one(&spans, "projector.fold"));
    assert_eq!(fold.service, "gongkai-dev");
    // Without Kafka the projector finds the append's context in the outbox row.
    assert_eq!(fold.parent_span_id, append.span_id, "the fold continues the append's context");
}
