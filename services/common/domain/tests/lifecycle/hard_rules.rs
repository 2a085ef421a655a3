//! One test per hard rule: the fact is refused with its code out of order,
//! and accepted in the right order.

use gongkai_domain::decide::rules::*;

use crate::support::*;

#[test]
fn project_not_found_before_approval() {
    given(&[]).when(tender("T1", &["A"])).then_rejected(PROJECT_NOT_FOUND);
    given(&[]).when(project_suspended()).then_rejected(PROJECT_NOT_FOUND);
    given(&[approved().into()]).when(tender("T1", &["A"])).then_accepted();
}

#[test]
fn project_exists_on_second_approval() {
    let refusal = given(&[approved().into()]).when(approved()).then_rejected(PROJECT_EXISTS);
    assert!(refusal.context.contains(&("event_id", e(1))));
    given(&[]).when(approved()).then_accepted();
}

#[test]
fn project_cancelled_is_final() {
    let cancelled = given(&[approved().into(), project_cancelled().into()]);
    let refusal = cancelled.when(tender("T1", &["A"])).then_rejected(PROJECT_CANCELLED);
    assert!(refusal.context.contains(&("project_state", "cancelled".to_owned())));
    cancelled.when(project_resumed()).then_rejected(PROJECT_CANCELLED);
    cancelled.when(project_cancelled()).then_rejected(PROJECT_CANCELLED);
    // A correction of an earlier disclosure is still accepted.
    cancelled.when(correct(&e(1), approved())).then_accepted();
    given(&[approved().into()]).when(tender("T1", &["A"])).then_accepted();
}

#[test]
fn a_suspended_project_still_records_what_happens() {
    // Suspension is disclosed, not enforced: what happens meanwhile is recorded.
    let mut steps = until_evaluated();
    steps.push(project_suspended().into());
    let suspended = given(&steps);
    suspended.when(objection("T1", "A")).then_accepted();
    suspended.when(awarded("T1", "A", 1, price_of(0))).then_accepted();
}

#[test]
fn project_not_suspended_on_resumption() {
    given(&[approved().into()]).when(project_resumed()).then_rejected(PROJECT_NOT_SUSPENDED);
    given(&[approved().into(), project_suspended().into()]).when(project_resumed()).then_accepted();
}

#[test]
fn project_not_ppp_for_ppp_details() {
    given(&[approved().into()]).when(ppp_details()).then_rejected(PROJECT_NOT_PPP);
    given(&[ppp_approved().into()]).when(ppp_details()).then_accepted();
}

#[test]
fn ppp_details_exist_once() {
    given(&[ppp_approved().into(), ppp_details().into()]).when(ppp_details()).then_rejected(PPP_DETAILS_EXIST);
}

#[test]
fn tender_exists_for_a_known_code() {
    let announced = given(&until_announced());
    announced.when(tender("T1", &["A"])).then_rejected(TENDER_EXISTS);
    announced.when(tender("T2", &["A"])).then_accepted();
}

#[test]
fn tender_not_found_for_an_unknown_code() {
    given(&[approved().into()]).when(amended("T1")).then_rejected(TENDER_NOT_FOUND);
    given(&until_announced()).when(opened("T9", "A", bids(&[1, 2, 3]))).then_rejected(TENDER_NOT_FOUND);
    given(&until_announced()).when(amended("T1")).then_accepted();
}

#[test]
fn tender_cancelled_closes_the_lot() {
    let cancelled = given(&until_announced()).and(tender_cancelled("T1", &[]));
    let refusal = cancelled.when(opened("T1", "A", bids(&[1, 2, 3]))).then_rejected(TENDER_CANCELLED);
    assert!(refusal.context.contains(&("lot_state", "cancelled".to_owned())));
    cancelled.when(amended("T1")).then_rejected(TENDER_CANCELLED);
    cancelled.when(tender_cancelled("T1", &["A"])).then_rejected(TENDER_CANCELLED);
    given(&until_announced()).when(opened("T1", "A", bids(&[1, 2, 3]))).then_accepted();
}

#[test]
fn a_failed_lot_is_closed_too() {
    let failed = given(&until_announced()).and(opened("T1", "A", bids(&[1]))).and(tender_failed("T1", "A"));
    let refusal = failed.when(evaluated("T1", "A", &[1])).then_rejected(TENDER_CANCELLED);
    assert!(refusal.context.contains(&("lot_state", "failed".to_owned())));
}

#[test]
fn a_partially_cancelled_tender_goes_on_for_its_other_lots() {
    let announced = given(&[approved().into(), tender("T1", &["A", "B"]).into()]).and(tender_cancelled("T1", &["A"]));
    announced.when(opened("T1", "A", bids(&[1, 2, 3]))).then_rejected(TENDER_CANCELLED);
    announced.when(opened("T1", "B", bids(&[1, 2, 3]))).then_accepted();
}

