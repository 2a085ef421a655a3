//! The submit path against both stores, with more than one process writing:
//! each [`Ingestor`] keeps its own projects' states and commits its own
//! batches, as separate ingestion processes do, so a second one over the
//! same store is another process whose appends the first one has not seen.

use std::collections::HashSet;

use chrono::{Duration, DurationRound, Utc};
use gongkai_domain::Submission;
use gongkai_grpc::auth::{Principal, Role};
use gongkai_ingest::{IngestError, IngestRequest, Ingestor};
use gongkai_proto::v1::{self as pb, Domain, Receipt};
use gongkai_scenarios::{PppLifecycle, facts, ppp_lifecycle, ts};
use gongkai_store::Store;
use gongkai_testkit::store::assert_gapless_chain;

#[path = "submit/land.rs"]
mod land;
#[path = "submit/outcome.rs"]
mod outcome;

use land::{
    land_rules_refuse_or_flag_and_a_refusal_writes_nothing, the_land_lifecycle_is_recorded_without_a_flag,
    works_commenced_before_the_eia_approval_are_flagged,
};
use outcome::settlement_rules_refuse_or_flag_and_a_refusal_writes_nothing;

fn harbin() -> Principal {
    Principal { id: "center-harbin".into(), role: Role::Submitter, regions: vec!["2301".into()] }
}

/// The `n`-th request of `lifecycle` (0: approval, 1: PPP details, 2: tender,
/// 3: amendment, 4: first bid opening).
fn step(lifecycle: &PppLifecycle, n: usize) -> (Domain, Submission) {
    gongkai_testkit::submission(lifecycle.requests[n].clone())
}

/// An objection to lot A1 of the lifecycle's tender: any number may follow
/// the tender notice. Dated yesterday at midnight, so that a retry built a
/// moment later is the same request.
fn objection(lifecycle: &PppLifecycle, request_id: &str, subject: &str) -> (Domain, Submission) {
    let at = (Utc::now() - Duration::days(1)).duration_trunc(Duration::days(1)).expect("a day is a whole unit");
    let fact = pb::ObjectionRaised {
        answered_at: None,
        answer: String::new(),
        subject: subject.into(),
        ..facts::objection_raised(&lifecycle.tender_code, "A1", gongkai_scenarios::org("潜在投标人有限公司", 900), at)
    };
    let request = pb::RecordObjectionRequest {
        request_id: request_id.into(),
        project_code: lifecycle.project_code.clone(),
        occurred_at: Some(ts(at)),
        fact: Some(fact),
    };
    (Domain::Review, request.into_submission())
}

fn cancellation(lifecycle: &PppLifecycle, request_id: &str) -> (Domain, Submission) {
    let request = pb::CancelProjectRequest {
        request_id: request_id.into(),
        project_code: lifecycle.project_code.clone(),
        occurred_at: Some(ts(Utc::now() - Duration::days(1))),
        fact: Some(facts::project_cancelled()),
    };
    (Domain::Projects, request.into_submission())
}

async fn submit(ingestor: &Ingestor, (domain, submission): (Domain, Submission)) -> Result<Receipt, IngestError> {
    ingestor.submit(&harbin(), domain, submission).await
}

async fn accepted(ingestor: &Ingestor, request: (Domain, Submission)) -> Receipt {
    submit(ingestor, request).await.unwrap_or_else(|error| panic!("refused: {error:?}"))
}

async fn a_stale_state_is_decided_again_against_the_stored_history(store: &Store) {
    let (here, elsewhere) = (Ingestor::new(store.events()), Ingestor::new(store.events()));
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000101", "stale");
    accepted(&here, step(&lifecycle, 0)).await;
    let details = accepted(&elsewhere, step(&lifecycle, 1)).await;

    // `here` last saw seq 1: its append conflicts, it reloads and goes on.
    let tender = accepted(&here, step(&lifecycle, 2)).await;
    assert_eq!((tender.project_seq, tender.prev_hash.as_str()), (3, details.hash.as_str()));
    let amendment = accepted(&elsewhere, step(&lifecycle, 3)).await;
    assert_eq!((amendment.project_seq, amendment.prev_hash.as_str()), (4, tender.hash.as_str()));
    let opening = accepted(&here, step(&lifecycle, 4)).await;
    assert_eq!(opening.project_seq, 5);
    assert_gapless_chain(store, &lifecycle.project_code).await;
}

