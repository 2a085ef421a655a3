//! The five ingestion services over real sockets, each behaviour run against
//! SQLite and the real PostgreSQL with one generic test body.
//!
//! Here is the harness the other scenarios share: [`Ingestion`] (gongkai on a
//! fresh database), the credentials of its configuration, and helpers that
//! read a refusal's details. The test bodies: [`lifecycle`] (the lawful
//! lifecycle, alone and from concurrent clients), [`refusals`] (retries,
//! malformed fields, facts out of order, callers without the right; nothing
//! written), [`every_rpc`] (every RPC the lifecycle does not use).

mod every_rpc;
mod lifecycle;
mod refusals;

use gongkai_load::Clients;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_client::SupervisionServiceClient;
use gongkai_scenarios::Request;
use gongkai_store::{EventCounts, PoolOptions, Store};
use gongkai_testkit::GongkaiProcess;
// The other scenarios name the backend from here, beside `Ingestion`.
pub(crate) use gongkai_testkit::store::Backend;
use tonic_types::StatusExt;

use every_rpc::every_other_rpc_is_accepted_in_a_plausible_order;
pub(crate) use every_rpc::submit_every_other_rpc;
use lifecycle::{
    concurrent_clients_on_one_project_lose_and_duplicate_nothing,
    full_ppp_lifecycle_is_accepted_with_gapless_seqs_and_an_intact_chain,
};
use refusals::{
    a_fact_out_of_order_is_refused_with_its_rule_and_nothing_is_written,
    a_retry_returns_the_first_receipt_and_a_reused_id_is_refused,
    callers_are_authenticated_and_scoped_to_their_regions, malformed_fields_are_each_reported_and_nothing_is_written,
};

use crate::support::{channel, gongkai_binary, start_gongkai};

/// Credentials of the test configuration: token, id, role, regions.
pub(crate) const HARBIN_TOKEN: &str = "harbin-trading-center-token";
const QIQIHAR_TOKEN: &str = "qiqihar-trading-center-token";
pub(crate) const SUPERVISOR_TOKEN: &str = "heilongjiang-supervisor-token";

/// gongkai serving the five ingestion targets on a fresh database.
pub(crate) struct Ingestion {
    _dir: tempfile::TempDir,
    pub(crate) process: GongkaiProcess,
    /// The database URL.
    pub(crate) storage: String,
    /// The configuration file (credentials).
    pub(crate) config: String,
    /// The same database, read directly by the test.
    pub(crate) store: Store,
    /// Clients authenticated as the Harbin trading center (regions 2301).
    pub(crate) harbin: Clients,
}

fn credential(id: &str, token: &str, role: &str, regions: &str) -> String {
    let hash = hex::encode(gongkai_grpc::auth::token_sha256(token));
    format!(
        "[[auth.credentials]]\nid = \"{id}\"\ntoken_sha256 = \"{hash}\"\nrole = \"{role}\"\nregions = [{regions}]\n"
    )
}

impl Ingestion {
    pub(crate) async fn start(backend: Backend) -> Self {
        Self::start_with(backend, "projects,tenders,review,awards,contracts", &[]).await
    }

    /// gongkai serving `targets` on a fresh database, with `extra_env`.
    pub(crate) async fn start_with(backend: Backend, targets: &str, extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = backend.fresh_url(dir.path()).await;
        Self::start_on(dir, storage, targets, extra_env).await
    }

    /// gongkai serving `targets` with `extra_env` on the empty database at
    /// `storage`, migrated first; its configuration goes into `dir`.
    pub(crate) async fn start_on(
        dir: tempfile::TempDir,
        storage: String,
        targets: &str,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let config = dir.path().join("gongkai.toml");
        let credentials = [
            credential("hrb-ggzy", HARBIN_TOKEN, "submitter", "\"2301\""),
            credential("qqhr-ggzy", QIQIHAR_TOKEN, "submitter", "\"2302\""),
            credential("hlj-supervisor", SUPERVISOR_TOKEN, "supervisor", "\"23\""),
        ];
        let tlog = format!("[tlog]\nsigning_key = \"{}\"\ncheckpoint_interval_ms = 100\n", log_signer().signer_key());
        std::fs::write(&config, format!("{}\n{tlog}", credentials.join("\n"))).expect("config written");
        let config = config.to_str().expect("utf-8 path").to_owned();
        let mut env = vec![("GONGKAI_STORAGE__URL", storage.as_str()), ("GONGKAI_GRPC__LISTEN", "127.0.0.1:0")];
        env.extend_from_slice(extra_env);

        let migrated = tokio::process::Command::new(gongkai_binary())
            .args(["migrate", "--config", &config])
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .status()
            .await
            .expect("gongkai migrate runs");
        assert!(migrated.success(), "migrations apply");
        let store = Store::connect(&storage, &PoolOptions::default()).await.expect("test reads the store");
        Stopped { dir, storage, config, store }.start(targets, extra_env).await
    }

