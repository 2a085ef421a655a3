//! SupervisionService over a real socket, on both stores: facts go in through
//! the real ingestion services, the real projector folds them, supervisors
//! query them through the authenticating interceptor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use gongkai_grpc::auth::{Authenticator, CredentialConfig, Role, token_sha256};
use gongkai_grpc::{ConnectionLimits, GrpcServer};
use gongkai_load::Clients;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_client::SupervisionServiceClient;
use gongkai_scenarios::{Request, org, ppp_lifecycle};
use gongkai_store::{Pool, Store};
use gongkai_supervision::Supervision;
use gongkai_testkit::RawCodec as Raw;
use gongkai_testkit::store::{Backend, FreshStore};
use prost::Message;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const HARBIN: &str = "hrb-ggzy";
const QIQIHAR: &str = "qqhr-ggzy";
const SUPERVISOR_A: &str = "sup-harbin";
const SUPERVISOR_B: &str = "sup-qiqihar";
const SUPERVISOR_PROVINCE: &str = "sup-heilongjiang";
const AUDITOR: &str = "auditor";

struct Harness {
    store: Store,
    channel: Channel,
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

fn token(id: &str) -> String {
    format!("token-{id}")
}

impl Harness {
    async fn start(backend: Backend) -> Self {
        Self::start_with(backend, ConnectionLimits::default()).await
    }

