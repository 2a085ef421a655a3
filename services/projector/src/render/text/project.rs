//! Project facts (项目): approval, PPP details, suspension, resumption and
//! cancellation. The three status changes share one sentence shape
//! (`status_change`); the wording of approval kinds and cooperation periods
//! lives here, as no other domain's facts use it.

use gongkai_proto::v1::{
    ApprovalKind, Organization, PartyRole, PppDetailsDisclosed, ProjectApproved, ProjectCancelled, ProjectResumed,
    ProjectSuspended,
};

use super::{Out, Rendered, trim_stop};
use crate::render::format::{Labels, count_en, date_en, date_zh, money_en, money_zh, org_en, org_zh, percent};

/// The approval: who approved, ratified or accepted the filing of what, the
/// investment and its funding, the planned period, the site and the scope.
pub(super) fn approved(mut out: Out<'_>, f: &ProjectApproved) -> Rendered {
    let (kind_zh, _) = f.approval_kind().labels();
    let (type_zh, type_en) = f.project_type().labels();
    out.title(
        format!("项目{kind_zh}：{}", f.project_name),
        format!("Project {}: {}", approval_title_en(f.approval_kind()), f.project_name),
    );
    let authority = org_zh(f.approving_authority.as_ref());
    let what = format!("{}（{type_zh}，{}）", f.project_name, f.industry);
    let decision = match f.approval_kind() {
        ApprovalKind::Filing => format!("{authority}以{}对{what}予以备案", f.approval_document_number),
        ApprovalKind::Ratification => format!("{authority}以{}核准{what}", f.approval_document_number),
        _ => format!("{authority}以{}批复{what}", f.approval_document_number),
    };
    out.say(
        format!("{decision}，项目法人为{}。", org_zh(f.owner.as_ref())),
        format!(
            "{} {} this {type_en} ({}; industry: {}); owner: {}.",
            org_en(f.approving_authority.as_ref()),
            approval_verb_en(f.approval_kind()),
            f.approval_document_number,
            f.industry,
            org_en(f.owner.as_ref()),
        ),
    );
    let sources_zh: Vec<&str> = f.funding_sources().map(|s| s.labels().0).collect();
    let sources_en: Vec<&str> = f.funding_sources().map(|s| s.labels().1).collect();
    out.say(
        format!("批复总投资{}，资金来源：{}。", money_zh(f.total_investment_fen), sources_zh.join("、")),
        format!("Approved total investment {}, funded by {}.", money_en(f.total_investment_fen), sources_en.join(", ")),
    );
    if !f.funding_description.is_empty() {
        out.say(
            format!("资金说明：{}。", trim_stop(&f.funding_description)),
            format!("Funding: {}.", trim_stop(&f.funding_description)),
        );
    }
    if let Some(period) = &f.planned_period {
        out.say(
            format!("计划建设期{}至{}。", date_zh(period.start.as_ref()), date_zh(period.end.as_ref())),
            format!(
                "Planned construction period {} to {}.",
                date_en(period.start.as_ref()),
                date_en(period.end.as_ref())
            ),
        );
    }
    if let Some(location) = f.location.as_ref().filter(|l| !l.address.is_empty()) {
        out.say(format!("建设地点：{}。", location.address), format!("Site: {}.", location.address));
    }
    out.say(format!("建设内容：{}。", trim_stop(&f.scope_description)), format!("Scope: {}.", f.scope_description));
    out.amount("批复总投资", "Approved total investment", f.total_investment_fen, "");
    out.party(f.approving_authority.as_ref(), PartyRole::ApprovingAuthority);
    out.party(f.owner.as_ref(), PartyRole::Owner);
    out.finish(&f.documents)
}

