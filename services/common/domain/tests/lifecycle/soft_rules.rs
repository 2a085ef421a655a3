//! One test per soft rule: the flag with its figures when broken, none when
//! compliant.

use gongkai_domain::decide::rules::*;
use gongkai_proto::v1::{
    AwardAnnounced, BidsOpened, CandidatesPublicized, CompletionAccepted, ContractSigned, Period,
    PrequalificationCompleted, TenderAmended, TenderAnnounced, TenderResumed,
};

use crate::support::*;

fn approval() -> Given {
    given(&[approved().into()])
}

#[test]
fn tbl_24_bid_period_under_20_days() {
    let short = TenderAnnounced { bid_deadline: Some(day(22)), bid_opening_at: Some(day(22)), ..tender("T1", &["A"]) };
    let outcome = approval().when(short);
    let flag = outcome.then_flag(TBL_24_BID_PERIOD);
    assert_figure(&flag, "days_from_documents_to_deadline", 12, Some(20), "days");
    assert_eq!(flag.event_ids, vec![e(2)]);
    assert!(flag.explanation.contains("12 天") && flag.explanation.contains("20 天"), "{}", flag.explanation);
    assert!(flag.legal_basis.contains("第二十四条"));

    // 19 days 23 hours are 19 whole days; exactly 20 days comply.
    let almost = plus(day(30), -3600);
    let nearly = TenderAnnounced { bid_deadline: Some(almost), bid_opening_at: Some(almost), ..tender("T1", &["A"]) };
    assert_figure(
        &approval().when(nearly).then_flag(TBL_24_BID_PERIOD),
        "days_from_documents_to_deadline",
        19,
        Some(20),
        "days",
    );
    let exact = TenderAnnounced { bid_deadline: Some(day(30)), bid_opening_at: Some(day(30)), ..tender("T1", &["A"]) };
    approval().when(exact).then_accepted();
    approval().when(tender("T1", &["A"])).then_accepted();
}

#[test]
fn tbl_24_on_an_amendment_or_resumption_that_sets_the_deadline() {
    let announced = given(&until_announced());
    let earlier = TenderAmended { new_bid_deadline: Some(day(25)), ..amended("T1") };
    let flag = announced.when(earlier.clone()).then_flag(TBL_24_BID_PERIOD);
    assert_figure(&flag, "days_from_documents_to_deadline", 15, Some(20), "days");
    assert_eq!(flag.event_ids, vec![e(2), e(3)]);
    let later = TenderAmended { new_bid_deadline: Some(day(40)), ..amended("T1") };
    announced.when(later).then_accepted();

    let suspended = announced.and(tender_suspended("T1", &[]));
    let resumed = TenderResumed { new_bid_deadline: Some(day(25)), ..tender_resumed("T1", &[]) };
    suspended.when(resumed).then_flag(TBL_24_BID_PERIOD);
    suspended.when(TenderResumed { new_bid_deadline: Some(day(45)), ..tender_resumed("T1", &[]) }).then_accepted();
}

#[test]
fn ir_16_sale_window_under_5_days() {
    let short = TenderAnnounced {
        document_sale_period: Some(Period { start: Some(day(10)), end: Some(day(13)) }),
        ..tender("T1", &["A"])
    };
    assert_figure(&approval().when(short).then_flag(IR_16_SALE_WINDOW), "document_sale_days", 3, Some(5), "days");
    let five = TenderAnnounced {
        document_sale_period: Some(Period { start: Some(day(10)), end: Some(day(15)) }),
        ..tender("T1", &["A"])
    };
    approval().when(five).then_accepted();
}

#[test]
fn ir_17_prequalification_period_under_5_days() {
    // Sale closes day 16; applications close day 18.
    let short = TenderAnnounced { prequalification_deadline: Some(day(18)), ..prequalified_tender("T1", &["A"]) };
    let flag = approval().when(short).then_flag(IR_17_PREQUAL_PERIOD);
    assert_figure(&flag, "days_from_sale_end_to_prequalification_deadline", 2, Some(5), "days");
    approval().when(prequalified_tender("T1", &["A"])).then_accepted();

    let announced = approval().and(prequalified_tender("T1", &["A"]));
    let hurried = PrequalificationCompleted {
        application_period: Some(Period { start: Some(day(16)), end: Some(day(19)) }),
        ..prequalification("T1")
    };
    let flag = announced.when(hurried).then_flag(IR_17_PREQUAL_PERIOD);
    assert_figure(&flag, "prequalification_application_days", 3, Some(5), "days");
    assert_eq!(flag.event_ids, vec![e(2), e(3)]);
    announced.when(prequalification("T1")).then_accepted();
}

