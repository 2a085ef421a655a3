//! Land expropriation, resettlement and the EIA approval, given/when/then:
//! each fact accepted in a lawful order, the hard rules, the four soft rules
//! with their figures, the money bound and corrections.

use gongkai_domain::decide::rules::{
    AMOUNT_TOTAL_OUT_OF_BOUNDS, EIA_25_WORKS_BEFORE_APPROVAL, EXPROPRIATION_ALREADY_DECIDED, EXPROPRIATION_NOT_FOUND,
    LAL_47_COMMENT_PERIOD, LAL_47_DECISION_PREREQUISITES, LAL_48_RELOCATION_BEFORE_COMPENSATION, PROJECT_CANCELLED,
    PROJECT_NOT_FOUND,
};
use gongkai_domain::money::AMOUNT_MAX_FEN;
use gongkai_domain::state::land::household_totals;
use gongkai_proto::v1::{
    CompensationAmount, CompensationCategory, CompensationPaid, ExpropriationDecided, MilestoneKind, MilestoneReached,
    RelocationKind, RelocationRecorded,
};

use crate::support::*;

use CompensationCategory::{Houses, Land, Resettlement};

/// Approval, then the lawful steps of expropriation `Z1` up to its decision
/// (e001..e005): pre-announced, assessed, plan open days 6..40, decided.
fn until_decided() -> Vec<Step> {
    vec![
        approved().into(),
        pre_announced("Z1").into(),
        assessed("Z1").into(),
        plan("Z1", 6, 40).into(),
        decided("Z1").into(),
    ]
}

/// ... and land compensation paid day 50 (e006).
fn until_paid() -> Vec<Step> {
    let mut steps = until_decided();
    steps.push(paid("Z1", "P1", Land, 90_000_000).into());
    steps
}

/// A commencement of contract C1 on day `on`.
fn commencement(on: i64) -> MilestoneReached {
    MilestoneReached { kind: MilestoneKind::Commencement as i32, ..milestone("C1", "M1", on) }
}

#[test]
fn a_lawful_expropriation_is_recorded_without_a_flag() {
    let recorded = given(&until_paid())
        .and(paid("Z1", "P2", Resettlement, 30_000_000))
        .and(household_results("Z1"))
        .and(relocation("Z1", 60))
        .and(eia_approved(30));
    assert!(recorded.flags_raised().is_empty(), "{:#?}", recorded.flags_raised());

    let state = recorded.state();
    let expropriation = state.expropriation("Z1").expect("expropriation Z1");
    assert!(expropriation.is_opened());
    assert_eq!(expropriation.pre_announcement_event_ids, vec![e(2)]);
    assert_eq!(expropriation.assessments.len(), 1);
    assert_eq!(expropriation.plans.len(), 1);
    assert_eq!(expropriation.decision.as_ref().map(|d| d.event_id.clone()), Some(e(5)));
    assert_eq!(expropriation.payments.len(), 2);
    assert_eq!(expropriation.household_results[0].totals.households, 2);
    assert_eq!(expropriation.relocations.len(), 1);
    let totals = state.land_totals();
    assert_eq!(totals.budget_fen, 3_000_000_000);
    assert_eq!(totals.paid_fen, 120_000_000);
    assert_eq!(totals.paid_by_category, [90_000_000, 30_000_000, 0, 0, 0]);
    assert_eq!(totals.household_fen, 120_000_000);
    assert_eq!(totals.household_by_category, [90_000_000, 0, 30_000_000, 0, 0]);
    assert_eq!(state.eia_approvals().len(), 1);
}

#[test]
fn household_totals_count_households_per_category() {
    let totals = household_totals(&household_results("Z1")).expect("within the bound");
    assert_eq!(totals.households, 2);
    assert_eq!(totals.total_fen, 120_000_000);
    assert_eq!(totals.by_category[0], (90_000_000, 2));
    assert_eq!(totals.by_category[2], (30_000_000, 1));
    assert_eq!(
        totals.category_totals(),
        vec![
            CompensationAmount { category: Land as i32, amount_fen: 90_000_000 },
            CompensationAmount { category: Houses as i32, amount_fen: 30_000_000 },
        ]
    );
}

