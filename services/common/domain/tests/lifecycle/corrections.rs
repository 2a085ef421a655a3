//! Corrections: the latest version, the same kind, and a history that stays
//! possible once the replacement is in place.

use gongkai_domain::decide::rules::*;
use gongkai_proto::v1::{BidsOpened, ComplaintFiled, ProjectApproved, TenderAmended, TenderAnnounced};

use crate::support::*;

fn short_tender() -> TenderAnnounced {
    TenderAnnounced { bid_deadline: Some(day(22)), bid_opening_at: Some(day(22)), ..tender("T1", &["A"]) }
}

#[test]
fn event_not_found() {
    let refusal = given(&until_announced()).when(correct("e999", tender("T1", &["A"]))).then_rejected(EVENT_NOT_FOUND);
    assert!(refusal.context.contains(&("event_id", "e999".to_owned())));
    given(&[]).when(correct(&e(1), approved())).then_rejected(PROJECT_NOT_FOUND);
}

#[test]
fn kind_mismatch() {
    let announced = given(&until_announced());
    let refusal = announced.when(correct(&e(2), opened("T1", "A", bids(&[1])))).then_rejected(CORRECTION_KIND_MISMATCH);
    assert!(refusal.context.contains(&("superseded_kind", "TenderAnnounced".to_owned())));
    assert!(refusal.context.contains(&("replacement_kind", "BidsOpened".to_owned())));
    announced.when(correct(&e(2), tender("T1", &["A"]))).then_accepted();
}

#[test]
fn superseded_twice() {
    let renamed = TenderAnnounced { name: "更正后的名称".to_owned(), ..tender("T1", &["A"]) };
    let corrected = given(&until_announced()).and(correct(&e(2), renamed.clone())); // e003
    let refusal = corrected.when(correct(&e(2), tender("T1", &["A"]))).then_rejected(EVENT_ALREADY_SUPERSEDED);
    assert!(refusal.context.contains(&("superseded_by_event_id", e(3))));

    // A correction of the correction supersedes it: e002 <- e003 <- e004.
    let renamed_again = TenderAnnounced { name: "再次更正的名称".to_owned(), ..renamed };
    let chain = corrected.and(correct(&e(3), renamed_again));
    chain.when(correct(&e(3), tender("T1", &["A"]))).then_rejected(EVENT_ALREADY_SUPERSEDED);
    let state = chain.state();
    assert_eq!(state.superseded_by(&e(2)), Some(e(3).as_str()));
    assert_eq!(state.superseded_by(&e(3)), Some(e(4).as_str()));
    assert_eq!(state.original_event_id(&e(4)), Some(e(2).as_str()));
    assert_eq!(state.tender("T1").map(|t| t.name.as_str()), Some("再次更正的名称"));
    assert_eq!(state.tender("T1").map(|t| t.announced_event_id.as_str()), Some(e(4).as_str()));
    assert_eq!(state.history().len(), 2, "corrections replace, they do not add facts");
    assert_eq!(state.history()[1].event_id, e(4));
    assert_eq!(state.history()[1].project_seq, 2);
    assert_eq!(state.last_seq(), 4);
}

#[test]
fn a_correction_that_would_invalidate_a_later_award_is_refused() {
    // Company 1 bid, was not a candidate and won with a recorded reason.
    let reasoned = gongkai_proto::v1::AwardAnnounced {
        not_first_ranked_reason: "候选人均放弃中标".to_owned(),
        ..awarded("T1", "A", 1, price_of(0))
    };
    let awarded = given(&until_opened()).and(evaluated("T1", "A", &[2, 3, 4])).and(reasoned); // e004, e005
    let without_winner = opened("T1", "A", bids(&[2, 3, 4]));
    let refusal = awarded.when(correct(&e(3), without_winner)).then_rejected(WINNER_DID_NOT_BID);
    assert!(refusal.context.contains(&("invalidated_event_id", e(5))), "{refusal:?}");
    assert!(refusal.context.contains(&("supersedes_event_id", e(3))));
    assert!(refusal.message.contains(&e(5)));

    // A correction keeping the winner's bid is fine.
    awarded.when(correct(&e(3), opened("T1", "A", bids(&[1, 2, 3, 4, 5])))).then_accepted();
}

#[test]
fn a_correction_that_would_invalidate_a_later_evaluation_is_refused() {
    let refusal = given(&until_awarded())
        .when(correct(&e(3), opened("T1", "A", bids(&[2, 3, 4]))))
        .then_rejected(CANDIDATE_DID_NOT_BID);
    assert!(refusal.context.contains(&("invalidated_event_id", e(4))));
}

