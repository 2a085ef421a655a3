//! Land expropriation, resettlement and environmental approval facts (征地
//! 拆迁、环评): pre-announcement, compensation plan, risk assessment,
//! approval or decision, compensation paid, per-household results,
//! relocation, and the EIA approval. Each names its expropriation by code
//! and reads nothing else of the project.
//!
//! Per-household results render from what the fact holds: the households
//! in the full view; in the public view, whose copy `policy` reduced to the
//! number of households and the totals by category, only those.

use gongkai_domain::clock::whole_days;
use gongkai_domain::state::land::household_totals;
use gongkai_proto::v1::{
    CompensationAmount, CompensationPaid, CompensationPlanPublished, EiaDocumentKind, EnvironmentalImpactApproved,
    ExpropriationDecided, ExpropriationKind, ExpropriationPreAnnounced, HouseholdCompensationPublished, PartyRole,
    Person, RelocationRecorded, SocialStabilityRiskAssessed,
};

use super::{Out, Rendered, clock, trim_stop};
use crate::render::format::{
    Labels, count_en, day_en, day_zh, instant_en, instant_zh, money_en, money_zh, org_en, org_zh,
};

/// An area in hectares: 120 000 m² → ("12.00公顷", "12.00 ha").
fn hectares(m2: i64) -> (String, String) {
    let sign = if m2 < 0 { "-" } else { "" };
    let abs = m2.unsigned_abs();
    let number = format!("{sign}{}.{:02}", abs / 10_000, abs % 10_000 / 100);
    (format!("{number}公顷"), format!("{number} ha"))
}

/// ", covering 3 households" / "，涉及3户", or nothing for 0.
fn households(n: i32) -> (String, String) {
    if n > 0 {
        (format!("，涉及{n}户"), format!(", covering {}", count_en(usize::try_from(n).unwrap_or(0), "household")))
    } else {
        (String::new(), String::new())
    }
}

/// The pre-announcement of land to be expropriated.
pub(super) fn pre_announced(mut out: Out<'_>, f: &ExpropriationPreAnnounced) -> Rendered {
    let code = &f.expropriation_code;
    out.title(format!("征收土地预公告（{code}）"), format!("Land expropriation pre-announced ({code})"));
    out.say(
        format!(
            "{}于{}发布征收土地预公告，拟征收范围：{}。",
            org_zh(f.announced_by.as_ref()),
            day_zh(f.announced_at.as_ref()),
            trim_stop(&f.scope_description)
        ),
        format!(
            "On {} {} pre-announced the expropriation of: {}.",
            day_en(f.announced_at.as_ref()),
            org_en(f.announced_by.as_ref()),
            trim_stop(&f.scope_description)
        ),
    );
    if f.land_area_m2 != 0 {
        let (zh, en) = hectares(f.land_area_m2);
        out.say(format!("拟征收土地{zh}。"), format!("Land to be expropriated: {en}."));
    }
    out.say(format!("征收目的：{}。", trim_stop(&f.purpose)), format!("Purpose: {}.", trim_stop(&f.purpose)));
    out.party(f.announced_by.as_ref(), PartyRole::Other);
    out.finish(&f.documents)
}

/// The compensation plan's name by what is expropriated.
fn plan_name(kind: ExpropriationKind) -> (&'static str, &'static str) {
    match kind {
        ExpropriationKind::StateLandHouses => ("房屋征收补偿方案", "house expropriation compensation plan"),
        ExpropriationKind::CollectiveLand => ("征地补偿安置方案", "land compensation and resettlement plan"),
        ExpropriationKind::Unspecified => ("征收补偿方案", "compensation plan"),
    }
}