#[test]
fn tbl_23_late_clarification() {
    let announced = given(&until_announced()); // deadline day 35
    let affecting = TenderAmended { affects_bid_preparation: true, ..amended("T1") };
    let flag = announced.when(on(day(25), affecting.clone())).then_flag(TBL_23_LATE_CLARIFICATION);
    assert_figure(&flag, "days_from_clarification_to_deadline", 10, Some(15), "days");
    assert_eq!(flag.event_ids, vec![e(2), e(3)]);
    assert!(flag.explanation.contains("未顺延"), "{}", flag.explanation);

    // Early enough, or not affecting bids, or postponing the deadline: no flag.
    announced.when(on(day(20), affecting.clone())).then_accepted();
    announced.when(on(day(25), amended("T1"))).then_accepted();
    let postponed = TenderAmended { new_bid_deadline: Some(day(41)), ..affecting.clone() };
    announced.when(on(day(25), postponed)).then_accepted();
    // Postponed, but still not 15 days after the clarification.
    let not_enough = TenderAmended { new_bid_deadline: Some(day(38)), ..affecting };
    let flag = announced.when(on(day(25), not_enough)).then_flag(TBL_23_LATE_CLARIFICATION);
    assert_figure(&flag, "days_from_clarification_to_deadline", 13, Some(15), "days");
}

#[test]
fn tbl_34_opening_not_at_the_deadline() {
    let announced = given(&until_announced());
    let late = BidsOpened { opened_at: Some(plus(day(35), 7200)), ..opened("T1", "A", bids(&[1, 2, 3])) };
    let flag = announced.when(late).then_flag(TBL_34_OPENING_TIME);
    assert_figure(&flag, "seconds_between_deadline_and_opening", 7200, Some(60), "seconds");
    assert_eq!(flag.event_ids, vec![e(2), e(3)]);
    let on_time = BidsOpened { opened_at: Some(plus(day(35), 30)), ..opened("T1", "A", bids(&[1, 2, 3])) };
    announced.when(on_time).then_accepted();

    // After an amendment the deadline in force is the new one.
    let moved = announced.and(TenderAmended { new_bid_deadline: Some(day(40)), ..amended("T1") });
    let at_new = BidsOpened { opened_at: Some(day(40)), ..opened("T1", "A", bids(&[1, 2, 3])) };
    moved.when(at_new).then_accepted();
    let flag = moved.when(opened("T1", "A", bids(&[1, 2, 3]))).then_flag(TBL_34_OPENING_TIME);
    assert_eq!(flag.event_ids, vec![e(3), e(4)], "the amendment set the deadline in force");

    // A scheduled opening away from the deadline is flagged on announcement.
    let scheduled = TenderAnnounced { bid_opening_at: Some(plus(day(35), 3600)), ..tender("T1", &["A"]) };
    approval().when(scheduled).then_flag(TBL_34_OPENING_TIME);
}

#[test]
fn tbl_28_fewer_than_3_bids_evaluated_or_awarded() {
    let two = given(&until_announced()).and(opened("T1", "A", bids(&[1, 2])));
    let flag = two.when(evaluated("T1", "A", &[1, 2])).then_flag(TBL_28_FEWER_THAN_3_BIDS);
    assert_figure(&flag, "bid_count", 2, Some(3), "count");
    assert_eq!(flag.event_ids, vec![e(3), e(4)]);
    let flag = two
        .and(evaluated("T1", "A", &[1, 2]))
        .when(awarded("T1", "A", 1, price_of(0)))
        .then_flag(TBL_28_FEWER_THAN_3_BIDS);
    assert_eq!(flag.event_ids, vec![e(3), e(4), e(5)]);

    let three = given(&until_announced()).and(opened("T1", "A", bids(&[1, 2, 3])));
    three.when(evaluated("T1", "A", &[1, 2])).then_accepted();
}

#[test]
fn ir_54_publicity_delay_over_3_days() {
    let evaluated = given(&until_opened()).and(evaluated("T1", "A", &[1, 2, 3])); // completed day 37
    let late = CandidatesPublicized {
        publicity_period: Some(Period { start: Some(day(41)), end: Some(day(44)) }),
        ..publicized("T1", "A", &[1, 2, 3])
    };
    let flag = evaluated.when(late).then_flag(IR_54_PUBLICITY_DELAY);
    assert_figure(&flag, "days_from_evaluation_to_publicity", 4, Some(3), "days");
    assert_eq!(flag.event_ids, vec![e(4), e(5)]);
    let in_time = CandidatesPublicized {
        publicity_period: Some(Period { start: Some(day(40)), end: Some(day(43)) }),
        ..publicized("T1", "A", &[1, 2, 3])
    };
    evaluated.when(in_time).then_accepted();
}

