//! Every gongkai gRPC server is built here, so that each one offers the same
//! things: `grpc.health.v1.Health` (what Kubernetes probes), server reflection
//! (v1 and v1alpha, for grpcurl and friends) listing the services this server
//! runs and resolving every symbol of the `gongkai.v1` contract and of the
//! `google.rpc` error details its refusals carry, bounded message sizes,
//! per-call traces and latency when telemetry is exported, and a graceful
//! shutdown that reports NOT_SERVING before it stops accepting calls.
//!
//! No request, byte or connection can hold a server: undecodable and
//! oversize requests get the contract's codes ([`codes`]), error trailers
//! stay small ([`details`]), and [`ConnectionLimits`] bound what each
//! connection may hold (streams, time to start and to answer, liveness)
//! and how many connections there are ([`connection`]).

pub mod auth;
pub mod codes;
mod connection;
pub mod details;
mod observe;

use std::future::Future;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Largest request message a server decodes, by default (4 MiB): facts carry
/// document references, never the documents themselves.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How a server holds connections to account. Every bound applies per
/// server; `None` durations switch that bound off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once. Beyond it the server stops accepting:
    /// new connections wait in the listen backlog (their calls are queued,
    /// not refused) until a served one closes.
    pub max_connections: NonZeroUsize,
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`: calls in flight per
    /// connection; clients queue the ones beyond it.
    pub max_concurrent_streams: NonZeroU32,
    /// How often an HTTP/2 PING checks that a connection's peer is alive.
    pub keepalive_interval: Option<Duration>,
    /// How long a PING may go unanswered before the connection is closed.
    pub keepalive_timeout: Duration,
    /// How long a call may take until its response starts (reading the
    /// request included); it then ends CANCELLED. A stream's messages are
    /// not bounded by it.
    pub request_timeout: Option<Duration>,
    /// How long a new connection has to send its first 24 bytes (the
    /// HTTP/2 preface, or the start of a TLS ClientHello) before it is
    /// closed, so that silent connections cannot hold `max_connections`.
    pub handshake_timeout: Option<Duration>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: NonZeroUsize::new(512).expect("non-zero"),
            max_concurrent_streams: NonZeroU32::new(128).expect("non-zero"),
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_timeout: Duration::from_secs(20),
            request_timeout: Some(Duration::from_secs(60)),
            handshake_timeout: Some(Duration::from_secs(10)),
        }
    }
}

/// Failures while running a gRPC server.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// The reflection service could not load the descriptor sets.
    #[error("could not build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The listener's address could not be read.
    #[error("could not read the listener address")]
    Listener(#[source] std::io::Error),
    /// The TLS certificate or key could not be used.
    #[error("could not configure TLS")]
    Tls(#[source] tonic::transport::Error),
    /// The transport failed while serving.
    #[error("gRPC transport failed")]
    Transport(#[from] tonic::transport::Error),
}

/// A gRPC server under construction: add services, then [`GrpcServer::serve`].
#[derive(Debug)]
pub struct GrpcServer {
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    max_message_bytes: usize,
    limits: ConnectionLimits,
    tls: Option<tonic::transport::Identity>,
    health_listener: Option<TcpListener>,
    /// Components of the process that report their own health.
    components: Vec<(&'static str, tokio::sync::watch::Receiver<bool>)>,
}

impl Default for GrpcServer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_BYTES)
    }
}

impl GrpcServer {
    /// A server whose services decode messages up to `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            routes: RoutesBuilder::default(),
            service_names: Vec::new(),
            max_message_bytes,
            limits: ConnectionLimits::default(),
            tls: None,
            health_listener: None,
            components: Vec::new(),
        }
    }

    /// Serves over TLS (rustls) with this PEM certificate chain and key.
    pub fn tls(&mut self, cert_pem: &[u8], key_pem: &[u8]) -> &mut Self {
        self.tls = Some(tonic::transport::Identity::from_pem(cert_pem, key_pem));
        self
    }

    /// Bounds connections by `limits` instead of the defaults.
    pub fn limits(&mut self, limits: ConnectionLimits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The decoding limit that services added here should apply.
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    /// Also answers `grpc.health.v1.Health` (and reflection of it, nothing
    /// else) in plaintext on `listener`, for probes that cannot speak TLS
    /// (Kubernetes gRPC probes) and for grpcurl.
    pub fn health_listener(&mut self, listener: TcpListener) -> &mut Self {
        self.health_listener = Some(listener);
        self
    }

    /// Reports `name` (e.g. `gongkai.projector`) in `grpc.health.v1.Health`
    /// as SERVING while `live` says so and NOT_SERVING otherwise: a
    /// component of the process with no gRPC service of its own, checked
    /// by name. The overall status (the empty name) stays the server's.
    pub fn component(&mut self, name: &'static str, live: tokio::sync::watch::Receiver<bool>) -> &mut Self {
        self.components.push((name, live));
        self
    }

    /// Adds a service; its health status becomes SERVING once the server runs.
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: tower_service::Service<http::Request<tonic::body::Body>, Error = std::convert::Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.service_names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Serves on `listener` until `shutdown` resolves, then reports
    /// NOT_SERVING and drains the calls in flight.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<(), GrpcError>
    where
        F: Future<Output = ()> + Send,
    {
        let address: SocketAddr = listener.local_addr().map_err(GrpcError::Listener)?;
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let reflection_v1 = reflection(&CONTRACT_FILES, &self.service_names).build_v1()?;
        let reflection_v1alpha = reflection(&CONTRACT_FILES, &self.service_names).build_v1alpha()?;

        set_status(&reporter, &self.service_names, ServingStatus::Serving).await;
        let mut components = tokio::task::JoinSet::new();
        for (name, live) in self.components {
            // Known before the first call is served: a probe that asks at
            // once hears NOT_SERVING (or SERVING), never "not registered".
            let status = if *live.borrow() { ServingStatus::Serving } else { ServingStatus::NotServing };
            reporter.set_service_status(name, status).await;
            components.spawn(report_component(reporter.clone(), name, live));
        }
        let mut routes = self.routes;
        routes.add_service(health_service.clone()).add_service(reflection_v1).add_service(reflection_v1alpha);

        let health_stop = tokio_util::sync::CancellationToken::new();
        let health_task = match self.health_listener {
            Some(listener) => {
                let health_address = listener.local_addr().map_err(GrpcError::Listener)?;
                tracing::info!(address = %health_address, "gRPC health listening (plaintext, health only).");
                let stop = health_stop.clone().cancelled_owned();
                let health_reflection = reflection(&[], &[]).build_v1()?;
                let health_reflection_v1alpha = reflection(&[], &[]).build_v1alpha()?;
                Some(tokio::spawn(
                    tonic::transport::Server::builder()
                        .add_service(health_service)
                        .add_service(health_reflection)
                        .add_service(health_reflection_v1alpha)
                        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop),
                ))
            }
            None => None,
        };

        tracing::info!(%address, tls = self.tls.is_some(), services = ?self.service_names, "gRPC server listening.");
        let stop_reporter = reporter.clone();
        let names = self.service_names.clone();
        let limits = self.limits;
        let mut builder = tonic::transport::Server::builder()
            .http2_keepalive_interval(limits.keepalive_interval)
            .http2_keepalive_timeout(Some(limits.keepalive_timeout))
            .max_concurrent_streams(limits.max_concurrent_streams.get());
        if let Some(timeout) = limits.request_timeout {
            builder = builder.timeout(timeout);
        }
        // Observe sees the codes the client gets, so it wraps ContractCodes.
        let mut builder = builder.layer(observe::ObserveLayer).layer(codes::ContractCodesLayer);
        if let Some(identity) = self.tls {
            builder = builder
                .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                .map_err(GrpcError::Tls)?;
        }
        let result = builder
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(connection::incoming(listener, &limits), async move {
                shutdown.await;
                set_status(&stop_reporter, &names, ServingStatus::NotServing).await;
                tracing::info!(%address, "gRPC server draining.");
            })
            .await;
        components.abort_all();
        health_stop.cancel();
        if let Some(task) = health_task {
            // The health port only mirrors the main server; its own failure
            // after shutdown changes nothing.
            if let Ok(Err(error)) = task.await {
                tracing::warn!(%error, "gRPC health server failed.");
            }
        }
        result.map_err(GrpcError::from)
    }
}