/// A compensation plan published for comment, with its comment period (a
/// running clock) and the hearing.
pub(super) fn plan(mut out: Out<'_>, f: &CompensationPlanPublished) -> Rendered {
    let code = &f.expropriation_code;
    let (name_zh, name_en) = plan_name(f.kind());
    out.title(format!("公布{name_zh}征求意见（{code}）"), format!("The {name_en} published for comment ({code})"));
    let period = f.comment_period.unwrap_or_default();
    let length = match (&period.start, &period.end) {
        (Some(start), Some(end)) => {
            let days = whole_days(start, end);
            (format!("（{days}日）"), format!(" ({})", count_en(usize::try_from(days).unwrap_or(0), "day")))
        }
        _ => (String::new(), String::new()),
    };
    out.say(
        format!(
            "{}公布《{}》，征求意见期{}至{}{}。",
            org_zh(f.published_by.as_ref()),
            f.title,
            instant_zh(period.start.as_ref()),
            instant_zh(period.end.as_ref()),
            length.0
        ),
        format!(
            "{} published “{}” for comment from {} to {}{}.",
            org_en(f.published_by.as_ref()),
            f.title,
            instant_en(period.start.as_ref()),
            instant_en(period.end.as_ref()),
            length.1
        ),
    );
    if f.hearing_held {
        out.say(
            format!("已于{}举行听证会。", day_zh(f.hearing_at.as_ref())),
            format!("A hearing was held on {}.", day_en(f.hearing_at.as_ref())),
        );
    } else {
        out.say("未举行听证会。", "No hearing was held.");
    }
    out.say(format!("方案要点：{}。", trim_stop(&f.summary)), format!("The plan: {}.", trim_stop(&f.summary)));
    if f.compensation_budget_fen != 0 {
        out.say(
            format!("补偿安置费用预算{}。", money_zh(f.compensation_budget_fen)),
            format!("Compensation and resettlement budget: {}.", money_en(f.compensation_budget_fen)),
        );
        out.amount("补偿安置费用预算", "Compensation and resettlement budget", f.compensation_budget_fen, "");
    }
    clock(&mut out, "compensation_plan_comment", ("补偿方案征求意见期", "Comment period of the plan"), period.end, "");
    out.party(f.published_by.as_ref(), PartyRole::Other);
    out.finish(&f.documents)
}

/// A completed social stability risk assessment.
pub(super) fn assessed(mut out: Out<'_>, f: &SocialStabilityRiskAssessed) -> Rendered {
    let code = &f.expropriation_code;
    let (level_zh, level_en) = f.risk_level().labels();
    out.title(
        format!("社会稳定风险评估（{code}）：{level_zh}"),
        format!("Social stability risk assessed ({code}): {level_en}"),
    );
    out.say(
        format!(
            "{}于{}完成社会稳定风险评估，结论为{level_zh}：{}。",
            org_zh(f.assessed_by.as_ref()),
            day_zh(f.completed_at.as_ref()),
            trim_stop(&f.conclusion)
        ),
        format!(
            "{} completed the social stability risk assessment on {}: {level_en}. {}.",
            org_en(f.assessed_by.as_ref()),
            day_en(f.completed_at.as_ref()),
            trim_stop(&f.conclusion)
        ),
    );
    out.party(f.assessed_by.as_ref(), PartyRole::Other);
    out.finish(&f.documents)
}

