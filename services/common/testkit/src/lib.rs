//! What gongkai's integration and end-to-end tests share.
//!
//! Tests run against the real PostgreSQL and Kafka that `scripts/test.sh`
//! brings up on loopback (URLs in `GONGKAI_TEST_POSTGRES_URL` and
//! `GONGKAI_TEST_KAFKA_URL`, defaulting to the scripts' ports). Nothing here
//! skips: when a server cannot be reached the test fails and says which.
//!
//! The lifecycle fixtures themselves live below, in `gongkai-scenarios`, and
//! the gRPC clients that send them in `gongkai-load`: testkit depends on
//! neither the load generator nor any service, so every crate's tests can
//! use it.
//!
//! Real clients that some tests drive (a feed parser, grpcurl) are found
//! through [`tools`], which fails the same way when one is missing.

pub mod store;
pub mod tools;

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The PostgreSQL the test run uses (an administrative database on it).
pub fn postgres_url() -> String {
    std::env::var("GONGKAI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://gongkai:gongkai@127.0.0.1:54329/gongkai".to_owned())
}

/// The Kafka the test run uses, as a `kafka://` URL.
pub fn kafka_url() -> String {
    std::env::var("GONGKAI_TEST_KAFKA_URL").unwrap_or_else(|_| "kafka://127.0.0.1:19092".to_owned())
}

/// The Kafka bootstrap servers of [`kafka_url`].
pub fn kafka_bootstrap_servers() -> String {
    kafka_url().trim_start_matches("kafka://").to_owned()
}

/// A name no other test run uses: `<prefix>_<uuid v7 without dashes>`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Creates an empty database on the test PostgreSQL and returns its URL.
/// Names start with `gongkai_test_` so the test script can sweep them.
///
/// # Panics
/// When PostgreSQL cannot be reached: the test must fail, not skip.
pub async fn fresh_postgres_database() -> String {
    let admin_url = postgres_url();
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL at {admin_url} is unreachable ({error}); run scripts/test.sh"));
    let name = unique_name("gongkai_test");
    // The name is generated here (prefix and a UUID), never taken from input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("could not create test database {name}: {error}"));
    let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin_url);
    format!("{base}/{name}")
}

/// The site's login role the test PostgreSQL has (scripts/infra/postgres.sh
/// creates it; the migrations grant it the public tables and nothing else).
pub const SITE_ROLE: &str = "gongkai_site";

/// `database_url` with the site's role and password instead of its own.
pub fn as_site_role(database_url: &str) -> String {
    let (_, rest) = database_url.split_once('@').expect("a PostgreSQL URL with credentials");
    format!("postgres://{SITE_ROLE}:{SITE_ROLE}@{rest}")
}

/// A lifecycle request as the submission and domain the in-process submit
/// path takes (`Ingestor::submit`), for benches that skip gRPC.
///
/// # Panics
/// On a request the lawful lifecycles (with or without land) and their
/// corrections do not use.
pub fn submission(request: gongkai_scenarios::Request) -> (gongkai_proto::v1::Domain, gongkai_domain::Submission) {
    use gongkai_ingest::IngestRequest as _;
    use gongkai_proto::v1::Domain;
    use gongkai_scenarios::Request;
    match request {
        Request::RecordApproval(r) => (Domain::Projects, r.into_submission()),
        Request::DisclosePppDetails(r) => (Domain::Projects, r.into_submission()),
        Request::PreAnnounceExpropriation(r) => (Domain::Projects, r.into_submission()),
        Request::PublishCompensationPlan(r) => (Domain::Projects, r.into_submission()),
        Request::RecordRiskAssessment(r) => (Domain::Projects, r.into_submission()),
        Request::RecordExpropriationDecision(r) => (Domain::Projects, r.into_submission()),
        Request::RecordCompensationPayment(r) => (Domain::Projects, r.into_submission()),
        Request::PublishHouseholdCompensation(r) => (Domain::Projects, r.into_submission()),
        Request::RecordRelocation(r) => (Domain::Projects, r.into_submission()),
        Request::RecordEnvironmentalApproval(r) => (Domain::Projects, r.into_submission()),
        Request::AnnounceTender(r) => (Domain::Tenders, r.into_submission()),
        Request::AmendTender(r) => (Domain::Tenders, r.into_submission()),
        Request::RecordBidOpening(r) => (Domain::Tenders, r.into_submission()),
        Request::RecordEvaluation(r) => (Domain::Review, r.into_submission()),
        Request::PublicizeCandidates(r) => (Domain::Review, r.into_submission()),
        Request::AnnounceAward(r) => (Domain::Awards, r.into_submission()),
        Request::IssueAwardNotice(r) => (Domain::Awards, r.into_submission()),
        Request::SignContract(r) => (Domain::Contracts, r.into_submission()),
        Request::VaryContract(r) => (Domain::Contracts, r.into_submission()),
        Request::RecordMilestone(r) => (Domain::Contracts, r.into_submission()),
        Request::RecordPayment(r) => (Domain::Contracts, r.into_submission()),
        Request::AcceptCompletion(r) => (Domain::Contracts, r.into_submission()),
        Request::SettleContract(r) => (Domain::Contracts, r.into_submission()),
        Request::SettleFinalAccounts(r) => (Domain::Contracts, r.into_submission()),
        Request::CorrectDisclosure(domain, r) => (domain, r.into_submission()),
        other => panic!("the lawful lifecycles have no {other:?}"),
    }
}