// ---------------------------------------------------------------------------
// Hard rules
// ---------------------------------------------------------------------------

#[test]
fn every_land_fact_needs_an_approved_project_that_is_not_cancelled() {
    let facts: Vec<Step> = vec![
        pre_announced("Z1").into(),
        plan("Z1", 6, 40).into(),
        assessed("Z1").into(),
        decided("Z1").into(),
        paid("Z1", "P1", Land, 100).into(),
        household_results("Z1").into(),
        relocation("Z1", 60).into(),
        eia_approved(30).into(),
    ];
    let cancelled = given(&until_decided()).and(project_cancelled());
    for fact in facts {
        given(&[]).when(fact.clone()).then_rejected(PROJECT_NOT_FOUND);
        let rejection = cancelled.when(fact).then_rejected(PROJECT_CANCELLED);
        assert!(rejection.context.contains(&("project_state", "cancelled".to_owned())));
    }
}

#[test]
fn a_suspended_project_still_records_its_expropriation() {
    given(&[approved().into(), project_suspended().into()]).when(pre_announced("Z1")).then_accepted();
}

#[test]
fn compensation_needs_an_expropriation_that_was_opened() {
    let approved_only = given(&[approved().into()]);
    let rejection = approved_only.when(paid("Z1", "P1", Land, 100)).then_rejected(EXPROPRIATION_NOT_FOUND);
    assert!(rejection.context.contains(&("expropriation_code", "Z1".to_owned())));
    approved_only.when(household_results("Z1")).then_rejected(EXPROPRIATION_NOT_FOUND);
    // Another expropriation's facts open nothing for Z2.
    given(&until_decided()).when(paid("Z2", "P1", Land, 100)).then_rejected(EXPROPRIATION_NOT_FOUND);
    // A relocation alone does not open one.
    given(&[approved().into()])
        .and(relocation("Z1", 60))
        .when(paid("Z1", "P1", Land, 100))
        .then_rejected(EXPROPRIATION_NOT_FOUND);
    // Any of the four opening facts does.
    for opener in [pre_announced("Z1").into(), assessed("Z1").into(), plan("Z1", 6, 40).into(), decided("Z1").into()] {
        let opened: Vec<Step> = vec![approved().into(), opener];
        given(&opened).when(paid("Z1", "P1", Land, 100)).then_accepted();
    }
}

#[test]
fn an_expropriation_is_decided_once() {
    let rejection = given(&until_decided()).when(decided("Z1")).then_rejected(EXPROPRIATION_ALREADY_DECIDED);
    assert!(rejection.context.contains(&("event_id", e(5))));
    // Another expropriation of the project has its own decision.
    given(&until_decided())
        .and(pre_announced("Z2"))
        .and(assessed("Z2"))
        .and(plan("Z2", 6, 40))
        .when(decided("Z2"))
        .then_accepted();
}

#[test]
fn land_totals_stay_within_the_money_bound() {
    let half = AMOUNT_MAX_FEN / 2 + 1;
    let rejection = given(&until_decided())
        .and(paid("Z1", "P1", Land, half))
        .when(paid("Z1", "P2", Resettlement, half))
        .then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
    assert!(rejection.context.contains(&("bound_fen", AMOUNT_MAX_FEN.to_string())));
    // A plan's budget replaces that of the expropriation's earlier plan...
    let budget =
        |fen| gongkai_proto::v1::CompensationPlanPublished { compensation_budget_fen: fen, ..plan("Z1", 6, 40) };
    given(&until_decided()).and(budget(AMOUNT_MAX_FEN)).when(budget(AMOUNT_MAX_FEN)).then_accepted();
    // ...and adds to the other expropriations'.
    given(&until_decided())
        .and(budget(AMOUNT_MAX_FEN))
        .when(gongkai_proto::v1::CompensationPlanPublished { expropriation_code: "Z2".into(), ..budget(1) })
        .then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
    // Per-household results: each amount within the bound, their sum not.
    let mut results = household_results("Z1");
    results.households[0].amounts[0].amount_fen = AMOUNT_MAX_FEN;
    given(&until_decided()).when(results).then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
}