/// The descriptor sets of the contract and of the `google.rpc` error model
/// (so that clients can decode a refusal's details by reflection alone).
const CONTRACT_FILES: [&[u8]; 2] = [gongkai_proto::FILE_DESCRIPTOR_SET, gongkai_proto::ERROR_MODEL_DESCRIPTOR_SET];

/// Server reflection listing `services`, health and both reflection
/// versions, nothing else (the contract's other services run elsewhere),
/// and resolving every symbol of `files`, of health and of reflection. The
/// main port reflects the contract; the health-only port, health alone, so
/// that grpcurl can probe it by name.
fn reflection(files: &[&'static [u8]], services: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    use tonic_health::pb::health_server::SERVICE_NAME as HEALTH;
    use tonic_reflection::pb::v1::server_reflection_server::SERVICE_NAME as REFLECTION_V1;
    use tonic_reflection::pb::v1alpha::server_reflection_server::SERVICE_NAME as REFLECTION_V1ALPHA;

    let always = [
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut builder = tonic_reflection::server::Builder::configure();
    for file in files.iter().chain(&always) {
        builder = builder.register_encoded_file_descriptor_set(file);
    }
    for name in services.iter().chain(&[HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA]) {
        builder = builder.with_service_name(*name);
    }
    builder
}

/// Reports component `name` as `live` says, at every change.
async fn report_component(reporter: HealthReporter, name: &'static str, mut live: tokio::sync::watch::Receiver<bool>) {
    loop {
        let status = if *live.borrow_and_update() { ServingStatus::Serving } else { ServingStatus::NotServing };
        reporter.set_service_status(name, status).await;
        if live.changed().await.is_err() {
            // The component is gone: it serves nothing any more.
            reporter.set_service_status(name, ServingStatus::NotServing).await;
            return;
        }
    }
}

/// Sets the overall status (the empty service name) and each service's.
async fn set_status(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}