#[test]
fn ir_54_publicity_under_3_days() {
    let evaluated = given(&until_opened()).and(evaluated("T1", "A", &[1, 2, 3]));
    let short = CandidatesPublicized {
        publicity_period: Some(Period { start: Some(day(38)), end: Some(plus(day(41), -1)) }),
        ..publicized("T1", "A", &[1, 2, 3])
    };
    let flag = evaluated.when(short).then_flag(IR_54_PUBLICITY_SHORT);
    assert_figure(&flag, "publicity_days", 2, Some(3), "days");
    evaluated.when(publicized("T1", "A", &[1, 2, 3])).then_accepted();
}

#[test]
fn ir_55_not_first_ranked_without_a_reason() {
    let evaluated = given(&until_evaluated());
    let flag = evaluated.when(awarded("T1", "A", 2, price_of(1))).then_flag(IR_55_NOT_FIRST_RANKED);
    assert_figure(&flag, "winner_candidate_rank", 2, Some(1), "rank");
    assert_eq!(flag.event_ids, vec![e(4), e(6)]);
    // A bidder who is no candidate at all ranks 0.
    let flag = evaluated.when(awarded("T1", "A", 4, price_of(3))).then_flag(IR_55_NOT_FIRST_RANKED);
    assert_figure(&flag, "winner_candidate_rank", 0, Some(1), "rank");

    let reasoned = AwardAnnounced {
        not_first_ranked_reason: "第一中标候选人放弃中标".to_owned(),
        ..awarded("T1", "A", 2, price_of(1))
    };
    evaluated.when(reasoned).then_accepted();
    evaluated.when(awarded("T1", "A", 1, price_of(0))).then_accepted();
}

#[test]
fn tbl_46_late_contract() {
    let notified = given(&until_notified()); // notice day 43
    let late = ContractSigned { signed_at: Some(day(74)), ..contract("C1", "T1", &["A"], &[1], price_of(0)) };
    let flag = notified.when(late).then_flag(TBL_46_LATE_CONTRACT);
    assert_figure(&flag, "days_from_award_notice_to_contract", 31, Some(30), "days");
    assert_eq!(flag.event_ids, vec![e(7), e(8)]);
    let in_time = ContractSigned { signed_at: Some(day(73)), ..contract("C1", "T1", &["A"], &[1], price_of(0)) };
    notified.when(in_time).then_accepted();
}

#[test]
fn tbl_46_contract_price_differs_from_the_award() {
    let notified = given(&until_notified());
    let side_deal = contract("C1", "T1", &["A"], &[1], price_of(0) + 20_000_000);
    let flag = notified.when(side_deal).then_flag(TBL_46_PRICE_MISMATCH);
    assert_figure(&flag, "contract_price_fen", price_of(0) + 20_000_000, Some(price_of(0)), "fen");
    assert_figure(&flag, "difference_fen", 20_000_000, Some(0), "fen");
    assert_eq!(flag.event_ids, vec![e(6), e(8)]);
    notified.when(contract("C1", "T1", &["A"], &[1], price_of(0))).then_accepted();
}

#[test]
fn gk_variation_over_10_percent_while_over() {
    let signed = given(&until_signed()); // price 45 000 000.00 元
    let price = price_of(0);
    let plus_6 = signed.clone().and(varied("C1", "V1", 300_000_000)); // e009, 6.67 %
    let flag = plus_6.when(varied("C1", "V2", -200_000_000)).then_flag(GK_VARIATION_OVER_10PCT);
    assert_figure(&flag, "cumulative_variation_fen", 500_000_000, Some(price / 10), "fen");
    assert_figure(&flag, "cumulative_variation_share", 1111, Some(1000), "percent_bp");
    assert_eq!(flag.event_ids, vec![e(8), e(9), e(10)]);
    // Still over on the next variation, however small.
    plus_6.clone().and(varied("C1", "V2", -200_000_000)).when(varied("C1", "V3", 1)).then_flag(GK_VARIATION_OVER_10PCT);
    // Exactly 10 % is not over.
    plus_6.when(varied("C1", "V2", 150_000_000)).then_accepted();
    signed.when(extended("C1", "V1", date(2026, 6, 30))).then_accepted();
}

