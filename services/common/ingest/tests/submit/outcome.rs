//! A contract's settlement through the submit path, on both stores: given a
//! recorded history, when a settlement is submitted, then it is refused with
//! the rule it breaks and nothing is written, or accepted with its flags.

use gongkai_domain::decide::rules;
use gongkai_ingest::{IngestError, IngestRequest, Ingestor};
use gongkai_proto::v1::{self as pb, Domain};
use gongkai_scenarios::{PppLifecycle, Request, ppp_lifecycle};
use gongkai_store::Store;
use gongkai_testkit::store::assert_gapless_chain;

use super::{accepted, submit};

/// HT-A1's price in force in the lifecycle: 1.8 亿元 signed, two variations of 3 %.
const A1_IN_FORCE_FEN: i64 = 19_080_000_000;

/// A settlement of `contract_code` at `value_fen`, request id `request_id`.
fn settlement(
    lifecycle: &PppLifecycle,
    request_id: &str,
    contract_code: &str,
    value_fen: i64,
) -> pb::SettleContractRequest {
    let template = lifecycle
        .requests
        .iter()
        .find_map(|r| if let Request::SettleContract(m) = r { Some(m.clone()) } else { None })
        .expect("the lifecycle settles its contracts");
    let fact = template.fact.clone().expect("a fact");
    pb::SettleContractRequest {
        request_id: request_id.into(),
        fact: Some(pb::ContractSettled { contract_code: contract_code.into(), settled_value_fen: value_fen, ..fact }),
        ..template
    }
}

fn refused_by(result: Result<pb::Receipt, IngestError>, rule: &str) {
    match result {
        Err(IngestError::Refused(rejection)) => assert_eq!(rejection.rule, rule, "{rejection}"),
        other => panic!("expected {rule}, got {other:?}"),
    }
}

pub(super) async fn settlement_rules_refuse_or_flag_and_a_refusal_writes_nothing(store: &Store) {
    let ingestor = Ingestor::new(store.events());
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000701", "settle");
    let acceptance = lifecycle
        .requests
        .iter()
        .position(|r| matches!(r, Request::AcceptCompletion(_)))
        .expect("the lifecycle accepts its works");
    // Given everything before the completion acceptance.
    for request in lifecycle.requests[..acceptance].iter().cloned() {
        accepted(&ingestor, gongkai_testkit::submission(request)).await;
    }
    let settle =
        |id: &str, code: &str, fen: i64| (Domain::Contracts, settlement(&lifecycle, id, code, fen).into_submission());

    // When a contract is settled before its works were accepted: refused.
    let before = store.events().event_counts().await.expect("counts");
    refused_by(submit(&ingestor, settle("early", "HT-A1", A1_IN_FORCE_FEN)).await, rules::CONTRACT_NOT_ACCEPTED);
    refused_by(submit(&ingestor, settle("unknown", "HT-404", 1)).await, rules::CONTRACT_NOT_FOUND);
    assert_eq!(store.events().event_counts().await.expect("counts"), before, "nothing written");

    // A failed acceptance of HT-B1 and a passed one of HT-A1 only.
    let Request::AcceptCompletion(template) = lifecycle.requests[acceptance].clone() else { unreachable!() };
    let acceptance_of = |id: &str, code: &str, result: pb::AcceptanceResult| {
        let mut request = template.clone();
        request.request_id = id.into();
        let fact = request.fact.as_mut().expect("a fact");
        fact.contract_codes = vec![code.into()];
        fact.result = result as i32;
        fact.remarks = "须整改".into();
        (Domain::Contracts, request.into_submission())
    };
    accepted(&ingestor, acceptance_of("failed-b1", "HT-B1", pb::AcceptanceResult::Failed)).await;
    accepted(&ingestor, acceptance_of("passed-a1", "HT-A1", pb::AcceptanceResult::Passed)).await;
    refused_by(submit(&ingestor, settle("b1-failed", "HT-B1", 1)).await, rules::CONTRACT_NOT_ACCEPTED);

    // HT-A1 settled 500 万元 above its price in force: accepted, flagged, figures
    // against the price in force.
    let over = accepted(&ingestor, settle("a1-over", "HT-A1", A1_IN_FORCE_FEN + 500_000_000)).await;
    let rules_raised: Vec<&str> = over.flags.iter().map(|flag| flag.rule.as_str()).collect();
    assert_eq!(rules_raised, [rules::GK_SETTLEMENT_OVER_CONTRACT]);
    let figures: Vec<(&str, i64, Option<i64>, &str)> =
        over.flags[0].figures.iter().map(|f| (f.name.as_str(), f.value, f.limit, f.unit.as_str())).collect();
    assert_eq!(
        figures,
        [
            ("settled_value_fen", A1_IN_FORCE_FEN + 500_000_000, Some(A1_IN_FORCE_FEN), "fen"),
            ("excess_fen", 500_000_000, Some(0), "fen"),
            ("excess_share", 262, Some(0), "percent_bp"),
        ]
    );
    // The flag names the signing, the acceptance and both variations before
    // the settlement itself.
    assert_eq!(over.flags[0].event_ids.len(), 5, "{:?}", over.flags[0].event_ids);
    assert_eq!(over.flags[0].event_ids.last(), Some(&over.event_id));

    // Settled again: refused; the settlement is corrected instead, and a
    // settlement within the price in force raises nothing.
    refused_by(submit(&ingestor, settle("a1-again", "HT-A1", 1)).await, rules::CONTRACT_ALREADY_SETTLED);
    let lawful = settlement(&lifecycle, "unused", "HT-A1", A1_IN_FORCE_FEN - 1).fact;
    let correction = pb::CorrectDisclosureRequest {
        request_id: "a1-fix".into(),
        project_code: lifecycle.project_code.clone(),
        occurred_at: lawful.as_ref().and_then(|f| f.settled_at),
        fact: Some(pb::DisclosureCorrected {
            supersedes_event_id: over.event_id.clone(),
            reason: "结算价款录入错误".into(),
            replacement: lawful.map(|f| pb::Fact { kind: Some(pb::fact::Kind::ContractSettled(f)) }),
            replacement_occurred_at: None,
        }),
    };
    let fixed = accepted(&ingestor, (Domain::Contracts, correction.into_submission())).await;
    assert!(fixed.flags.is_empty(), "{:?}", fixed.flags);
    let stream = assert_gapless_chain(store, &lifecycle.project_code).await;
    assert_eq!(stream.len(), acceptance + 4, "two acceptances, one settlement, one correction");
    assert_eq!(stream.last().map(|e| e.r#type.as_str()), Some("gongkai.v1.DisclosureCorrected"));
}
