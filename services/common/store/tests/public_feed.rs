//! The public change feed under concurrent projection: a reader following the
//! feed while many projector transactions commit out of order sees every
//! change exactly once (no skips, no repeats), on PostgreSQL and SQLite.
//! With it, the projector's batches (`Store::project_batch`), which keep the
//! per-project rules of `project_event`, and whole streams appended at once
//! (`Store::append_streams`), which must be gapless and chained.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gongkai_proto::v1::{Domain, EventEnvelope};
use gongkai_store::{
    ChangeCursor, PoolOptions, ProjectEvents, ProjectViewRows, Projected, RegionLevel, Store, StreamEvent,
    Unrenderable, View,
};
use gongkai_testkit::store::{Backend, fresh_with, one_entry_per_event, postgres, sqlite};

const PROJECTS: usize = 12;
const EVENTS: u64 = 15;

/// Renders each event as one public entry; sleeps a little inside the
/// transaction so that commits interleave and finish out of order.
fn render(events: &[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable> {
    let last = events.last().expect("at least one event");
    std::thread::sleep(Duration::from_millis(u64::from(last.project_seq as u32 % 4) * 2));
    Ok(rows(events, ""))
}

/// One public entry per event; the summary says who rendered it.
fn rows(events: &[EventEnvelope], by: &str) -> ProjectViewRows {
    one_entry_per_event(events, by)
}

async fn follow_the_feed_under_concurrent_writes(store: Store) {
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for p in 0..PROJECTS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let code = format!("2024-230113-77-01-{p:06}");
            for seq in 1..=EVENTS {
                let event = EventEnvelope {
                    event_id: format!("{code}/{seq}"),
                    subject: code.clone(),
                    project_seq: seq,
                    position: (p as u64) * 1000 + seq,
                    ..EventEnvelope::default()
                };
                store.projections().project_event(&event, render).await.expect("projects");
            }
        }));
    }
    let reader = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor: Option<ChangeCursor> = None;
            let mut seen: Vec<String> = Vec::new();
            // Set when the writers are done: the reader stops soon after.
            let mut give_up: Option<Instant> = None;
            loop {
                let finished = done.load(Ordering::SeqCst);
                if finished {
                    give_up.get_or_insert_with(|| Instant::now() + Duration::from_secs(10));
                }
                let page = store.public().public_changes_after(cursor, 5).await.expect("feed reads");
                for change in &page {
                    assert!(Some(change.cursor) > cursor, "cursors only grow");
                    seen.push(change.event_id.clone());
                }
                if let Some(last) = page.last() {
                    cursor = Some(last.cursor);
                } else if give_up.is_some_and(|at| seen.len() >= PROJECTS * EVENTS as usize || Instant::now() > at) {
                    // On PostgreSQL a change shows once every transaction
                    // older than its own has ended, in any database of the
                    // cluster (other tests run beside this one): the reader
                    // goes on until it has them all, or long after the last.
                    return seen;
                } else {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    for writer in writers {
        writer.await.expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("reader");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &seen {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "repeated: {repeated:?}");
    assert_eq!(seen.len(), PROJECTS * EVENTS as usize, "no change skipped");
    // Per project, in seq order.
    for p in 0..PROJECTS {
        let code = format!("2024-230113-77-01-{p:06}/");
        let seqs: Vec<u64> =
            seen.iter().filter_map(|id| id.strip_prefix(&code)).map(|s| s.parse().expect("seq")).collect();
        assert_eq!(seqs, (1..=EVENTS).collect::<Vec<_>>());
    }
    // Re-projecting the same events (a redelivery) appends nothing.
    let again = EventEnvelope {
        event_id: "2024-230113-77-01-000000/1".to_owned(),
        subject: "2024-230113-77-01-000000".to_owned(),
        project_seq: 1,
        position: 1,
        ..EventEnvelope::default()
    };
    store.projections().project_event(&again, render).await.expect("projects");
    let last = store.public().public_changes_after(None, 10_000).await.expect("reads");
    assert_eq!(last.len(), PROJECTS * EVENTS as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn postgres_change_feed_never_skips_a_late_commit() {
    let options = PoolOptions { max_connections: 24, ..PoolOptions::default() };
    let fresh = fresh_with(Backend::Postgres, &options).await;
    follow_the_feed_under_concurrent_writes(fresh.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sqlite_change_feed_never_skips_a_late_commit() {
    let fresh = sqlite().await;
    follow_the_feed_under_concurrent_writes(fresh.store.clone()).await;
}

/// A project rendered whole again, event after event, adds one feed row per
/// new entry and none for the entries it had: recording times to the
/// nanosecond (the bus's clock) are not a change once stored to the
/// microsecond.
async fn rendering_again_adds_only_the_new_entries(store: Store) {
    let project = "2024-230113-77-01-000777";
    for seq in 1..=4 {
        let event = EventEnvelope {
            recorded_at: Some(prost_types::Timestamp { seconds: 1_709_254_800 + seq as i64, nanos: 123_456_789 }),
            ..event(project, seq)
        };
        assert_eq!(
            store.projections().project_event(&event, render).await.expect("projects"),
            Projected::Advanced { head: seq }
        );
    }
    // PostgreSQL's feed holds back rows while an older transaction runs
    // anywhere on the server (other tests'): wait for the last one.
    let mut changes = Vec::new();
    for _ in 0..200 {
        changes = store.public().public_changes_after(None, 100).await.expect("reads");
        if changes.iter().any(|change| change.project_seq == 4) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kinds: Vec<(u64, &str)> = changes.iter().map(|change| (change.project_seq, change.change.as_str())).collect();
    assert_eq!(kinds, (1..=4).map(|seq| (seq, "published")).collect::<Vec<_>>());
}

#[tokio::test]
async fn postgres_rendering_again_adds_only_the_new_entries() {
    let fresh = postgres().await;
    rendering_again_adds_only_the_new_entries(fresh.store.clone()).await;
}

#[tokio::test]
async fn sqlite_rendering_again_adds_only_the_new_entries() {
    let fresh = sqlite().await;
    rendering_again_adds_only_the_new_entries(fresh.store.clone()).await;
}

// Batches and bulk appends.

fn event(project: &str, seq: u64) -> EventEnvelope {
    EventEnvelope {
        event_id: format!("{project}/{seq}"),
        subject: project.to_owned(),
        project_seq: seq,
        position: seq,
        ..EventEnvelope::default()
    }
}

async fn batches_keep_the_per_project_rules(store: Store) {
    let (a, b, c) = ("2024-230113-77-01-000001", "2024-230113-77-01-000002", "2024-230113-77-01-000003");
    store.projections().project_event(&event(c, 1), |events| Ok(rows(events, "live"))).await.expect("projects");
    let rendered = AtomicUsize::new(0);
    let render = |events: &[EventEnvelope]| {
        rendered.fetch_add(1, Ordering::SeqCst);
        Ok(rows(events, "in transaction"))
    };
    let whole: Vec<EventEnvelope> = (1..=3).map(|seq| event(a, seq)).collect();
    let batch = [
        ProjectEvents { project_code: a.to_owned(), rendered: Some(rows(&whole, "ahead")), events: whole },
        ProjectEvents { project_code: b.to_owned(), events: vec![event(b, 2)], rendered: Some(rows(&[], "ahead")) },
        ProjectEvents { project_code: c.to_owned(), events: vec![event(c, 1)], rendered: None },
    ];
    let outcomes = store.projections().project_batch(&batch, render).await.expect("folds");
    assert_eq!(outcomes, [Projected::Advanced { head: 3 }, Projected::Waiting { head: 0 }, Projected::Duplicate]);
    assert_eq!(rendered.load(Ordering::SeqCst), 0, "a whole new history uses the rendering given");
    assert_eq!(store.supervision().project_summary(View::Full, a).await.expect("reads"), Some(b"ahead".to_vec()));
    assert_eq!(store.public().public_timeline(a).await.expect("reads").len(), 3);
    // Heads of many projects in one call, more than one statement's worth.
    let mut codes: Vec<String> = (0..600).map(|n| format!("2024-110000-00-01-{n:06}")).collect();
    codes.extend([a, b, c].map(str::to_owned));
    let heads =
        store.projections().projected_seqs(&codes.iter().map(String::as_str).collect::<Vec<_>>()).await.expect("reads");
    assert_eq!((heads.get(a), heads.get(c)), (Some(&3), Some(&1)));
    assert_eq!(heads.get(b).copied().unwrap_or(0), 0, "b waits for its first event");
    assert!(heads.keys().all(|code| [a, b, c].contains(&code.as_str())), "only projects with views: {heads:?}");

    // The gap closes: b is rendered from what was kept plus what arrives,
    // not from the rendering given (it covers only the new event).
    let batch = [ProjectEvents {
        project_code: b.to_owned(),
        events: vec![event(b, 1)],
        rendered: Some(rows(&[event(b, 1)], "ahead")),
    }];
    let outcomes = store.projections().project_batch(&batch, render).await.expect("folds");
    assert_eq!(outcomes, [Projected::Advanced { head: 2 }]);
    assert_eq!(rendered.load(Ordering::SeqCst), 1);
    assert_eq!(
        store.supervision().project_summary(View::Full, b).await.expect("reads"),
        Some(b"in transaction".to_vec())
    );
    assert_eq!(
        store.supervision().timeline(View::Full, b).await.expect("reads"),
        [b"2024-230113-77-01-000002/1", b"2024-230113-77-01-000002/2"]
    );

    let twice = [ProjectEvents::default(), ProjectEvents::default()];
    assert!(store.projections().project_batch(&twice, render).await.is_err(), "a project named twice is refused");
}

/// A project whose rendering fails is parked, alone: its events are kept, its
/// last good views stay and say since when they wait, every other project of
/// the batch advances; a later batch naming it (nothing new needed) renders
/// it again and unparks it.
async fn a_project_that_cannot_be_rendered_is_parked_alone(store: Store) {
    let (poisoned, healthy) = ("2024-230113-77-01-000011", "2024-230113-77-01-000012");
    let fixed = AtomicBool::new(false);
    let render = |events: &[EventEnvelope]| match events
        .iter()
        .find(|e| e.event_id.ends_with("/2"))
        .filter(|_| !fixed.load(Ordering::SeqCst))
    {
        Some(poison) if poison.subject == poisoned => Err(Unrenderable {
            event_id: poison.event_id.clone(),
            project_seq: poison.project_seq,
            reason: "a hostile amount".to_owned(),
        }),
        _ => Ok(rows(events, "rendered")),
    };
    store
        .projections()
        .project_batch(
            &[ProjectEvents { project_code: poisoned.to_owned(), events: vec![event(poisoned, 1)], rendered: None }],
            render,
        )
        .await
        .expect("folds");
    let batch = [
        ProjectEvents {
            project_code: poisoned.to_owned(),
            events: vec![event(poisoned, 2), event(poisoned, 3)],
            rendered: None,
        },
        ProjectEvents {
            project_code: healthy.to_owned(),
            events: vec![event(healthy, 1), event(healthy, 2)],
            rendered: None,
        },
    ];
    let outcomes =
        store.projections().project_batch(&batch, render).await.expect("one bad project does not fail the batch");
    assert_eq!(outcomes, [Projected::Parked { head: 1 }, Projected::Advanced { head: 2 }]);
    let parked = store.projections().parked_projects().await.expect("reads");
    assert_eq!(parked.len(), 1);
    assert_eq!(
        (parked[0].project_code.as_str(), parked[0].event_id.as_str()),
        (poisoned, "2024-230113-77-01-000011/2")
    );
    assert_eq!((parked[0].project_seq, parked[0].reason.as_str()), (2, "a hostile amount"));
    assert_eq!(store.public().public_timeline(poisoned).await.expect("reads").len(), 1, "the last good views stay");
    let page = store.public().public_project(poisoned).await.expect("reads").expect("published");
    assert!(page.parked_since.is_some(), "the public row says it waits");
    assert_eq!(store.public().public_project(healthy).await.expect("reads").expect("published").parked_since, None);
    assert_eq!(store.projections().projected_seqs(&[poisoned]).await.expect("reads").get(poisoned), Some(&1));

    // Still broken: naming it again changes nothing, the first parking time stays.
    let again = [ProjectEvents { project_code: poisoned.to_owned(), ..ProjectEvents::default() }];
    assert_eq!(
        store.projections().project_batch(&again, render).await.expect("folds"),
        [Projected::Parked { head: 1 }]
    );
    assert_eq!(store.projections().parked_projects().await.expect("reads")[0].parked_at, parked[0].parked_at);
    // Fixed: a batch naming it, with no new event, renders what was kept.
    fixed.store(true, Ordering::SeqCst);
    assert_eq!(
        store.projections().project_batch(&again, render).await.expect("folds"),
        [Projected::Advanced { head: 3 }]
    );
    assert!(store.projections().parked_projects().await.expect("reads").is_empty());
    assert_eq!(store.public().public_timeline(poisoned).await.expect("reads").len(), 3);
    assert_eq!(store.public().public_project(poisoned).await.expect("reads").expect("published").parked_since, None);
    assert_eq!(store.projections().project_batch(&again, render).await.expect("folds"), [Projected::Duplicate]);
}

#[tokio::test]
async fn postgres_a_project_that_cannot_be_rendered_is_parked_alone() {
    let fresh = postgres().await;
    a_project_that_cannot_be_rendered_is_parked_alone(fresh.store.clone()).await;
}

#[tokio::test]
async fn sqlite_a_project_that_cannot_be_rendered_is_parked_alone() {
    let fresh = sqlite().await;
    a_project_that_cannot_be_rendered_is_parked_alone(fresh.store.clone()).await;
}

/// A stream of `count` chained events of `project`.
fn stream(project: &str, count: u64) -> Vec<EventEnvelope> {
    let mut prev = String::new();
    (1..=count)
        .map(|seq| {
            let hash = format!("{seq:064x}");
            EventEnvelope {
                event_id: uuid::Uuid::now_v7().hyphenated().to_string(),
                r#type: "gongkai.v1.ProjectApproved".to_owned(),
                source: "bench".to_owned(),
                subject: project.to_owned(),
                project_seq: seq,
                occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
                recorded_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
                request_id: format!("{project}-{seq}"),
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
                domain: Domain::Projects as i32,
                ..EventEnvelope::default()
            }
        })
        .collect()
}

async fn streams_are_appended_whole_and_chained(store: Store) {
    let append = async |events: &[EventEnvelope]| {
        let events: Vec<StreamEvent<'_>> = events
            .iter()
            .map(|envelope| StreamEvent {
                envelope,
                region_code: "230113",
                request_digest: [7; 32],
                topic: "gongkai.projects.v1",
            })
            .collect();
        store.events().append_streams(&events).await
    };
    let mut broken = stream("2024-230113-77-01-000009", 3);
    broken[2].prev_hash = broken[0].hash.clone();
    assert!(append(&broken).await.is_err(), "a broken chain is refused");
    let mut gap = stream("2024-230113-77-01-000009", 3);
    gap.remove(1);
    assert!(append(&gap).await.is_err(), "a gap is refused");
    assert_eq!(store.events().event_counts().await.expect("counts").events, 0, "a refused call writes nothing");

    let mut events = stream("2024-230113-77-01-000001", 4);
    events.extend(stream("2024-230113-77-01-000002", 2));
    append(&events).await.expect("appends");
    let counts = store.events().event_counts().await.expect("counts");
    assert_eq!((counts.events, counts.streams, counts.outbox), (6, 2, 6));
    assert_eq!(
        store.events().stream_head("2024-230113-77-01-000001").await.expect("reads").map(|(seq, _)| seq),
        Some(4)
    );
    let loaded = store.events().load_stream("2024-230113-77-01-000002").await.expect("reads");
    assert_eq!(loaded.iter().map(|e| e.project_seq).collect::<Vec<_>>(), [1, 2]);
    assert!(append(&stream("2024-230113-77-01-000002", 1)).await.is_err(), "a stream that exists is refused");
}

#[tokio::test]
async fn postgres_batches_keep_the_per_project_rules() {
    let fresh = postgres().await;
    batches_keep_the_per_project_rules(fresh.store.clone()).await;
}

#[tokio::test]
async fn sqlite_batches_keep_the_per_project_rules() {
    let fresh = sqlite().await;
    batches_keep_the_per_project_rules(fresh.store.clone()).await;
}

#[tokio::test]
async fn postgres_streams_are_appended_whole_and_chained() {
    let fresh = postgres().await;
    streams_are_appended_whole_and_chained(fresh.store.clone()).await;
}

#[tokio::test]
async fn sqlite_streams_are_appended_whole_and_chained() {
    let fresh = sqlite().await;
    streams_are_appended_whole_and_chained(fresh.store.clone()).await;
}

/// Projects in `stage` and `region` with these amounts, one event each.
async fn project_with(store: &Store, n: u64, region: &str, stage: &str, amounts: (i64, i64)) {
    let code = format!("2024-{region}-77-01-{n:06}");
    let event = EventEnvelope {
        event_id: format!("{code}/1"),
        subject: code.clone(),
        project_seq: 1,
        position: n,
        ..EventEnvelope::default()
    };
    let render = |events: &[EventEnvelope]| -> Result<ProjectViewRows, Unrenderable> {
        let mut rows = one_entry_per_event(events, "");
        for project in [&mut rows.public_project, &mut rows.full_project] {
            project.region_code = region.to_owned();
            project.stage = stage.to_owned();
            (project.approved_investment_fen, project.contract_value_fen) = amounts;
        }
        Ok(rows)
    };
    store.projections().project_event(&event, render).await.expect("projects");
}

/// Totals by stage and counts by region are one group-by each, and a sum
/// past `i64` (amounts at the domain's bound, many projects) saturates
/// instead of failing the query.
async fn totals_by_stage_and_region(store: Store) {
    let big = gongkai_domain::money::AMOUNT_MAX_FEN;
    project_with(&store, 1, "230113", "performance", (300, 200)).await;
    project_with(&store, 2, "230102", "performance", (700, 0)).await;
    project_with(&store, 3, "110105", "approval", (50, 0)).await;
    for n in 10..20 {
        project_with(&store, n, "220104", "contract", (big, big)).await;
    }
    let public = store.public();
    let totals = public.public_stage_totals().await.expect("totals");
    let by_stage: BTreeMap<&str, (u64, i64, i64)> = totals
        .iter()
        .map(|t| (t.stage.as_str(), (t.projects, t.approved_investment_fen, t.contract_value_fen)))
        .collect();
    assert_eq!(by_stage["performance"], (2, 1000, 200));
    assert_eq!(by_stage["approval"], (1, 50, 0));
    assert_eq!(by_stage["contract"], (10, 10 * big, 10 * big), "ten amounts at the bound still sum");
    let regions = public.public_region_counts(RegionLevel::Prefecture, 2).await.expect("regions");
    assert_eq!(regions, [("2201".to_owned(), 10), ("2301".to_owned(), 2)]);
    let provinces = public.public_region_counts(RegionLevel::Province, 10).await.expect("provinces");
    assert_eq!(provinces, [("22".to_owned(), 10), ("23".to_owned(), 2), ("11".to_owned(), 1)]);
}

#[tokio::test]
async fn postgres_totals_by_stage_and_region() {
    let fresh = postgres().await;
    totals_by_stage_and_region(fresh.store.clone()).await;
}

#[tokio::test]
async fn sqlite_totals_by_stage_and_region() {
    let fresh = sqlite().await;
    totals_by_stage_and_region(fresh.store.clone()).await;
}
