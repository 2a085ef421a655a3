//! SearchProjects latency at scale: `cargo bench -p gongkai-supervision --bench search`.
//!
//! 1. **Load.** `GONGKAI_BENCH_PROJECTS` (default 100,000) projects go into a
//!    PostgreSQL database (`GONGKAI_BENCH_STORAGE`, a URL of an empty
//!    database; unset: a fresh one on the test PostgreSQL; a database that
//!    already holds projects is reused as it is). `GONGKAI_BENCH_TEMPLATES`
//!    (default 5,000) of them go through the real write path: requests of
//!    the lawful PPP fixture, varied per project (region across
//!    Heilongjiang's cities and districts, name, owner, amount, type, how far
//!    the lifecycle went, 5 % with a bid period too short so they carry
//!    soft-rule flags), recorded with `Ingestor::submit` from
//!    `GONGKAI_BENCH_TASKS` (default 24) tasks, then folded by the real
//!    projector (its rebuild). The rest are copies of those made with SQL in
//!    one transaction (new codes, event ids and positions; every stored row
//!    and message rewritten to the copy's code), so loading takes seconds
//!    per ten thousand projects instead of minutes, with the same mix of
//!    regions, stages, names, amounts and flags. `VACUUM (ANALYZE)` runs
//!    afterwards, as autovacuum would, until the search table's pages are
//!    all-visible.
//! 2. **Measure.** The SupervisionService runs in-process behind the
//!    authenticating interceptor on a loopback TCP socket; one client sends
//!    `GONGKAI_BENCH_QUERIES` (default 3,000) filtered SearchProjects calls
//!    one after another (after 100 warm-up calls), a fixed pseudo-random mix
//!    of region prefix, stage, type, amount range, has_flag, Chinese text of
//!    two to four characters and the page size, a third of them followed by
//!    the next page through the token. Each call's wall time (request to
//!    decoded reply, audit write included) goes into an HdrHistogram; it
//!    prints p50/p99/max overall and per query shape, and the number of
//!    projects. With `GONGKAI_BENCH_REPORT=<file>` the same figures are
//!    written there as one JSON object.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use gongkai_grpc::GrpcServer;
use gongkai_grpc::auth::{Authenticator, CredentialConfig, Principal, Role, token_sha256};
use gongkai_ingest::Ingestor;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_client::SupervisionServiceClient;
use gongkai_scenarios::{Request, org, ppp_lifecycle};
use gongkai_store::{Pool, PoolOptions, Store};
use gongkai_supervision::Supervision;
use hdrhistogram::Histogram;
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
/// Terms searched for (each in some names): two characters or more.
const TERMS: &[&str] =
    &["中学", "医院", "道路", "管网", "公园", "水厂", "大桥", "养老", "住房", "园区", "污水处理", "人民医院", "改扩建"];

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

/// Loads `projects` projects: `templates` of them through the real write
/// path, the rest as copies of those (see the module docs).
async fn load(store: &Store, projects: usize, templates: usize, tasks: usize) {
    let templates = templates.clamp(1, projects);
    let started = Instant::now();
    let events = submit_templates(store, templates, tasks).await;
    let submitted = started.elapsed().as_secs_f64();
    let stats = gongkai_projector::runner::rebuild(
        &store.projections(),
        &store.log(),
        &gongkai_bus::LogSource::Store { poll: Duration::from_millis(50), appended: None },
        &|_| {},
    )
    .await
    .expect("projected");
    let projected = started.elapsed().as_secs_f64();
    println!(
        "{templates} projects ({events} events) through Ingestor::submit in {submitted:.1} s \
         ({:.0} events/s, {tasks} tasks), folded by the projector's rebuild ({} projects) in {:.1} s",
        events as f64 / submitted,
        stats.projects,
        projected - submitted
    );
    let Pool::Postgres(pool) = store.pool() else { unreachable!("checked by main") };
    let copies = projects.div_ceil(templates) - 1;
    if copies > 0 {
        let mut tx = pool.begin().await.expect("transaction");
        for statement in copy_statements() {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .bind(copies as i64)
                .bind(templates as i64)
                .bind(projects as i64)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|error| panic!("copying failed: {error}\n{statement}"));
        }
        tx.commit().await.expect("commit");
    }
    println!(
        "{} copies in {:.1} s; {projects} projects loaded in {:.1} s",
        projects - templates,
        started.elapsed().as_secs_f64() - projected,
        started.elapsed().as_secs_f64()
    );
}