    async fn start_with(backend: Backend, limits: ConnectionLimits) -> Self {
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

    fn set_now(&self, time: DateTime<Utc>) {
        *self.now.lock().expect("clock") = time;
    }

    fn submitter(&self, id: &str) -> Clients {
        Clients::new(self.channel.clone(), &token(id))
    }

    /// Sends `requests` as `submitter`, then folds everything new into the views.
    async fn submit(&self, submitter: &str, requests: &[Request]) -> Vec<pb::Receipt> {
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

    fn client(&self, id: &str) -> Caller {
        Caller { client: SupervisionServiceClient::new(self.channel.clone()), token: token(id) }
    }
}

struct Caller {
    client: SupervisionServiceClient<Channel>,
    token: String,
}

impl Caller {
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if !self.token.is_empty() {
            request.metadata_mut().insert("authorization", format!("Bearer {}", self.token).parse().expect("ascii"));
        }
        request
    }

    async fn search(
        &mut self,
        message: pb::SearchProjectsRequest,
    ) -> Result<pb::SearchProjectsResponse, tonic::Status> {
        let request = self.request(message);
        self.client.search_projects(request).await.map(tonic::Response::into_inner)
    }

    async fn codes(&mut self, message: pb::SearchProjectsRequest) -> Vec<String> {
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

    async fn get(&mut self, code: &str) -> Result<pb::GetProjectResponse, tonic::Status> {
        let request = self.request(pb::GetProjectRequest { project_code: code.to_owned(), include_events: true });
        self.client.get_project(request).await.map(tonic::Response::into_inner)
    }

    async fn flags(&mut self, message: pb::ListFlagsRequest) -> pb::ListFlagsResponse {
        let request = self.request(message);
        self.client.list_flags(request).await.expect("flags listed").into_inner()
    }

    async fn verify(&mut self, code: &str) -> Result<pb::VerifyProjectResponse, tonic::Status> {
        let request = self.request(pb::VerifyProjectRequest { project_code: code.to_owned() });
        self.client.verify_project(request).await.map(tonic::Response::into_inner)
    }

    async fn audit(
        &mut self,
        message: pb::ListAuditRecordsRequest,
    ) -> Result<pb::ListAuditRecordsResponse, tonic::Status> {
        let request = self.request(message);
        self.client.list_audit_records(request).await.map(tonic::Response::into_inner)
    }
}

const P_PPP: &str = "2024-230113-77-01-000010";
const P_SCHOOL: &str = "2024-230102-83-01-000020";
const P_AWARDED: &str = "2024-230113-77-01-000030";
const P_QIQIHAR: &str = "2024-230202-48-01-000040";

/// Approval of a construction project, derived from the PPP fixture's.
fn approval(code: &str, prefix: &str, region: &str, name: &str, owner: (&str, u32)) -> Request {
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
fn up_to_award(code: &str, prefix: &str) -> Vec<Request> {
    let requests = ppp_lifecycle(code, prefix).requests;
    let first_contract = requests.iter().position(|r| matches!(r, Request::SignContract(_))).expect("has a contract");
    requests[..first_contract].to_vec()
}

/// Four projects: a complete PPP and an awarded-but-uncontracted PPP in
/// Harbin, a school approval in Harbin, a road approval in Qiqihar.
async fn load(h: &Harness) {
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests).await;
    h.submit(HARBIN, &[approval(P_SCHOOL, "school", "230102", "道里区第一中学改扩建工程", ("道里区教育局", 500))])
        .await;
    h.submit(HARBIN, &up_to_award(P_AWARDED, "award")).await;
    h.submit(QIQIHAR, &[approval(P_QIQIHAR, "road", "230202", "齐齐哈尔市龙沙区道路改造工程", ("龙沙区住建局", 600))])
        .await;
}

fn search() -> pb::SearchProjectsRequest {
    pb::SearchProjectsRequest::default()
}

fn at(y: i32, m: u32, d: u32) -> prost_types::Timestamp {
    let time = Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("time");
    prost_types::Timestamp { seconds: time.timestamp(), nanos: 0 }
}

async fn every_filter_matches_what_it_says(backend: Backend) {
    let h = Harness::start(backend).await;
    load(&h).await;
    let mut a = h.client(SUPERVISOR_A);
    let harbin = vec![P_PPP.to_owned(), P_SCHOOL.to_owned(), P_AWARDED.to_owned()];
    let mut all = harbin.clone();
    all.sort();
    assert_eq!(a.codes(search()).await, all, "everything in the caller's regions, nothing else");
    assert_eq!(a.codes(pb::SearchProjectsRequest { region_prefix: "230102".into(), ..search() }).await, vec![P_SCHOOL]);
    let stage = |s: pb::Stage| pb::SearchProjectsRequest { stages: vec![s as i32], ..search() };
    assert_eq!(a.codes(stage(pb::Stage::Completion)).await, vec![P_PPP]);
    assert_eq!(a.codes(stage(pb::Stage::Approval)).await, vec![P_SCHOOL]);
    assert_eq!(a.codes(stage(pb::Stage::Award)).await, vec![P_AWARDED]);
    let construction = pb::SearchProjectsRequest { project_type: pb::ProjectType::Construction as i32, ..search() };
    assert_eq!(a.codes(construction).await, vec![P_SCHOOL]);
    let ppp = pb::SearchProjectsRequest { project_type: pb::ProjectType::Ppp as i32, ..search() };
    assert_eq!(
        a.codes(ppp).await,
        vec![P_PPP, P_AWARDED].into_iter().map(str::to_owned).collect::<Vec<_>>().tap_sort()
    );
    // Owner: by name substring and by exact credit code.
    assert_eq!(a.codes(pb::SearchProjectsRequest { owner: "教育局".into(), ..search() }).await, vec![P_SCHOOL]);
    let school_owner = org("道里区教育局", 500).unified_social_credit_code;
    assert_eq!(a.codes(pb::SearchProjectsRequest { owner: school_owner, ..search() }).await, vec![P_SCHOOL]);
    // Winner: bidder 0 wins every lot of the fixture.
    let winner = pb::SearchProjectsRequest { winner: "黑龙江省建工".into(), ..search() };
    let both_ppp = vec![P_PPP.to_owned(), P_AWARDED.to_owned()].tap_sort();
    assert_eq!(a.codes(winner).await, both_ppp);
    let winner_code = org("黑龙江省建工集团有限责任公司", 200).unified_social_credit_code;
    assert_eq!(a.codes(pb::SearchProjectsRequest { winner: winner_code, ..search() }).await, both_ppp);
    assert!(a.codes(pb::SearchProjectsRequest { winner: "中建八局".into(), ..search() }).await.is_empty(), "lost");
    // Amounts: investment, then contract price (only the contracted project).
    let investment =
        pb::SearchProjectsRequest { min_amount_fen: Some(2_000_000_000), max_amount_fen: None, ..search() };
    assert_eq!(a.codes(investment).await, both_ppp);
    let contract = pb::SearchProjectsRequest {
        amount_basis: pb::AmountBasis::ContractPrice as i32,
        min_amount_fen: Some(1),
        ..search()
    };
    assert_eq!(a.codes(contract).await, vec![P_PPP]);
    // Dates: the fixture's performance runs into 2025; the approvals are in January 2024.
    let late = pb::SearchProjectsRequest {
        active_period: Some(pb::Period { start: Some(at(2024, 6, 1)), end: None }),
        ..search()
    };
    assert_eq!(a.codes(late).await, vec![P_PPP]);
    let early = pb::SearchProjectsRequest {
        active_period: Some(pb::Period { start: None, end: Some(at(2024, 1, 15)) }),
        ..search()
    };
    assert_eq!(a.codes(early).await, all);
    // Free text in Chinese, without spaces: two characters suffice, bigrams all needed.
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "中学".into(), ..search() }).await, vec![P_SCHOOL]);
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "污水处理".into(), ..search() }).await, both_ppp);
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "配套管网".into(), ..search() }).await, both_ppp);
    assert!(a.codes(pb::SearchProjectsRequest { text: "中水".into(), ..search() }).await.is_empty());
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "000020".into(), ..search() }).await, vec![P_SCHOOL]);
    // Source and flags: the lawful fixture raises no soft-rule flag.
    assert_eq!(a.codes(pb::SearchProjectsRequest { source: HARBIN.into(), ..search() }).await, all);
    assert!(a.codes(pb::SearchProjectsRequest { source: QIQIHAR.into(), ..search() }).await.is_empty());
    assert!(a.codes(pb::SearchProjectsRequest { has_flag: true, ..search() }).await.is_empty());
    // A malformed filter is INVALID_ARGUMENT; a token of another query too.
    let status = a.search(pb::SearchProjectsRequest { region_prefix: "23x".into(), ..search() }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let first = a.search(pb::SearchProjectsRequest { page_size: 1, ..search() }).await.expect("page");
    assert!(!first.next_page_token.is_empty());
    let reused =
        pb::SearchProjectsRequest {
            page_size: 1, page_token: first.next_page_token, text: "中学".into(), ..search()
        };
    assert_eq!(a.search(reused).await.unwrap_err().code(), Code::InvalidArgument);
    // A text filter longer than any name is refused, not handed to the database.
    for long in [
        pb::SearchProjectsRequest { text: "x".repeat(60_000), ..search() },
        pb::SearchProjectsRequest { owner: "公司".repeat(200), ..search() },
        pb::SearchProjectsRequest { winner: "y".repeat(257), ..search() },
    ] {
        assert_eq!(a.search(long).await.unwrap_err().code(), Code::InvalidArgument);
    }
    assert!(a.codes(pb::SearchProjectsRequest { text: "x".repeat(256), ..search() }).await.is_empty());
}

