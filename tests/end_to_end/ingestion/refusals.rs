//! What is answered without writing: a retry (the first receipt), a reused
//! request id, malformed fields, a fact out of order, and callers without
//! a credential, of another region or another role.

use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, ppp_lifecycle};
use gongkai_store::EventCounts;
use tonic::Code;

use super::{Backend, Ingestion, QIQIHAR_TOKEN, SUPERVISOR_TOKEN, approval, bad_fields, reason};

pub(crate) async fn a_retry_returns_the_first_receipt_and_a_reused_id_is_refused(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000002", "idem");
    let request = approval(&lifecycle);
    let first = gongkai.harbin.send(Request::RecordApproval(request.clone())).await.expect("accepted");
    let before = gongkai.counts().await;

    let retry = gongkai.harbin.send(Request::RecordApproval(request.clone())).await.expect("retry answered");
    assert!(retry.replayed);
    assert_eq!(
        (retry.event_id.as_str(), retry.project_seq, retry.hash.as_str()),
        (first.event_id.as_str(), 1, first.hash.as_str())
    );
    assert_eq!(gongkai.counts().await, before, "a retry writes nothing");

    let mut different = request;
    different.fact.as_mut().expect("fact").project_name = "另一个项目".into();
    let status = gongkai.harbin.send(Request::RecordApproval(different)).await.expect_err("reuse refused");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "REQUEST_ID_REUSED");
    assert_eq!(gongkai.counts().await, before, "a refused reuse writes nothing");
}

pub(crate) async fn malformed_fields_are_each_reported_and_nothing_is_written(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000003", "bad");
    let mut request = approval(&lifecycle);
    request.project_code = "2024-23011-77-01-000003".into();
    let fact = request.fact.as_mut().expect("fact");
    fact.total_investment_fen = -1;
    fact.project_name = String::new();
    fact.planned_period = Some(pb::DateRange {
        start: Some(gongkai_scenarios::date(2026, 1, 1)),
        end: Some(gongkai_scenarios::date(2025, 1, 1)),
    });
    let status = gongkai.harbin.send(Request::RecordApproval(request)).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = bad_fields(&status);
    for expected in ["project_code", "fact.total_investment_fen", "fact.project_name"] {
        assert!(fields.iter().any(|f| f == expected), "{expected} reported in {fields:?}");
    }
    assert!(fields.iter().any(|f| f.starts_with("fact.planned_period")), "period reported in {fields:?}");
    let mut unique = fields.clone();
    unique.dedup();
    assert_eq!(unique, fields, "one violation per field");
    assert_eq!(gongkai.counts().await, EventCounts::default(), "nothing written");
}

pub(crate) async fn a_fact_out_of_order_is_refused_with_its_rule_and_nothing_is_written(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000004", "order");
    // Approval, PPP details, tender, amendment: then evaluation before any bid opening.
    let mut requests = lifecycle.requests.into_iter();
    gongkai.submit_all(requests.by_ref().take(4).collect()).await;
    let before = gongkai.counts().await;
    let evaluation =
        requests.find(|r| matches!(r, Request::RecordEvaluation(_))).expect("the lifecycle has an evaluation");
    let status = gongkai.harbin.send(evaluation).await.expect_err("evaluation before bid opening is refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "BIDS_NOT_OPENED");
    assert!(status.message().contains("BIDS_NOT_OPENED"), "the message names the rule: {}", status.message());
    assert_eq!(gongkai.counts().await, before, "a refused fact writes nothing");

    // A tender for a project nobody approved.
    let other = ppp_lifecycle("2024-230113-77-01-000099", "orphan");
    let tender = other.requests.into_iter().nth(2).expect("tender");
    let status = gongkai.harbin.send(tender).await.expect_err("unknown project");
    assert_eq!((status.code(), reason(&status)), (Code::FailedPrecondition, "PROJECT_NOT_FOUND".to_owned()));
    assert_eq!(gongkai.counts().await, before);
}

pub(crate) async fn callers_are_authenticated_and_scoped_to_their_regions(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000005", "auth");
    let request = Request::RecordApproval(approval(&lifecycle));

    for token in ["", "not-a-known-token"] {
        let status = gongkai.harbin.with_token(token).send(request.clone()).await.expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated, "token {token:?}");
    }
    let status = gongkai.harbin.with_token(QIQIHAR_TOKEN).send(request.clone()).await.expect_err("other region");
    assert_eq!((status.code(), reason(&status)), (Code::PermissionDenied, "REGION_NOT_ALLOWED".to_owned()));
    let status = gongkai.harbin.with_token(SUPERVISOR_TOKEN).send(request.clone()).await.expect_err("not a submitter");
    assert_eq!((status.code(), reason(&status)), (Code::PermissionDenied, "NOT_A_SUBMITTER".to_owned()));
    assert_eq!(gongkai.counts().await, EventCounts::default(), "nothing written");

    // The project, once approved by Harbin, stays out of Qiqihar's reach.
    gongkai.harbin.send(request).await.expect("Harbin may write its own region");
    let ppp = lifecycle.requests[1].clone();
    let status = gongkai.harbin.with_token(QIQIHAR_TOKEN).send(ppp).await.expect_err("other region");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(gongkai.counts().await.events, 1);
}
