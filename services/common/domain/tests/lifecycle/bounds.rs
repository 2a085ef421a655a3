//! The money bound: no fact may carry a total past ±10^15 fen or a contract
//! price below zero, and an event accepted before the bound (one that leaves
//! it) stops the project's record until a correction cures it.

use gongkai_domain::decide::rules::*;
use gongkai_domain::money::AMOUNT_MAX_FEN;

use crate::support::*;

#[test]
fn a_variation_may_not_drive_the_price_below_zero() {
    let signed = given(&until_signed());
    let price = price_of(0);
    let refusal = signed.when(varied("C1", "V1", -price - 1)).then_rejected(CONTRACT_PRICE_BELOW_ZERO);
    assert!(refusal.context.contains(&("contract_code", "C1".to_owned())));
    signed.when(varied("C1", "V1", -price)).then_flag(GK_VARIATION_OVER_10PCT);
    // Cumulatively too: two cuts that each leave a price, together not.
    let cut = given(&until_signed()).and(varied("C1", "V1", -price / 2));
    cut.when(varied("C1", "V2", -price / 2 - 1)).then_rejected(CONTRACT_PRICE_BELOW_ZERO);
}

#[test]
fn a_variation_may_not_carry_the_price_past_the_bound() {
    let near = given(&until_signed()).and(varied("C1", "V1", AMOUNT_MAX_FEN - price_of(0)));
    near.when(varied("C1", "V2", 1)).then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
    near.when(varied("C1", "V2", -1)).then_flag(GK_VARIATION_OVER_10PCT);
}

#[test]
fn absolute_variations_may_not_sum_past_the_bound() {
    let swing = AMOUNT_MAX_FEN / 2;
    let swung = given(&until_signed()).and(varied("C1", "V1", swing)).and(varied("C1", "V2", -swing));
    swung.when(varied("C1", "V3", 1)).then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
}

#[test]
fn payments_may_not_sum_past_the_bound() {
    let paid = given(&until_signed()).and(payment("C1", "P1", AMOUNT_MAX_FEN, ""));
    let refusal = paid.when(payment("C1", "P2", 1, "")).then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
    assert!(refusal.context.contains(&("bound_fen", AMOUNT_MAX_FEN.to_string())));
    given(&until_signed())
        .and(payment("C1", "P1", AMOUNT_MAX_FEN - 1, ""))
        .when(payment("C1", "P2", 1, ""))
        .then_accepted();
}

#[test]
fn two_contracts_of_the_largest_price_are_refused_together() {
    let mut steps = until_notified();
    steps.push(contract("C1", "T1", &["A"], &[1], AMOUNT_MAX_FEN).into());
    let signed = given(&steps);
    signed.when(contract("C2", "T1", &["A"], &[1], 1)).then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
}

#[test]
fn a_correction_that_would_leave_the_bound_is_refused() {
    // C1 is signed (e008), then cut by V1 (e009) to 1 fen above zero.
    let price = price_of(0);
    let cut = given(&until_signed()).and(varied("C1", "V1", -(price - 1)));
    // Correcting the signed price down now leaves V1 driving it below zero.
    let lower = contract("C1", "T1", &["A"], &[1], price - 2);
    cut.when(correct(&e(8), lower)).then_rejected(CONTRACT_PRICE_BELOW_ZERO);
}

#[test]
fn an_earlier_poison_event_stops_the_record_until_corrected() {
    // The variation an earlier version accepted: i64::MIN fen.
    let poisoned = given(&until_signed()).and_recorded_earlier(varied("C1", "V1", i64::MIN));
    let state = poisoned.state();
    let fault = state.bound_fault().expect("the fold notices the total leaving the bound");
    assert_eq!(fault.event_id, e(9));
    let contract = state.contract("C1").unwrap();
    assert_eq!(contract.current_price_fen, price_of(0), "the price keeps its last true value");

    let refusal = poisoned.when(payment("C1", "P1", 1, "")).then_rejected(RECORD_OUT_OF_BOUNDS);
    assert!(refusal.context.contains(&("event_id", e(9))));
    // A correction that leaves it out of bounds is refused too ...
    poisoned.when(correct(&e(9), varied("C1", "V1", i64::MIN + 1))).then_rejected(CONTRACT_PRICE_BELOW_ZERO);
    // ... and one that brings it back is accepted, after which the record goes on.
    let cured = poisoned.and(correct(&e(9), varied("C1", "V1", -1)));
    assert!(cured.state().bound_fault().is_none());
    assert_eq!(cured.state().contract("C1").unwrap().current_price_fen, price_of(0) - 1);
    cured.when(payment("C1", "P1", 1, "")).then_accepted();
}

#[test]
fn contracted_totals_are_checked_sums() {
    let state = given(&until_signed()).and(varied("C1", "V1", 5)).state();
    assert_eq!(state.contracted_totals(), Some((price_of(0), price_of(0) + 5)));
}

#[test]
fn an_earlier_approval_beyond_the_bound_is_cured_only_by_its_correction() {
    let mut huge = approved();
    huge.total_investment_fen = i64::MAX;
    let poisoned = given(&[]).and_recorded_earlier(huge).and_recorded_earlier(tender("T1", &["A"]));
    assert_eq!(poisoned.state().bound_fault().map(|fault| fault.event_id.clone()), Some(e(1)));
    poisoned.when(tender("T2", &["A"])).then_rejected(RECORD_OUT_OF_BOUNDS);
    // Correcting another event leaves the fault in place.
    poisoned.when(correct(&e(2), tender("T1", &["A"]))).then_rejected(RECORD_OUT_OF_BOUNDS);
    poisoned.when(correct(&e(1), approved())).then_accepted();
}
