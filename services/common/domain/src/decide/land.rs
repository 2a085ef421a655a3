//! Land expropriation, resettlement and the EIA approval (征地拆迁、环评).
//!
//! Hard rules, only what cannot have happened: money paid or published per
//! household under an expropriation nothing opened (`EXPROPRIATION_NOT_FOUND`),
//! a second decision of one expropriation (`EXPROPRIATION_ALREADY_DECIDED`),
//! and totals past the money bound. The project gate (approved, not
//! cancelled) runs before. Everything else the law orders is a soft rule:
//! the fact is recorded and a flag raised.
//!
//! "Before" compares the instants the facts state (`decided_at`,
//! `completed_at`, `paid_at`, `started_at`, `reached_at`, `approved_at`),
//! not the order they were recorded in, so a plan disclosed late still
//! counts for a decision it preceded; a fact recorded after a flag was
//! raised does not take the flag back (the flag said what the record showed
//! when the event came).

use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    CompensationPlanPublished, EnvironmentalImpactApproved, ExpropriationDecided, MilestoneKind, MilestoneReached,
    RelocationKind, RelocationRecorded,
};
use prost_types::Timestamp;

use super::flags::{self, days, figure};
use super::rules::{AMOUNT_TOTAL_OUT_OF_BOUNDS, EXPROPRIATION_ALREADY_DECIDED, EXPROPRIATION_NOT_FOUND};
use super::time::{instant, whole_days};
use super::{Ctx, reject};
use crate::clock::moment;
use crate::money::AMOUNT_MAX_FEN;
use crate::state::land::Expropriation;
use crate::vocabulary::FigureUnit;
use crate::{ComplianceFlag, Rejection};

type Decision = Result<Vec<ComplianceFlag>, Rejection>;

/// The shortest comment period of a compensation plan, whole days (LAL art.
/// 47; 2011 Regulations art. 10).
const MIN_COMMENT_DAYS: i64 = 30;

/// Whether `at` is set and at or before `limit`.
fn by(at: Option<&Timestamp>, limit: &Timestamp) -> bool {
    at.is_some_and(|at| moment(at) <= moment(limit))
}

/// AMOUNT_TOTAL_OUT_OF_BOUNDS when `kind` would carry a land total past the
/// money bound.
pub(super) fn within_totals(ctx: &Ctx<'_>, kind: &Kind) -> Result<(), Rejection> {
    match ctx.state.land_totals().after(ctx.state.expropriations(), kind) {
        Ok(_) => Ok(()),
        Err(total) => Err(reject(
            AMOUNT_TOTAL_OUT_OF_BOUNDS,
            format!("{total}将超过 {AMOUNT_MAX_FEN} 分（10 万亿元）的界限"),
            format!("a land compensation total of the project would pass {AMOUNT_MAX_FEN} fen"),
        )
        .with("project_code", ctx.project_code)
        .with("bound_fen", AMOUNT_MAX_FEN.to_string())),
    }
}

/// The expropriation `code`, opened by a pre-announcement, plan, risk
/// assessment or decision (EXPROPRIATION_NOT_FOUND).
pub(super) fn opened<'s>(ctx: &Ctx<'s>, code: &str) -> Result<&'s Expropriation, Rejection> {
    ctx.state.expropriation(code).filter(|expropriation| expropriation.is_opened()).ok_or_else(|| {
        reject(
            EXPROPRIATION_NOT_FOUND,
            format!("本项目没有征收 {code}：须先记录其预公告、补偿方案、风险评估或征收决定"),
            format!("expropriation {code} is unknown in this project"),
        )
        .with("expropriation_code", code)
    })
}