#[test]
fn tender_not_suspended_on_resumption() {
    let announced = given(&[approved().into(), tender("T1", &["A", "B"]).into()]);
    announced.when(tender_resumed("T1", &[])).then_rejected(TENDER_NOT_SUSPENDED);
    let suspended = announced.and(tender_suspended("T1", &["A"]));
    suspended.when(tender_resumed("T1", &["B"])).then_rejected(TENDER_NOT_SUSPENDED);
    suspended.when(tender_resumed("T1", &["A"])).then_accepted();
    suspended.when(tender_resumed("T1", &[])).then_accepted();
}

#[test]
fn retender_of_must_name_a_failed_or_cancelled_tender() {
    let retender = |of: &str| gongkai_proto::v1::TenderAnnounced { retender_of: of.to_owned(), ..tender("T2", &["A"]) };
    let announced = given(&until_announced());
    announced.when(retender("T1")).then_rejected(RETENDER_OF_UNKNOWN);
    announced.when(retender("T9")).then_rejected(RETENDER_OF_UNKNOWN);
    announced
        .clone()
        .and(opened("T1", "A", bids(&[1])))
        .and(tender_failed("T1", "A"))
        .when(retender("T1"))
        .then_accepted();
    announced.and(tender_cancelled("T1", &[])).when(retender("T1")).then_accepted();
}

#[test]
fn lot_not_found_in_the_tender() {
    let announced = given(&until_announced());
    let refusal = announced.when(opened("T1", "Z", bids(&[1, 2, 3]))).then_rejected(LOT_NOT_FOUND);
    assert!(refusal.context.contains(&("lot_code", "Z".to_owned())));
    announced.when(tender_suspended("T1", &["Z"])).then_rejected(LOT_NOT_FOUND);
    announced.when(opened("T1", "A", bids(&[1, 2, 3]))).then_accepted();
}

#[test]
fn bids_already_opened_once_per_lot() {
    given(&until_opened()).when(opened("T1", "A", bids(&[1, 2, 3]))).then_rejected(BIDS_ALREADY_OPENED);
}

#[test]
fn not_prequalified_tender_takes_no_prequalification() {
    given(&until_announced()).when(prequalification("T1")).then_rejected(NOT_PREQUALIFIED_TENDER);
    given(&[approved().into(), prequalified_tender("T1", &["A"]).into()]).when(prequalification("T1")).then_accepted();
}

#[test]
fn bids_not_opened_before_evaluation() {
    let evaluation = evaluated("T1", "A", &[1, 2, 3]);
    given(&until_announced()).when(evaluation.clone()).then_rejected(BIDS_NOT_OPENED);
    given(&until_opened()).when(evaluation).then_accepted();
}

#[test]
fn not_evaluated_before_publicity_or_award() {
    let opened = given(&until_opened());
    opened.when(publicized("T1", "A", &[1, 2, 3])).then_rejected(NOT_EVALUATED);
    opened.when(awarded("T1", "A", 1, price_of(0))).then_rejected(NOT_EVALUATED);
    let evaluated = opened.and(evaluated("T1", "A", &[1, 2, 3]));
    evaluated.when(publicized("T1", "A", &[1, 2, 3])).then_accepted();
    evaluated.when(awarded("T1", "A", 1, price_of(0))).then_accepted();
}

#[test]
fn candidate_did_not_bid() {
    let opened = given(&until_opened());
    let refusal = opened.when(evaluated("T1", "A", &[1, 9])).then_rejected(CANDIDATE_DID_NOT_BID);
    assert!(refusal.context.iter().any(|(key, value)| *key == "candidate" && value.contains("第9")));
    opened.when(evaluated("T1", "A", &[4, 1])).then_accepted();
    given(&until_evaluated()).when(publicized("T1", "A", &[9])).then_rejected(CANDIDATE_DID_NOT_BID);
}

#[test]
fn bidders_without_a_code_match_by_name() {
    let mut foreign = bid(7, price_of(0));
    let bidder = foreign.bidder.as_mut().expect("bidder");
    bidder.unified_social_credit_code.clear();
    let opened = given(&until_announced()).and(opened("T1", "A", vec![foreign, bid(1, 1), bid(2, 2)]));
    opened.when(evaluated("T1", "A", &[7, 1, 2])).then_accepted();
}

