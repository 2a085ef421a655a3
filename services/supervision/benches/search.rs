//! SearchProjects latency at scale: `cargo bench -p gongkai-supervision --bench search`.
//!
//! 1. **Load.** `GONGKAI_BENCH_PROJECTS` (default 100,000) projects go into a
//!    PostgreSQL database (`GONGKAI_BENCH_STORAGE`, a URL of an empty
//!    database; unset: a fresh one on the test PostgreSQL) through the real
//!    write path: requests of the lawful PPP fixture, varied per project
//!    (region across Heilongjiang's cities and districts, name, owner,
//!    amount, type, how far the lifecycle went, 5 % with a bid period too
//!    short so they carry soft-rule flags), turned into submissions and
//!    recorded with `Ingestor::submit`, then folded by the real projector
//!    (`gongkai_projector::project`, one call per event). `GONGKAI_BENCH_TASKS`
//!    (default 24) tokio tasks share a pool. `ANALYZE` runs once afterwards,
//!    as autovacuum would.
//! 2. **Measure.** The SupervisionService runs in-process behind the
//!    authenticating interceptor on a loopback TCP socket; one client sends
//!    `GONGKAI_BENCH_QUERIES` (default 3,000) filtered SearchProjects calls
//!    one after another (after 100 warm-up calls), a fixed pseudo-random mix
//!    of region prefix, stage, type, amount range, has_flag, a 2-character
//!    Chinese term and the page size, a third of them followed by the next
//!    page through the token. Each call's wall time (request to decoded
//!    reply, audit write included) goes into an HdrHistogram; it prints
//!    p50/p99/max overall and per filter, and the number of projects.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use gongkai_grpc::GrpcServer;
use gongkai_grpc::auth::{Authenticator, CredentialConfig, Principal, Role, token_sha256};
use gongkai_ingest::{IngestRequest, Ingestor};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_client::SupervisionServiceClient;
use gongkai_store::{PoolOptions, Store};
use gongkai_supervision::Supervision;
use gongkai_testkit::scenario::{Request, org, ppp_lifecycle};
use hdrhistogram::Histogram;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const CITIES: &[(&str, &str)] = &[
    ("01", "哈尔滨"),
    ("02", "齐齐哈尔"),
    ("03", "鸡西"),
    ("04", "鹤岗"),
    ("05", "双鸭山"),
    ("06", "大庆"),
    ("07", "伊春"),
    ("08", "佳木斯"),
    ("09", "七台河"),
    ("10", "牡丹江"),
    ("11", "黑河"),
    ("12", "绥化"),
    ("27", "大兴安岭"),
];
const FACILITIES: &[&str] = &[
    "污水处理厂",
    "第一中学",
    "实验小学",
    "人民医院",
    "城市道路",
    "跨江大桥",
    "供热管网",
    "体育馆",
    "图书馆",
    "湿地公园",
    "养老服务中心",
    "垃圾焚烧发电厂",
    "自来水厂",
    "保障性住房",
    "农田水利",
    "物流园区",
    "文化中心",
    "幼儿园",
    "客运站",
    "地下综合管廊",
];
const WORKS: &[&str] = &["新建工程", "改扩建工程", "维修改造工程", "PPP项目", "一期工程"];
/// 2-character terms searched for (each in some names).
const TERMS: &[&str] = &["中学", "医院", "道路", "管网", "公园", "水厂", "大桥", "养老", "住房", "园区"];

/// A small deterministic generator (SplitMix64).
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn submission(request: Request) -> (pb::Domain, gongkai_domain::Submission) {
    use pb::Domain;
    match request {
        Request::RecordApproval(r) => (Domain::Projects, r.into_submission()),
        Request::DisclosePppDetails(r) => (Domain::Projects, r.into_submission()),
        Request::AnnounceTender(r) => (Domain::Tenders, r.into_submission()),
        Request::AmendTender(r) => (Domain::Tenders, r.into_submission()),
        Request::RecordBidOpening(r) => (Domain::Tenders, r.into_submission()),
        Request::RecordEvaluation(r) => (Domain::Review, r.into_submission()),
        Request::PublicizeCandidates(r) => (Domain::Review, r.into_submission()),
        Request::AnnounceAward(r) => (Domain::Awards, r.into_submission()),
        Request::IssueAwardNotice(r) => (Domain::Awards, r.into_submission()),
        other => panic!("the generator does not use {other:?}"),
    }
}