/// The approval or decision of an expropriation, and its announcement.
pub(super) fn decided(mut out: Out<'_>, f: &ExpropriationDecided) -> Rendered {
    let code = &f.expropriation_code;
    let (title_zh, title_en, act_zh, act_en) = match f.kind() {
        ExpropriationKind::StateLandHouses => {
            ("房屋征收决定", "House expropriation decided", "作出房屋征收决定", "decided the expropriation")
        }
        _ => ("征收土地批准", "Land expropriation approved", "批准征收土地", "approved the expropriation"),
    };
    out.title(format!("{title_zh}（{code}）"), format!("{title_en} ({code})"));
    out.say(
        format!(
            "{}于{}以{}{act_zh}，{}公告。",
            org_zh(f.decided_by.as_ref()),
            day_zh(f.decided_at.as_ref()),
            f.document_number,
            day_zh(f.announced_at.as_ref())
        ),
        format!(
            "On {} {} {act_en} ({}); announced on {}.",
            day_en(f.decided_at.as_ref()),
            org_en(f.decided_by.as_ref()),
            f.document_number,
            day_en(f.announced_at.as_ref())
        ),
    );
    let (area_zh, area_en) = if f.land_area_m2 != 0 {
        let (zh, en) = hectares(f.land_area_m2);
        (format!("，土地{zh}"), format!(", {en} of land"))
    } else {
        (String::new(), String::new())
    };
    let (households_zh, households_en) = households(f.households);
    out.say(
        format!("征收范围：{}{area_zh}{households_zh}。", trim_stop(&f.scope_description)),
        format!("Area: {}{area_en}{households_en}.", trim_stop(&f.scope_description)),
    );
    if !f.remedies.is_empty() {
        out.say(format!("救济途径：{}。", trim_stop(&f.remedies)), format!("Remedies: {}.", trim_stop(&f.remedies)));
    }
    out.party(f.decided_by.as_ref(), PartyRole::ApprovingAuthority);
    out.finish(&f.documents)
}

/// Compensation of one category paid.
pub(super) fn paid(mut out: Out<'_>, f: &CompensationPaid) -> Rendered {
    let code = &f.expropriation_code;
    let (category_zh, category_en) = f.category().labels();
    out.title(
        format!("支付征收补偿：{category_zh}{}（{code}）", money_zh(f.amount_fen)),
        format!("Compensation paid: {} of {category_en} ({code})", money_en(f.amount_fen)),
    );
    let (households_zh, households_en) = households(f.households);
    let (payee_zh, payee_en) = match &f.payee {
        Some(payee) => (format!("，收款方为{}", payee.name), format!(", to {}", payee.name)),
        None => (String::new(), String::new()),
    };
    out.say(
        format!(
            "{}支付征收{code}的{category_zh}{}{households_zh}{payee_zh}（支付编号{}）。",
            day_zh(f.paid_at.as_ref()),
            money_zh(f.amount_fen),
            f.payment_number
        ),
        format!(
            "On {} {} of {category_en} was paid under expropriation {code}{households_en}{payee_en} (payment {}).",
            day_en(f.paid_at.as_ref()),
            money_en(f.amount_fen),
            f.payment_number
        ),
    );
    out.amount(category_zh, capitalized(category_en), f.amount_fen, "");
    out.party(f.payee.as_ref(), PartyRole::Payee);
    out.finish(&f.documents)
}

/// What a publication of per-household results shows: the number of
/// households and the totals by category (from the households when the
/// fact has them, else from the totals the public copy carries).
fn shown_totals(f: &HouseholdCompensationPublished) -> (u32, Vec<CompensationAmount>) {
    if f.households.is_empty() {
        return (f.household_count, f.category_totals.clone());
    }
    let totals = household_totals(f).unwrap_or_default();
    (totals.households, totals.category_totals())
}

