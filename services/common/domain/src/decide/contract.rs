//! Contracts, performance and completion (合同、履约、竣工).

use gongkai_proto::v1::{
    AcceptanceResult, CalendarDate, CompletionAccepted, ContractSettled, ContractSigned, ContractVaried, Figure,
    FinalAccountsSettled, PaymentMade,
};

use super::award::award_not_found;
use super::flags::{self, days, figure};
use super::rules::{
    AMOUNT_TOTAL_OUT_OF_BOUNDS, AWARD_NOT_FOUND, CONTRACT_ALREADY_SETTLED, CONTRACT_EXISTS, CONTRACT_NOT_ACCEPTED,
    CONTRACT_NOT_FOUND, CONTRACT_PRICE_BELOW_ZERO, MILESTONE_NOT_FOUND, NO_ACCEPTED_COMPLETION, NO_SIGNED_CONTRACT,
};
use super::tender::{open_lot, tender};
use super::time::{date, days_between_dates, percent, share_bp, whole_days, yuan};
use super::{Ctx, org_label, reject, same_org};
use crate::money::{AMOUNT_MAX_FEN, checked_sum};
use crate::state::Contract;
use crate::vocabulary::FigureUnit;
use crate::{ComplianceFlag, Rejection};

type Decision = Result<Vec<ComplianceFlag>, Rejection>;

/// Maximum whole days from award notice to contract (TBL art. 46).
const MAX_CONTRACT_DELAY_DAYS: i64 = 30;
/// Cumulative variations above this share of the signed price are flagged.
const MAX_VARIATION_BP: i64 = 1_000;

/// The contract `code` (CONTRACT_NOT_FOUND).
pub(super) fn known<'s>(ctx: &Ctx<'s>, code: &str) -> Result<&'s Contract, Rejection> {
    ctx.state.contract(code).ok_or_else(|| {
        reject(
            CONTRACT_NOT_FOUND,
            format!("本项目没有合同 {code}"),
            format!("contract {code} is unknown in this project"),
        )
        .with("contract_code", code)
    })
}

/// ContractSigned: a new code, every lot awarded, every winner a supplier.
pub(super) fn signed(ctx: &Ctx<'_>, fact: &ContractSigned) -> Decision {
    if let Some(existing) = ctx.state.contract(&fact.contract_code) {
        return Err(reject(
            CONTRACT_EXISTS,
            format!("合同 {} 已于事件 {} 签订", fact.contract_code, existing.signed_event_id),
            format!("contract {} was already signed", fact.contract_code),
        )
        .with("contract_code", fact.contract_code.clone())
        .with("event_id", existing.signed_event_id.clone()));
    }
    let tender = tender(ctx.state, &fact.tender_code)?;
    if fact.lot_codes.is_empty() {
        return Err(reject(AWARD_NOT_FOUND, "合同未列出所涉标段", "the contract names no awarded lot")
            .with("contract_code", fact.contract_code.clone())
            .with("tender_code", tender.tender_code.clone()));
    }
    let mut awards = Vec::new();
    for code in &fact.lot_codes {
        let lot = open_lot(tender, code)?;
        let Some(award) = &lot.award else {
            return Err(award_not_found(tender, lot, "没有有效的中标结果，不能签订合同", "no award in force")
                .with("contract_code", fact.contract_code.clone()));
        };
        if let Some(winner) = &award.winner
            && !fact.suppliers.iter().any(|supplier| same_org(supplier, winner))
        {
            return Err(award_not_found(
                tender,
                lot,
                &format!("的中标人 {} 不在合同的承包人之列", org_label(winner)),
                "the lot's winner is not among the contract's suppliers",
            )
            .with("contract_code", fact.contract_code.clone())
            .with("winner", org_label(winner))
            .with("event_id", award.event_id.clone()));
        }
        awards.push((lot, award));
    }

    let mut flags = Vec::new();
    if let Some(signed_at) = &fact.signed_at {
        let late: Vec<(i64, &str, &str)> = awards
            .iter()
            .filter_map(|(lot, award)| {
                let notice = award.notice.as_ref()?;
                let delay = whole_days(notice.issued_at.as_ref()?, signed_at);
                (delay > MAX_CONTRACT_DELAY_DAYS).then_some((delay, notice.event_id.as_str(), lot.lot_code.as_str()))
            })
            .collect();
        if let Some(worst) = late.iter().map(|(delay, _, _)| *delay).max() {
            let ids: Vec<&str> = late.iter().map(|(_, id, _)| *id).collect();
            let lots: Vec<String> = late.iter().map(|(delay, _, lot)| format!("标段 {lot} 为 {delay} 天")).collect();
            flags.push(ctx.flag(
                flags::LATE_CONTRACT,
                &ids,
                vec![days("days_from_award_notice_to_contract", worst, MAX_CONTRACT_DELAY_DAYS)],
                format!(
                    "合同 {} 签订时距中标通知书发出已超过 {MAX_CONTRACT_DELAY_DAYS} 天（{}），法定应在 {MAX_CONTRACT_DELAY_DAYS} 天内订立书面合同。",
                    fact.contract_code,
                    lots.join("，")
                ),
            ));
        }
    }
    let Some(award_total) = checked_sum(awards.iter().map(|(_, award)| award.price_fen)) else {
        return Err(out_of_bounds(&fact.contract_code, "所涉标段中标价合计", "the sum of its lots' award prices"));
    };
    let contracted = ctx.state.contracted_totals().and_then(|(signed, current)| {
        checked_sum([signed, fact.price_fen]).and(checked_sum([current, fact.price_fen]))
    });
    if contracted.is_none() {
        return Err(out_of_bounds(&fact.contract_code, "签订后项目合同总额", "the project's contracted total"));
    }
    if fact.price_fen != award_total {
        let ids: Vec<&str> = awards.iter().map(|(_, award)| award.event_id.as_str()).collect();
        flags.push(ctx.flag(
            flags::PRICE_MISMATCH,
            &ids,
            vec![
                figure("contract_price_fen", fact.price_fen, Some(award_total), FigureUnit::Fen),
                figure("difference_fen", fact.price_fen - award_total, Some(0), FigureUnit::Fen),
            ],
            format!(
                "合同 {} 价款 {}，与所涉标段中标价合计 {} 相差 {}。",
                fact.contract_code,
                yuan(fact.price_fen),
                yuan(award_total),
                yuan(fact.price_fen - award_total)
            ),
        ));
    }
    Ok(flags)
}

