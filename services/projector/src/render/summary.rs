//! The project summary: identity, stage, baselines, current values, overruns.
//!
//! Everything comes from the effective history (each fact as last corrected):
//! a correction fixes the record, it is not a change of the project, so a
//! corrected approval corrects the baseline too. Legal changes (variations)
//! move the current values, never the baselines.

use gongkai_domain::ProjectState;
use gongkai_domain::state::land::CATEGORIES;
use gongkai_domain::state::{LotStage, ProjectStatus};
use gongkai_proto::v1::{
    CalendarDate, CompensationCategoryTotal, DateRange, EventEnvelope, LandSummary, MilestoneKind, ProjectSummary,
    Stage,
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

/// Contract baselines, current values, final cost and overruns.
fn contracts(summary: &mut ProjectSummary, state: &ProjectState) {
    summary.final_cost_fen = state.final_accounts().map(|accounts| accounts.final_cost_fen);
    let contracts = state.contracts();
    if contracts.is_empty() {
        return;
    }
    // Within the money bound: `render` refuses a state with a bound fault, and
    // without one the fold kept both totals in range.
    let (baseline_price, current_price) = state.contracted_totals().unwrap_or_default();
    let starts = contracts.values().filter_map(|c| c.period.and_then(|p| p.start));
    let ends = contracts.values().filter_map(|c| c.period.and_then(|p| p.end));
    let baseline_end = latest(ends);
    summary.baseline_contract_price_fen = Some(baseline_price);
    summary.baseline_contract_period = Some(DateRange { start: earliest(starts), end: baseline_end });
    summary.current_contract_price_fen = Some(current_price);

    // Current end: per contract, the actual completion date of a passed
    // acceptance covering it, else its end in force; the latest of those.
    // Settled final accounts state the project's actual end date.
    let accepted = |code: &str| {
        latest(
            state
                .completions()
                .iter()
                .filter(|c| c.passed() && c.contract_codes.iter().any(|cc| cc == code))
                .filter_map(|c| c.actual_completion_date),
        )
    };
    let current_end = latest(contracts.values().filter_map(|c| accepted(&c.contract_code).or(c.end_date)));
    let actual_end = state.final_accounts().and_then(|accounts| accounts.actual_end_date);
    summary.current_end_date = actual_end.or(current_end);

    // Final accounts settle the whole project, so they are measured against
    // the approved investment; until then the contracts against their signing.
    let (cost, baseline) = match summary.final_cost_fen {
        Some(final_cost) if summary.baseline_investment_fen > 0 => (final_cost, summary.baseline_investment_fen),
        _ => (current_price, baseline_price),
    };
    // Both within ±10^15 fen: the difference cannot overflow.
    let overrun = cost - baseline;
    summary.cost_overrun_fen = overrun;
    summary.cost_overrun_bp = if baseline > 0 {
        let bp = i128::from(overrun) * 10_000 / i128::from(baseline);
        i32::try_from(bp).unwrap_or(if bp < 0 { i32::MIN } else { i32::MAX })
    } else {
        0
    };
    summary.time_overrun_days =
        match (summary.current_end_date.as_ref().and_then(naive), baseline_end.as_ref().and_then(naive)) {
            (Some(end), Some(baseline)) => {
                let days = (end - baseline).num_days();
                i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
            }
            _ => 0,
        };
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
