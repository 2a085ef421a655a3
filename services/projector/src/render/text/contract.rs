//! Contract, performance and completion facts (合同、履约、竣工): signing,
//! variation, milestones, payments, performance issues, completion acceptance,
//! contract settlement and final accounts. A fact that names only its
//! contract takes the tender and lots from the contract as signed; a
//! settlement is set against the contract's signed price (合同价款变化), the
//! final accounts against the approved total investment (投资节余/超支).

use gongkai_domain::clock::beijing_day;
use gongkai_domain::money::share_bp;
use gongkai_proto::v1::{
    AcceptanceResult, CompletionAccepted, ContractSettled, ContractSigned, ContractVaried, FinalAccountsSettled,
    MilestoneKind, MilestoneReached, PartyRole, PaymentMade, PerformanceIssueRecorded,
};

use super::{Lookup, Out, Rendered, trim_stop};
use crate::render::format::{
    Labels, change_en, change_zh, count_en, date_en, date_zh, day_en, day_zh, instant_en, instant_zh, lots_en, lots_zh,
    money_en, money_zh, naive, names_en, names_zh, org_en, org_zh, percent,
};

/// A signed contract (or PPP project agreement): parties, price and period.
pub(super) fn signed(mut out: Out<'_>, project: &Lookup<'_>, f: &ContractSigned) -> Rendered {
    out.scope(&f.tender_code, &f.lot_codes);
    let (what_zh, what_en) = if f.is_ppp_project_agreement {
        ("PPP项目合同签订", "PPP project agreement signed")
    } else {
        ("合同签订", "Contract signed")
    };
    let name = if f.title.is_empty() { f.contract_code.clone() } else { f.title.clone() };
    out.title(
        format!("{what_zh}：{name}，{}", money_zh(f.price_fen)),
        format!("{what_en}: {name}, {}", money_en(f.price_fen)),
    );
    out.say(
        format!(
            "{}，{}与{}签订合同{}（{}，{}），合同价{}。",
            instant_zh(f.signed_at.as_ref()),
            org_zh(f.buyer.as_ref()),
            names_zh(&f.suppliers),
            f.contract_code,
            project.tender_name(&f.tender_code),
            lots_zh(&f.lot_codes),
            money_zh(f.price_fen)
        ),
        format!(
            "On {} {} signed contract {} with {} ({}, {}) for {}.",
            instant_en(f.signed_at.as_ref()),
            org_en(f.buyer.as_ref()),
            f.contract_code,
            names_en(&f.suppliers),
            project.tender_name(&f.tender_code),
            lots_en(&f.lot_codes),
            money_en(f.price_fen)
        ),
    );
    if let Some(period) = &f.contract_period {
        out.say(
            format!("合同期{}至{}。", date_zh(period.start.as_ref()), date_zh(period.end.as_ref())),
            format!("Contract period {} to {}.", date_en(period.start.as_ref()), date_en(period.end.as_ref())),
        );
    }
    out.amount("合同价", "Contract price", f.price_fen, "");
    out.party(f.buyer.as_ref(), PartyRole::Buyer);
    out.parties(&f.suppliers, PartyRole::Supplier);
    out.finish(&f.documents)
}