// ---------------------------------------------------------------------------
// Soft rules
// ---------------------------------------------------------------------------

#[test]
fn a_comment_period_under_30_days_is_flagged() {
    let flag = given(&[approved().into()]).when(plan("Z1", 6, 35)).then_flag(LAL_47_COMMENT_PERIOD);
    assert_figure(&flag, "comment_period_days", 29, Some(30), "days");
    assert!(flag.legal_basis.contains("LAL art. 47") && flag.legal_basis.contains("2011 Regulations art. 10"));
    assert!(flag.explanation.contains("仅 29 日"), "{}", flag.explanation);
    // 30 whole days are enough; one second short of them is not.
    given(&[approved().into()]).when(plan("Z1", 6, 36)).then_accepted();
    let mut short = plan("Z1", 6, 36);
    short.comment_period.as_mut().expect("period").end = Some(plus(day(36), -1));
    given(&[approved().into()]).when(short).then_flag(LAL_47_COMMENT_PERIOD);
}

#[test]
fn a_decision_without_a_published_plan_or_a_risk_assessment_is_flagged() {
    let no_plan: Vec<Step> = vec![approved().into(), assessed("Z1").into()];
    let flag = given(&no_plan).when(decided("Z1")).then_flag(LAL_47_DECISION_PREREQUISITES);
    assert_figure(&flag, "compensation_plans_published", 0, Some(1), "count");
    assert_figure(&flag, "risk_assessments_completed", 1, Some(1), "count");
    assert!(flag.explanation.contains("未公布征收补偿方案"), "{}", flag.explanation);
    assert!(flag.legal_basis.contains("2011 Regulations art. 12"));

    let no_assessment: Vec<Step> = vec![approved().into(), plan("Z1", 6, 40).into()];
    let flag = given(&no_assessment).when(decided("Z1")).then_flag(LAL_47_DECISION_PREREQUISITES);
    assert_figure(&flag, "risk_assessments_completed", 0, Some(1), "count");
    assert_eq!(flag.event_ids, vec![e(2), e(3)], "the plan recorded so far, then the decision");

    // Neither, the expropriation never opened: flagged all the same.
    let flag = given(&[approved().into()]).when(decided("Z1")).then_flag(LAL_47_DECISION_PREREQUISITES);
    assert!(flag.explanation.contains("且未完成社会稳定风险评估"), "{}", flag.explanation);

    // What counts is the date: a plan open only after the decision does not.
    let late_plan: Vec<Step> = vec![approved().into(), assessed("Z1").into(), plan("Z1", 50, 90).into()];
    given(&late_plan).when(decided("Z1")).then_flag(LAL_47_DECISION_PREREQUISITES);
    // A plan disclosed late but open before the decision does.
    let disclosed_late: Vec<Step> = vec![approved().into(), assessed("Z1").into(), on(day(80), plan("Z1", 6, 40))];
    given(&disclosed_late).when(decided("Z1")).then_accepted();
}

#[test]
fn relocation_before_any_compensation_is_flagged() {
    let flag = given(&until_decided()).when(relocation("Z1", 48)).then_flag(LAL_48_RELOCATION_BEFORE_COMPENSATION);
    assert_figure(&flag, "compensation_payments_before_relocation", 0, Some(1), "count");
    assert_eq!(flag.event_ids, vec![e(5), e(6)], "the decision, then the relocation");
    assert!(flag.legal_basis.contains("LAL art. 48") && flag.legal_basis.contains("2011 Regulations art. 27"));
    // Paid after the relocation started: still relocation first.
    let late_payment = CompensationPaid { paid_at: Some(day(70)), ..paid("Z1", "P1", Land, 100) };
    given(&until_decided())
        .and(late_payment)
        .when(relocation("Z1", 60))
        .then_flag(LAL_48_RELOCATION_BEFORE_COMPENSATION);
    // A demolition under an expropriation the project never disclosed is recorded, and flagged.
    let demolition = RelocationRecorded { kind: RelocationKind::Demolition as i32, ..relocation("Z9", 60) };
    let flag = given(&[approved().into()]).when(demolition).then_flag(LAL_48_RELOCATION_BEFORE_COMPENSATION);
    assert!(flag.explanation.contains("拆除") && flag.explanation.contains("未披露"), "{}", flag.explanation);
    // Paid on the day it started is in time.
    given(&until_paid()).when(relocation("Z1", 50)).then_accepted();
}