/// A `sqlite://` URL for a new database file inside `dir`.
pub fn fresh_sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join(format!("{}.db", unique_name("gongkai"))).display())
}

/// How the binary closes its start-up announcement on stdout.
pub const READY_LINE_PREFIX: &str = "Press Ctrl-C to stop";

/// A gongkai process started by a test; killed when dropped.
#[derive(Debug)]
pub struct GongkaiProcess {
    child: Child,
    /// The `key: value` lines it announced on stdout (e.g. `grpc`, `site`).
    pub endpoints: HashMap<String, String>,
}

impl GongkaiProcess {
    /// Starts `binary` with `args` and `env`, and waits (up to `timeout`) for
    /// it to announce its endpoints, which means every listener is open.
    ///
    /// # Panics
    /// When the process exits or stays silent past `timeout`.
    pub async fn start(binary: &Path, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Self {
        let mut command = Command::new(binary);
        command
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|error| panic!("could not start {}: {error}", binary.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut endpoints = HashMap::new();
        // The announcement is `key: value` lines closed by the stop hint.
        let announced = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.next_line().await.expect("stdout is readable") {
                let line = line.trim();
                if line.starts_with(READY_LINE_PREFIX) {
                    return true;
                }
                if let Some((key, value)) = line.split_once(": ") {
                    endpoints.insert(key.to_owned(), value.to_owned());
                }
            }
            false
        })
        .await;
        match announced {
            Ok(true) => {}
            Ok(false) => panic!("gongkai exited before announcing its endpoints: {:?}", child.wait().await),
            Err(_) => panic!("gongkai did not announce its endpoints within {timeout:?}"),
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, endpoints }
    }

    /// The announced endpoint `key` (e.g. `grpc` → `http://127.0.0.1:50051`).
    ///
    /// # Panics
    /// When the process did not announce it.
    pub fn endpoint(&self, key: &str) -> &str {
        self.endpoints.get(key).unwrap_or_else(|| panic!("no `{key}` endpoint in {:?}", self.endpoints))
    }

    /// The OS process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL delivered");
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    ///
    /// # Panics
    /// When the process does not exit in time.
    pub async fn terminate(mut self, timeout: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().expect("process is running");
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill runs");
        assert!(status.success(), "could not signal gongkai");
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("gongkai did not exit within {timeout:?} of SIGTERM"))
            .expect("exit status is readable")
    }
}

/// A gRPC codec that sends a request message's bytes as they are and hands
/// back the reply's: for tests that must send what no generated client
/// would (bytes that are not protobuf, strings that are not UTF-8).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        prost::bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// A contract's outcome as tests compare it: code, settled value, price
/// change in fen and basis points, time variation in days.
pub type OutcomeRow<'a> = (&'a str, Option<i64>, i64, i32, Option<i32>);

/// The contract outcomes of `summary` as [`OutcomeRow`]s, in its order.
pub fn outcome_rows(summary: &gongkai_proto::v1::ProjectSummary) -> Vec<OutcomeRow<'_>> {
    summary
        .contract_outcomes
        .iter()
        .map(|o| {
            (
                o.contract_code.as_str(),
                o.settled_value_fen,
                o.price_change_fen,
                o.price_change_bp,
                o.time_variation_days,
            )
        })
        .collect()
}
