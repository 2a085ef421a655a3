//! The live fold's cost: `cargo bench -p gongkai-projector --bench fold`.
//!
//! Two measures, in a fresh store (`GONGKAI_BENCH_STORAGE`, default a SQLite
//! file in a temp dir; a `postgres://` URL of an empty database works too):
//!
//! 1. **Per event, by the project's age.** `GONGKAI_BENCH_COPIES` (default 3)
//!    lawful projects stretched to 1,000+ events (more payments before
//!    completion) are folded as the live projector folds them; the 10th,
//!    100th and 1,000th event (and the `GONGKAI_BENCH_SAMPLES`, default 10,
//!    after each) are folded one per transaction and timed: *warm*, by the
//!    projector that folded the events before (what following the log is),
//!    *cold*, by a projector that never saw the project (after a restart, or
//!    once the project left its memory), and *without memory*, by
//!    `gongkai_projector::project` (the fold every event went through before
//!    the projector had memory: read everything kept, render it whole).
//! 2. **Throughput.** `GONGKAI_BENCH_PROJECTS` (default 2,000) lawful
//!    lifecycles of 29 events (their first `GONGKAI_BENCH_LIFECYCLE`), 256 in
//!    flight at a time and interleaved as the load generator sends them,
//!    folded in batches of 500 (what the embedded log hands over at most), by
//!    one projector: events per second, and the process's resident memory.
//!
//! The projectors remember `GONGKAI_BENCH_MEMORY_MB` (default 64) of
//! renderings; with 0 they remember nothing and every fold reads and renders
//! its projects whole, as the projector did before it had memory.
//!
//! Prints the figures; with `GONGKAI_BENCH_REPORT` set, writes them to that
//! file as one JSON object.

#[path = "support/store.rs"]
mod store_support;
#[path = "../tests/support/streams.rs"]
mod streams;

use std::time::{Duration, Instant};

use gongkai_projector::runner::Folder;
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::Projected;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn project_code(series: usize, n: usize) -> String {
    format!("2024-230113-77-{series:02}-{n:06}")
}

/// The process's resident set, in bytes (0 where /proc is not there).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Median and 90th percentile, in microseconds.
fn spread(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1];
    (at(0.5).as_secs_f64() * 1e6, at(0.9).as_secs_f64() * 1e6)
}

async fn fold(folder: &mut Folder, events: &[EventEnvelope]) -> Vec<Projected> {
    folder.fold(events.to_vec()).await.expect("folds")
}

/// Folds one event and says how long it took; it must advance the views.
async fn timed(folder: &mut Folder, event: &EventEnvelope) -> Duration {
    let started = Instant::now();
    let outcome = fold(folder, std::slice::from_ref(event)).await;
    let took = started.elapsed();
    assert_eq!(outcome, [Projected::Advanced { head: event.project_seq }]);
    took
}