/// A PPP project's details: operating model, cooperation period, payment
/// mechanism and the two assessments.
pub(super) fn ppp_details(mut out: Out<'_>, f: &PppDetailsDisclosed) -> Rendered {
    let (model_zh, model_en) = f.operating_model().labels();
    let (period_zh, period_adj_en, period_en) = months(f.cooperation_period_months);
    out.title(
        format!("PPP项目信息公开：{model_zh}，合作期{period_zh}"),
        format!("PPP details disclosed: {model_en}, {period_adj_en} cooperation period"),
    );
    let (pay_zh, pay_en) = f.payment_mechanism().labels();
    out.say(
        format!("运作方式{model_zh}，合作期限{period_zh}，回报机制为{pay_zh}。"),
        format!("Operating model {model_en}, cooperation period of {period_en}, payment mechanism: {pay_en}."),
    );
    if !f.operating_model_description.is_empty() {
        out.say(
            format!("运作方式说明：{}。", trim_stop(&f.operating_model_description)),
            format!("Model description: {}.", f.operating_model_description),
        );
    }
    let (vfm_zh, vfm_en) = f.value_for_money_conclusion().labels();
    let (fa_zh, fa_en) = f.fiscal_affordability_conclusion().labels();
    out.say(
        format!(
            "物有所值评价{vfm_zh}（{}）；财政承受能力论证{fa_zh}（{}）。",
            trim_stop(&f.value_for_money_summary),
            trim_stop(&f.fiscal_affordability_summary)
        ),
        format!(
            "Value-for-money evaluation {vfm_en} ({}); fiscal affordability assessment {fa_en} ({}).",
            f.value_for_money_summary, f.fiscal_affordability_summary
        ),
    );
    out.say(
        format!(
            "PPP项目支出占一般公共预算支出比例{}，政府出资代表持股{}。",
            percent(f.general_budget_share_bp.into()),
            percent(f.government_equity_share_bp.into())
        ),
        format!(
            "PPP spending takes {} of the general public budget; government equity share {}.",
            percent(f.general_budget_share_bp.into()),
            percent(f.government_equity_share_bp.into())
        ),
    );
    out.finish(&f.documents)
}

/// A project suspension.
pub(super) fn suspended(mut out: Out<'_>, f: &ProjectSuspended) -> Rendered {
    status_change(&mut out, ("项目暂停", "Project suspended"), &f.reason, f.decided_by.as_ref());
    out.finish(&f.documents)
}

/// A project resumption.
pub(super) fn resumed(mut out: Out<'_>, f: &ProjectResumed) -> Rendered {
    status_change(&mut out, ("项目恢复", "Project resumed"), &f.reason, f.decided_by.as_ref());
    out.finish(&f.documents)
}

/// A project cancellation.
pub(super) fn cancelled(mut out: Out<'_>, f: &ProjectCancelled) -> Rendered {
    status_change(&mut out, ("项目撤销", "Project cancelled"), &f.reason, f.decided_by.as_ref());
    out.finish(&f.documents)
}

/// Title and sentence of a project status change.
fn status_change(out: &mut Out<'_>, (zh, en): (&str, &str), reason: &str, decided_by: Option<&Organization>) {
    out.title(zh, en);
    match decided_by {
        Some(org) => out.say(
            format!("{}决定{zh}，原因：{}。", org.name, trim_stop(reason)),
            format!("{en} by decision of {}: {reason}.", org.name),
        ),
        None => out.say(format!("{zh}，原因：{}。", trim_stop(reason)), format!("{en}: {reason}.")),
    }
    out.party(decided_by, PartyRole::Other);
}

/// A cooperation period: 300 months → ("25年", "25-year", "25 years").
fn months(n: i32) -> (String, String, String) {
    if n > 0 && n % 12 == 0 {
        let years = n / 12;
        (format!("{years}年"), format!("{years}-year"), count_en(usize::try_from(years).unwrap_or(0), "year"))
    } else {
        (format!("{n}个月"), format!("{n}-month"), count_en(usize::try_from(n).unwrap_or(0), "month"))
    }
}

/// "approved", "ratified", "filed", for titles.
fn approval_title_en(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::Ratification => "ratified",
        ApprovalKind::Filing => "filed",
        _ => "approved",
    }
}

/// What the authority did, for sentences.
fn approval_verb_en(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::Ratification => "ratified",
        ApprovalKind::Filing => "accepted the filing of",
        _ => "approved",
    }
}