/// Per-household compensation results: counts and totals by category; the
/// households themselves only where the fact still holds them.
pub(super) fn household_results(mut out: Out<'_>, f: &HouseholdCompensationPublished) -> Rendered {
    let code = &f.expropriation_code;
    let (count, totals) = shown_totals(f);
    out.title(
        format!("公布分户补偿情况（{code}）：{count}户"),
        format!("Per-household compensation published ({code}): {}", count_en(count as usize, "household")),
    );
    // Within the bound: decide refuses results whose totals leave it.
    let total = gongkai_domain::money::checked_sum(totals.iter().map(|t| t.amount_fen)).unwrap_or_default();
    out.say(
        format!(
            "{}在征收范围内公布征收{code}的分户补偿情况，共{count}户，补偿合计{}。",
            day_zh(f.published_at.as_ref()),
            money_zh(total)
        ),
        format!(
            "On {} the compensation of each household under expropriation {code} was published within the area: {}, {} in all.",
            day_en(f.published_at.as_ref()),
            count_en(count as usize, "household"),
            money_en(total)
        ),
    );
    let parts: Vec<(String, String)> = totals
        .iter()
        .map(|t| {
            let (zh, en) = t.category().labels();
            (format!("{zh}{}", money_zh(t.amount_fen)), format!("{en} {}", money_en(t.amount_fen)))
        })
        .collect();
    if !parts.is_empty() {
        let zh: Vec<&str> = parts.iter().map(|(zh, _)| zh.as_str()).collect();
        let en: Vec<&str> = parts.iter().map(|(_, en)| en.as_str()).collect();
        out.say(format!("其中{}。", zh.join("、")), format!("Of which {}.", en.join("; ")));
    }
    for t in &totals {
        let (zh, en) = t.category().labels();
        out.amount(format!("分户补偿合计：{zh}"), format!("Households' total: {en}"), t.amount_fen, "");
    }
    if out.withheld("households") {
        out.say(
            "各户户主姓名、身份证号码和分户补偿金额仅在征收范围内向被征收人公示，依法不在此公开。",
            "Each household's head, ID number and amounts are shown only to those affected, within the area, and are not published here.",
        );
    }
    for household in &f.households {
        let head = household.head.clone().unwrap_or_default();
        out.person(Some(&Person { role: format!("户主（{}）", household.household_number), ..head }));
        let fen =
            gongkai_domain::money::checked_sum(household.amounts.iter().map(|a| a.amount_fen)).unwrap_or_default();
        out.amount(
            format!("分户补偿：{}", household.household_number),
            format!("Household {}", household.household_number),
            fen,
            "",
        );
    }
    out.finish(&f.documents)
}

/// A relocation or demolition started.
pub(super) fn relocation(mut out: Out<'_>, f: &RelocationRecorded) -> Rendered {
    let code = &f.expropriation_code;
    let (what_zh, what_en) = f.kind().labels();
    out.title(format!("开始{what_zh}（{code}）"), format!("{} started ({code})", capitalized(what_en)));
    let (households_zh, households_en) = households(f.households);
    out.say(
        format!(
            "{}起，征收{code}范围内开始{what_zh}：{}{households_zh}。",
            instant_zh(f.started_at.as_ref()),
            trim_stop(&f.scope_description)
        ),
        format!(
            "From {}, {what_en} under expropriation {code}: {}{households_en}.",
            instant_en(f.started_at.as_ref()),
            trim_stop(&f.scope_description)
        ),
    );
    if let Some(by) = &f.carried_out_by {
        out.say(format!("实施单位：{}。", by.name), format!("Carried out by {}.", by.name));
    }
    out.party(f.carried_out_by.as_ref(), PartyRole::Other);
    out.finish(&f.documents)
}

/// The EIA approval (or, for a registration form, its filing).
pub(super) fn eia_approved(mut out: Out<'_>, f: &EnvironmentalImpactApproved) -> Rendered {
    let (kind_zh, kind_en) = f.document_kind().labels();
    let filed = f.document_kind() == EiaDocumentKind::RegistrationForm;
    let (title_zh, title_en) = if filed { ("环评备案", "EIA filed") } else { ("环评批复", "EIA approved") };
    out.title(format!("{title_zh}：{}", f.document_number), format!("{title_en}: {}", f.document_number));
    let (act_zh, act_en) = if filed { ("予以备案", "accepted the filing of") } else { ("批复", "approved") };
    out.say(
        format!(
            "{}于{}以{}对项目{kind_zh}{act_zh}：{}。",
            org_zh(f.approving_authority.as_ref()),
            day_zh(f.approved_at.as_ref()),
            f.document_number,
            trim_stop(&f.conclusion)
        ),
        format!(
            "On {} {} {act_en} the project's {kind_en} ({}): {}.",
            day_en(f.approved_at.as_ref()),
            org_en(f.approving_authority.as_ref()),
            f.document_number,
            trim_stop(&f.conclusion)
        ),
    );
    out.party(f.approving_authority.as_ref(), PartyRole::ApprovingAuthority);
    out.finish(&f.documents)
}

/// "land compensation" → "Land compensation".
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