/// ContractVaried: of a known contract; flag while cumulative |changes| > 10 %.
pub(super) fn varied(ctx: &Ctx<'_>, fact: &ContractVaried) -> Decision {
    let contract = known(ctx, &fact.contract_code)?;
    let change = fact.price_change_fen;
    let current = contract.current_price_fen.checked_add(change).filter(|price| *price <= AMOUNT_MAX_FEN);
    match current {
        Some(current) if current < 0 => {
            return Err(reject(
                CONTRACT_PRICE_BELOW_ZERO,
                format!(
                    "合同 {} 现价 {}，变更 {} 后将为 {}，合同价款不能为负",
                    contract.contract_code,
                    yuan(contract.current_price_fen),
                    yuan(change),
                    yuan(current)
                ),
                format!("the variation would leave contract {} below zero", contract.contract_code),
            )
            .with("contract_code", contract.contract_code.clone())
            .with("current_price_fen", contract.current_price_fen.to_string())
            .with("price_change_fen", change.to_string()));
        }
        Some(_) => {}
        None => {
            return Err(out_of_bounds(&contract.contract_code, "变更后的合同价款", "its price after the variation"));
        }
    }
    let cumulative =
        checked_sum([contract.variation_abs_total_fen, change.unsigned_abs().try_into().unwrap_or(i64::MAX)])
            .ok_or_else(|| {
                out_of_bounds(&contract.contract_code, "累计变更金额（按绝对值）", "its absolute variations")
            })?;
    let price = contract.price_fen;
    let over = i128::from(cumulative) * 10_000 > i128::from(price.max(0)) * i128::from(MAX_VARIATION_BP);
    if !over {
        return Ok(Vec::new());
    }
    let mut ids = vec![contract.signed_event_id.as_str()];
    ids.extend(contract.variations.iter().filter(|v| v.price_change_fen != 0).map(|v| v.event_id.as_str()));
    let mut figures = vec![figure("cumulative_variation_fen", cumulative, Some(price / 10), FigureUnit::Fen)];
    let share = share_bp(cumulative, price);
    if let Some(share) = share {
        figures.push(figure("cumulative_variation_share", share, Some(MAX_VARIATION_BP), FigureUnit::PercentBp));
    }
    let share_text = share.map_or_else(String::new, |share| format!("，占合同价的 {}", percent(share)));
    Ok(vec![ctx.flag(
        flags::VARIATION_OVER_10PCT,
        &ids,
        figures,
        format!(
            "合同 {} 签约价 {}，含本次变更 {} 在内累计变更金额（按绝对值）{}{share_text}，超过 {}。",
            contract.contract_code,
            yuan(price),
            fact.variation_number,
            yuan(cumulative),
            percent(MAX_VARIATION_BP)
        ),
    )])
}