#[test]
fn gk_completion_overrun_of_date_and_cost() {
    let signed = given(&until_signed()); // contract ends 2025-12-31, planned 2026-12-31
    let late = CompletionAccepted { actual_completion_date: Some(date(2026, 1, 10)), ..accepted(&["C1"]) };
    let flag = signed.when(late.clone()).then_flag(GK_COMPLETION_OVERRUN);
    assert_figure(&flag, "days_after_contract_end", 10, Some(0), "days");
    assert_eq!(flag.event_ids, vec![e(1), e(8), e(9)]);
    // Extended by a time variation, the same date is on time.
    signed.clone().and(extended("C1", "V1", date(2026, 2, 28))).when(late).then_accepted();
    // Later than the approved plan as well.
    let very_late = CompletionAccepted { actual_completion_date: Some(date(2027, 1, 5)), ..accepted(&["C1"]) };
    let flag = signed.when(very_late).then_flag(GK_COMPLETION_OVERRUN);
    assert_figure(&flag, "days_after_planned_end", 5, Some(0), "days");
    signed.when(accepted(&["C1"])).then_accepted();

    let completed = signed.and(accepted(&["C1"])); // e009
    let flag = completed.when(settled(INVESTMENT + 1_000_000_000)).then_flag(GK_COMPLETION_OVERRUN);
    assert_figure(&flag, "final_cost_fen", INVESTMENT + 1_000_000_000, Some(INVESTMENT), "fen");
    assert_eq!(flag.event_ids, vec![e(1), e(9), e(10)]);
    let late_end =
        gongkai_proto::v1::FinalAccountsSettled { actual_end_date: Some(date(2027, 2, 1)), ..settled(INVESTMENT) };
    let flag = completed.when(late_end).then_flag(GK_COMPLETION_OVERRUN);
    assert_figure(&flag, "days_after_planned_end", 32, Some(0), "days");
    completed.when(settled(INVESTMENT)).then_accepted();
}

#[test]
fn gk_near_ceiling_at_99_percent() {
    let evaluated = given(&until_evaluated());
    let flag = evaluated.when(awarded("T1", "A", 1, 4_960_000_000)).then_flag(GK_NEAR_CEILING);
    assert_figure(&flag, "winning_price_share_of_ceiling", 9920, Some(9900), "percent_bp");
    assert_figure(&flag, "award_price_fen", 4_960_000_000, Some(CEILING), "fen");
    assert_eq!(flag.event_ids, vec![e(2), e(6)]);
    evaluated.when(awarded("T1", "A", 1, 4_950_000_000)).then_flag(GK_NEAR_CEILING);
    evaluated.when(awarded("T1", "A", 1, 4_949_999_999)).then_accepted();
}

#[test]
fn ocp_r018_single_bidder() {
    let announced = given(&until_announced());
    let flag = announced.when(opened("T1", "A", bids(&[1]))).then_flag(OCP_R018_SINGLE_BIDDER);
    assert_figure(&flag, "bid_count", 1, Some(2), "count");
    assert_eq!(flag.event_ids, vec![e(3)]);
    announced.when(opened("T1", "A", bids(&[1, 2]))).then_accepted();
    announced.when(opened("T1", "A", Vec::new())).then_accepted();
}

#[test]
fn ocp_r028_identical_prices() {
    let announced = given(&until_announced());
    let collusive = vec![bid(1, 4_700_000_000), bid(2, 4_600_000_000), bid(3, 4_700_000_000)];
    let flag = announced.when(opened("T1", "A", collusive)).then_flag(OCP_R028_IDENTICAL_PRICES);
    assert_figure(&flag, "identical_bid_price_fen", 4_700_000_000, None, "fen");
    assert_figure(&flag, "bids_at_identical_price", 2, Some(1), "count");
    assert!(flag.explanation.contains("第1") && flag.explanation.contains("第3"), "{}", flag.explanation);
    announced.when(opened("T1", "A", bids(&[1, 2, 3]))).then_accepted();
}

#[test]
fn several_rules_at_once() {
    let hasty = TenderAnnounced {
        bid_deadline: Some(day(20)),
        bid_opening_at: Some(day(21)),
        document_sale_period: Some(Period { start: Some(day(10)), end: Some(day(11)) }),
        ..tender("T1", &["A"])
    };
    approval().when(hasty).then_flags(&[TBL_24_BID_PERIOD, IR_16_SALE_WINDOW, TBL_34_OPENING_TIME]);
}