/// The requests of project `n`: a varied approval, then the fixture's
/// lifecycle as far as this project went.
fn project_requests(n: usize) -> Vec<Request> {
    let mut rng = Rng(n as u64 * 7919 + 17);
    let (city, city_name) = CITIES[rng.below(CITIES.len() as u64) as usize];
    let district = 2 + rng.below(10);
    let region = format!("23{city}{district:02}");
    let code = format!("2024-{region}-77-01-{:06}", n % 1_000_000);
    let ppp = n.is_multiple_of(3);
    let facility = FACILITIES[rng.below(FACILITIES.len() as u64) as usize];
    let works = WORKS[rng.below(WORKS.len() as u64) as usize];
    let name = format!("{city_name}市{facility}{works}");
    let mut requests = ppp_lifecycle(&code, &format!("bench-{n}")).requests;
    let Request::RecordApproval(approval) = &mut requests[0] else { panic!("the fixture starts with an approval") };
    let days_earlier = rng.below(700) as i64;
    let approved_at =
        Utc.with_ymd_and_hms(2024, 1, 1, 1, 0, 0).single().expect("time") - chrono::Duration::days(days_earlier);
    approval.occurred_at = Some(prost_types::Timestamp { seconds: approved_at.timestamp(), nanos: 0 });
    let fact = approval.fact.as_mut().expect("fact");
    fact.region_code.clone_from(&region);
    if let Some(location) = fact.location.as_mut() {
        location.region_code.clone_from(&region);
    }
    fact.project_name = name;
    fact.project_type = if ppp { pb::ProjectType::Ppp } else { pb::ProjectType::Construction } as i32;
    fact.owner = Some(org(&format!("{city_name}市{district:02}区城市建设投资有限公司"), 1000 + rng.below(500) as u32));
    fact.total_investment_fen = 100_000_000 * (1 + rng.below(1000) as i64);
    if !ppp {
        requests.retain(|r| !matches!(r, Request::DisclosePppDetails(_)));
    }
    let tender = requests.iter().position(|r| matches!(r, Request::AnnounceTender(_))).expect("tender");
    let flagged = n % 20 == 10;
    let keep = match n % 10 {
        _ if flagged => tender + 1,
        0..4 => 1,
        4..6 => tender + 1,
        6..8 => tender + 3, // amendment, opening of lot A1
        8 => tender + 4,    // evaluation
        _ => tender + 6,    // publicity, award
    };
    requests.truncate(keep);
    if flagged && let Request::AnnounceTender(announce) = &mut requests[tender] {
        // Bid deadline 10 days after the documents: TBL-24-BID-PERIOD.
        let fact = announce.fact.as_mut().expect("fact");
        let issued = fact.tender_documents_issued_at.expect("issued");
        let deadline = prost_types::Timestamp { seconds: issued.seconds + 10 * 86_400, nanos: 0 };
        fact.bid_deadline = Some(deadline);
        fact.bid_opening_at = Some(deadline);
    }
    requests
}

