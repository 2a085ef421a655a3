//! Land expropriation, resettlement and the EIA approval through the submit
//! path, on both stores: given a recorded history, when a land fact is
//! submitted, then the receipt carries its flags, or the refusal names its
//! rule and nothing is written.

use gongkai_domain::decide::rules;
use gongkai_domain::money::AMOUNT_MAX_FEN;
use gongkai_ingest::{IngestError, IngestRequest, Ingestor};
use gongkai_proto::v1::{self as pb, Domain};
use gongkai_scenarios::land::EXPROPRIATION_CODE;
use gongkai_scenarios::{PppLifecycle, Request, expropriation_lifecycle};
use gongkai_store::Store;

use gongkai_testkit::store::assert_gapless_chain;

use super::{accepted, cancellation, submit};

/// The land request of `lifecycle` that `pick` chooses, with its fact
/// changed by `change` and request id `request_id`.
fn land<R, F>(
    lifecycle: &PppLifecycle,
    pick: fn(&Request) -> Option<&R>,
    request_id: &str,
    change: impl FnOnce(&mut F),
) -> (Domain, gongkai_domain::Submission)
where
    R: Clone + IngestRequest + HasFact<F>,
{
    let mut request = lifecycle.requests.iter().find_map(pick).expect("the lifecycle has it").clone();
    change(request.fact_mut());
    let mut submission = request.into_submission();
    submission.request_id = request_id.into();
    (Domain::Projects, submission)
}

/// A request whose fact can be changed in place.
trait HasFact<F> {
    fn fact_mut(&mut self) -> &mut F;
}

macro_rules! has_fact {
    ($($request:ident => $fact:ident),* $(,)?) => {$(
        impl HasFact<pb::$fact> for pb::$request {
            fn fact_mut(&mut self) -> &mut pb::$fact {
                self.fact.as_mut().expect("a fact")
            }
        }
    )*};
}

has_fact! {
    PublishCompensationPlanRequest => CompensationPlanPublished,
    RecordExpropriationDecisionRequest => ExpropriationDecided,
    RecordCompensationPaymentRequest => CompensationPaid,
    RecordRelocationRequest => RelocationRecorded,
    RecordEnvironmentalApprovalRequest => EnvironmentalImpactApproved,
}

fn plan(r: &Request) -> Option<&pb::PublishCompensationPlanRequest> {
    if let Request::PublishCompensationPlan(m) = r { Some(m) } else { None }
}
fn decision(r: &Request) -> Option<&pb::RecordExpropriationDecisionRequest> {
    if let Request::RecordExpropriationDecision(m) = r { Some(m) } else { None }
}
fn payment(r: &Request) -> Option<&pb::RecordCompensationPaymentRequest> {
    if let Request::RecordCompensationPayment(m) = r { Some(m) } else { None }
}
fn relocation(r: &Request) -> Option<&pb::RecordRelocationRequest> {
    if let Request::RecordRelocation(m) = r { Some(m) } else { None }
}

fn refused_by(result: Result<pb::Receipt, IngestError>, rule: &str) {
    match result {
        Err(IngestError::Refused(rejection)) => assert_eq!(rejection.rule, rule, "{rejection}"),
        other => panic!("expected {rule}, got {other:?}"),
    }
}

fn flag_rules(receipt: &pb::Receipt) -> Vec<&str> {
    receipt.flags.iter().map(|flag| flag.rule.as_str()).collect()
}

