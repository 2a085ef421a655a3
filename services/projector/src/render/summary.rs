//! The project summary: identity, stage, baselines, current values, and the
//! outcomes of each contract and of the project.
//!
//! Everything comes from the effective history (each fact as last corrected):
//! a correction fixes the record, it is not a change of the project, so a
//! corrected approval corrects the baseline too. Legal changes (variations)
//! move the current values, never the baselines.

use gongkai_domain::ProjectState;
use gongkai_domain::money::share_bp;
use gongkai_domain::state::land::CATEGORIES;
use gongkai_domain::state::outcome::ContractOutcome;
use gongkai_domain::state::{LotStage, ProjectStatus};
use gongkai_proto::v1::{
    self as proto, CalendarDate, CompensationCategoryTotal, ContractChange, DateRange, EventEnvelope, LandSummary,
    MilestoneKind, ProjectSummary, Stage,
};

use super::format::naive;

/// The full (supervisor) summary of the project `project_code` folded into
/// `state`, whose last event is `head` and whose events carry `flag_count`
/// flags in all; the public one is the same with `flag_count` = 0.
pub(crate) fn summary(
    head: Option<&EventEnvelope>,
    project_code: &str,
    flag_count: usize,
    state: &ProjectState,
) -> ProjectSummary {
    let mut summary = ProjectSummary {
        project_code: project_code.to_owned(),
        stage: stage(state) as i32,
        flag_count: u32::try_from(flag_count).unwrap_or(u32::MAX),
        ..ProjectSummary::default()
    };
    if let Some(head) = head {
        summary.chain_head_hash = head.hash.clone();
        summary.last_event_at = head.occurred_at;
        summary.head_seq = head.project_seq;
    }
    if let Some(approval) = state.approval() {
        let fact = &approval.fact;
        summary.name = fact.project_name.clone();
        summary.project_type = fact.project_type;
        summary.region_code = fact.region_code.clone();
        summary.owner = fact.owner.clone();
        summary.baseline_investment_fen = fact.total_investment_fen;
        summary.baseline_planned_period = fact.planned_period;
    }
    if let Some(details) = state.ppp_details() {
        summary.ppp_operating_model = details.fact.operating_model;
    }
    contracts(&mut summary, state);
    summary.land = land(state);
    summary.environmental_approval = state.eia_approvals().last().map(|approval| approval.fact.clone());
    summary
}

