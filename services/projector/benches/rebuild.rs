//! Rebuild throughput: `cargo bench -p gongkai-projector --bench rebuild`.
//!
//! Builds a log of `GONGKAI_BENCH_EVENTS` events (default 1,000,000) in a
//! fresh store (`GONGKAI_BENCH_STORAGE`, default a SQLite file in a temp dir;
//! a `postgres://` URL of an empty database works too), then times
//! `gongkai projector rebuild`'s fold of the whole log and prints events/s.
//! It also times the rendering alone, on one thread, which bounds the
//! rebuild on a small machine (`GONGKAI_BENCH_RENDER_ONLY` stops there).
//! With `GONGKAI_BENCH_REPORT` set, the figures are also written to that file
//! as one JSON object.
//!
//! The log: `GONGKAI_BENCH_TEMPLATES` (default 200) lawful PPP lifecycles of
//! 29 events each go through the real submit path; the rest are copies of
//! them under new project codes, with new event and request ids and their own
//! hash chain, appended a few thousand streams at a time by
//! `EventStore::append_streams` (the submit path runs at about a thousand events
//! per second: a million would take a quarter of an hour).

#[path = "support/raw_load.rs"]
mod raw_load;
#[path = "support/store.rs"]
mod store_support;

use std::time::Instant;

use gongkai_bus::LogSource;
use gongkai_domain::hash::{chain_hash, sha256};
use gongkai_grpc::auth::{Principal, Role};
use gongkai_ingest::Ingestor;
use gongkai_projector::runner::rebuild;
use gongkai_proto::v1::{Domain, EventEnvelope};
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::StreamEvent;
use prost::Message;

/// The allocator the `gongkai` binary runs on, so the figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Project code of lifecycle `n` (templates and copies alike: same length,
/// so a copy's code can replace its template's inside encoded messages).
fn project_code(n: usize) -> String {
    format!("2024-230113-77-01-{n:06}")
}

/// Request-id prefix of lifecycle `n`, fixed length for the same reason.
fn request_prefix(n: usize) -> String {
    format!("r{n:07}")
}

/// Where the strings a copy replaces sit in a template event's encoding.
struct Template {
    /// The envelope encoded without position, prev_hash and hash.
    bytes: Vec<u8>,
    /// `(offset, what)`: 0 = the project code, 1 = the request prefix,
    /// `2 + i` = the id of the project's event `i`.
    spots: Vec<(usize, usize)>,
    region_code: String,
    topic: &'static str,
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(at, _)| at).collect()
}

/// The templates of one project's events (in seq order).
fn templates(n: usize, events: &[EventEnvelope]) -> Vec<Template> {
    let mut needles = vec![project_code(n).into_bytes(), request_prefix(n).into_bytes()];
    needles.extend(events.iter().map(|event| event.event_id.clone().into_bytes()));
    events
        .iter()
        .map(|event| {
            let mut bare = event.clone();
            bare.position = 0;
            bare.prev_hash.clear();
            bare.hash.clear();
            let bytes = bare.encode_to_vec();
            let mut spots: Vec<(usize, usize)> = needles
                .iter()
                .enumerate()
                .flat_map(|(what, needle)| find_all(&bytes, needle).into_iter().map(move |at| (at, what)))
                .collect();
            spots.sort_unstable();
            Template {
                bytes,
                spots,
                region_code: "230113".to_owned(),
                topic: gongkai_domain::kinds::topic(Domain::try_from(event.domain).unwrap_or_default()),
            }
        })
        .collect()
}

/// Copies record no submitted request: a digest of the event's source and
/// request id stands in for one.
fn request_digest(event: &EventEnvelope) -> [u8; 32] {
    sha256(format!("{}/{}", event.source, event.request_id).as_bytes())
}