#[test]
fn works_commenced_before_the_eia_approval_are_flagged() {
    let signed = until_signed();
    // No approval at all.
    let flag = given(&signed).when(commencement(70)).then_flag(EIA_25_WORKS_BEFORE_APPROVAL);
    assert_figure(&flag, "eia_approvals_before_commencement", 0, Some(1), "count");
    assert!(flag.legal_basis.contains("EIA Law art. 22, 25"));
    // An approval dated after the commencement.
    let flag = given(&signed).and(eia_approved(80)).when(commencement(70)).then_flag(EIA_25_WORKS_BEFORE_APPROVAL);
    assert_eq!(flag.event_ids, vec![e(9), e(10)], "the late approval, then the commencement");
    // The approval recorded after the commencement, dated after it: flagged on the approval.
    let commenced = given(&signed).and(commencement(70));
    let flag = commenced.when(eia_approved(75)).then_flag(EIA_25_WORKS_BEFORE_APPROVAL);
    assert_figure(&flag, "days_commenced_before_approval", 5, Some(0), "days");
    assert_eq!(flag.event_ids, vec![e(9), e(10)], "the commencement, then the approval");
    // Dated before the commencement (disclosed late): lawful.
    commenced.when(eia_approved(65)).then_accepted();
    given(&signed).and(eia_approved(65)).when(commencement(70)).then_accepted();
    // Other milestones do not need it.
    given(&signed).when(milestone("C1", "M2", 70)).then_accepted();
}

#[test]
fn a_second_eia_approval_raises_nothing_once_the_first_covered_the_works() {
    let covered = given(&until_signed()).and(eia_approved(60)).and(commencement(70));
    covered.when(eia_approved(100)).then_accepted();
}

// ---------------------------------------------------------------------------
// Corrections
// ---------------------------------------------------------------------------

#[test]
fn a_corrected_plan_is_decided_again() {
    // e004 is the plan; shortening its comment period raises the flag.
    let recorded = given(&until_decided());
    recorded.when(correct(&e(4), plan("Z1", 6, 20))).then_flag(LAL_47_COMMENT_PERIOD);
    recorded.when(correct(&e(4), plan("Z1", 1, 40))).then_accepted();
}

#[test]
fn a_decision_can_be_corrected_though_it_cannot_be_repeated() {
    let fixed = ExpropriationDecided { document_number: "黑政土〔2024〕57号".into(), ..decided("Z1") };
    given(&until_decided()).when(correct(&e(5), fixed)).then_accepted();
}

#[test]
fn a_correction_that_would_orphan_a_payment_is_refused() {
    // Moving the only plan, assessment, announcement and decision to another
    // code would leave the payment e006 under an expropriation nothing opened.
    let recorded = given(&[approved().into(), decided("Z1").into(), paid("Z1", "P1", Land, 100).into()]);
    let moved = ExpropriationDecided { expropriation_code: "Z2".into(), ..decided("Z1") };
    let rejection = recorded.when(correct(&e(2), moved)).then_rejected(EXPROPRIATION_NOT_FOUND);
    assert!(rejection.context.contains(&("invalidated_event_id", e(3))));
}

#[test]
fn a_correction_that_would_carry_a_total_past_the_bound_is_refused() {
    let recorded = given(&until_paid()).and(paid("Z1", "P2", Resettlement, AMOUNT_MAX_FEN / 2));
    let huge = CompensationPaid { amount_fen: AMOUNT_MAX_FEN, ..paid("Z1", "P1", Land, 1) };
    recorded.when(correct(&e(6), huge)).then_rejected(AMOUNT_TOTAL_OUT_OF_BOUNDS);
}