async fn a_refusal_from_a_stale_state_is_checked_against_the_stored_head(store: &Store) {
    let (here, elsewhere) = (Ingestor::new(store.events()), Ingestor::new(store.events()));
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000102", "refusal");
    accepted(&here, step(&lifecycle, 0)).await;
    accepted(&here, step(&lifecycle, 1)).await;
    accepted(&elsewhere, step(&lifecycle, 2)).await;

    // `here` has not seen the tender: its state would refuse the amendment
    // (TENDER_NOT_FOUND), but the stored history has the tender.
    let amendment = accepted(&here, step(&lifecycle, 3)).await;
    assert_eq!(amendment.project_seq, 4);

    // A refusal that the stored history confirms stands.
    let mut second_tender = step(&lifecycle, 2);
    second_tender.1.request_id = "refusal-again".into();
    let error = submit(&here, second_tender).await.expect_err("a second tender notice");
    assert!(matches!(&error, IngestError::Refused(rejection) if rejection.rule == "TENDER_EXISTS"), "{error:?}");
    assert_eq!(store.events().event_counts().await.unwrap().events, 4);
}

async fn an_acceptance_from_a_stale_state_is_refused_by_the_stored_history(store: &Store) {
    let (here, elsewhere) = (Ingestor::new(store.events()), Ingestor::new(store.events()));
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000103", "cancelled");
    accepted(&here, step(&lifecycle, 0)).await;
    accepted(&here, step(&lifecycle, 1)).await;
    accepted(&elsewhere, cancellation(&lifecycle, "cancelled-x")).await;

    // `here` would accept the tender of the project it last saw active.
    let error = submit(&here, step(&lifecycle, 2)).await.expect_err("the project is cancelled");
    assert!(matches!(&error, IngestError::Refused(rejection) if rejection.rule == "PROJECT_CANCELLED"), "{error:?}");
    assert_eq!(store.events().event_counts().await.unwrap().events, 3);
}

async fn a_retry_gets_its_first_receipt_from_any_process(store: &Store) {
    let (here, elsewhere) = (Ingestor::new(store.events()), Ingestor::new(store.events()));
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000104", "retry");
    let approval = accepted(&here, step(&lifecycle, 0)).await;
    accepted(&here, step(&lifecycle, 1)).await;
    accepted(&here, step(&lifecycle, 2)).await;
    let first = accepted(&here, objection(&lifecycle, "retry-objection", "资格条件")).await;
    let before = store.events().event_counts().await.unwrap();

    // The rules refuse a second approval, yet its retry gets the first receipt.
    for ingestor in [&here, &elsewhere] {
        let retry = accepted(ingestor, step(&lifecycle, 0)).await;
        assert!(retry.replayed);
        assert_eq!((retry.event_id.as_str(), retry.project_seq), (approval.event_id.as_str(), 1));
    }
    // The rules accept another objection: the store's request key answers.
    for ingestor in [&here, &elsewhere] {
        let retry = accepted(ingestor, objection(&lifecycle, "retry-objection", "资格条件")).await;
        assert!(retry.replayed);
        assert_eq!((retry.event_id.as_str(), retry.hash.as_str()), (first.event_id.as_str(), first.hash.as_str()));
    }
    // The same request id for something else is refused, whatever the rules say.
    let reused = submit(&here, objection(&lifecycle, "retry-objection", "评标办法")).await.expect_err("reused");
    assert!(matches!(&reused, IngestError::RequestIdReused { event_id } if *event_id == first.event_id), "{reused:?}");
    let mut approval_again = step(&lifecycle, 0);
    approval_again.1.request_id = "retry-objection".into();
    let reused = submit(&elsewhere, approval_again).await.expect_err("reused");
    assert!(matches!(reused, IngestError::RequestIdReused { .. }), "{reused:?}");
    assert_eq!(store.events().event_counts().await.unwrap(), before, "retries write nothing");
}