/// CompensationPlanPublished: within the totals; flag a comment period under
/// 30 days.
pub(super) fn plan(ctx: &Ctx<'_>, kind: &Kind, fact: &CompensationPlanPublished) -> Decision {
    within_totals(ctx, kind)?;
    let Some((start, end)) = fact.comment_period.as_ref().and_then(|period| Some((period.start?, period.end?))) else {
        return Ok(Vec::new());
    };
    let comment_days = whole_days(&start, &end);
    if comment_days >= MIN_COMMENT_DAYS {
        return Ok(Vec::new());
    }
    Ok(vec![ctx.flag(
        flags::COMMENT_PERIOD,
        &[],
        vec![days("comment_period_days", comment_days, MIN_COMMENT_DAYS)],
        format!(
            "征收 {} 的补偿方案《{}》征求意见期为 {} 至 {}，仅 {comment_days} 日，法定不少于 {MIN_COMMENT_DAYS} 日。",
            fact.expropriation_code,
            fact.title,
            instant(&start),
            instant(&end)
        ),
    )])
}

/// ExpropriationDecided: one decision per expropriation; flag a decision
/// with no plan published or no risk assessment completed by `decided_at`.
pub(super) fn decided(ctx: &Ctx<'_>, fact: &ExpropriationDecided) -> Decision {
    let code = &fact.expropriation_code;
    let expropriation = ctx.state.expropriation(code);
    if let Some(decision) = expropriation.and_then(|expropriation| expropriation.decision.as_ref()) {
        return Err(reject(
            EXPROPRIATION_ALREADY_DECIDED,
            format!("征收 {code} 已于事件 {} 批准或决定，如需修改请提交更正", decision.event_id),
            format!("expropriation {code} was already decided; correct that decision instead"),
        )
        .with("expropriation_code", code.clone())
        .with("event_id", decision.event_id.clone()));
    }
    let Some(decided_at) = &fact.decided_at else { return Ok(Vec::new()) };
    let plans = expropriation.map_or(&[][..], |e| &e.plans[..]);
    let assessments = expropriation.map_or(&[][..], |e| &e.assessments[..]);
    let plans_by = plans.iter().filter(|p| by(p.comment_period.as_ref().and_then(|p| p.start.as_ref()), decided_at));
    let assessed_by = assessments.iter().filter(|a| by(a.completed_at.as_ref(), decided_at));
    let (plan_count, assessment_count) = (plans_by.count(), assessed_by.count());
    if plan_count > 0 && assessment_count > 0 {
        return Ok(Vec::new());
    }
    let mut missing = Vec::new();
    if plan_count == 0 {
        missing.push("未公布征收补偿方案征求意见");
    }
    if assessment_count == 0 {
        missing.push("未完成社会稳定风险评估");
    }
    // Those recorded so far name the expropriation's record (any of them
    // dated after the decision among them).
    let later: Vec<&str> =
        plans.iter().map(|p| p.event_id.as_str()).chain(assessments.iter().map(|a| a.event_id.as_str())).collect();
    Ok(vec![ctx.flag(
        flags::DECISION_PREREQUISITES,
        &later,
        vec![
            figure("compensation_plans_published", count(plan_count), Some(1), FigureUnit::Count),
            figure("risk_assessments_completed", count(assessment_count), Some(1), FigureUnit::Count),
        ],
        format!(
            "征收 {code} 于 {} 经 {} 批准或决定（{}），此前{}。",
            instant(decided_at),
            fact.decided_by.as_ref().map_or("（未载明）", |org| org.name.as_str()),
            fact.document_number,
            missing.join("，且")
        ),
    )])
}

/// CompensationPaid and HouseholdCompensationPublished: of an opened
/// expropriation, within the totals.
pub(super) fn compensation(ctx: &Ctx<'_>, kind: &Kind, code: &str) -> Decision {
    opened(ctx, code)?;
    within_totals(ctx, kind)?;
    Ok(Vec::new())
}