#[test]
fn objection_not_found_for_a_complaint() {
    let publicized = given(&until_evaluated());
    // e005 is the publicity, not an objection.
    publicized.when(complaint("T1", "A", &e(5))).then_rejected(OBJECTION_NOT_FOUND);
    publicized.when(complaint("T1", "A", "e999")).then_rejected(OBJECTION_NOT_FOUND);
    let objected = publicized.and(objection("T1", "A")); // e006
    objected.when(complaint("T1", "A", &e(6))).then_accepted();
    objected.when(complaint("T1", "A", "")).then_accepted();
}

#[test]
fn complaint_not_found_for_a_decision() {
    let publicized = given(&until_evaluated());
    publicized.when(complaint_decided(&e(5))).then_rejected(COMPLAINT_NOT_FOUND);
    let complained = publicized.and(complaint("T1", "A", "")); // e006
    complained.when(complaint_decided(&e(6))).then_accepted();
    // An award cancellation naming a complaint needs a real one too.
    let awarded = given(&until_awarded());
    let cancellation = |id: &str| gongkai_proto::v1::AwardCancelled {
        complaint_event_id: id.to_owned(),
        ..award_cancelled("T1", "A")
    };
    awarded.when(cancellation(&e(5))).then_rejected(COMPLAINT_NOT_FOUND);
    awarded.and(complaint("T1", "A", "")).when(cancellation(&e(7))).then_accepted();
}

#[test]
fn complaint_already_decided() {
    let decided = given(&until_evaluated()).and(complaint("T1", "A", "")).and(complaint_decided(&e(6)));
    let refusal = decided.when(complaint_decided(&e(6))).then_rejected(COMPLAINT_ALREADY_DECIDED);
    assert!(refusal.context.contains(&("event_id", e(7))));
}

#[test]
fn winner_did_not_bid() {
    let evaluated = given(&until_evaluated());
    evaluated.when(awarded("T1", "A", 9, price_of(0))).then_rejected(WINNER_DID_NOT_BID);
    evaluated.when(awarded("T1", "A", 1, price_of(0))).then_accepted();
}

#[test]
fn award_not_found_for_notice_cancellation_or_contract() {
    let evaluated = given(&until_evaluated());
    evaluated.when(notice("T1", "A", 1)).then_rejected(AWARD_NOT_FOUND);
    evaluated.when(award_cancelled("T1", "A")).then_rejected(AWARD_NOT_FOUND);
    evaluated.when(contract("C1", "T1", &["A"], &[1], price_of(0))).then_rejected(AWARD_NOT_FOUND);

    let awarded = given(&until_awarded());
    awarded.when(notice("T1", "A", 2)).then_rejected(AWARD_NOT_FOUND);
    awarded.when(contract("C1", "T1", &["A"], &[2], price_of(0))).then_rejected(AWARD_NOT_FOUND);
    awarded.when(notice("T1", "A", 1)).then_accepted();
    awarded.when(contract("C1", "T1", &["A"], &[1], price_of(0))).then_accepted();
}

#[test]
fn an_award_cancellation_returns_the_lot_to_evaluated() {
    let cancelled = given(&until_notified()).and(award_cancelled("T1", "A"));
    cancelled.when(award_cancelled("T1", "A")).then_rejected(AWARD_NOT_FOUND);
    cancelled.when(contract("C1", "T1", &["A"], &[1], price_of(0))).then_rejected(AWARD_NOT_FOUND);
    let reason = "第一中标候选人中标无效";
    let second = gongkai_proto::v1::AwardAnnounced {
        not_first_ranked_reason: reason.to_owned(),
        ..awarded("T1", "A", 2, price_of(1))
    };
    let reawarded = cancelled.and(second);
    let state = reawarded.state();
    let lot = state.lot("T1", "A").expect("lot");
    assert_eq!(lot.cancelled_awards.len(), 1);
    assert_eq!(lot.award.as_ref().and_then(|a| a.winner.clone()), Some(org(2)));
    reawarded.when(notice("T1", "A", 2)).then_accepted();
}

#[test]
fn contract_exists_for_a_known_code() {
    given(&until_signed()).when(contract("C1", "T1", &["A"], &[1], price_of(0))).then_rejected(CONTRACT_EXISTS);
}

#[test]
fn contract_not_found_for_performance_facts() {
    let signed = given(&until_signed());
    signed.when(varied("C9", "V1", 1)).then_rejected(CONTRACT_NOT_FOUND);
    signed.when(milestone("C9", "M1", 100)).then_rejected(CONTRACT_NOT_FOUND);
    signed.when(payment("C9", "P1", 1, "")).then_rejected(CONTRACT_NOT_FOUND);
    signed.when(issue("C9")).then_rejected(CONTRACT_NOT_FOUND);
    signed.when(accepted(&["C1", "C9"])).then_rejected(CONTRACT_NOT_FOUND);
    signed.when(varied("C1", "V1", 1)).then_accepted();
    signed.when(milestone("C1", "M1", 100)).then_accepted();
    signed.when(payment("C1", "P1", 1, "")).then_accepted();
    signed.when(issue("C1")).then_accepted();
    signed.when(accepted(&["C1"])).then_accepted();
}