async fn concurrent_submissions_each_get_their_own_answer(store: &Store) {
    // Many projects at once through one ingestor (their appends share
    // commits), two ingestors on one project, and refusals among them.
    const PROJECTS: usize = 24;
    const OBJECTIONS: usize = 8;
    let ingestor = Ingestor::new(store.events());
    let other = Ingestor::new(store.events());
    let shared = ppp_lifecycle("2024-230113-77-01-000200", "shared");
    for n in 0..3 {
        accepted(&ingestor, step(&shared, n)).await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..PROJECTS {
        let ingestor = ingestor.clone();
        tasks.spawn(async move {
            let lifecycle = ppp_lifecycle(&format!("2024-230113-77-01-{:06}", 300 + n), &format!("many-{n}"));
            let mut receipts = Vec::new();
            for step_n in 0..5 {
                receipts.push(accepted(&ingestor, step(&lifecycle, step_n)).await);
                // The rules refuse a second approval; its retry is replayed.
                let retry = submit(&ingestor, step(&lifecycle, 0)).await;
                assert!(retry.is_ok_and(|retry| retry.replayed), "the approval's retry is replayed");
            }
            let unknown = ppp_lifecycle(&format!("2024-230113-77-01-{:06}", 900 + n), &format!("none-{n}"));
            let error = submit(&ingestor, step(&unknown, 2)).await.expect_err("no such project");
            assert!(matches!(&error, IngestError::Refused(r) if r.rule == "PROJECT_NOT_FOUND"), "{error:?}");
            receipts
        });
    }
    for (writer, ingestor) in [("a", &ingestor), ("b", &other)] {
        for n in 0..OBJECTIONS {
            let (ingestor, shared) = (ingestor.clone(), shared.clone());
            tasks.spawn(async move {
                vec![accepted(&ingestor, objection(&shared, &format!("shared-{writer}-{n}"), "资格条件")).await]
            });
        }
    }
    let mut acknowledged = HashSet::new();
    while let Some(receipts) = tasks.join_next().await {
        for receipt in receipts.expect("task") {
            assert!(!receipt.replayed);
            assert!(acknowledged.insert(receipt.event_id), "every receipt names its own event");
        }
    }
    assert_eq!(acknowledged.len(), PROJECTS * 5 + 2 * OBJECTIONS);
    let mut stored = HashSet::new();
    for n in 0..PROJECTS {
        let stream = assert_gapless_chain(store, &format!("2024-230113-77-01-{:06}", 300 + n)).await;
        assert_eq!(stream.len(), 5);
        stored.extend(stream.into_iter().map(|e| e.event_id));
    }
    let stream = assert_gapless_chain(store, &shared.project_code).await;
    assert_eq!(stream.len(), 3 + 2 * OBJECTIONS);
    stored.extend(stream.into_iter().skip(3).map(|e| e.event_id));
    assert_eq!(stored, acknowledged, "what was acknowledged is what is stored");
}

gongkai_testkit::on_both_stores!(
    store: #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    a_stale_state_is_decided_again_against_the_stored_history,
    a_refusal_from_a_stale_state_is_checked_against_the_stored_head,
    an_acceptance_from_a_stale_state_is_refused_by_the_stored_history,
    a_retry_gets_its_first_receipt_from_any_process,
    concurrent_submissions_each_get_their_own_answer,
    the_land_lifecycle_is_recorded_without_a_flag,
    land_rules_refuse_or_flag_and_a_refusal_writes_nothing,
    works_commenced_before_the_eia_approval_are_flagged,
    settlement_rules_refuse_or_flag_and_a_refusal_writes_nothing,
);
