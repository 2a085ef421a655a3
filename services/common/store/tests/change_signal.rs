//! The public change signal: a fold that appends to the public change feed
//! wakes the followers of the feed after it commits (in-process on both
//! backends, and through `NOTIFY` to another connection pool on PostgreSQL,
//! as a site in another process); a fold that publishes nothing does not.

use std::time::Duration;

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{ChangeSignal, PoolOptions, ProjectRow, ProjectViewRows, Store, TimelineRow, Unrenderable};
use gongkai_testkit::on_both_stores;
use gongkai_testkit::store::Backend;

const CODE: &str = "2024-230113-77-01-000001";

/// One public entry per event.
fn render(events: &[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable> {
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
        head_seq: events.last().map_or(0, |last| last.project_seq),
        last_event_at: Utc::now(),
        summary: Vec::new(),
    };
    Ok(ProjectViewRows {
        public_timeline: timeline.clone(),
        full_timeline: timeline,
        public_project: project.clone(),
        full_project: project,
        supervision: Default::default(),
    })
}

fn event(seq: u64) -> EventEnvelope {
    EventEnvelope {
        event_id: format!("{CODE}/{seq}"),
        subject: CODE.to_owned(),
        project_seq: seq,
        position: seq,
        ..EventEnvelope::default()
    }
}

/// Whether the signal fires within `within`.
async fn fires(signal: &mut ChangeSignal, within: Duration) -> bool {
    tokio::time::timeout(within, signal.changed()).await.is_ok()
}

/// Asserts that folding `seq` publishes and wakes `signal`, then that a
/// redelivery of it (which publishes nothing) does not.
async fn fold_wakes(writer: &Store, signal: &mut ChangeSignal, seq: u64) {
    assert!(!fires(signal, Duration::from_millis(100)).await, "no change yet, no signal");
    writer.projections().project_event(&event(seq), render).await.expect("projects");
    assert!(fires(signal, Duration::from_secs(10)).await, "the fold published event {seq} but nobody was told");
    writer.projections().project_event(&event(seq), render).await.expect("projects again");
    assert!(!fires(signal, Duration::from_millis(300)).await, "a redelivery published nothing, yet signalled");
}

async fn a_publishing_fold_signals_this_process(store: &Store) {
    let mut signal = store.public().public_changes_signal().await;
    fold_wakes(store, &mut signal, 1).await;
    fold_wakes(store, &mut signal, 2).await;
}

on_both_stores!(store: a_publishing_fold_signals_this_process);

#[tokio::test]
async fn postgres_signals_a_site_in_another_process() {
    let url = Backend::Postgres.fresh_url(std::path::Path::new(".")).await;
    let options = PoolOptions::default();
    let projector = Store::connect(&url, &options).await.expect("connects");
    projector.migrate().await.expect("migrates");
    // Its own pool, and so none of the projector's in-process signal.
    let site = Store::connect(&url, &options).await.expect("connects");
    let mut signal = site.public().public_changes_signal().await;
    fold_wakes(&projector, &mut signal, 1).await;
    fold_wakes(&projector, &mut signal, 2).await;
    projector.close().await;
    site.close().await;
}