async fn load(store: &Store, projects: usize, tasks: usize) {
    let ingestor = Ingestor::new(store.clone());
    let principal = Arc::new(Principal { id: "bench-ggzy".into(), role: Role::Submitter, regions: vec!["23".into()] });
    let next = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..tasks {
        let (store, ingestor, principal, next, events) =
            (store.clone(), ingestor.clone(), Arc::clone(&principal), Arc::clone(&next), Arc::clone(&events));
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= projects {
                    return;
                }
                let requests = project_requests(n);
                let code = match &requests[0] {
                    Request::RecordApproval(r) => r.project_code.clone(),
                    _ => unreachable!(),
                };
                for request in requests {
                    let (domain, submission) = submission(request);
                    ingestor
                        .submit(&principal, domain, submission)
                        .await
                        .unwrap_or_else(|error| panic!("project {n} refused: {error}"));
                }
                let stream = store.load_stream(&code).await.expect("stream");
                for event in &stream {
                    gongkai_projector::project(&store, event).await.expect("projected");
                }
                let total = events.fetch_add(stream.len(), Ordering::Relaxed) + stream.len();
                if (n + 1) % 10_000 == 0 {
                    eprintln!("  {} projects, {total} events, {:.0} s", n + 1, started.elapsed().as_secs_f64());
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("loader task");
    }
    let seconds = started.elapsed().as_secs_f64();
    let events = events.load(Ordering::Relaxed);
    println!(
        "loaded {projects} projects ({events} events) through Ingestor::submit + the projector in {seconds:.1} s \
         ({:.0} events/s, {tasks} tasks)",
        events as f64 / seconds
    );
}

/// One query of the mix: its label and request.
fn query(rng: &mut Rng) -> (&'static str, pb::SearchProjectsRequest) {
    let mut request =
        pb::SearchProjectsRequest { page_size: [20, 50, 100][rng.below(3) as usize], ..Default::default() };
    let city = CITIES[rng.below(CITIES.len() as u64) as usize].0;
    let region = |rng: &mut Rng| {
        if rng.below(2) == 0 { format!("23{city}") } else { format!("23{city}{:02}", 2 + rng.below(10)) }
    };
    let stages = [pb::Stage::Approval, pb::Stage::Tendering, pb::Stage::Evaluation, pb::Stage::Award];
    let label = match rng.below(8) {
        0 => {
            request.region_prefix = region(rng);
            "region"
        }
        1 => {
            request.stages = vec![stages[rng.below(4) as usize] as i32];
            request.region_prefix = region(rng);
            "stage+region"
        }
        2 => {
            request.project_type =
                if rng.below(2) == 0 { pb::ProjectType::Ppp } else { pb::ProjectType::Construction } as i32;
            request.stages = vec![stages[rng.below(4) as usize] as i32];
            "type+stage"
        }
        3 => {
            let min = 100_000_000 * (1 + rng.below(900) as i64);
            request.min_amount_fen = Some(min);
            request.max_amount_fen = Some(min + 100_000_000 * (1 + rng.below(100) as i64));
            "amount"
        }
        4 => {
            request.has_flag = true;
            if rng.below(2) == 0 {
                request.region_prefix = format!("23{city}");
            }
            "has_flag"
        }
        5 => {
            request.text = TERMS[rng.below(TERMS.len() as u64) as usize].into();
            "text"
        }
        6 => {
            request.text = TERMS[rng.below(TERMS.len() as u64) as usize].into();
            request.region_prefix = format!("23{city}");
            request.project_type = pb::ProjectType::Construction as i32;
            "text+region+type"
        }
        _ => {
            request.region_prefix = format!("23{city}");
            let min = 100_000_000 * (1 + rng.below(500) as i64);
            request.min_amount_fen = Some(min);
            request.max_amount_fen = Some(min * 2);
            request.stages = vec![pb::Stage::Approval as i32, pb::Stage::Tendering as i32];
            "region+amount+stages"
        }
    };
    (label, request)
}

#[tokio::main]
async fn main() {
    let projects: usize = env("GONGKAI_BENCH_PROJECTS", 100_000);
    let queries: usize = env("GONGKAI_BENCH_QUERIES", 3_000);
    let tasks: usize = env("GONGKAI_BENCH_TASKS", 24);
    let storage = match std::env::var("GONGKAI_BENCH_STORAGE") {
        Ok(url) => url,
        Err(_) => gongkai_testkit::fresh_postgres_database().await,
    };
    let options = PoolOptions { max_connections: tasks as u32 + 4, acquire_timeout: Duration::from_secs(60) };
    let store = Store::connect(&storage, &options).await.expect("store");
    store.migrate().await.expect("migrations");
    let Store::Postgres(pool) = &store else { panic!("GONGKAI_BENCH_STORAGE must be a postgres:// URL") };
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM project_search").fetch_one(pool).await.expect("count");
    if existing == 0 {
        load(&store, projects, tasks).await;
        sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
    } else {
        println!("reusing the {existing} projects already in {storage}");
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM project_search").fetch_one(pool).await.expect("count");
    let flagged: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT project_code) FROM compliance_flags")
        .fetch_one(pool)
        .await
        .expect("count");

    let supervisor = "bench-supervisor";
    let token = format!("token-{supervisor}");
    let authenticator = Authenticator::new(&[CredentialConfig {
        id: supervisor.into(),
        token_sha256: token_sha256(&token).iter().map(|b| format!("{b:02x}")).collect(),
        role: Role::Supervisor,
        regions: vec!["23".into()],
    }])
    .expect("credentials");
    let max = gongkai_grpc::DEFAULT_MAX_MESSAGE_BYTES;
    let mut server = GrpcServer::new(max);
    server.add_service(InterceptedService::new(
        Supervision::new(store.clone(), Arc::new(Utc::now)).into_server(max),
        authenticator,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    let serving = tokio::spawn(async move { server.serve(listener, stop.cancelled_owned()).await });
    let channel = Channel::from_shared(format!("http://{address}")).expect("uri").connect().await.expect("connects");
    let mut client = SupervisionServiceClient::new(channel);
    let authorization: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().expect("ascii");
    let mut call = async |request: pb::SearchProjectsRequest| {
        let mut request = tonic::Request::new(request);
        request.metadata_mut().insert("authorization", authorization.clone());
        let started = Instant::now();
        let reply = client.search_projects(request).await.expect("search").into_inner();
        (started.elapsed(), reply)
    };

    let mut rng = Rng(42);
    for _ in 0..100 {
        call(query(&mut rng).1).await;
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut by_label: std::collections::BTreeMap<&str, Histogram<u64>> = std::collections::BTreeMap::new();
    let mut returned = 0usize;
    let mut measured = 0usize;
    while measured < queries {
        let (label, request) = query(&mut rng);
        let follow = rng.below(3) == 0;
        let (elapsed, reply) = call(request.clone()).await;
        let mut record = |label: &'static str, elapsed: Duration| {
            let micros = elapsed.as_micros() as u64;
            all.record(micros).expect("in range");
            by_label
                .entry(label)
                .or_insert_with(|| Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram"))
                .record(micros)
                .expect("in range");
        };
        record(label, elapsed);
        returned += reply.projects.len();
        measured += 1;
        if follow && !reply.next_page_token.is_empty() {
            let next = pb::SearchProjectsRequest { page_token: reply.next_page_token, ..request };
            let (elapsed, reply) = call(next).await;
            record("next page", elapsed);
            returned += reply.projects.len();
            measured += 1;
        }
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    println!(
        "SearchProjects over {count} projects ({flagged} flagged) on PostgreSQL, {measured} calls over loopback gRPC \
         (one client, sequential, audit included), {} projects returned:",
        returned
    );
    println!(
        "  all: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 50 ms)",
        ms(all.value_at_quantile(0.5)),
        ms(all.value_at_quantile(0.99)),
        ms(all.max())
    );
    for (label, histogram) in &by_label {
        println!(
            "  {label:>22}: {:>5} calls, p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
            histogram.len(),
            ms(histogram.value_at_quantile(0.5)),
            ms(histogram.value_at_quantile(0.99)),
            ms(histogram.max())
        );
    }
    shutdown.cancel();
    let _ = serving.await;
}