/// PaymentMade: of a known contract, for a recorded milestone when named.
pub(super) fn payment(ctx: &Ctx<'_>, fact: &PaymentMade) -> Decision {
    let contract = known(ctx, &fact.contract_code)?;
    if !fact.milestone_code.is_empty() && !contract.milestones.contains_key(&fact.milestone_code) {
        return Err(reject(
            MILESTONE_NOT_FOUND,
            format!("合同 {} 没有已记录的履约节点 {}", contract.contract_code, fact.milestone_code),
            format!("milestone {} of contract {} was not recorded", fact.milestone_code, contract.contract_code),
        )
        .with("contract_code", contract.contract_code.clone())
        .with("milestone_code", fact.milestone_code.clone()));
    }
    if checked_sum([contract.paid_fen, fact.amount_fen]).is_none() {
        return Err(out_of_bounds(&contract.contract_code, "累计支付金额", "its payments"));
    }
    Ok(Vec::new())
}

/// AMOUNT_TOTAL_OUT_OF_BOUNDS: a total of contract `code` would pass the bound.
fn out_of_bounds(code: &str, total_zh: &str, total_en: &str) -> Rejection {
    reject(
        AMOUNT_TOTAL_OUT_OF_BOUNDS,
        format!("合同 {code} 的{total_zh}将超过 {AMOUNT_MAX_FEN} 分（10 万亿元）的界限"),
        format!("{total_en} would pass {AMOUNT_MAX_FEN} fen for contract {code}"),
    )
    .with("contract_code", code.to_owned())
    .with("bound_fen", AMOUNT_MAX_FEN.to_string())
}

/// Calendar days by which `actual` is later than `baseline` (> 0 only).
fn days_late(baseline: Option<&CalendarDate>, actual: &CalendarDate) -> Option<i64> {
    days_between_dates(baseline?, actual).filter(|late| *late > 0)
}

/// CompletionAccepted: a project with a signed contract, known contracts.
pub(super) fn completion(ctx: &Ctx<'_>, fact: &CompletionAccepted) -> Decision {
    let state = ctx.state;
    if state.contracts().is_empty() {
        return Err(reject(
            NO_SIGNED_CONTRACT,
            format!("项目 {} 没有已签订的合同，不能竣工验收", ctx.project_code),
            "the project has no signed contract",
        )
        .with("project_code", ctx.project_code));
    }
    if fact.contract_codes.is_empty() {
        return Err(reject(CONTRACT_NOT_FOUND, "竣工验收未列出合同", "the acceptance names no contract")
            .with("contract_code", ""));
    }
    let contracts = fact.contract_codes.iter().map(|code| known(ctx, code)).collect::<Result<Vec<_>, _>>()?;

    let (Some(actual), Some(approval)) = (&fact.actual_completion_date, state.approval()) else {
        return Ok(Vec::new());
    };
    if fact.result() == AcceptanceResult::Failed {
        return Ok(Vec::new());
    }
    let mut ids = vec![approval.event_id.as_str()];
    let mut figures = Vec::new();
    let mut parts = Vec::new();
    let planned_end = approval.fact.planned_period.as_ref().and_then(|period| period.end);
    if let Some(late) = days_late(planned_end.as_ref(), actual) {
        figures.push(days("days_after_planned_end", late, 0));
        parts.push(format!("比批复计划竣工日期 {} 晚 {late} 天", planned_end.as_ref().map(date).unwrap_or_default()));
    }
    let mut worst: Option<(i64, &Contract)> = None;
    for contract in &contracts {
        if let Some(late) = days_late(contract.end_date.as_ref(), actual) {
            ids.push(contract.signed_event_id.as_str());
            ids.extend(contract.variations.iter().filter(|v| v.new_end_date.is_some()).map(|v| v.event_id.as_str()));
            if worst.is_none_or(|(days, _)| late > days) {
                worst = Some((late, contract));
            }
        }
    }
    if let Some((late, contract)) = worst {
        figures.push(days("days_after_contract_end", late, 0));
        parts.push(format!(
            "比合同 {} 的（含变更顺延）竣工日期 {} 晚 {late} 天",
            contract.contract_code,
            contract.end_date.as_ref().map(date).unwrap_or_default()
        ));
    }
    if figures.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![overrun(ctx, &ids, figures, format!("实际竣工日期 {}，{}。", date(actual), parts.join("，")))])
}

