//! The projector over the embedded log, on both store backends: the live
//! loop folds what is appended, and a rebuild from the log gives the views
//! it gave, byte for byte.

use std::time::{Duration, Instant};

use gongkai_bus::LogSource;
use gongkai_grpc::auth::{Principal, Role};
use gongkai_ingest::Ingestor;
use gongkai_projector::runner::{Progress, rebuild};
use gongkai_store::Store;
use gongkai_testkit::on_both_stores;
use gongkai_testkit::store::views_snapshot;
use tokio_util::sync::CancellationToken;

/// Waits until the views hold every stored position.
async fn caught_up(store: &Store) {
    let started = Instant::now();
    loop {
        let (projected, stored) = store.projections().projection_positions().await.expect("positions");
        if projected == stored {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the projector is stuck at {projected} of {stored}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

on_both_stores!(store: the_live_loop_and_a_rebuild_give_the_same_views);

async fn the_live_loop_and_a_rebuild_give_the_same_views(store: &Store) {
    let source = LogSource::Store { poll: Duration::from_millis(10), appended: None };
    let shutdown = CancellationToken::new();
    let (live_tx, mut is_live) = tokio::sync::watch::channel(false);
    let options = gongkai_projector::RunOptions { live: Some(live_tx), ..Default::default() };
    let live = tokio::spawn(gongkai_projector::run(
        store.projections(),
        store.log(),
        source.clone(),
        shutdown.clone(),
        options,
    ));
    // The embedded log has no group to join: the projector is live at once.
    tokio::time::timeout(Duration::from_secs(10), is_live.wait_for(|live| *live))
        .await
        .expect("the projector says it is live")
        .expect("the projector runs");

    // Six projects, whole lifecycles and partial ones, appended interleaved
    // while the projector follows.
    let ingestor = Ingestor::new(store.events());
    let principal = Principal { id: "test".into(), role: Role::Submitter, regions: vec!["23".into()] };
    let projects: Vec<String> = (0..6).map(|n| format!("2024-230113-77-01-{n:06}")).collect();
    let mut lifecycles: Vec<_> = projects
        .iter()
        .enumerate()
        .map(|(n, code)| {
            let requests = gongkai_scenarios::ppp_lifecycle(code, code).requests;
            let keep = if n % 2 == 0 { requests.len() } else { 5 + 3 * n };
            requests.into_iter().take(keep)
        })
        .collect();
    let mut appended = 0;
    loop {
        let mut any = false;
        for lifecycle in &mut lifecycles {
            if let Some(request) = lifecycle.next() {
                let (domain, submission) = gongkai_testkit::submission(request);
                ingestor.submit(&principal, domain, submission).await.expect("accepted");
                appended += 1;
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    caught_up(store).await;
    shutdown.cancel();
    live.await.expect("projector task").expect("the projector stops cleanly");
    tokio::time::timeout(Duration::from_secs(10), is_live.wait_for(|live| !*live))
        .await
        .expect("a stopped projector is not live")
        .expect("the projector said so before it stopped");
    let folded = views_snapshot(store, &projects).await;
    assert!(folded.iter().all(|row| !row.is_empty()), "every project has views");

    let total = std::sync::Mutex::new((0, 0));
    let stats = rebuild(&store.projections(), &store.log(), &source, &|progress| {
        let mut total = total.lock().unwrap();
        match progress {
            Progress::Total(events) => total.0 = events,
            Progress::Read(events) => total.1 += events,
        }
    })
    .await
    .expect("rebuild");
    assert_eq!((stats.events, stats.projects), (appended, projects.len() as u64));
    assert_eq!(*total.lock().unwrap(), (appended, appended), "progress: the total, then every event");
    assert_eq!(views_snapshot(store, &projects).await, folded, "a rebuild gives the live views, byte for byte");
}

/// A rebuild leaves a connection of the pool for reading the log: in a
/// pool of two the log is read while batches are loaded, in a pool of one
/// they take turns; the views are the fold's either way.
async fn a_rebuild_fits_a_small_pool(backend: gongkai_testkit::store::Backend, max_connections: u32) {
    let options = gongkai_store::PoolOptions { max_connections, acquire_timeout: Duration::from_secs(3) };
    let fresh = gongkai_testkit::store::fresh_with(backend, &options).await;
    let store = &fresh.store;
    let ingestor = Ingestor::new(store.events());
    let principal = Principal { id: "test".into(), role: Role::Submitter, regions: vec!["23".into()] };
    let projects: Vec<String> = (0..2).map(|n| format!("2024-230113-77-01-{n:06}")).collect();
    for code in &projects {
        for request in gongkai_scenarios::ppp_lifecycle(code, code).requests {
            let (domain, submission) = gongkai_testkit::submission(request);
            ingestor.submit(&principal, domain, submission).await.expect("accepted");
        }
    }
    let events = store.log().events_after(0, u32::MAX).await.expect("the log");
    gongkai_projector::runner::Folder::new(store.projections()).fold(events.clone()).await.expect("folds");
    let folded = views_snapshot(store, &projects).await;

    // Batches of 20 events, each read while the one before is loaded: each
    // project spans two, and is rendered again at the end.
    let mut build = store.projections().rebuild_beside(gongkai_store::RebuildFrom::ThisStore).await.expect("begins");
    let mut after: Option<(String, u64)> = None;
    loop {
        let key = after.as_ref().map(|(code, seq)| (code.as_str(), *seq));
        let batch =
            store.log().events_by_project(key, i64::MAX as u64, 20).await.expect("the log is read beside the loader");
        let Some(last) = batch.last() else { break };
        after = Some((last.subject.clone(), last.project_seq));
        let rendered = gongkai_projector::runner::render_whole(batch);
        build.load(&rendered, gongkai_projector::runner::to_rows).await.expect("loads");
    }
    build.finish(gongkai_projector::runner::to_rows).await.expect("finishes");
    assert_eq!(views_snapshot(store, &projects).await, folded, "a rebuild gives the fold's views, byte for byte");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_rebuild_fits_a_pool_of_two() {
    a_rebuild_fits_a_small_pool(gongkai_testkit::store::Backend::Postgres, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_rebuild_fits_a_pool_of_one() {
    a_rebuild_fits_a_small_pool(gongkai_testkit::store::Backend::Postgres, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_rebuild_fits_a_pool_of_one() {
    a_rebuild_fits_a_small_pool(gongkai_testkit::store::Backend::Sqlite, 1).await;
}
