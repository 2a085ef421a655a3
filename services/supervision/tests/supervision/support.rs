//! The harness: the five ingestion services and SupervisionService on one
//! socket over a fresh store, with a settable clock and the real projector;
//! the credentials; a supervisor's client; the fixture projects and request
//! builders the tests share.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use gongkai_grpc::auth::{Authenticator, CredentialConfig, Role, token_sha256};
use gongkai_grpc::{ConnectionLimits, GrpcServer};
use gongkai_load::Clients;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_client::SupervisionServiceClient;
use gongkai_scenarios::{Request, org, ppp_lifecycle};
use gongkai_store::Store;
use gongkai_supervision::Supervision;
use gongkai_testkit::store::{Backend, FreshStore};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub(crate) const HARBIN: &str = "hrb-ggzy";
pub(crate) const QIQIHAR: &str = "qqhr-ggzy";
pub(crate) const SUPERVISOR_A: &str = "sup-harbin";
pub(crate) const SUPERVISOR_B: &str = "sup-qiqihar";
pub(crate) const SUPERVISOR_PROVINCE: &str = "sup-heilongjiang";
pub(crate) const AUDITOR: &str = "auditor";

pub(crate) struct Harness {
    pub(crate) store: Store,
    pub(crate) channel: Channel,
    now: Arc<Mutex<DateTime<Utc>>>,
    projected: Mutex<u64>,
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio_util::sync::CancellationToken,
}