trait TapSort {
    fn tap_sort(self) -> Self;
}

impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

async fn pagination_neither_skips_nor_repeats_while_events_arrive(backend: Backend) {
    let h = Harness::start(backend).await;
    let code = |n: u32| format!("2024-230113-48-01-{:06}", 100 + n);
    let prefix = |n: u32| format!("p{n}");
    let road = |n: u32| approval(&code(n), &prefix(n), "230113", "道外区道路维修工程", ("道外区住建局", 700));
    // The project's tender announcement: a later event, with a later business time.
    let tender = |n: u32| {
        let requests = ppp_lifecycle(&code(n), &prefix(n)).requests;
        requests.into_iter().find(|r| matches!(r, Request::AnnounceTender(_))).expect("the fixture tenders")
    };
    for n in 0..7 {
        h.submit(HARBIN, &[road(n)]).await;
    }
    let before: Vec<String> = (0..7).map(code).collect();
    let mut a = h.client(SUPERVISOR_A);
    let mut seen: Vec<String> = Vec::new();
    let mut tendered: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut page = 0;
    loop {
        let response = a
            .search(pb::SearchProjectsRequest { page_size: 2, page_token: token.clone(), ..search() })
            .await
            .expect("page");
        seen.extend(response.projects.iter().map(|p| p.project_code.clone()));
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
        // While paging: a new project arrives; a project already returned and
        // one not returned yet each get a later event (the latter used to
        // jump ahead of the cursor and be skipped).
        page += 1;
        h.submit(HARBIN, &[road(100 + page)]).await;
        let returned = (0..7).find(|n| seen.contains(&code(*n)) && !tendered.contains(&code(*n)));
        let waiting = (0..7).find(|n| !seen.contains(&code(*n)) && !tendered.contains(&code(*n)));
        for n in returned.into_iter().chain(waiting) {
            h.submit(HARBIN, &[tender(n)]).await;
            tendered.push(code(n));
        }
    }
    assert!(tendered.iter().any(|c| c == &code(0)), "the oldest project moved while waiting: {tendered:?}");
    let newest_first: Vec<String> = before.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first, "each project exactly once, most recently registered first");
}

async fn the_missing_contract_flag_appears_on_day_31_without_a_submission(backend: Backend) {
    let h = Harness::start(backend).await;
    h.submit(HARBIN, &up_to_award(P_AWARDED, "award")).await;
    let mut a = h.client(SUPERVISOR_A);
    let project = a.get(P_AWARDED).await.expect("project");
    let notices: Vec<i64> = project
        .timeline
        .iter()
        .filter(|e| e.fact_type == "gongkai.v1.AwardNoticeIssued")
        .map(|e| e.occurred_at.expect("occurred").seconds)
        .collect();
    assert_eq!(notices.len(), 2, "one notice per lot");
    let first = DateTime::from_timestamp(*notices.iter().min().expect("min"), 0).expect("time");
    let last = DateTime::from_timestamp(*notices.iter().max().expect("max"), 0).expect("time");
    let missing = |flags: &pb::ListFlagsResponse| {
        flags.flags.iter().filter(|f| f.flag.as_ref().is_some_and(|f| f.rule == "GK-MISSING-CONTRACT")).count()
    };
    let rule = pb::ListFlagsRequest { rule: "GK-MISSING-CONTRACT".into(), ..Default::default() };
    h.set_now(first + chrono::Duration::days(30));
    assert_eq!(missing(&a.flags(rule.clone()).await), 0, "day 30: still in time");
    h.set_now(last + chrono::Duration::days(31));
    let flags = a.flags(rule.clone()).await;
    assert_eq!(missing(&flags), 2, "day 31: one flag per lot, no submission needed");
    // Search sees the time-driven flag too: by has_flag, by its rule, in its period.
    let due = last + chrono::Duration::days(31);
    let since = |t: DateTime<Utc>| pb::Period {
        start: Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }),
        end: None,
    };
    let flagged = pb::SearchProjectsRequest { has_flag: true, ..search() };
    let by_rule = pb::SearchProjectsRequest { flag_rule: "GK-MISSING-CONTRACT".into(), ..search() };
    assert_eq!(a.codes(flagged.clone()).await, vec![P_AWARDED]);
    assert_eq!(a.codes(by_rule.clone()).await, vec![P_AWARDED]);
    let in_period =
        pb::SearchProjectsRequest { flag_period: Some(since(due - chrono::Duration::days(2))), ..by_rule.clone() };
    assert_eq!(a.codes(in_period).await, vec![P_AWARDED]);
    let after =
        pb::SearchProjectsRequest { flag_period: Some(since(due + chrono::Duration::days(1))), ..flagged.clone() };
    assert!(a.codes(after).await.is_empty(), "raised before that period");
    let other_rule = pb::SearchProjectsRequest { flag_rule: "GK-MISSING-RESULT".into(), ..search() };
    assert!(a.codes(other_rule).await.is_empty());
    h.set_now(first + chrono::Duration::days(30));
    assert!(a.codes(flagged.clone()).await.is_empty(), "day 30: not flagged yet");
    assert!(a.codes(by_rule).await.is_empty());
    h.set_now(due);
    let record = &flags.flags[0];
    assert_eq!(record.project_code, P_AWARDED);
    assert_eq!(record.source, HARBIN, "the trading center that owes the contract");
    assert!(record.raised_by_event_id.is_empty(), "raised by the deadline watch");
    let flag = record.flag.as_ref().expect("flag");
    assert_eq!(flag.event_ids.len(), 1, "evidence: the award notice");
    assert_eq!(flag.figures[0].limit, Some(30));
    // The flag shows in the project's record and counts for its trading center.
    assert_eq!(a.get(P_AWARDED).await.expect("project").flags.len(), 2);
    // Supervisor B sees none of it; the source filter selects it.
    assert_eq!(missing(&h.client(SUPERVISOR_B).flags(rule.clone()).await), 0);
    let other = pb::ListFlagsRequest { source: QIQIHAR.into(), ..rule.clone() };
    assert_eq!(missing(&a.flags(other).await), 0);
    // Paging through flags one at a time returns both.
    let page1 = a.flags(pb::ListFlagsRequest { page_size: 1, ..rule.clone() }).await;
    let page2 =
        a.flags(pb::ListFlagsRequest { page_size: 1, page_token: page1.next_page_token.clone(), ..rule.clone() }).await;
    assert_eq!(page1.flags.len() + page2.flags.len(), 2);
    assert_ne!(page1.flags[0].flag, page2.flags[0].flag);
    let mut timeliness = h.client(SUPERVISOR_A);
    let report = timeliness
        .client
        .get_timeliness(timeliness.request(pb::GetTimelinessRequest {
            period: Some(pb::Period { start: Some(at(2023, 1, 1)), end: Some(at(2026, 1, 1)) }),
            ..Default::default()
        }))
        .await
        .expect("timeliness")
        .into_inner();
    let harbin = report.trading_centers.iter().find(|c| c.source == HARBIN).expect("Harbin's row");
    assert_eq!(harbin.missing, 2);
    assert!(harbin.disclosures > 0 && harbin.on_time_share_bp <= 10_000);
    assert!(!report.deadlines.is_empty());
}