/// Copy `n` of a project's templates: new code, request and event ids, and
/// its own chain.
fn copy(n: usize, templates: &[Template]) -> Vec<EventEnvelope> {
    let mut replacements = vec![project_code(n).into_bytes(), request_prefix(n).into_bytes()];
    replacements.extend(templates.iter().map(|_| uuid::Uuid::now_v7().hyphenated().to_string().into_bytes()));
    let mut prev: Option<[u8; 32]> = None;
    templates
        .iter()
        .map(|template| {
            let mut bytes = template.bytes.clone();
            for (at, what) in &template.spots {
                let replacement = &replacements[*what];
                bytes[*at..*at + replacement.len()].copy_from_slice(replacement);
            }
            let mut event =
                EventEnvelope::decode(bytes.as_slice()).expect("same-length replacements keep the encoding");
            event.prev_hash = prev.map(hex::encode).unwrap_or_default();
            let hash = chain_hash(prev.as_ref(), &event);
            event.hash = hex::encode(hash);
            prev = Some(hash);
            event
        })
        .collect()
}

/// Events per second the rebuild's rendering alone reaches on one thread
/// (no reading, no writing): the whole log, read first, rendered in the
/// rebuild's batches of whole projects.
async fn render_alone(store: &gongkai_store::Store) -> f64 {
    let mut events = store.log().events_after(0, u32::MAX).await.expect("the log");
    events.sort_by(|a, b| (&a.subject, a.project_seq).cmp(&(&b.subject, b.project_seq)));
    let count = events.len();
    let mut batches = Vec::new();
    while !events.is_empty() {
        let rest = events.split_off(events.len().min(20_000));
        batches.push(std::mem::replace(&mut events, rest));
    }
    let started = Instant::now();
    let mut rendered = 0;
    for batch in batches {
        rendered += gongkai_projector::runner::render_whole(batch).iter().filter(|p| p.rendered.is_some()).count();
    }
    let seconds = started.elapsed().as_secs_f64();
    assert!(rendered > 0, "projects were rendered");
    count as f64 / seconds
}

