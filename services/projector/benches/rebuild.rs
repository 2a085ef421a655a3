//! Rebuild throughput: `cargo bench -p gongkai-projector --bench rebuild`.
//!
//! Records `GONGKAI_BENCH_PROJECTS` (default 400) lawful PPP lifecycles of 26
//! events each through the real submit path into a fresh store
//! (`GONGKAI_BENCH_STORAGE`, default a SQLite file in a temp dir; a
//! `postgres://` URL of an empty database works too), then times
//! `gongkai projector rebuild`'s fold of the whole log and prints events/s.

use std::time::Instant;

use gongkai_grpc::auth::{Principal, Role};
use gongkai_ingest::{IngestRequest, Ingestor};
use gongkai_projector::Source;
use gongkai_projector::runner::rebuild;
use gongkai_store::{PoolOptions, Store};
use gongkai_testkit::scenario::{Request, ppp_lifecycle};

fn submission(request: Request) -> (gongkai_proto::v1::Domain, gongkai_domain::Submission) {
    use gongkai_proto::v1::Domain;
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
        Request::SignContract(r) => (Domain::Contracts, r.into_submission()),
        Request::VaryContract(r) => (Domain::Contracts, r.into_submission()),
        Request::RecordMilestone(r) => (Domain::Contracts, r.into_submission()),
        Request::RecordPayment(r) => (Domain::Contracts, r.into_submission()),
        Request::AcceptCompletion(r) => (Domain::Contracts, r.into_submission()),
        Request::SettleFinalAccounts(r) => (Domain::Contracts, r.into_submission()),
        other => panic!("the lifecycle has no {other:?}"),
    }
}

#[tokio::main]
async fn main() {
    let projects: usize = std::env::var("GONGKAI_BENCH_PROJECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = std::env::var("GONGKAI_BENCH_STORAGE")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::connect(&storage, &PoolOptions::default()).await.expect("store");
    store.migrate().await.expect("migrations");

    let ingestor = Ingestor::new(store.clone());
    let principal = Principal { id: "bench".into(), role: Role::Submitter, regions: vec!["23".into()] };
    let loading = Instant::now();
    for n in 0..projects {
        let lifecycle = ppp_lifecycle(&format!("2024-230113-77-01-{n:06}"), &format!("bench-{n}"));
        for request in lifecycle.requests {
            let (domain, submission) = submission(request);
            ingestor.submit(&principal, domain, submission).await.expect("accepted");
        }
    }
    let events = projects * 26;
    println!("loaded {events} events in {:.1} s", loading.elapsed().as_secs_f64());

    let source = Source::Embedded { poll: std::time::Duration::from_millis(50), appended: None };
    let started = Instant::now();
    let stats = rebuild(&store, &source, &|_| {}).await.expect("rebuild");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(stats.events as usize, events);
    println!(
        "rebuild: {} events of {} projects in {seconds:.2} s = {:.0} events/s",
        stats.events,
        stats.projects,
        stats.events as f64 / seconds
    );
}