#[test]
fn a_correction_dropping_an_opened_lot_is_refused() {
    let opened = given(&until_opened());
    opened.when(correct(&e(2), tender("T1", &["B"]))).then_rejected(LOT_NOT_FOUND);
    opened.when(correct(&e(2), tender("T1", &["A", "B"]))).then_accepted();
}

#[test]
fn a_correction_that_fixes_a_short_bid_period_changes_the_flags() {
    let short = given(&[approved().into(), short_tender().into()]);
    assert_eq!(short.flags_raised().len(), 1, "the original raised TBL-24");
    short.when(correct(&e(2), tender("T1", &["A"]))).then_accepted();

    let still_short =
        TenderAnnounced { bid_deadline: Some(day(25)), bid_opening_at: Some(day(25)), ..tender("T1", &["A"]) };
    let flag = short.when(correct(&e(2), still_short)).then_flag(TBL_24_BID_PERIOD);
    assert_figure(&flag, "days_from_documents_to_deadline", 15, Some(20), "days");
    assert_eq!(flag.event_ids, vec![e(3)]);

    let fixed = short.and(correct(&e(2), tender("T1", &["A"])));
    let state = fixed.state();
    assert_eq!(state.lot("T1", "A").and_then(|lot| lot.bid_deadline), Some(day(35)));
    assert_eq!(state.lot("T1", "A").map(|lot| lot.deadline_event_id.as_str()), Some(e(3).as_str()));
    // Later facts are decided against the corrected deadline.
    fixed.when(opened("T1", "A", bids(&[1, 2, 3]))).then_accepted();
}

#[test]
fn the_replacement_is_decided_at_its_business_time() {
    let affecting = TenderAmended { affects_bid_preparation: true, ..amended("T1") };
    let late = given(&until_announced()).and(on(day(25), affecting.clone())); // e003, 10 days before
    // Unset replacement time: the superseded event's, still late.
    late.when(correct(&e(3), affecting.clone())).then_flag(TBL_23_LATE_CLARIFICATION);
    late.when(correct_at(&e(3), affecting, day(18))).then_accepted();
}

#[test]
fn correcting_the_approval_replays_the_project_rules() {
    let ppp = given(&[ppp_approved().into(), ppp_details().into()]);
    ppp.when(correct(&e(1), approved())).then_rejected(PROJECT_NOT_PPP);
    let moved = ProjectApproved { region_code: "230102".to_owned(), ..ppp_approved() };
    let state = ppp.and(correct(&e(1), moved)).state();
    assert_eq!(state.region_code(), Some("230102"));
    assert!(state.ppp_details().is_some());
}

#[test]
fn a_corrected_complaint_is_still_decided_by_its_original_id() {
    let subject = ComplaintFiled { subject: "更正后的投诉事项".to_owned(), ..complaint("T1", "A", "") };
    let corrected = given(&until_evaluated()).and(complaint("T1", "A", "")).and(correct(&e(6), subject)); // e006, e007
    corrected.when(complaint_decided(&e(6))).then_accepted();
    corrected.when(complaint_decided(&e(7))).then_accepted();
    let decided = corrected.and(complaint_decided(&e(6)));
    assert_eq!(decided.state().complaint(&e(7)).and_then(|c| c.decided_event_id.clone()), Some(e(8)));
    // Correcting the complaint again keeps its decision.
    let state = decided.and(correct(&e(7), complaint("T1", "A", ""))).state();
    assert_eq!(state.complaint(&e(6)).and_then(|c| c.decided_event_id.clone()), Some(e(8)));
}

#[test]
fn the_state_is_the_same_folded_at_once_or_event_by_event() {
    let history = given(&until_signed())
        .and(correct(&e(3), BidsOpened { place: "电子开标".to_owned(), ..opened("T1", "A", bids(&[1, 2, 3, 4])) }));
    let at_once = history.state();
    let mut one_by_one = gongkai_domain::ProjectState::default();
    for event in history.events() {
        one_by_one.apply(event);
    }
    assert_eq!(format!("{at_once:?}"), format!("{one_by_one:?}"));
    assert_eq!(at_once.event(&e(9)).map(|event| event.is_correction), Some(true));
    assert_eq!(at_once.lot("T1", "A").and_then(|lot| lot.opening.as_ref()).map(|o| o.event_id.clone()), Some(e(9)));
}