/// A contract variation: what it changes in price, time and scope, why, and who
/// approved it.
pub(super) fn varied(mut out: Out<'_>, project: &Lookup<'_>, f: &ContractVaried) -> Rendered {
    let mut what_zh = Vec::new();
    let mut what_en = Vec::new();
    if f.changes_price {
        what_zh.push(format!("合同价{}", change_zh(f.price_change_fen)));
        what_en.push(format!("price: {}", change_en(f.price_change_fen)));
        out.amount("变更金额", "Price change", f.price_change_fen, "");
    }
    if f.changes_time {
        what_zh.push(format!("合同完成日期调整为{}", date_zh(f.new_end_date.as_ref())));
        what_en.push(format!("end date moved to {}", date_en(f.new_end_date.as_ref())));
    }
    if f.changes_scope {
        what_zh.push(format!("范围变更：{}", trim_stop(&f.scope_change)));
        what_en.push(format!("scope: {}", f.scope_change));
    }
    out.title(
        format!("合同变更：{} 第{}号（{}）", f.contract_code, f.variation_number, what_zh.first().map_or("", |s| s)),
        format!(
            "Contract variation {} of {} ({})",
            f.variation_number,
            f.contract_code,
            what_en.first().map_or("", |s| s)
        ),
    );
    out.say(
        format!("合同{}变更{}：{}。", f.contract_code, f.variation_number, what_zh.join("；")),
        format!("Variation {} of contract {}: {}.", f.variation_number, f.contract_code, what_en.join("; ")),
    );
    out.say(
        format!("变更原因：{}；批准单位：{}。", trim_stop(&f.reason), org_zh(f.approved_by.as_ref())),
        format!("Reason: {}; approved by {}.", f.reason, org_en(f.approved_by.as_ref())),
    );
    if let Some((tender, lots)) = project.contract_scope(&f.contract_code) {
        out.scope(&tender, &lots);
    }
    out.party(f.approved_by.as_ref(), PartyRole::Other);
    out.finish(&f.documents)
}

/// A milestone reached, set against its planned date when it has one.
pub(super) fn milestone(mut out: Out<'_>, project: &Lookup<'_>, f: &MilestoneReached) -> Rendered {
    let (kind_zh, kind_en) = f.kind().labels();
    // Operation and handover change the project's stage: their titles say so.
    let (what_zh, what_en) = match f.kind() {
        MilestoneKind::OperationStart => ("进入运营期", "Operation started"),
        MilestoneKind::Handover => ("项目移交", "Handed over"),
        _ => ("履约节点", "Milestone reached"),
    };
    out.title(
        format!("{what_zh}：{}（{}）", f.milestone_name, f.contract_code),
        format!("{what_en}: {} ({})", f.milestone_name, f.contract_code),
    );
    out.say(
        format!(
            "合同{}于{}达到节点{}“{}”（{kind_zh}），总体进度{}。",
            f.contract_code,
            day_zh(f.reached_at.as_ref()),
            f.milestone_code,
            f.milestone_name,
            percent(f.progress_bp.into())
        ),
        format!(
            "Contract {} reached milestone {} \"{}\" ({kind_en}) on {}; overall progress {}.",
            f.contract_code,
            f.milestone_code,
            f.milestone_name,
            day_en(f.reached_at.as_ref()),
            percent(f.progress_bp.into())
        ),
    );
    match f.kind() {
        MilestoneKind::OperationStart => out.say("项目自此进入运营期。", "The project is in operation from then on."),
        MilestoneKind::Handover => out.say(
            "合作期满，项目资产移交政府。",
            "The assets were handed over to the government at the end of the cooperation period.",
        ),
        _ => {}
    }
    if let Some(planned) = &f.planned_date {
        let late = beijing_day(f.reached_at.as_ref())
            .zip(naive(planned))
            .map(|(reached, planned)| (reached - planned).num_days());
        let (zh, en) = match late {
            Some(days) if days > 0 => (format!("，延后{days}天"), format!(", {days} days late")),
            Some(days) if days < 0 => (format!("，提前{}天", -days), format!(", {} days early", -days)),
            Some(_) => ("，按期".to_owned(), ", on time".to_owned()),
            None => (String::new(), String::new()),
        };
        out.say(
            format!("计划日期{}{zh}。", date_zh(Some(planned))),
            format!("Planned for {}{en}.", date_en(Some(planned))),
        );
    }
    if let Some((tender, lots)) = project.contract_scope(&f.contract_code) {
        out.scope(&tender, &lots);
    }
    out.finish(&f.documents)
}

