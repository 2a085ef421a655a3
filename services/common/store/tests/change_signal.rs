//! The public change signal: a fold that appends to the public change feed
//! wakes the followers of the feed after it commits (in-process on both
//! backends, and through `NOTIFY` to another connection pool on PostgreSQL,
//! as a site in another process); a fold that publishes nothing does not.

use std::time::Duration;

use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{ChangeSignal, PoolOptions, ProjectViewRows, Store, Unrenderable};
use gongkai_testkit::on_both_stores;
use gongkai_testkit::store::{Backend, bare_event, one_entry_per_event};

const CODE: &str = "2024-230113-77-01-000001";

/// One public entry per event.
fn render(events: &[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable> {
    Ok(one_entry_per_event(events, ""))
}

fn event(seq: u64) -> EventEnvelope {
    bare_event(CODE, seq)
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
