//! The public change feed under concurrent projection: a reader following the
//! feed while many projector transactions commit out of order sees every
//! change exactly once (no skips, no repeats), on PostgreSQL and SQLite.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{ChangeCursor, PoolOptions, ProjectRow, ProjectViewRows, Store, TimelineRow};

const PROJECTS: usize = 12;
const EVENTS: u64 = 15;

/// Renders each event as one public entry; sleeps a little inside the
/// transaction so that commits interleave and finish out of order.
fn render(events: &[EventEnvelope]) -> ProjectViewRows {
    let last = events.last().expect("at least one event");
    std::thread::sleep(Duration::from_millis(u64::from(last.project_seq as u32 % 4) * 2));
    let timeline: Vec<TimelineRow> = events
        .iter()
        .map(|e| TimelineRow {
            project_seq: e.project_seq,
            event_id: e.event_id.clone(),
            fact_type: "gongkai.v1.ProjectApproved".to_owned(),
            occurred_at: Utc::now(),
            recorded_at: Utc::now(),
            entry: e.event_id.as_bytes().to_vec(),
        })
        .collect();
    let project = ProjectRow {
        name: "测试项目".to_owned(),
        region_code: "230113".to_owned(),
        project_type: "ppp".to_owned(),
        stage: "approval".to_owned(),
        head_seq: last.project_seq,
        last_event_at: Utc::now(),
        summary: Vec::new(),
    };
    ProjectViewRows {
        public_timeline: timeline.clone(),
        full_timeline: timeline,
        public_project: project.clone(),
        full_project: project,
        supervision: Default::default(),
    }
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
                store.project_event(&event, render).await.expect("projects");
            }
        }));
    }
    let reader = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor: Option<ChangeCursor> = None;
            let mut seen: Vec<String> = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = store.public_changes_after(cursor, 5).await.expect("feed reads");
                for change in &page {
                    assert!(Some(change.cursor) > cursor, "cursors only grow");
                    seen.push(change.event_id.clone());
                }
                if let Some(last) = page.last() {
                    cursor = Some(last.cursor);
                } else if finished {
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
    store.project_event(&again, render).await.expect("projects");
    let last = store.public_changes_after(None, 10_000).await.expect("reads");
    assert_eq!(last.len(), PROJECTS * EVENTS as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn postgres_change_feed_never_skips_a_late_commit() {
    let url = gongkai_testkit::fresh_postgres_database().await;
    let store = Store::connect(&url, &PoolOptions { max_connections: 24, ..PoolOptions::default() })
        .await
        .expect("PostgreSQL reachable");
    store.migrate().await.expect("migrates");
    follow_the_feed_under_concurrent_writes(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sqlite_change_feed_never_skips_a_late_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&gongkai_testkit::fresh_sqlite_url(dir.path()), &PoolOptions::default())
        .await
        .expect("SQLite opens");
    store.migrate().await.expect("migrates");
    follow_the_feed_under_concurrent_writes(store).await;
}