/// A payment under a contract.
pub(super) fn payment(mut out: Out<'_>, project: &Lookup<'_>, f: &PaymentMade) -> Rendered {
    let (kind_zh, kind_en) = f.kind().labels();
    out.title(
        format!("支付：{} {}", f.contract_code, money_zh(f.amount_fen)),
        format!("Payment: {} under {}", money_en(f.amount_fen), f.contract_code),
    );
    out.say(
        format!(
            "{}按合同{}向{}支付{kind_zh}{}（支付编号{}）。",
            day_zh(f.paid_at.as_ref()),
            f.contract_code,
            org_zh(f.payee.as_ref()),
            money_zh(f.amount_fen),
            f.payment_number
        ),
        format!(
            "On {} a {kind_en} of {} was paid to {} under contract {} (payment {}).",
            day_en(f.paid_at.as_ref()),
            money_en(f.amount_fen),
            org_en(f.payee.as_ref()),
            f.contract_code,
            f.payment_number
        ),
    );
    if !f.milestone_code.is_empty() {
        out.say(format!("对应履约节点{}。", f.milestone_code), format!("For milestone {}.", f.milestone_code));
    }
    if let Some((tender, lots)) = project.contract_scope(&f.contract_code) {
        out.scope(&tender, &lots);
    }
    out.amount("支付金额", "Amount paid", f.amount_fen, "");
    out.party(f.payee.as_ref(), PartyRole::Payee);
    out.finish(&f.documents)
}

/// A performance issue, with any delay and penalty.
pub(super) fn performance_issue(mut out: Out<'_>, project: &Lookup<'_>, f: &PerformanceIssueRecorded) -> Rendered {
    let (kind_zh, kind_en) = f.kind().labels();
    out.title(
        format!("履约问题：{kind_zh}（{}）", f.contract_code),
        format!("Performance issue: {kind_en} ({})", f.contract_code),
    );
    out.say(
        format!(
            "合同{}于{}发生{kind_zh}：{}。",
            f.contract_code,
            day_zh(f.occurred_at.as_ref()),
            trim_stop(&f.description)
        ),
        format!("Contract {}: {kind_en} on {}: {}.", f.contract_code, day_en(f.occurred_at.as_ref()), f.description),
    );
    if let Some(days) = f.delay_days {
        out.say(format!("延误{days}天。"), format!("Delay: {}.", count_en(usize::try_from(days).unwrap_or(0), "day")));
    }
    if let Some(penalty) = f.penalty_fen {
        out.say(format!("处以违约金/罚款{}。", money_zh(penalty)), format!("Penalty: {}.", money_en(penalty)));
        out.amount("违约金/罚款", "Penalty", penalty, "");
    }
    if let Some((tender, lots)) = project.contract_scope(&f.contract_code) {
        out.scope(&tender, &lots);
    }
    out.finish(&f.documents)
}

/// A completion acceptance and its result.
pub(super) fn completion(mut out: Out<'_>, f: &CompletionAccepted) -> Rendered {
    let (result_zh, result_en) = f.result().labels();
    out.title(format!("竣工验收：{result_zh}"), format!("Completion acceptance: {result_en}"));
    out.say(
        format!(
            "{}完成合同{}的竣工验收，结论：{result_zh}，实际竣工日期{}。",
            day_zh(f.accepted_at.as_ref()),
            f.contract_codes.join("、"),
            date_zh(f.actual_completion_date.as_ref())
        ),
        format!(
            "On {} the works of contract(s) {} were accepted: {result_en}; actual completion date {}.",
            day_en(f.accepted_at.as_ref()),
            f.contract_codes.join(", "),
            date_en(f.actual_completion_date.as_ref())
        ),
    );
    if f.result() == AcceptanceResult::Failed {
        out.say("工程须整改后重新验收。", "The works must be remedied and accepted again.");
    }
    if !f.participants.is_empty() {
        out.say(
            format!("参加单位：{}。", names_zh(&f.participants)),
            format!("Participants: {}.", names_en(&f.participants)),
        );
    }
    if !f.remarks.is_empty() {
        out.say(format!("验收意见：{}。", trim_stop(&f.remarks)), format!("Remarks: {}.", f.remarks));
    }
    out.parties(&f.participants, PartyRole::Other);
    out.finish(&f.documents)
}