/// The missing-disclosure flags of `rule` that supervisor A sees now.
async fn missing_flags(a: &mut Caller, rule: &str) -> Vec<pb::FlagRecord> {
    a.flags(pb::ListFlagsRequest { rule: rule.into(), ..Default::default() })
        .await
        .flags
        .into_iter()
        .filter(|f| f.flag.as_ref().is_some_and(|flag| flag.rule == rule))
        .collect()
}

/// The business time of the first timeline entry of `fact_type`.
fn first_of(project: &pb::GetProjectResponse, fact_type: &str) -> DateTime<Utc> {
    let entry = project.timeline.iter().find(|e| e.fact_type == fact_type).unwrap_or_else(|| panic!("{fact_type}"));
    let at = entry.occurred_at.expect("occurred");
    DateTime::from_timestamp(at.seconds, 0).expect("time")
}

async fn the_missing_result_flag_follows_the_publicity_and_clears_with_the_result(backend: Backend) {
    let h = Harness::start(backend).await;
    let requests = ppp_lifecycle(P_AWARDED, "award").requests;
    let publicity = requests
        .iter()
        .position(|r| matches!(r, Request::PublicizeCandidates(_)))
        .expect("the fixture publicizes candidates");
    // Lot A1 up to its candidate publicity; lot B1 not yet tendered past the announcement.
    h.submit(HARBIN, &requests[..=publicity]).await;
    let Request::PublicizeCandidates(fact) = &requests[publicity] else { unreachable!() };
    let end = fact.fact.as_ref().and_then(|f| f.publicity_period.as_ref()).and_then(|p| p.end).expect("period end");
    let ended = DateTime::from_timestamp(end.seconds, 0).expect("time");
    let mut a = h.client(SUPERVISOR_A);
    const RULE: &str = "GK-MISSING-RESULT";
    h.set_now(ended + chrono::Duration::days(15));
    assert!(missing_flags(&mut a, RULE).await.is_empty(), "15 days after the publicity: still in time");
    h.set_now(ended + chrono::Duration::days(16));
    let flags = missing_flags(&mut a, RULE).await;
    assert_eq!(flags.len(), 1, "day 16: the flag, without any submission: {flags:?}");
    let record = &flags[0];
    assert_eq!(record.project_code, P_AWARDED);
    assert_eq!(record.source, HARBIN);
    assert!(record.raised_by_event_id.is_empty(), "raised by the deadline watch");
    assert_eq!(record.raised_at.expect("raised").seconds, (ended + chrono::Duration::days(16)).timestamp());
    let flag = record.flag.as_ref().expect("flag");
    let project = a.get(P_AWARDED).await.expect("project");
    let publicity_event =
        project.events.iter().find(|e| e.r#type == "gongkai.v1.CandidatesPublicized").expect("publicity event");
    assert_eq!(flag.event_ids, vec![publicity_event.event_id.clone()], "evidence: the publicity");
    assert_eq!(flag.figures[0].limit, Some(15));
    assert_eq!(project.flags.len(), 1, "shown in the project's record");
    assert!(missing_flags(&mut h.client(SUPERVISOR_B), RULE).await.is_empty(), "outside region B");
    // The award result arrives: the expectation is gone, even though the clock is past it.
    h.submit(HARBIN, &requests[publicity + 1..=publicity + 1]).await;
    assert!(matches!(requests[publicity + 1], Request::AnnounceAward(_)));
    assert!(missing_flags(&mut a, RULE).await.is_empty(), "the result is recorded");
    assert!(a.get(P_AWARDED).await.expect("project").flags.iter().all(|f| f.flag.as_ref().expect("flag").rule != RULE));
}

async fn the_missing_publicity_flag_appears_3_days_after_the_evaluation(backend: Backend) {
    let h = Harness::start(backend).await;
    let requests = ppp_lifecycle(P_AWARDED, "award").requests;
    let evaluation =
        requests.iter().position(|r| matches!(r, Request::RecordEvaluation(_))).expect("the fixture evaluates bids");
    h.submit(HARBIN, &requests[..=evaluation]).await;
    let mut a = h.client(SUPERVISOR_A);
    let project = a.get(P_AWARDED).await.expect("project");
    let evaluated = first_of(&project, "gongkai.v1.BidsEvaluated");
    const RULE: &str = "GK-MISSING-PUBLICITY";
    h.set_now(evaluated + chrono::Duration::days(4) - chrono::Duration::seconds(1));
    assert!(missing_flags(&mut a, RULE).await.is_empty(), "within 3 days (the whole third day included)");
    h.set_now(evaluated + chrono::Duration::days(4));
    let flags = missing_flags(&mut a, RULE).await;
    assert_eq!(flags.len(), 1, "one lot evaluated, no publicity: {flags:?}");
    assert_eq!(flags[0].project_code, P_AWARDED);
    assert_eq!(flags[0].source, HARBIN);
    let flag = flags[0].flag.as_ref().expect("flag");
    let evaluation_event =
        project.events.iter().find(|e| e.r#type == "gongkai.v1.BidsEvaluated").expect("evaluation event");
    assert_eq!(flag.event_ids, vec![evaluation_event.event_id.clone()]);
    assert_eq!(flag.figures[0].limit, Some(3));
    // Publicity follows: the flag goes; the next expectation (the result) is not due yet.
    h.submit(HARBIN, &requests[evaluation + 1..=evaluation + 1]).await;
    assert!(missing_flags(&mut a, RULE).await.is_empty());
    assert!(missing_flags(&mut a, "GK-MISSING-RESULT").await.is_empty());
}

/// `request` with its business time replaced by `at`.
fn occurred(mut request: Request, at: DateTime<Utc>) -> Request {
    let Request::RecordApproval(ref mut inner) = request else { panic!("an approval") };
    inner.occurred_at = Some(prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 });
    request
}

async fn timeliness_separates_a_late_trading_center_from_a_punctual_one(backend: Backend) {
    let h = Harness::start(backend).await;
    // The submit path stamps recorded_at with the real clock: an approval that
    // happened an hour ago is on time (20 days), one from January 2024 is not.
    let recent = Utc::now() - chrono::Duration::hours(1);
    let school = approval(P_SCHOOL, "school", "230102", "道里区第一中学改扩建工程", ("道里区教育局", 500));
    h.submit(HARBIN, &[school]).await; // late
    let hospital = approval(P_PPP, "hospital", "230113", "双城区人民医院门诊楼工程", ("双城区卫健局", 510));
    h.submit(HARBIN, &[occurred(hospital, recent)]).await; // on time
    let road = approval(P_QIQIHAR, "road", "230202", "齐齐哈尔市龙沙区道路改造工程", ("龙沙区住建局", 600));
    h.submit(QIQIHAR, &[occurred(road, recent)]).await; // on time
    let province = h.client(SUPERVISOR_PROVINCE);
    let period = pb::Period { start: Some(at(2023, 1, 1)), end: Some(at(2100, 1, 1)) };
    let report = |caller: &Caller, request: pb::GetTimelinessRequest| {
        let mut client = caller.client.clone();
        let request = caller.request(request);
        async move { client.get_timeliness(request).await.map(tonic::Response::into_inner) }
    };
    let all = report(&province, pb::GetTimelinessRequest { period: Some(period), ..Default::default() })
        .await
        .expect("timeliness");
    let rows: Vec<(&str, u64, u64, u32)> =
        all.trading_centers.iter().map(|c| (c.source.as_str(), c.disclosures, c.on_time, c.on_time_share_bp)).collect();
    assert_eq!(rows, vec![(HARBIN, 2, 1, 5_000), (QIQIHAR, 1, 1, 10_000)], "worst first");
    let harbin = &all.trading_centers[0];
    assert!(harbin.max_delay_seconds > 365 * 86_400, "the 2024 approval, recorded now");
    assert_eq!(harbin.missing, 0);
    assert_eq!(harbin.by_type.len(), 1);
    assert_eq!(harbin.by_type[0].r#type, "gongkai.v1.ProjectApproved");
    assert_eq!(harbin.by_type[0].on_time_share_bp, 5_000);
    let qiqihar = &all.trading_centers[1];
    assert!(qiqihar.max_delay_seconds < 86_400);
    assert!(all.deadlines.iter().any(|d| d.r#type == "*" && d.seconds == 20 * 86_400));
    // Scope and filters: region A sees Harbin alone; the source filter selects one center.
    let a = h.client(SUPERVISOR_A);
    let regional =
        report(&a, pb::GetTimelinessRequest { period: Some(period), ..Default::default() }).await.expect("timeliness");
    assert_eq!(regional.trading_centers.iter().map(|c| c.source.as_str()).collect::<Vec<_>>(), vec![HARBIN]);
    let one = report(
        &province,
        pb::GetTimelinessRequest { period: Some(period), source: QIQIHAR.into(), ..Default::default() },
    )
    .await
    .expect("timeliness");
    assert_eq!(one.trading_centers.len(), 1);
    assert_eq!(one.trading_centers[0].on_time_share_bp, 10_000);
    // Only the recent period: Harbin's 2024 approval falls out, both are punctual.
    let recent_only = pb::Period {
        start: Some(prost_types::Timestamp { seconds: (recent - chrono::Duration::days(1)).timestamp(), nanos: 0 }),
        end: Some(at(2100, 1, 1)),
    };
    let later = report(&province, pb::GetTimelinessRequest { period: Some(recent_only), ..Default::default() })
        .await
        .expect("timeliness");
    assert!(later.trading_centers.iter().all(|c| c.on_time_share_bp == 10_000 && c.disclosures == 1), "{later:?}");
    // Both ends of the period are required; another region is refused.
    let open = report(&province, pb::GetTimelinessRequest::default()).await.unwrap_err();
    assert_eq!(open.code(), Code::InvalidArgument);
    let foreign = report(
        &a,
        pb::GetTimelinessRequest { period: Some(period), region_prefix: "2302".into(), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);
}

async fn a_tampered_event_is_detected_by_verify_project(backend: Backend) {
    let h = Harness::start(backend).await;
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[..5]).await;
    let mut a = h.client(SUPERVISOR_A);
    let intact = a.verify(P_PPP).await.expect("verifies");
    assert!(intact.ok, "{intact:?}");
    assert_eq!(intact.events_checked, 5);
    assert_eq!(intact.head_seq, 5);
    let summary = a.get(P_PPP).await.expect("project").summary.expect("summary");
    assert_eq!(summary.chain_head_hash, intact.chain_head_hash, "the head the public site shows");

    // Alter event 3 behind the store's back, as the table owner.
    let events = h.store.events().load_stream(P_PPP).await.expect("stream");
    let mut altered = events[2].clone();
    altered.source = "someone-else".into();
    altered.position = 0;
    let bytes = altered.encode_to_vec();
    let update = "UPDATE events SET envelope = $1 WHERE project_code = $2 AND project_seq = 3";
    match h.store.pool() {
        Pool::Postgres(pool) => {
            sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable").execute(pool).await.expect("disable");
            sqlx::query(update).bind(&bytes).bind(P_PPP).execute(pool).await.expect("tampered");
        }
        Pool::Sqlite(pool) => {
            sqlx::query("DROP TRIGGER events_no_update").execute(pool).await.expect("drop trigger");
            sqlx::query(update).bind(&bytes).bind(P_PPP).execute(pool).await.expect("tampered");
        }
    }
    let broken = a.verify(P_PPP).await.expect("verifies");
    assert!(!broken.ok);
    assert_eq!(broken.events_checked, 3);
    let link = broken.first_broken_link.expect("broken link");
    assert_eq!(link.project_seq, 3);
    assert_eq!(link.event_id, events[2].event_id);
    assert_eq!(link.kind(), pb::BrokenLinkKind::HashMismatch);
    assert_eq!(link.actual, events[2].hash);
    assert_ne!(link.expected, link.actual);
}

async fn a_stream_resumes_after_disconnect_without_gaps_or_duplicates(backend: Backend) {
    let h = Harness::start(backend).await;
    let requests = ppp_lifecycle(P_PPP, "ppp").requests;
    h.submit(HARBIN, &requests[..6]).await;
    h.submit(QIQIHAR, &[approval(P_QIQIHAR, "road", "230202", "齐齐哈尔市道路工程", ("龙沙区住建局", 600))]).await;
    let a = h.client(SUPERVISOR_A);
    let mut client = a.client.clone();
    let mut stream =
        client.watch_events(a.request(pb::WatchEventsRequest::default())).await.expect("stream opens").into_inner();
    let mut received = Vec::new();
    for _ in 0..4 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("in time");
        received.push(event.expect("an event").expect("ok"));
    }
    drop(stream); // The client goes away.
    // More events while disconnected, and live ones after resuming.
    h.submit(HARBIN, &requests[6..10]).await;
    let resume_from = received.last().expect("some").position;
    let mut stream = client
        .watch_events(a.request(pb::WatchEventsRequest { after_position: resume_from, ..Default::default() }))
        .await
        .expect("stream resumes")
        .into_inner();
    let live = requests[10..12].to_vec();
    let submitting = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.submit(HARBIN, &live).await;
    };
    let receiving = async {
        while received.len() < 12 {
            let event = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("in time");
            received.push(event.expect("an event").expect("ok"));
        }
    };
    tokio::join!(submitting, receiving);
    let seqs: Vec<u64> = received.iter().map(|e| e.project_seq).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>(), "every Harbin event once, in order; none of Qiqihar's");
    assert!(received.iter().all(|e| e.subject == P_PPP && !e.hash.is_empty() && e.body.is_some()), "full envelopes");
    // Nothing else arrives: Qiqihar's event is outside the caller's regions.
    assert!(tokio::time::timeout(Duration::from_millis(300), stream.next()).await.is_err());
    let status = client
        .watch_events(a.request(pb::WatchEventsRequest { region_prefix: "2302".into(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn a_supervisor_of_region_a_cannot_see_region_b_and_strangers_are_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    load(&h).await;
    let mut a = h.client(SUPERVISOR_A);
    let mut b = h.client(SUPERVISOR_B);
    assert_eq!(b.codes(search()).await, vec![P_QIQIHAR]);
    assert!(!a.codes(search()).await.contains(&P_QIQIHAR.to_owned()));
    for status in [
        a.get(P_QIQIHAR).await.unwrap_err(),
        a.verify(P_QIQIHAR).await.unwrap_err(),
        a.search(pb::SearchProjectsRequest { region_prefix: "2302".into(), ..search() }).await.unwrap_err(),
        a.search(pb::SearchProjectsRequest { region_prefix: "23".into(), ..search() }).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    assert_eq!(a.get("2024-230113-77-01-999999").await.unwrap_err().code(), Code::NotFound);
    let public = a
        .client
        .get_public_view(a.request(pb::GetPublicViewRequest { project_code: P_PPP.into() }))
        .await
        .expect("public view")
        .into_inner();
    let full = a.get(P_PPP).await.expect("full");
    assert_eq!(public.timeline.len(), full.timeline.len());
    assert!(public.timeline.iter().all(|e| e.flags.is_empty() && e.restricted_fields.is_empty()));
    assert_eq!(public.summary.expect("summary").flag_count, 0);
    let stored = h.store.public().public_timeline(P_PPP).await.expect("public rows");
    let stored: Vec<pb::TimelineEntry> =
        stored.iter().map(|b| pb::TimelineEntry::decode(b.as_slice()).expect("entry")).collect();
    assert_eq!(public.timeline, stored, "exactly the public rows");
    assert!(public.as_of_position > 0);
    // No credential, an unknown one, a submitter's.
    let mut anonymous = Caller { client: a.client.clone(), token: String::new() };
    assert_eq!(anonymous.search(search()).await.unwrap_err().code(), Code::Unauthenticated);
    let mut stranger = Caller { client: a.client.clone(), token: "nope".into() };
    assert_eq!(stranger.search(search()).await.unwrap_err().code(), Code::Unauthenticated);
    let mut submitter = h.client(HARBIN);
    assert_eq!(submitter.search(search()).await.unwrap_err().code(), Code::PermissionDenied);
    // Only the auditor lists the audit trail.
    assert_eq!(a.audit(Default::default()).await.unwrap_err().code(), Code::PermissionDenied);
}

async fn every_call_is_in_the_audit_trail(backend: Backend) {
    let h = Harness::start(backend).await;
    load(&h).await;
    let mut a = h.client(SUPERVISOR_A);
    a.get(P_PPP).await.expect("project");
    a.get(P_QIQIHAR).await.unwrap_err();
    a.verify(P_PPP).await.expect("verified");
    a.search(pb::SearchProjectsRequest { text: "污水".into(), ..search() }).await.expect("searched");
    a.flags(Default::default()).await;
    let mut client = a.client.clone();
    let stream = client.watch_events(a.request(pb::WatchEventsRequest::default())).await.expect("stream");
    drop(stream);
    let mut submitter = h.client(HARBIN);
    submitter.search(search()).await.unwrap_err();
    let mut auditor = h.client(AUDITOR);
    let records = auditor.audit(Default::default()).await.expect("audit trail").records;
    let methods: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r.principal.as_str(),
                r.method.trim_start_matches("/gongkai.v1.SupervisionService/"),
                r.status_code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        methods,
        vec![
            (HARBIN, "SearchProjects", "PERMISSION_DENIED"),
            (SUPERVISOR_A, "WatchEvents", "OK"),
            (SUPERVISOR_A, "ListFlags", "OK"),
            (SUPERVISOR_A, "SearchProjects", "OK"),
            (SUPERVISOR_A, "VerifyProject", "OK"),
            (SUPERVISOR_A, "GetProject", "PERMISSION_DENIED"),
            (SUPERVISOR_A, "GetProject", "OK"),
        ],
        "newest first"
    );
    let search_record = &records[3];
    let arguments: serde_json::Value = serde_json::from_str(&search_record.arguments_json).expect("JSON");
    assert_eq!(arguments["text"], "污水");
    assert!(search_record.result_count >= 2);
    assert!(records.iter().all(|r| r.called_at.is_some() && !r.audit_id.is_empty()));
    // "Who looked at project X", and paging.
    let who = auditor
        .audit(pb::ListAuditRecordsRequest { project_code: P_QIQIHAR.into(), ..Default::default() })
        .await
        .expect("filtered")
        .records;
    assert_eq!(who.len(), 1);
    assert_eq!(who[0].principal, SUPERVISOR_A);
    let page1 = auditor.audit(pb::ListAuditRecordsRequest { page_size: 4, ..Default::default() }).await.expect("page");
    let page2 = auditor
        .audit(pb::ListAuditRecordsRequest { page_size: 4, page_token: page1.next_page_token, ..Default::default() })
        .await
        .expect("page");
    // The listing calls are themselves audited: page 1 sees the three listings before it.
    let all: Vec<String> = page1.records.iter().chain(&page2.records).map(|r| r.audit_id.clone()).collect();
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no repeats across pages");
    assert!(all.len() >= 8);
    let listing = auditor
        .audit(pb::ListAuditRecordsRequest {
            method: "/gongkai.v1.SupervisionService/ListAuditRecords".into(),
            ..Default::default()
        })
        .await
        .expect("listings");
    assert!(listing.records.len() >= 4, "ListAuditRecords is audited too");
}

const GET_PROJECT: &str = "/gongkai.v1.SupervisionService/GetProject";

/// A GetProject call whose request message is `body`, by `caller` (`None`:
/// no credential); returns the status code.
async fn raw_get_project(h: &Harness, caller: Option<&str>, body: Vec<u8>) -> Code {
    let mut grpc = tonic::client::Grpc::new(h.channel.clone());
    grpc.ready().await.expect("channel ready");
    let mut request = tonic::Request::new(body);
    if let Some(id) = caller {
        request.metadata_mut().insert("authorization", format!("Bearer {}", token(id)).parse().expect("ascii"));
    }
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(GET_PROJECT);
    grpc.unary(request, path, Raw).await.expect_err("refused").code()
}

async fn calls_refused_before_their_handler_are_audited(backend: Backend) {
    let limits = ConnectionLimits { request_timeout: Some(Duration::from_secs(2)), ..ConnectionLimits::default() };
    let h = Harness::start_with(backend, limits).await;
    let valid = pb::GetProjectRequest { project_code: P_PPP.into(), include_events: false }.encode_to_vec();
    // A known supervisor whose bytes are not a GetProjectRequest: a field
    // with wire type 7, a project_code that is not UTF-8, one byte too many.
    let not_protobuf = vec![0x0f, 0xff, 0xff];
    let not_utf8 = vec![0x0a, 0x02, 0xff, 0xfe];
    let oversize = vec![0u8; gongkai_grpc::DEFAULT_MAX_MESSAGE_BYTES + 1];
    assert_eq!(raw_get_project(&h, Some(SUPERVISOR_A), not_protobuf).await, Code::InvalidArgument);
    assert_eq!(raw_get_project(&h, Some(SUPERVISOR_A), not_utf8).await, Code::InvalidArgument);
    assert_eq!(raw_get_project(&h, Some(SUPERVISOR_A), oversize).await, Code::ResourceExhausted);
    // An unknown credential, and none.
    assert_eq!(raw_get_project(&h, Some("stranger"), valid.clone()).await, Code::Unauthenticated);
    assert_eq!(raw_get_project(&h, None, valid).await, Code::Unauthenticated);
    // A request that never finishes arriving: dropped when its time is up.
    let mut grpc = tonic::client::Grpc::new(h.channel.clone());
    grpc.ready().await.expect("channel ready");
    let mut request = tonic::Request::new(tokio_stream::pending::<Vec<u8>>());
    request.metadata_mut().insert("authorization", format!("Bearer {}", token(SUPERVISOR_B)).parse().expect("ascii"));
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(GET_PROJECT);
    let status = grpc.streaming(request, path, Raw).await.expect_err("timed out");
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");

    // The dropped call is recorded by a task of its own, just after.
    let undecoded = r#"{"@undecoded":true}"#;
    let expected = vec![
        (SUPERVISOR_A, "supervisor", "INVALID_ARGUMENT", undecoded),
        (SUPERVISOR_A, "supervisor", "INVALID_ARGUMENT", undecoded),
        (SUPERVISOR_A, "supervisor", "RESOURCE_EXHAUSTED", undecoded),
        ("", "", "UNAUTHENTICATED", undecoded),
        ("", "", "UNAUTHENTICATED", undecoded),
        (SUPERVISOR_B, "supervisor", "CANCELLED", undecoded),
    ];
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = h
            .store
            .supervision()
            .list_audit(&gongkai_store::AuditQuery::default(), None, 100)
            .await
            .expect("audit rows");
        if rows.len() >= expected.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rows.reverse();
    let recorded: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r.principal.as_str(), r.role.as_str(), r.status_code.as_str(), r.arguments_json.as_str()))
        .collect();
    assert_eq!(recorded, expected, "oldest first");
    assert!(rows.iter().all(|r| r.method == GET_PROJECT && r.project_code.is_empty()));
}

gongkai_testkit::on_both_stores!(
    every_filter_matches_what_it_says,
    pagination_neither_skips_nor_repeats_while_events_arrive,
    the_missing_contract_flag_appears_on_day_31_without_a_submission,
    the_missing_result_flag_follows_the_publicity_and_clears_with_the_result,
    the_missing_publicity_flag_appears_3_days_after_the_evaluation,
    timeliness_separates_a_late_trading_center_from_a_punctual_one,
    a_tampered_event_is_detected_by_verify_project,
    a_stream_resumes_after_disconnect_without_gaps_or_duplicates,
    a_supervisor_of_region_a_cannot_see_region_b_and_strangers_are_refused,
    every_call_is_in_the_audit_trail,
    calls_refused_before_their_handler_are_audited,
);
