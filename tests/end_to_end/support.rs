//! Clients the scenarios use to talk to a running gongkai.

use std::path::Path;
use std::time::Duration;

use gongkai_testkit::GongkaiProcess;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// The gongkai executable built for this test run.
pub(crate) fn gongkai_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_gongkai"))
}

/// Starts gongkai with `args`, quiet logs, and `env`.
pub(crate) async fn start_gongkai(args: &[&str], env: &[(&str, &str)]) -> GongkaiProcess {
    let mut env = env.to_vec();
    if !env.iter().any(|(key, _)| *key == "RUST_LOG") {
        env.push(("RUST_LOG", "warn"));
    }
    GongkaiProcess::start(gongkai_binary(), args, &env, Duration::from_secs(60)).await
}

/// Connects a gRPC channel to `endpoint` (`http://host:port`).
pub(crate) async fn channel(endpoint: &str) -> Channel {
    Channel::from_shared(endpoint.to_owned())
        .expect("endpoint is a URI")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {endpoint}: {error}"))
}

/// The health status of `service` ("" = the server as a whole).
pub(crate) async fn health(channel: Channel, service: &str) -> ServingStatus {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest { service: service.to_owned() })
        .await
        .unwrap_or_else(|status| panic!("health check of `{service}` failed: {status}"));
    response.into_inner().status()
}

/// How long `service` took to report SERVING, asking every 10 ms; panics
/// after `within`.
pub(crate) async fn serving_after(channel: Channel, service: &str, within: std::time::Duration) -> std::time::Duration {
    let started = std::time::Instant::now();
    while health(channel.clone(), service).await != ServingStatus::Serving {
        assert!(started.elapsed() < within, "`{service}` not SERVING within {within:?}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// The service names the server lists through gRPC reflection (v1).
pub(crate) async fn reflected_services(channel: Channel) -> Vec<String> {
    try_reflected_services(channel).await.expect("reflection answers")
}

/// The service names listed through gRPC reflection (v1), or the status.
pub(crate) async fn try_reflected_services(channel: Channel) -> Result<Vec<String>, tonic::Status> {
    match try_reflect(channel, MessageRequest::ListServices(String::new())).await? {
        MessageResponse::ListServicesResponse(list) => Ok(list.service.into_iter().map(|s| s.name).collect()),
        other => panic!("unexpected reflection response: {other:?}"),
    }
}

/// The answer to one gRPC reflection (v1) request, or the status.
pub(crate) async fn try_reflect(channel: Channel, request: MessageRequest) -> Result<MessageResponse, tonic::Status> {
    let request = ServerReflectionRequest { host: String::new(), message_request: Some(request) };
    let mut responses =
        ServerReflectionClient::new(channel).server_reflection_info(tokio_stream::once(request)).await?.into_inner();
    let response = responses.next().await.expect("one response")?;
    Ok(response.message_response.expect("an answer"))
}

/// GETs `url` and returns the status code and body.
pub(crate) async fn http_get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("body is text"))
}

/// `gongkai dev` on a new SQLite file, with clients holding its announced
/// token and the test's own connection to the same store.
pub(crate) struct Embedded {
    /// Holds the database file for as long as the test runs.
    pub(crate) _dir: tempfile::TempDir,
    /// The running process.
    pub(crate) gongkai: GongkaiProcess,
    /// Ingestion clients with the dev token.
    pub(crate) clients: gongkai_load::Clients,
    /// The store the process writes, read directly.
    pub(crate) store: gongkai_store::Store,
}

impl Embedded {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = gongkai_testkit::fresh_sqlite_url(dir.path());
        let gongkai = start_gongkai(
            &["dev", "--grpc-listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"],
            &[("GONGKAI_STORAGE__URL", &storage)],
        )
        .await;
        let clients = gongkai_load::Clients::new(channel(gongkai.endpoint("grpc")).await, gongkai.endpoint("token"));
        let store =
            gongkai_store::Store::connect(&storage, &gongkai_store::PoolOptions::default()).await.expect("store");
        Self { _dir: dir, gongkai, clients, store }
    }
}