/// The project's expropriations in counts and totals (nothing per household).
fn land(state: &ProjectState) -> Option<LandSummary> {
    let expropriations = state.expropriations();
    if expropriations.is_empty() {
        return None;
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let counted = |has: fn(&gongkai_domain::state::land::Expropriation) -> bool| {
        count(expropriations.values().filter(|expropriation| has(expropriation)).count())
    };
    let totals = state.land_totals();
    let payments = || expropriations.values().flat_map(|expropriation| &expropriation.payments);
    let results = || expropriations.values().flat_map(|expropriation| &expropriation.household_results);
    let relocations = || expropriations.values().flat_map(|expropriation| &expropriation.relocations);
    let categories = CATEGORIES
        .iter()
        .enumerate()
        .map(|(index, category)| CompensationCategoryTotal {
            category: *category as i32,
            paid_fen: totals.paid_by_category[index],
            payments: count(payments().filter(|payment| payment.category == *category as i32).count()),
            household_results_fen: totals.household_by_category[index],
            households: results().fold(0_u32, |n, results| n.saturating_add(results.totals.by_category[index].1)),
        })
        .filter(|total| total.payments > 0 || total.households > 0 || total.household_results_fen != 0)
        .collect();
    Some(LandSummary {
        expropriations: count(expropriations.len()),
        pre_announced: counted(|e| !e.pre_announcement_event_ids.is_empty()),
        with_plan: counted(|e| !e.plans.is_empty()),
        risk_assessed: counted(|e| !e.assessments.is_empty()),
        decided: counted(|e| e.decision.is_some()),
        compensation_budget_fen: totals.budget_fen,
        compensation_paid_fen: totals.paid_fen,
        categories,
        households_with_results: results().fold(0_u32, |n, results| n.saturating_add(results.totals.households)),
        relocations: count(relocations().count()),
        households_relocated: relocations()
            .fold(0_u32, |n, relocation| n.saturating_add(u32::try_from(relocation.households).unwrap_or(0))),
    })
}

/// Contract baselines, current values, each contract's outcome and the
/// project's against its approval: two measures, each against its own
/// baseline (see `gongkai_domain::state::outcome`).
fn contracts(summary: &mut ProjectSummary, state: &ProjectState) {
    summary.final_cost_fen = state.final_accounts().map(|accounts| accounts.final_cost_fen);
    summary.final_scope = state.final_accounts().map(|accounts| accounts.final_scope.clone()).unwrap_or_default();
    if let Some(investment) = state.investment_outcome() {
        summary.investment_variance_fen = Some(investment.variance_fen);
        summary.investment_variance_bp = investment.variance_bp.map(clamp_i32);
        summary.end_date_variance_days = investment.end_date_variance_days.map(clamp_i32);
    }
    let contracts = state.contracts();
    if contracts.is_empty() {
        return;
    }
    // Within the money bound: `render` refuses a state with a bound fault, and
    // without one the fold kept these totals in range.
    let (baseline_price, current_price) = state.contracted_totals().unwrap_or_default();
    let final_total = state.final_contract_total().unwrap_or(current_price);
    let starts = contracts.values().filter_map(|c| c.period.and_then(|p| p.start));
    let ends = contracts.values().filter_map(|c| c.period.and_then(|p| p.end));
    let baseline_end = latest(ends);
    summary.baseline_contract_price_fen = Some(baseline_price);
    summary.baseline_contract_period = Some(DateRange { start: earliest(starts), end: baseline_end });
    summary.current_contract_price_fen = Some(current_price);

    let outcomes: Vec<ContractOutcome<'_>> = state.contract_outcomes().collect();
    // Current end: per contract, its actual completion date once accepted,
    // else its end in force; the latest of those. Settled final accounts
    // state the project's actual end date.
    let current_end = latest(outcomes.iter().filter_map(|o| o.actual_completion_date.or(o.contract.end_date)));
    let actual_end = state.final_accounts().and_then(|accounts| accounts.actual_end_date);
    summary.current_end_date = actual_end.or(current_end);

    // Both totals within the bound: the difference cannot overflow.
    summary.contracts_price_change_fen = final_total - baseline_price;
    summary.contracts_price_change_bp =
        share_bp(summary.contracts_price_change_fen, baseline_price).map_or(0, clamp_i32);
    summary.contracts_time_variation_days = current_end
        .zip(baseline_end)
        .and_then(|(end, baseline)| Some((naive(&end)? - naive(&baseline)?).num_days()))
        .map(clamp_i32);
    summary.contract_outcomes = outcomes.iter().map(|outcome| contract_outcome(state, outcome)).collect();
}

/// One contract's outcome as the contract says it.
fn contract_outcome(state: &ProjectState, outcome: &ContractOutcome<'_>) -> proto::ContractOutcome {
    let contract = outcome.contract;
    let mut price = contract.price_fen;
    let changes = contract
        .variations
        .iter()
        .map(|variation| {
            // Each step stays within the bound: the fold checked it.
            price = price.saturating_add(variation.price_change_fen);
            ContractChange {
                event_id: variation.event_id.clone(),
                variation_number: variation.variation_number.clone(),
                occurred_at: state.occurred_at_of(&variation.event_id),
                price_change_fen: variation.price_change_fen,
                price_after_fen: price,
                new_end_date: variation.new_end_date,
            }
        })
        .collect();
    let settlement = contract.settlement.as_ref();
    proto::ContractOutcome {
        contract_code: contract.contract_code.clone(),
        tender_code: contract.tender_code.clone(),
        lot_codes: contract.lot_codes.clone(),
        supplier: contract.suppliers.first().cloned(),
        signed_price_fen: contract.price_fen,
        current_price_fen: contract.current_price_fen,
        settled_value_fen: settlement.map(|settlement| settlement.settled_value_fen),
        settled_at: settlement.and_then(|settlement| settlement.settled_at),
        price_change_fen: outcome.price_change_fen,
        price_change_bp: outcome.price_change_bp.map_or(0, clamp_i32),
        signed_period: contract.period,
        current_end_date: contract.end_date,
        actual_completion_date: outcome.actual_completion_date,
        time_variation_days: outcome.time_variation_days.map(clamp_i32),
        changes,
        paid_fen: contract.paid_fen,
    }
}

/// `value` in an `i32`, saturated at its ends (days and basis points far
/// past any real project are still shown on the right side of zero).
fn clamp_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// The latest lifecycle step reached; suspension and cancellation override.
///
/// Operation and handover are reached by their milestones (a PPP project's,
/// under its project agreement), whatever came before: a TOT project takes
/// over assets it never built.
///
/// Lots that are closed (cancelled, or failed: 流标) count as tendering, not
/// as the step they reached: their procurement has to start again.
fn stage(state: &ProjectState) -> Stage {
    match state.status() {
        None => return Stage::Unspecified,
        Some(ProjectStatus::Cancelled) => return Stage::Cancelled,
        Some(ProjectStatus::Suspended) => return Stage::Suspended,
        Some(ProjectStatus::Active) => {}
    }
    if state.milestones(MilestoneKind::Handover).next().is_some() {
        return Stage::HandedOver;
    }
    if state.milestones(MilestoneKind::OperationStart).next().is_some() {
        return Stage::Operation;
    }
    if state.has_passed_completion() || state.final_accounts().is_some() {
        return Stage::Completion;
    }
    let contracts = state.contracts();
    let performing =
        contracts.values().any(|c| !c.milestones.is_empty() || !c.payments.is_empty() || !c.issue_event_ids.is_empty())
            || !state.completions().is_empty();
    if performing {
        return Stage::Performance;
    }
    if !contracts.is_empty() {
        return Stage::Contract;
    }
    let lots = state.tenders().values().flat_map(|tender| tender.lots.values());
    let reached = lots
        .map(|lot| {
            if lot.status.is_closed() {
                return Stage::Tendering;
            }
            match lot.stage() {
                LotStage::Announced => Stage::Tendering,
                LotStage::BidsOpened | LotStage::Evaluated | LotStage::Publicized => Stage::Evaluation,
                LotStage::Awarded | LotStage::Notified => Stage::Award,
                LotStage::Contracted => Stage::Contract,
            }
        })
        .max_by_key(|stage| *stage as i32);
    reached.unwrap_or(Stage::Approval)
}

fn earliest(dates: impl Iterator<Item = CalendarDate>) -> Option<CalendarDate> {
    dates.min_by_key(|d| (d.year, d.month, d.day))
}

fn latest(dates: impl Iterator<Item = CalendarDate>) -> Option<CalendarDate> {
    dates.max_by_key(|d| (d.year, d.month, d.day))
}