fn credential(id: &str, role: Role, regions: &[&str]) -> CredentialConfig {
    CredentialConfig {
        id: id.to_owned(),
        token_sha256: hex_token(id),
        role,
        regions: regions.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn hex_token(id: &str) -> String {
    token_sha256(&format!("token-{id}")).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn token(id: &str) -> String {
    format!("token-{id}")
}

impl Harness {
    pub(crate) async fn start(backend: Backend) -> Self {
        Self::start_with(backend, ConnectionLimits::default()).await
    }

    pub(crate) async fn start_with(backend: Backend, limits: ConnectionLimits) -> Self {
        let FreshStore { store, dir } = gongkai_testkit::store::fresh(backend).await;
        let authenticator = Authenticator::new(&[
            credential(HARBIN, Role::Submitter, &["2301"]),
            credential(QIQIHAR, Role::Submitter, &["2302"]),
            credential(SUPERVISOR_A, Role::Supervisor, &["2301"]),
            credential(SUPERVISOR_B, Role::Supervisor, &["2302"]),
            credential(SUPERVISOR_PROVINCE, Role::Supervisor, &["23"]),
            credential(AUDITOR, Role::Auditor, &["23"]),
        ])
        .expect("credentials");
        let now = Arc::new(Mutex::new(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("time")));
        let clock_now = Arc::clone(&now);
        let clock: gongkai_supervision::Clock = Arc::new(move || *clock_now.lock().expect("clock"));
        let ingestor = gongkai_ingest::Ingestor::new(store.events());
        let max = gongkai_grpc::DEFAULT_MAX_MESSAGE_BYTES;
        let mut server = GrpcServer::new(max);
        server.limits(limits);
        let auth = authenticator.clone();
        server
            .add_service(InterceptedService::new(
                gongkai_projects::Projects::new(ingestor.clone()).into_server(max),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                gongkai_tenders::Tenders::new(ingestor.clone()).into_server(max),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                gongkai_review::Review::new(ingestor.clone()).into_server(max),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                gongkai_awards::Awards::new(ingestor.clone()).into_server(max),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(
                gongkai_contracts::Contracts::new(ingestor.clone()).into_server(max),
                auth.clone(),
            ))
            .add_service(Supervision::new(store.supervision(), clock).into_server(max, auth));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move { server.serve(listener, stop.cancelled_owned()).await.expect("server runs") });
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("uri")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connects");
        Self { store, channel, now, projected: Mutex::new(0), _dir: dir, _shutdown: shutdown }
    }

    pub(crate) fn set_now(&self, time: DateTime<Utc>) {
        *self.now.lock().expect("clock") = time;
    }

    fn submitter(&self, id: &str) -> Clients {
        Clients::new(self.channel.clone(), &token(id))
    }

    /// Sends `requests` as `submitter`, then folds everything new into the views.
    pub(crate) async fn submit(&self, submitter: &str, requests: &[Request]) -> Vec<pb::Receipt> {
        let clients = self.submitter(submitter);
        let mut receipts = Vec::new();
        for request in requests {
            receipts.push(clients.send(request.clone()).await.unwrap_or_else(|s| panic!("{request:?} refused: {s}")));
        }
        self.project().await;
        receipts
    }

    /// The real projector over every event not folded yet.
    async fn project(&self) {
        let after = *self.projected.lock().expect("lock");
        let events = self.store.log().events_after(after, 100_000).await.expect("events read");
        for event in &events {
            gongkai_projector::project(&self.store.projections(), event).await.expect("projects");
        }
        if let Some(last) = events.last() {
            *self.projected.lock().expect("lock") = last.position;
        }
    }

    /// The real transparency log writer over every event recorded so far,
    /// then a checkpoint of the grown tree signed with [`log_signer`]
    /// (unless `sign` is false); the tree's size.
    pub(crate) async fn log_events(&self, sign: bool) -> u64 {
        let log = self.store.transparency_log();
        let events = self.store.events().event_counts().await.expect("counts").events;
        let mut writer = gongkai_transparency::Writer::open(&log).await.expect("the log opens");
        // On a PostgreSQL cluster shared with other tests, the commit-safe
        // feed can lag behind other databases' transactions: an empty read
        // is not the end.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while writer.size() < events {
            if writer.append_next(&log).await.expect("appends") == 0 {
                assert!(std::time::Instant::now() < deadline, "the feed never showed all {events} events");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if sign {
            gongkai_transparency::sign(&log, writer.size(), &writer.root(), &log_signer()).await.expect("signs");
        }
        writer.size()
    }

    pub(crate) fn client(&self, id: &str) -> Caller {
        Caller { client: SupervisionServiceClient::new(self.channel.clone()), token: token(id) }
    }
}

pub(crate) struct Caller {
    pub(crate) client: SupervisionServiceClient<Channel>,
    pub(crate) token: String,
}

impl Caller {
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if !self.token.is_empty() {
            request.metadata_mut().insert("authorization", format!("Bearer {}", self.token).parse().expect("ascii"));
        }
        request
    }

    pub(crate) async fn search(
        &mut self,
        message: pb::SearchProjectsRequest,
    ) -> Result<pb::SearchProjectsResponse, tonic::Status> {
        let request = self.request(message);
        self.client.search_projects(request).await.map(tonic::Response::into_inner)
    }

    pub(crate) async fn codes(&mut self, message: pb::SearchProjectsRequest) -> Vec<String> {
        let mut codes: Vec<String> = self
            .search(message.clone())
            .await
            .unwrap_or_else(|s| panic!("search {message:?} failed: {s}"))
            .projects
            .into_iter()
            .map(|p| p.project_code)
            .collect();
        codes.sort();
        codes
    }

    pub(crate) async fn get(&mut self, code: &str) -> Result<pb::GetProjectResponse, tonic::Status> {
        let request = self.request(pb::GetProjectRequest { project_code: code.to_owned(), include_events: true });
        self.client.get_project(request).await.map(tonic::Response::into_inner)
    }

    pub(crate) async fn flags(&mut self, message: pb::ListFlagsRequest) -> pb::ListFlagsResponse {
        let request = self.request(message);
        self.client.list_flags(request).await.expect("flags listed").into_inner()
    }

    pub(crate) async fn verify(&mut self, code: &str) -> Result<pb::VerifyProjectResponse, tonic::Status> {
        let request = self.request(pb::VerifyProjectRequest { project_code: code.to_owned() });
        self.client.verify_project(request).await.map(tonic::Response::into_inner)
    }

    pub(crate) async fn checkpoint(&mut self) -> Result<pb::GetCheckpointResponse, tonic::Status> {
        let request = self.request(pb::GetCheckpointRequest {});
        self.client.get_checkpoint(request).await.map(tonic::Response::into_inner)
    }

    pub(crate) async fn inclusion(
        &mut self,
        message: pb::GetInclusionProofRequest,
    ) -> Result<pb::GetInclusionProofResponse, tonic::Status> {
        let request = self.request(message);
        self.client.get_inclusion_proof(request).await.map(tonic::Response::into_inner)
    }

    pub(crate) async fn consistency(
        &mut self,
        old_size: u64,
        new_size: u64,
    ) -> Result<pb::GetConsistencyProofResponse, tonic::Status> {
        let request = self.request(pb::GetConsistencyProofRequest { old_size, new_size });
        self.client.get_consistency_proof(request).await.map(tonic::Response::into_inner)
    }

    pub(crate) async fn audit(
        &mut self,
        message: pb::ListAuditRecordsRequest,
    ) -> Result<pb::ListAuditRecordsResponse, tonic::Status> {
        let request = self.request(message);
        self.client.list_audit_records(request).await.map(tonic::Response::into_inner)
    }
}

/// The transparency log's signing key.
pub(crate) fn log_signer() -> gongkai_tlog::note::Signer {
    gongkai_tlog::note::Signer::from_seed("gongkai.test/log", &[3; 32]).expect("a valid key name")
}

pub(crate) const P_PPP: &str = "2024-230113-77-01-000010";
pub(crate) const P_SCHOOL: &str = "2024-230102-83-01-000020";
pub(crate) const P_AWARDED: &str = "2024-230113-77-01-000030";
pub(crate) const P_QIQIHAR: &str = "2024-230202-48-01-000040";

/// Approval of a construction project, derived from the PPP fixture's.
pub(crate) fn approval(code: &str, prefix: &str, region: &str, name: &str, owner: (&str, u32)) -> Request {
    let lifecycle = ppp_lifecycle(code, prefix);
    let Request::RecordApproval(mut request) = lifecycle.requests[0].clone() else { panic!("first is approval") };
    let fact = request.fact.as_mut().expect("fact");
    fact.region_code = region.to_owned();
    if let Some(location) = fact.location.as_mut() {
        location.region_code = region.to_owned();
    }
    fact.project_name = name.to_owned();
    fact.project_type = pb::ProjectType::Construction as i32;
    fact.owner = Some(org(owner.0, owner.1));
    fact.total_investment_fen = 1_000_000_000;
    Request::RecordApproval(request)
}

/// The PPP fixture up to (excluding) its first contract.
pub(crate) fn up_to_award(code: &str, prefix: &str) -> Vec<Request> {
    let requests = ppp_lifecycle(code, prefix).requests;
    let first_contract = requests.iter().position(|r| matches!(r, Request::SignContract(_))).expect("has a contract");
    requests[..first_contract].to_vec()
}

/// Four projects: a complete PPP and an awarded-but-uncontracted PPP in
/// Harbin, a school approval in Harbin, a road approval in Qiqihar.
pub(crate) async fn load(h: &Harness) {
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests).await;
    h.submit(HARBIN, &[approval(P_SCHOOL, "school", "230102", "道里区第一中学改扩建工程", ("道里区教育局", 500))])
        .await;
    h.submit(HARBIN, &up_to_award(P_AWARDED, "award")).await;
    h.submit(QIQIHAR, &[approval(P_QIQIHAR, "road", "230202", "齐齐哈尔市龙沙区道路改造工程", ("龙沙区住建局", 600))])
        .await;
}

pub(crate) fn search() -> pb::SearchProjectsRequest {
    pb::SearchProjectsRequest::default()
}

pub(crate) fn at(y: i32, m: u32, d: u32) -> prost_types::Timestamp {
    let time = Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("time");
    prost_types::Timestamp { seconds: time.timestamp(), nanos: 0 }
}