    /// Sends SIGTERM and returns how the process exited.
    pub(crate) async fn terminate(self) -> std::process::ExitStatus {
        self.process.terminate(std::time::Duration::from_secs(30)).await
    }

    /// Sends SIGTERM, asserts a clean exit, and keeps the database and the
    /// configuration for [`Stopped::start`].
    pub(crate) async fn stop(self) -> Stopped {
        let Self { _dir: dir, process, storage, config, store, .. } = self;
        let status = process.terminate(std::time::Duration::from_secs(30)).await;
        assert!(status.success(), "gongkai stops cleanly: {status:?}");
        Stopped { dir, storage, config, store }
    }

    pub(crate) async fn counts(&self) -> EventCounts {
        self.store.events().event_counts().await.expect("counts")
    }

    /// Sends every request, asserting each is accepted; returns the receipts.
    pub(crate) async fn submit_all(&self, requests: Vec<Request>) -> Vec<pb::Receipt> {
        submit_all(&self.harbin, requests).await
    }
}

/// Sends every request through `clients`, asserting each is accepted;
/// returns the receipts.
pub(crate) async fn submit_all(clients: &Clients, requests: Vec<Request>) -> Vec<pb::Receipt> {
    let mut receipts = Vec::new();
    for (index, request) in requests.into_iter().enumerate() {
        let label = format!("{request:?}").chars().take(80).collect::<String>();
        let receipt = clients
            .send(request)
            .await
            .unwrap_or_else(|status| panic!("request {index} ({label}…) refused: {status:?}"));
        receipts.push(receipt);
    }
    receipts
}

/// A deployment whose gongkai is stopped: its database (migrated) and
/// configuration, for the operator's hand and a restart.
pub(crate) struct Stopped {
    dir: tempfile::TempDir,
    /// The database URL.
    pub(crate) storage: String,
    config: String,
    /// The same database, read directly by the test.
    pub(crate) store: Store,
}

impl Stopped {
    /// gongkai serving `targets` with `extra_env` on this database again.
    pub(crate) async fn start(self, targets: &str, extra_env: &[(&str, &str)]) -> Ingestion {
        let Self { dir, storage, config, store } = self;
        let mut env = vec![("GONGKAI_STORAGE__URL", storage.as_str()), ("GONGKAI_GRPC__LISTEN", "127.0.0.1:0")];
        env.extend_from_slice(extra_env);
        let process = start_gongkai(&["serve", "--target", targets, "--config", &config], &env).await;
        let harbin = Clients::new(channel(process.endpoint("grpc")).await, HARBIN_TOKEN);
        Ingestion { _dir: dir, process, storage, config, store, harbin }
    }
}

/// `GetProject` of `code` as the Heilongjiang supervisor, over `endpoint`.
pub(crate) async fn get_project(endpoint: &str, code: &str) -> pb::GetProjectResponse {
    let channel = channel(endpoint).await;
    let token: tonic::metadata::MetadataValue<_> = format!("Bearer {SUPERVISOR_TOKEN}").parse().expect("header");
    let mut client = SupervisionServiceClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
        request.metadata_mut().insert("authorization", token.clone());
        Ok(request)
    });
    let request = pb::GetProjectRequest { project_code: code.to_owned(), ..Default::default() };
    client.get_project(request).await.expect("GetProject answers").into_inner()
}

/// The transparency log key of the test configuration (a fixed seed: the
/// tests check signatures, not secrecy).
pub(crate) fn log_signer() -> gongkai_tlog::note::Signer {
    gongkai_tlog::note::Signer::from_seed("gongkai.test/log", &[9; 32]).expect("a valid key name")
}

/// The ErrorInfo reason of a status.
pub(crate) fn reason(status: &tonic::Status) -> String {
    status.get_details_error_info().map(|info| info.reason).unwrap_or_default()
}

/// The BadRequest field paths of a status.
pub(crate) fn bad_fields(status: &tonic::Status) -> Vec<String> {
    let mut fields: Vec<String> = status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

fn approval(lifecycle: &gongkai_scenarios::PppLifecycle) -> pb::RecordApprovalRequest {
    match &lifecycle.requests[0] {
        Request::RecordApproval(request) => request.clone(),
        other => panic!("the lifecycle starts with its approval, not {other:?}"),
    }
}

gongkai_testkit::on_both_stores!(
    full_ppp_lifecycle_is_accepted_with_gapless_seqs_and_an_intact_chain,
    a_retry_returns_the_first_receipt_and_a_reused_id_is_refused,
    malformed_fields_are_each_reported_and_nothing_is_written,
    a_fact_out_of_order_is_refused_with_its_rule_and_nothing_is_written,
    callers_are_authenticated_and_scoped_to_their_regions,
    concurrent_clients_on_one_project_lose_and_duplicate_nothing,
    every_other_rpc_is_accepted_in_a_plausible_order,
);