/// Sends the requests of projects `0..templates` through `Ingestor::submit`
/// from `tasks` tasks; returns the number of events recorded.
async fn submit_templates(store: &Store, templates: usize, tasks: usize) -> usize {
    let ingestor = Ingestor::new(store.events());
    let principal = Arc::new(Principal { id: "bench-ggzy".into(), role: Role::Submitter, regions: vec!["23".into()] });
    let next = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..tasks {
        let (ingestor, principal, next, events) =
            (ingestor.clone(), Arc::clone(&principal), Arc::clone(&next), Arc::clone(&events));
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= templates {
                    return;
                }
                for request in project_requests(n) {
                    let (domain, submission) = gongkai_testkit::submission(request);
                    ingestor
                        .submit(&principal, domain, submission)
                        .await
                        .unwrap_or_else(|error| panic!("project {n} refused: {error}"));
                    events.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("loader task");
    }
    events.load(Ordering::Relaxed)
}

/// SQL that copies every template project ($2 of them, codes ending in
/// their number 0..$2) $1 times, up to $3 projects in all: copy k of
/// template n is numbered k·$2 + n. The copy's code replaces the template's
/// in every row and inside every stored message (same length, so the
/// protobuf stays valid); its events get new ids and positions, in copy
/// order, so the search order interleaves copies as registrations would.
/// Hash chains of copies do not verify (the hash covers the code): this
/// data is for reading only.
fn copy_statements() -> Vec<String> {
    // `k` = copy number, `o` = template code, `c` = the copy's code.
    let code = |table: &str| {
        format!(
            "FROM generate_series(1, $1) AS k(k) CROSS JOIN {table} t \
             CROSS JOIN LATERAL (SELECT t.project_code AS o, \
               left(t.project_code, 18) || lpad((k.k * $2 + CAST(right(t.project_code, 6) AS BIGINT))::text, 6, '0') AS c) AS m \
             WHERE k.k * $2 + CAST(right(t.project_code, 6) AS BIGINT) < $3"
        )
    };
    let bytes = |column: &str| {
        format!(
            "decode(replace(encode({column}, 'hex'), encode(convert_to(m.o, 'UTF8'), 'hex'), \
             encode(convert_to(m.c, 'UTF8'), 'hex')), 'hex')"
        )
    };
    let new_id = |column: &str| format!("CAST(md5(CAST({column} AS TEXT) || '/' || k.k) AS UUID)");
    vec![
        format!(
            "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id, \
             request_digest, occurred_at, recorded_at, prev_hash, hash, envelope) \
             SELECT {}, m.c, t.project_seq, t.event_type, t.domain, t.source, t.request_id || '/' || k.k, \
             t.request_digest, t.occurred_at, t.recorded_at, t.prev_hash, t.hash, {} {} ORDER BY k.k, t.position",
            new_id("t.event_id"),
            bytes("t.envelope"),
            code("events")
        ),
        format!(
            "INSERT INTO streams (project_code, region_code, last_seq, head_hash) \
             SELECT m.c, t.region_code, t.last_seq, t.head_hash {}",
            code("streams")
        ),
        format!(
            "INSERT INTO compliance_flags (event_id, project_code, rule, flag, raised_at) \
             SELECT {}, m.c, t.rule, {}, t.raised_at {}",
            new_id("t.event_id"),
            bytes("t.flag"),
            code("compliance_flags")
        ),
        format!(
            "INSERT INTO full_projects SELECT m.c, t.name, t.region_code, t.project_type, t.stage, t.head_seq, \
             t.last_event_at, {} {}",
            bytes("t.summary"),
            code("full_projects")
        ),
        format!(
            "INSERT INTO public_projects SELECT m.c, t.name, t.region_code, t.project_type, t.stage, t.head_seq, \
             t.last_event_at, {} {}",
            bytes("t.summary"),
            code("public_projects")
        ),
        format!(
            "INSERT INTO full_timeline SELECT m.c, t.project_seq, t.event_id, t.fact_type, t.occurred_at, \
             t.recorded_at, {} {}",
            bytes("t.entry"),
            code("full_timeline")
        ),
        format!(
            "INSERT INTO public_timeline SELECT m.c, t.project_seq, t.event_id, t.fact_type, t.occurred_at, \
             t.recorded_at, {} {}",
            bytes("t.entry"),
            code("public_timeline")
        ),
        format!(
            "INSERT INTO project_search (project_code, first_position, region_code, project_type, stage, \
             last_event_at, first_occurred_at, last_occurred_at, owner_code, owner_name, winners, sources, \
             investment_fen, contract_price_fen, final_cost_fen, search_text) \
             SELECT m.c, (SELECT e.position FROM events e WHERE e.project_code = m.c AND e.project_seq = 1), \
             t.region_code, t.project_type, t.stage, t.last_event_at, t.first_occurred_at, t.last_occurred_at, \
             t.owner_code, t.owner_name, t.winners, t.sources, t.investment_fen, t.contract_price_fen, \
             t.final_cost_fen, replace(t.search_text, m.o, m.c) {}",
            code("project_search")
        ),
        format!(
            "INSERT INTO project_deadlines (project_code, rule, subject, due_at, source, flag) \
             SELECT m.c, t.rule, t.subject, t.due_at, t.source, {} {}",
            bytes("t.flag"),
            code("project_deadlines")
        ),
        format!(
            "INSERT INTO projector_heads (project_code, projected_seq, position) \
             SELECT m.c, t.projected_seq, (SELECT e.position FROM events e \
             WHERE e.project_code = m.c AND e.project_seq = t.projected_seq) {}",
            code("projector_heads")
        ),
    ]
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
    let templates: usize = env("GONGKAI_BENCH_TEMPLATES", 5_000);
    let storage = match std::env::var("GONGKAI_BENCH_STORAGE") {
        Ok(url) => url,
        Err(_) => gongkai_testkit::fresh_postgres_database().await,
    };
    let options = PoolOptions { max_connections: tasks as u32 + 4, acquire_timeout: Duration::from_secs(60) };
    let store = Store::connect(&storage, &options).await.expect("store");
    store.migrate().await.expect("migrations");
    let Pool::Postgres(pool) = store.pool() else { panic!("GONGKAI_BENCH_STORAGE must be a postgres:// URL") };
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM project_search").fetch_one(pool).await.expect("count");
    if existing == 0 {
        load(&store, projects, templates, tasks).await;
        // What autovacuum does by itself: statistics, and the visibility map
        // that lets search read its covering indexes alone. A vacuum cannot
        // mark pages all-visible while an older snapshot is open (an
        // autovacuum ANALYZE that started during the load): it is repeated
        // until the search table is marked.
        for attempt in 0.. {
            sqlx::query("VACUUM (ANALYZE) project_search, compliance_flags, project_deadlines")
                .execute(pool)
                .await
                .expect("vacuum");
            let (visible, pages): (i32, i32) =
                sqlx::query_as("SELECT relallvisible, relpages FROM pg_class WHERE relname = 'project_search'")
                    .fetch_one(pool)
                    .await
                    .expect("visibility");
            if f64::from(visible) >= 0.95 * f64::from(pages) || attempt == 60 {
                println!("vacuumed: {visible} of {pages} search pages all-visible");
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
    } else {
        println!("reusing the {existing} projects already in {storage}");
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM project_search").fetch_one(pool).await.expect("count");
    let flagged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT project_code FROM compliance_flags \
         UNION SELECT project_code FROM project_deadlines WHERE due_at <= now()) f",
    )
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
    server.add_service(
        Supervision::new(store.supervision(), gongkai_domain::clock::system_clock()).into_server(max, authenticator),
    );
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
    let mut per_shape = serde_json::Map::new();
    for (label, histogram) in &by_label {
        println!(
            "  {label:>22}: {:>5} calls, p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
            histogram.len(),
            ms(histogram.value_at_quantile(0.5)),
            ms(histogram.value_at_quantile(0.99)),
            ms(histogram.max())
        );
        per_shape.insert(
            (*label).to_owned(),
            serde_json::json!({
                "calls": histogram.len(),
                "p50_ms": ms(histogram.value_at_quantile(0.5)),
                "p99_ms": ms(histogram.value_at_quantile(0.99)),
                "max_ms": ms(histogram.max()),
            }),
        );
    }
    if let Ok(path) = std::env::var("GONGKAI_BENCH_REPORT") {
        let report = serde_json::json!({
            "bench": "search",
            "storage": "postgres",
            "projects": count,
            "flagged_projects": flagged,
            "queries": measured,
            "returned": returned,
            "p50_ms": ms(all.value_at_quantile(0.5)),
            "p99_ms": ms(all.value_at_quantile(0.99)),
            "max_ms": ms(all.max()),
            "target_p99_ms": 50,
            "per_shape": per_shape,
        });
        std::fs::write(&path, format!("{report}\n")).unwrap_or_else(|error| panic!("{path}: {error}"));
        println!("figures written to {path}");
    }
    shutdown.cancel();
    let _ = serving.await;
}