/// RelocationRecorded: flag a relocation or demolition that started with no
/// compensation of the expropriation paid by then.
pub(super) fn relocation(ctx: &Ctx<'_>, fact: &RelocationRecorded) -> Decision {
    let Some(started_at) = &fact.started_at else { return Ok(Vec::new()) };
    let code = &fact.expropriation_code;
    let expropriation = ctx.state.expropriation(code);
    let payments = expropriation.map_or(&[][..], |e| &e.payments[..]);
    if payments.iter().any(|payment| by(payment.paid_at.as_ref(), started_at)) {
        return Ok(Vec::new());
    }
    let what = match fact.kind() {
        RelocationKind::Demolition => "拆除",
        _ => "搬迁",
    };
    let known = if expropriation.is_some_and(Expropriation::is_opened) {
        String::new()
    } else {
        "；本项目此前未披露该征收的预公告、补偿方案或征收决定".to_owned()
    };
    let decision = expropriation.and_then(|e| e.decision.as_ref()).map(|d| d.event_id.as_str());
    Ok(vec![ctx.flag(
        flags::RELOCATION_BEFORE_COMPENSATION,
        &decision.into_iter().collect::<Vec<_>>(),
        vec![figure("compensation_payments_before_relocation", 0, Some(1), FigureUnit::Count)],
        format!(
            "征收 {code} 于 {} 开始{what}，此前未记录任何补偿费用支付（应先补偿、后搬迁）{known}。",
            instant(started_at)
        ),
    )])
}

/// MilestoneReached: flag a commencement with no EIA approval in force by
/// the time it was reached.
pub(super) fn commencement(ctx: &Ctx<'_>, fact: &MilestoneReached) -> Vec<ComplianceFlag> {
    if fact.kind() != MilestoneKind::Commencement {
        return Vec::new();
    }
    let Some(reached_at) = &fact.reached_at else { return Vec::new() };
    let approvals = ctx.state.eia_approvals();
    if approvals.iter().any(|approval| by(approval.fact.approved_at.as_ref(), reached_at)) {
        return Vec::new();
    }
    let later: Vec<&str> = approvals.iter().map(|approval| approval.event_id.as_str()).collect();
    let since = if later.is_empty() {
        "此前未记录环境影响评价文件的批准（环评批复）"
    } else {
        "其环评批复晚于开工"
    };
    vec![ctx.flag(
        flags::WORKS_BEFORE_EIA_APPROVAL,
        &later,
        vec![figure("eia_approvals_before_commencement", 0, Some(1), FigureUnit::Count)],
        format!("合同 {} 于 {} 开工（{}），{since}。", fact.contract_code, instant(reached_at), fact.milestone_name),
    )]
}

/// EnvironmentalImpactApproved: flag an approval dated after a commencement
/// that no earlier approval covered.
pub(super) fn eia_approved(ctx: &Ctx<'_>, fact: &EnvironmentalImpactApproved) -> Decision {
    let Some(approved_at) = &fact.approved_at else { return Ok(Vec::new()) };
    let state = ctx.state;
    let uncovered: Vec<(&str, &str, &Timestamp)> = state
        .milestones(MilestoneKind::Commencement)
        .filter_map(|(contract, milestone)| {
            Some((contract, milestone.event_id.as_str(), milestone.reached_at.as_ref()?))
        })
        .filter(|(_, _, reached_at)| moment(approved_at) > moment(reached_at))
        .filter(|(_, _, reached_at)| !state.eia_approvals().iter().any(|a| by(a.fact.approved_at.as_ref(), reached_at)))
        .collect();
    let Some((contract, _, first)) = uncovered.iter().min_by_key(|(_, _, at)| moment(at)) else {
        return Ok(Vec::new());
    };
    let ids: Vec<&str> = uncovered.iter().map(|(_, id, _)| *id).collect();
    let early = whole_days(first, approved_at);
    Ok(vec![ctx.flag(
        flags::WORKS_BEFORE_EIA_APPROVAL,
        &ids,
        vec![days("days_commenced_before_approval", early, 0)],
        format!(
            "环评批复 {} 于 {} 作出，而合同 {contract} 已于 {} 开工，早 {early} 日。",
            fact.document_number,
            instant(approved_at),
            instant(first)
        ),
    )])
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