#[test]
fn milestone_not_found_for_a_payment() {
    let signed = given(&until_signed());
    signed.when(payment("C1", "P1", 100, "M1")).then_rejected(MILESTONE_NOT_FOUND);
    signed.and(milestone("C1", "M1", 100)).when(payment("C1", "P1", 100, "M1")).then_accepted();
}

#[test]
fn no_signed_contract_before_completion() {
    given(&until_notified()).when(accepted(&["C1"])).then_rejected(NO_SIGNED_CONTRACT);
    given(&until_signed()).when(accepted(&["C1"])).then_accepted();
}

#[test]
fn no_accepted_completion_before_final_accounts() {
    let signed = given(&until_signed());
    signed.when(settled(INVESTMENT)).then_rejected(NO_ACCEPTED_COMPLETION);
    let failed = gongkai_proto::v1::CompletionAccepted {
        result: gongkai_proto::v1::AcceptanceResult::Failed as i32,
        remarks: "路面压实度不合格".to_owned(),
        ..accepted(&["C1"])
    };
    let failed = signed.clone().and(failed);
    failed.when(settled(INVESTMENT)).then_rejected(NO_ACCEPTED_COMPLETION);
    failed.and(accepted(&["C1"])).when(settled(INVESTMENT)).then_accepted();
}

#[test]
fn a_submission_without_a_fact_is_refused_not_panicked() {
    given(&until_announced()).when(empty_step()).then_rejected(FACT_MISSING);
    let no_kind = gongkai_domain::Submission {
        request_id: "r".to_owned(),
        project_code: PROJECT.to_owned(),
        occurred_at: None,
        body: Some(gongkai_domain::Body::Fact(gongkai_proto::v1::Fact { kind: None })),
    };
    let refusal = gongkai_domain::decide(&given(&until_announced()).state(), &no_kind, "e003").expect_err("refused");
    assert_eq!(refusal.rule, FACT_MISSING);
}

#[test]
fn facts_with_missing_parts_never_panic() {
    let bare_award = gongkai_proto::v1::AwardAnnounced { winner: None, ..awarded("T1", "A", 1, 0) };
    given(&until_evaluated()).when(bare_award).then_rejected(WINNER_DID_NOT_BID);
    let bare_tender = gongkai_proto::v1::TenderAnnounced {
        tender_documents_issued_at: None,
        document_sale_period: None,
        bid_deadline: None,
        bid_opening_at: None,
        ..tender("T1", &["A"])
    };
    let announced = given(&[approved().into()]).and(bare_tender);
    announced.when(opened("T1", "A", Vec::new())).then_accepted();
    let bare_contract =
        gongkai_proto::v1::ContractSigned { lot_codes: Vec::new(), ..contract("C1", "T1", &[], &[1], 0) };
    given(&until_notified()).when(bare_contract).then_rejected(AWARD_NOT_FOUND);
}

#[test]
fn every_catalogued_code_is_in_the_contract() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../proto/gongkai/v1/ingestion.proto"))
            .expect("ingestion.proto");
    for code in HARD_RULES {
        assert!(header.contains(&format!("//   {code} ")), "{code} is not in the ingestion.proto header");
    }
    let common =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../proto/gongkai/v1/common.proto"))
            .expect("common.proto");
    for code in SOFT_RULES {
        assert!(common.contains(&format!("`{code}`")), "{code} is not in the common.proto catalogue");
    }
}

#[test]
fn empty_facts_of_every_kind_never_panic() {
    let kinds = gongkai_domain::kinds::every_kind();
    let mut history = until_signed();
    history.push(accepted(&["C1"]).into());
    let states = [given(&[]).state(), given(&until_evaluated()).state(), given(&history).state()];
    for state in &states {
        for kind in &kinds {
            let fact = gongkai_proto::v1::Fact { kind: Some(kind.clone()) };
            for body in [
                gongkai_domain::Body::Fact(fact.clone()),
                gongkai_domain::Body::Correction(gongkai_proto::v1::DisclosureCorrected {
                    supersedes_event_id: e(2),
                    replacement: Some(fact),
                    ..Default::default()
                }),
            ] {
                let submission = gongkai_domain::Submission {
                    request_id: String::new(),
                    project_code: String::new(),
                    occurred_at: None,
                    body: Some(body),
                };
                let _ = gongkai_domain::decide(state, &submission, "new");
            }
        }
    }
}