/// ContractSettled: of a known contract whose works passed a completion
/// acceptance, settled once (a change is a correction); flagged when the
/// settled value passes the price in force, i.e. the contract changed by
/// more than its disclosed variations.
pub(super) fn settled(ctx: &Ctx<'_>, fact: &ContractSettled) -> Decision {
    let state = ctx.state;
    let contract = known(ctx, &fact.contract_code)?;
    let code = &contract.contract_code;
    if let Some(settlement) = &contract.settlement {
        return Err(reject(
            CONTRACT_ALREADY_SETTLED,
            format!("合同 {code} 已于事件 {} 结算；如有错误请更正该事件", settlement.event_id),
            format!("contract {code} was already settled; correct that event instead"),
        )
        .with("contract_code", code.clone())
        .with("event_id", settlement.event_id.clone()));
    }
    let Some(acceptance) = state.accepted_completion(code) else {
        return Err(reject(
            CONTRACT_NOT_ACCEPTED,
            format!("合同 {code} 的工程尚未通过竣工验收，不能办理竣工结算"),
            format!("the works of contract {code} have not passed a completion acceptance"),
        )
        .with("contract_code", code.clone())
        .with("completion_count", contract.completion_event_ids.len().to_string()));
    };
    let others = state.contract_outcomes().filter(|outcome| outcome.contract.contract_code != *code);
    if checked_sum(others.map(|outcome| outcome.final_price_fen).chain([fact.settled_value_fen])).is_none() {
        return Err(out_of_bounds(code, "结算后项目合同结算总额", "the project's settled total"));
    }
    let in_force = contract.current_price_fen;
    if fact.settled_value_fen <= in_force {
        return Ok(Vec::new());
    }
    let excess = fact.settled_value_fen - in_force;
    let mut ids = vec![contract.signed_event_id.as_str(), acceptance.event_id.as_str()];
    ids.extend(contract.variations.iter().map(|variation| variation.event_id.as_str()));
    let mut figures = vec![
        figure("settled_value_fen", fact.settled_value_fen, Some(in_force), FigureUnit::Fen),
        figure("excess_fen", excess, Some(0), FigureUnit::Fen),
    ];
    let share = share_bp(excess, in_force);
    if let Some(share) = share {
        figures.push(figure("excess_share", share, Some(0), FigureUnit::PercentBp));
    }
    let share_text = share.map_or_else(String::new, |share| format!("（{}）", percent(share)));
    Ok(vec![ctx.flag(
        flags::SETTLEMENT_OVER_CONTRACT,
        &ids,
        figures,
        format!(
            "合同 {code} 结算价款 {}，超过签约价 {} 加已公开的 {} 项变更后的合同价款 {}，超出 {}{share_text}；超出部分未作为合同变更公开。",
            yuan(fact.settled_value_fen),
            yuan(contract.price_fen),
            contract.variations.len(),
            yuan(in_force),
            yuan(excess)
        ),
    )])
}

/// FinalAccountsSettled: after a passed completion acceptance.
pub(super) fn final_accounts(ctx: &Ctx<'_>, fact: &FinalAccountsSettled) -> Decision {
    let state = ctx.state;
    if !state.has_passed_completion() {
        return Err(reject(
            NO_ACCEPTED_COMPLETION,
            format!("项目 {} 尚无通过的竣工验收，不能办理竣工决算", ctx.project_code),
            "no passed completion acceptance",
        )
        .with("project_code", ctx.project_code)
        .with("completion_count", state.completions().len().to_string()));
    }
    let Some(approval) = state.approval() else { return Ok(Vec::new()) };
    let mut ids = vec![approval.event_id.as_str()];
    ids.extend(state.completions().iter().filter(|c| c.passed()).map(|c| c.event_id.as_str()));
    let mut figures = Vec::new();
    let mut parts = Vec::new();
    let investment = approval.fact.total_investment_fen;
    if fact.final_cost_fen > investment {
        figures.push(figure("final_cost_fen", fact.final_cost_fen, Some(investment), FigureUnit::Fen));
        let share = share_bp(fact.final_cost_fen - investment, investment)
            .map_or_else(String::new, |share| format!("（超出 {}）", percent(share)));
        parts.push(format!("决算总投资 {} 超过批复总投资 {}{share}", yuan(fact.final_cost_fen), yuan(investment)));
    }
    let planned_end = approval.fact.planned_period.as_ref().and_then(|period| period.end);
    if let Some(actual) = &fact.actual_end_date
        && let Some(late) = days_late(planned_end.as_ref(), actual)
    {
        figures.push(days("days_after_planned_end", late, 0));
        parts.push(format!(
            "实际完工日期 {} 比批复计划竣工日期 {} 晚 {late} 天",
            date(actual),
            planned_end.as_ref().map(date).unwrap_or_default()
        ));
    }
    if figures.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![overrun(ctx, &ids, figures, format!("{}。", parts.join("；")))])
}

fn overrun(ctx: &Ctx<'_>, ids: &[&str], figures: Vec<Figure>, explanation: String) -> ComplianceFlag {
    ctx.flag(flags::COMPLETION_OVERRUN, ids, figures, explanation)
}