#[tokio::main]
async fn main() {
    let (store, storage_name, _dir) = store_support::open().await;
    let copies = env_number("GONGKAI_BENCH_COPIES", 3).max(1);
    // What the projectors may remember (0: nothing, every fold reads and
    // renders the project whole, as before memory).
    let memory_bytes = env_number("GONGKAI_BENCH_MEMORY_MB", 64) as u64 * 1024 * 1024;
    let samples = env_number("GONGKAI_BENCH_SAMPLES", 10).max(1);
    let project_count = env_number("GONGKAI_BENCH_PROJECTS", 2000);
    let lifecycle = env_number("GONGKAI_BENCH_LIFECYCLE", 27).clamp(1, 27);
    let ages = [10_usize, 100, 1000];

    // 1. Per event, by age.
    let mut warm: Vec<Vec<Duration>> = vec![Vec::new(); ages.len()];
    let mut cold: Vec<Vec<Duration>> = vec![Vec::new(); ages.len()];
    let mut stateless: Vec<Vec<Duration>> = vec![Vec::new(); ages.len()];
    let mut position = 1;
    for copy in 0..copies {
        let total = ages[ages.len() - 1] + 3 * samples;
        let events = streams::long_project(&project_code(1, copy), total, position);
        position += events.len() as u64;
        let mut folder = Folder::with_memory(store.projections(), memory_bytes);
        let mut folded = 0;
        for (at, age) in ages.iter().enumerate() {
            // Everything before the age, as the live projector would have folded it.
            let before = age - 1;
            for chunk in events[folded..before].chunks(500) {
                fold(&mut folder, chunk).await;
            }
            for event in &events[before..before + samples] {
                warm[at].push(timed(&mut folder, event).await);
            }
            for event in &events[before + samples..before + 2 * samples] {
                let mut stranger = Folder::new(store.projections());
                cold[at].push(timed(&mut stranger, event).await);
            }
            // The fold without memory at all: `project_event` with the
            // whole renderer, what every fold did before.
            for event in &events[before + 2 * samples..before + 3 * samples] {
                let started = Instant::now();
                let outcome = gongkai_projector::project(&store.projections(), event).await.expect("folds");
                stateless[at].push(started.elapsed());
                assert_eq!(outcome, Projected::Advanced { head: event.project_seq });
            }
            folded = before + 3 * samples;
        }
    }
    let mut per_event = serde_json::Map::new();
    for (at, age) in ages.iter().enumerate() {
        let (warm_p50, warm_p90) = spread(&mut warm[at]);
        let (cold_p50, cold_p90) = spread(&mut cold[at]);
        let (stateless_p50, stateless_p90) = spread(&mut stateless[at]);
        println!(
            "event {age:>4} of a project: warm p50 {warm_p50:>8.0} µs p90 {warm_p90:>8.0} µs | \
             cold p50 {cold_p50:>8.0} µs p90 {cold_p90:>8.0} µs | \
             without memory p50 {stateless_p50:>8.0} µs p90 {stateless_p90:>8.0} µs ({} samples each)",
            warm[at].len()
        );
        per_event.insert(
            age.to_string(),
            serde_json::json!({
                "warm_p50_us": warm_p50, "warm_p90_us": warm_p90,
                "cold_p50_us": cold_p50, "cold_p90_us": cold_p90,
                "without_memory_p50_us": stateless_p50, "without_memory_p90_us": stateless_p90,
                "samples": warm[at].len(),
            }),
        );
    }

    // The rendering alone, without the store: the 1,000-event project
    // rendered whole (as a fold that does not remember it must), and carried
    // over its last event (as one that does).
    let events = streams::long_project(&project_code(3, 0), ages[ages.len() - 1], 1);
    let mut whole = Vec::new();
    let mut started = Vec::new();
    let mut carried = Vec::new();
    for _ in 0..samples {
        let at = Instant::now();
        gongkai_projector::view_rows(&events).expect("renders");
        whole.push(at.elapsed());
        let at = Instant::now();
        let (_, mut rendering) = gongkai_projector::Carried::start(&events[..events.len() - 1]).expect("renders");
        started.push(at.elapsed());
        let at = Instant::now();
        rendering.advance(&events[events.len() - 1..]).expect("carries");
        carried.push(at.elapsed());
    }
    let (whole_p50, _) = spread(&mut whole);
    let (started_p50, _) = spread(&mut started);
    let (carried_p50, _) = spread(&mut carried);
    println!(
        "rendering the 1000th event, no store: whole {whole_p50:.0} µs, started {started_p50:.0} µs, \
         carried {carried_p50:.0} µs (p50)"
    );

    // 2. Throughput over many projects.
    let in_flight = 256;
    let mut lifecycles: Vec<std::vec::IntoIter<EventEnvelope>> = Vec::new();
    let mut next = 0;
    let mut start_next = |position: &mut u64| -> Option<std::vec::IntoIter<EventEnvelope>> {
        (next < project_count).then(|| {
            let events = streams::long_project(&project_code(2, next), lifecycle, *position);
            *position += events.len() as u64;
            next += 1;
            events.into_iter()
        })
    };
    while lifecycles.len() < in_flight {
        match start_next(&mut position) {
            Some(lifecycle) => lifecycles.push(lifecycle),
            None => break,
        }
    }
    // The batches are made as they are folded (a hundred thousand projects'
    // events would not fit in memory beside the projector's); only the
    // folds are timed.
    let mut folder = Folder::with_memory(store.projections(), memory_bytes);
    let rss_before = rss_bytes();
    let (mut events, mut seconds, mut rss_peak) = (0, 0.0, rss_before);
    let mut turn = 0;
    while !lifecycles.is_empty() {
        let mut batch = Vec::with_capacity(500);
        while batch.len() < 500 && !lifecycles.is_empty() {
            turn %= lifecycles.len();
            match lifecycles[turn].next() {
                Some(event) => {
                    batch.push(event);
                    turn += 1;
                }
                None => match start_next(&mut position) {
                    Some(lifecycle) => lifecycles[turn] = lifecycle,
                    None => {
                        lifecycles.swap_remove(turn);
                    }
                },
            }
        }
        events += batch.len();
        let started = Instant::now();
        fold(&mut folder, &batch).await;
        seconds += started.elapsed().as_secs_f64();
        if events % 50_000 < 500 {
            rss_peak = rss_peak.max(rss_bytes());
        }
    }
    let per_second = events as f64 / seconds;
    let (remembered, weight) = folder.remembered();
    let rss_after = rss_bytes();
    let rss_peak = rss_peak.max(rss_after);
    println!(
        "throughput: {events} events of {project_count} projects ({in_flight} in flight) in {seconds:.2} s = \
         {per_second:.0} events/s; remembers {remembered} projects, {:.1} MB by its count; \
         RSS {:.0} MB before, {:.0} MB after, {:.0} MB at most",
        weight as f64 / 1e6,
        rss_before as f64 / 1e6,
        rss_after as f64 / 1e6,
        rss_peak as f64 / 1e6,
    );

    if let Ok(path) = std::env::var("GONGKAI_BENCH_REPORT") {
        let report = serde_json::json!({
            "bench": "fold",
            "storage": storage_name,
            "per_event": per_event,
            "render_1000th_us": { "whole": whole_p50, "started": started_p50, "carried": carried_p50 },
            "copies": copies,
            "throughput": {
                "events": events,
                "projects": project_count,
                "in_flight": in_flight,
                "seconds": seconds,
                "events_per_second": per_second,
                "memory_budget_bytes": memory_bytes,
                "remembered_projects": remembered,
                "remembered_bytes": weight,
                "rss_before_bytes": rss_before,
                "rss_after_bytes": rss_after,
                "rss_peak_bytes": rss_peak,
            },
        });
        std::fs::write(&path, format!("{report}\n")).expect("report written");
    }
}