pub(super) async fn the_land_lifecycle_is_recorded_without_a_flag(store: &Store) {
    let ingestor = Ingestor::new(store.events());
    let lifecycle = expropriation_lifecycle("2024-230113-77-01-000601", "land");
    for request in lifecycle.requests.clone() {
        let receipt = accepted(&ingestor, gongkai_testkit::submission(request)).await;
        assert!(receipt.flags.is_empty(), "seq {}: {:?}", receipt.project_seq, receipt.flags);
    }
    let stream = assert_gapless_chain(store, &lifecycle.project_code).await;
    assert_eq!(stream.len(), lifecycle.requests.len());
    let land: Vec<&str> = stream[2..13].iter().map(|event| event.r#type.as_str()).collect();
    assert_eq!(land[0], "gongkai.v1.ExpropriationPreAnnounced");
    assert_eq!(land[10], "gongkai.v1.RelocationRecorded");
    assert!(stream[2..13].iter().all(|event| event.domain == Domain::Projects as i32), "the projects topic");
}

pub(super) async fn land_rules_refuse_or_flag_and_a_refusal_writes_nothing(store: &Store) {
    let ingestor = Ingestor::new(store.events());
    let lifecycle = expropriation_lifecycle("2024-230113-77-01-000602", "rules");
    accepted(&ingestor, gongkai_testkit::submission(lifecycle.requests[0].clone())).await;

    // Given the approval only, when land compensation is paid: no expropriation.
    let before = store.events().event_counts().await.expect("counts");
    refused_by(submit(&ingestor, land(&lifecycle, payment, "pay-early", |_| ())).await, rules::EXPROPRIATION_NOT_FOUND);
    assert_eq!(store.events().event_counts().await.expect("counts"), before, "nothing written");

    // A plan open 20 days: accepted, flagged.
    let short = land(&lifecycle, plan, "plan-short", |f: &mut pb::CompensationPlanPublished| {
        let start = f.comment_period.and_then(|p| p.start).expect("start");
        f.comment_period = Some(pb::Period {
            start: Some(start),
            end: Some(prost_types::Timestamp { seconds: start.seconds + 20 * 86_400, nanos: 0 }),
        });
    });
    let plan_receipt = accepted(&ingestor, short).await;
    assert_eq!(flag_rules(&plan_receipt), [rules::LAL_47_COMMENT_PERIOD]);

    // Decided with no risk assessment: flagged; decided again: refused.
    let decided = accepted(&ingestor, land(&lifecycle, decision, "decided", |_| ())).await;
    assert_eq!(flag_rules(&decided), [rules::LAL_47_DECISION_PREREQUISITES]);
    refused_by(
        submit(&ingestor, land(&lifecycle, decision, "decided-again", |_| ())).await,
        rules::EXPROPRIATION_ALREADY_DECIDED,
    );

    // Relocation before any payment: flagged, and the stored event keeps the flag.
    let moved = accepted(&ingestor, land(&lifecycle, relocation, "moved", |_| ())).await;
    assert_eq!(flag_rules(&moved), [rules::LAL_48_RELOCATION_BEFORE_COMPENSATION]);
    let stream = store.events().load_stream(&lifecycle.project_code).await.expect("stream");
    assert_eq!(stream.last().map(|event| event.flags.len()), Some(1));

    // The plan corrected to a lawful comment period: the correction raises nothing.
    let lawful = lifecycle.requests.iter().find_map(plan).and_then(|m| m.fact.clone()).expect("plan");
    let correction = pb::CorrectDisclosureRequest {
        request_id: "plan-fix".into(),
        project_code: lifecycle.project_code.clone(),
        occurred_at: lawful.comment_period.and_then(|p| p.end),
        fact: Some(pb::DisclosureCorrected {
            supersedes_event_id: plan_receipt.event_id.clone(),
            reason: "征求意见期录入错误".into(),
            replacement: Some(pb::Fact { kind: Some(pb::fact::Kind::CompensationPlanPublished(lawful)) }),
            replacement_occurred_at: None,
        }),
    };
    let fixed = accepted(&ingestor, (Domain::Projects, correction.into_submission())).await;
    assert!(fixed.flags.is_empty(), "{:?}", fixed.flags);

    // Paid after the decision: accepted, up to the money bound; once the
    // project is cancelled: refused.
    let paid = land(&lifecycle, payment, "paid", |f: &mut pb::CompensationPaid| {
        assert_eq!(f.expropriation_code, EXPROPRIATION_CODE);
        f.amount_fen = AMOUNT_MAX_FEN;
    });
    assert!(accepted(&ingestor, paid).await.flags.is_empty());
    refused_by(
        submit(&ingestor, land(&lifecycle, payment, "paid-more", |_| ())).await,
        rules::AMOUNT_TOTAL_OUT_OF_BOUNDS,
    );
    accepted(&ingestor, cancellation(&lifecycle, "rules-cancel")).await;
    refused_by(submit(&ingestor, land(&lifecycle, payment, "paid-late", |_| ())).await, rules::PROJECT_CANCELLED);
    assert_gapless_chain(store, &lifecycle.project_code).await;
}

pub(super) async fn works_commenced_before_the_eia_approval_are_flagged(store: &Store) {
    let ingestor = Ingestor::new(store.events());
    let lifecycle = expropriation_lifecycle("2024-230113-77-01-000603", "eia");
    let is_commencement = |r: &Request| {
        matches!(r, Request::RecordMilestone(m)
            if m.fact.as_ref().is_some_and(|f| f.kind == pb::MilestoneKind::Commencement as i32))
    };
    let commencement = lifecycle.requests.iter().position(is_commencement).expect("the works start");
    // Given everything up to the works but the EIA approval, when the works start.
    let mut flags = Vec::new();
    for request in lifecycle.requests[..=commencement].iter().cloned() {
        if !matches!(request, Request::RecordEnvironmentalApproval(_)) {
            flags = accepted(&ingestor, gongkai_testkit::submission(request)).await.flags;
        }
    }
    let rules_raised: Vec<&str> = flags.iter().map(|flag| flag.rule.as_str()).collect();
    assert_eq!(rules_raised, [rules::EIA_25_WORKS_BEFORE_APPROVAL]);
    // The approval, dated ten days after the works started: flagged again.
    let approval = land(&lifecycle, eia, "eia-late", |f: &mut pb::EnvironmentalImpactApproved| {
        let Some(Request::RecordMilestone(m)) = lifecycle.requests.get(commencement) else { unreachable!() };
        let reached = m.fact.as_ref().and_then(|f| f.reached_at).expect("reached");
        f.approved_at = Some(prost_types::Timestamp { seconds: reached.seconds + 10 * 86_400, nanos: 0 });
    });
    let receipt = accepted(&ingestor, approval).await;
    assert_eq!(flag_rules(&receipt), [rules::EIA_25_WORKS_BEFORE_APPROVAL]);
    let days = receipt.flags[0].figures.iter().find(|f| f.name == "days_commenced_before_approval").map(|f| f.value);
    assert_eq!(days, Some(10));
}

fn eia(r: &Request) -> Option<&pb::RecordEnvironmentalApprovalRequest> {
    if let Request::RecordEnvironmentalApproval(m) = r { Some(m) } else { None }
}