/// A contract's settlement, set against its signed price.
pub(super) fn settled(mut out: Out<'_>, project: &Lookup<'_>, f: &ContractSettled) -> Rendered {
    if let Some((tender, lots)) = project.contract_scope(&f.contract_code) {
        out.scope(&tender, &lots);
    }
    out.title(
        format!("合同结算：{}，{}", f.contract_code, money_zh(f.settled_value_fen)),
        format!("Contract settled: {}, {}", f.contract_code, money_en(f.settled_value_fen)),
    );
    out.say(
        format!(
            "{}合同{}竣工结算审定，结算价款{}。",
            day_zh(f.settled_at.as_ref()),
            f.contract_code,
            money_zh(f.settled_value_fen)
        ),
        format!(
            "On {} the settlement of contract {} was agreed at {}.",
            day_en(f.settled_at.as_ref()),
            f.contract_code,
            money_en(f.settled_value_fen)
        ),
    );
    if let Some(signed) = project.contract_price(&f.contract_code) {
        let change = f.settled_value_fen - signed; // both within the money bound
        let share = |text_zh: String, text_en: String| match share_bp(change, signed) {
            Some(bp) => (format!("{text_zh}（{}）", percent(bp)), format!("{text_en} ({})", percent(bp))),
            None => (text_zh, text_en),
        };
        let (zh, en) = share(change_zh(change), change_en(change));
        out.say(
            format!("合同价款变化：较签约合同价{}{zh}。", money_zh(signed)),
            format!("Contract price change: {en} on the signed price of {}.", money_en(signed)),
        );
    }
    if let Some(reviewer) = &f.reviewed_by {
        out.say(format!("结算审核：{}。", org_zh(Some(reviewer))), format!("Reviewed by {}.", org_en(Some(reviewer))));
    }
    out.amount("结算价款", "Settled value", f.settled_value_fen, "");
    out.party(f.reviewed_by.as_ref(), PartyRole::Auditor);
    out.finish(&f.documents)
}

/// The settled final accounts, set against the approved total investment.
pub(super) fn final_accounts(mut out: Out<'_>, project: &Lookup<'_>, f: &FinalAccountsSettled) -> Rendered {
    out.title(
        format!("竣工决算：{}", money_zh(f.final_cost_fen)),
        format!("Final accounts settled: {}", money_en(f.final_cost_fen)),
    );
    out.say(
        format!(
            "{}竣工决算经{}审计确定，决算总投资{}，实际完工日期{}。",
            day_zh(f.settled_at.as_ref()),
            org_zh(f.audited_by.as_ref()),
            money_zh(f.final_cost_fen),
            date_zh(f.actual_end_date.as_ref())
        ),
        format!(
            "On {} the final accounts, audited by {}, were settled at {}; actual end date {}.",
            day_en(f.settled_at.as_ref()),
            org_en(f.audited_by.as_ref()),
            money_en(f.final_cost_fen),
            date_en(f.actual_end_date.as_ref())
        ),
    );
    if let Some(approved) = project.approved_investment() {
        let diff = f.final_cost_fen - approved; // both within the money bound
        let bp = share_bp(diff, approved).unwrap_or(0); // approved > 0
        let (zh, en) = if diff > 0 {
            (
                format!("超出批复总投资{}（{}）", money_zh(diff), percent(bp)),
                format!("{} ({}) over", money_en(diff), percent(bp)),
            )
        } else if diff < 0 {
            (
                format!("较批复总投资节余{}（{}）", money_zh(-diff), percent(-bp)),
                format!("{} ({}) under", money_en(-diff), percent(-bp)),
            )
        } else {
            ("与批复总投资持平".to_owned(), "exactly at".to_owned())
        };
        out.say(format!("{zh}。"), format!("That is {en} the approved total investment of {}.", money_en(approved)));
    }
    out.say(format!("实际建设内容：{}。", trim_stop(&f.final_scope)), format!("Final scope: {}.", f.final_scope));
    out.amount("决算总投资", "Final cost", f.final_cost_fen, "");
    out.party(f.audited_by.as_ref(), PartyRole::Auditor);
    out.finish(&f.documents)
}