#[tokio::main]
async fn main() {
    // The rebuild's phases, with RUST_LOG=info.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let target: usize = std::env::var("GONGKAI_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let template_count: usize =
        std::env::var("GONGKAI_BENCH_TEMPLATES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let (store, storage_name, _dir) = store_support::open().await;

    let ingestor = Ingestor::new(store.events());
    let principal = Principal { id: "bench".into(), role: Role::Submitter, regions: vec!["23".into()] };
    let loading = Instant::now();
    let per_project = ppp_lifecycle(&project_code(0), &request_prefix(0)).requests.len();
    let template_count = template_count.min(target.div_ceil(per_project)).max(1);
    for n in 0..template_count {
        for request in ppp_lifecycle(&project_code(n), &request_prefix(n)).requests {
            let (domain, submission) = gongkai_testkit::submission(request);
            ingestor.submit(&principal, domain, submission).await.expect("accepted");
        }
    }
    let submitted = loading.elapsed().as_secs_f64();
    let mut recorded = store.log().events_after(0, u32::MAX).await.expect("templates");
    recorded.sort_by(|a, b| (&a.subject, a.project_seq).cmp(&(&b.subject, b.project_seq)));
    let by_project: Vec<Vec<Template>> = (0..template_count)
        .map(|n| {
            let code = project_code(n);
            let events: Vec<EventEnvelope> = recorded.iter().filter(|event| event.subject == code).cloned().collect();
            templates(n, &events)
        })
        .collect();
    let mut events = recorded.len();
    let mut projects = template_count;
    let mut streams: Vec<(Vec<EventEnvelope>, usize)> = Vec::new();
    while events < target {
        let template = projects % template_count;
        let copied = copy(projects, &by_project[template]);
        events += copied.len();
        streams.push((copied, template));
        projects += 1;
        if streams.len() == 1000 || events >= target {
            let batch: Vec<StreamEvent<'_>> = streams
                .iter()
                .flat_map(|(events, template)| {
                    events.iter().zip(&by_project[*template]).map(|(envelope, template)| StreamEvent {
                        envelope,
                        region_code: &template.region_code,
                        request_digest: request_digest(envelope),
                        topic: template.topic,
                    })
                })
                .collect();
            store.events().append_streams(&batch).await.expect("copies appended");
            streams.clear();
        }
    }
    println!(
        "loaded {events} events of {projects} projects in {:.1} s ({template_count} lifecycles submitted in {submitted:.1} s)",
        loading.elapsed().as_secs_f64()
    );

    let render_per_second = render_alone(&store).await;
    println!("rendering alone, one thread: {render_per_second:.0} events/s");
    if std::env::var_os("GONGKAI_BENCH_RENDER_ONLY").is_some() {
        return;
    }

    // The log just written is vacuumed and analyzed first, as a deployment's
    // would be by then: otherwise the first rebuild's reads set hint bits
    // and race autovacuum, and its figure is the load's as much as its own.
    if let gongkai_store::Pool::Postgres(pool) = store.pool() {
        sqlx::raw_sql("VACUUM ANALYZE events").execute(pool).await.expect("vacuums the log");
    }
    let source = LogSource::Store { poll: std::time::Duration::from_millis(50), appended: None };
    // Into empty views (the feed gains every public entry).
    let started = Instant::now();
    let stats = rebuild(&store.projections(), &store.log(), &source, &|_| {}).await.expect("rebuild");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(stats.events as usize, events);
    assert_eq!(stats.projects as usize, projects);
    let per_second = stats.events as f64 / seconds;
    println!(
        "rebuild: {} events of {} projects in {seconds:.2} s = {per_second:.0} events/s",
        stats.events, stats.projects
    );
    // Beside the views just built, while the site's and supervision's
    // readers read them.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let readers = tokio::spawn(raw_load::sample_readers(store.clone(), project_code(0), stopped));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = Instant::now();
    let again = rebuild(&store.projections(), &store.log(), &source, &|_| {}).await.expect("rebuild");
    let seconds_beside = started.elapsed().as_secs_f64();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.send_replace(true);
    let sampled = readers.await.expect("readers");
    assert_eq!(again, stats);
    let beside_per_second = stats.events as f64 / seconds_beside;
    println!(
        "rebuild beside live views: {seconds_beside:.2} s = {beside_per_second:.0} events/s; readers: {} reads, \
         {} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        sampled.reads,
        sampled.failures,
        sampled.percentile(0.5),
        sampled.percentile(0.99),
        sampled.percentile(1.0)
    );
    assert_eq!(sampled.failures, 0, "the readers were answered throughout the rebuild");
    let raw = raw_load::raw_load(&store).await;
    let raw_per_second = stats.events as f64 / raw.seconds;
    println!(
        "raw load of the same {} rows ({} bytes copied): {:.2} s = {raw_per_second:.0} events/s; \
         the rebuild runs at {:.0} % of it",
        raw.rows,
        raw.bytes,
        raw.seconds,
        100.0 * per_second / raw_per_second
    );
    if let Ok(path) = std::env::var("GONGKAI_BENCH_REPORT") {
        let report = serde_json::json!({
            "bench": "rebuild",
            "storage": storage_name,
            "events": stats.events,
            "projects": stats.projects,
            "seconds": seconds,
            "events_per_second": per_second,
            "beside_seconds": seconds_beside,
            "beside_events_per_second": beside_per_second,
            "raw_load_seconds": raw.seconds,
            "raw_load_rows": raw.rows,
            "raw_load_bytes": raw.bytes,
            "raw_load_events_per_second": raw_per_second,
            "render_alone_events_per_second": render_per_second,
            "share_of_raw_load": per_second / raw_per_second,
            "reader_reads": sampled.reads,
            "reader_failures": sampled.failures,
            "reader_p50_ms": sampled.percentile(0.5),
            "reader_p99_ms": sampled.percentile(0.99),
            "reader_max_ms": sampled.percentile(1.0),
        });
        std::fs::write(&path, format!("{report}\n")).expect("report written");
    }
}
