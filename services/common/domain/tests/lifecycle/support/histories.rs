//! Common histories: the steps from approval up to announcement, bid
//! opening, evaluation, award, notice or signed contract.

use super::{Step, approved, awarded, bids, contract, evaluated, notice, opened, price_of, publicized, tender};

/// Approval and tender T1 with lot A (events e001, e002).
pub(crate) fn until_announced() -> Vec<Step> {
    vec![approved().into(), tender("T1", &["A"]).into()]
}

/// ... and bids of companies 1..4 opened for T1/A (e003).
pub(crate) fn until_opened() -> Vec<Step> {
    let mut steps = until_announced();
    steps.push(opened("T1", "A", bids(&[1, 2, 3, 4])).into());
    steps
}

/// ... evaluated with 1, 2, 3 ranked (e004) and publicized (e005).
pub(crate) fn until_evaluated() -> Vec<Step> {
    let mut steps = until_opened();
    steps.push(evaluated("T1", "A", &[1, 2, 3]).into());
    steps.push(publicized("T1", "A", &[1, 2, 3]).into());
    steps
}

/// ... awarded to company 1 at its bid price (e006).
pub(crate) fn until_awarded() -> Vec<Step> {
    let mut steps = until_evaluated();
    steps.push(awarded("T1", "A", 1, price_of(0)).into());
    steps
}

/// ... award notice issued day 43 (e007).
pub(crate) fn until_notified() -> Vec<Step> {
    let mut steps = until_awarded();
    steps.push(notice("T1", "A", 1).into());
    steps
}

/// ... contract C1 signed day 50 at the award price (e008).
pub(crate) fn until_signed() -> Vec<Step> {
    let mut steps = until_notified();
    steps.push(contract("C1", "T1", &["A"], &[1], price_of(0)).into());
    steps
}
