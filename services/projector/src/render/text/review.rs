//! Qualification review and evaluation facts (资格审查与评标):
//! prequalification, evaluation, candidate publicity, objections and
//! complaints. Applicants, committee members, objectors and complainants the
//! policy withheld are said to be not yet public, and complaint details never
//! public, without naming them; evaluation and publicity share the ranked
//! candidate list (`candidates`).

use gongkai_proto::v1::{
    BidsEvaluated, Candidate, CandidatesPublicized, ComplaintDecided, ComplaintFiled, ObjectionRaised, PartyRole,
    PrequalificationCompleted,
};

use super::{Lookup, Out, Rendered, clock, lot_label_zh, trim_stop};
use crate::render::format::{
    Labels, count_en, instant_en, instant_zh, lots_en, lots_zh, money_en, money_zh, names_en, names_zh, org_en, org_zh,
};

/// A prequalification result: the application period and the applicants who
/// passed and failed (or that they are not yet public).
pub(super) fn prequalification(mut out: Out<'_>, project: &Lookup<'_>, f: &PrequalificationCompleted) -> Rendered {
    out.scope(&f.tender_code, &f.lot_codes);
    let tender = project.tender_name(&f.tender_code);
    let hidden = out.withheld("qualified_applicants") || out.withheld("disqualified_applicants");
    if hidden {
        out.title(format!("资格预审结果：{tender}"), format!("Prequalification result: {tender}"));
    } else {
        out.title(
            format!("资格预审结果：{tender}（通过{}家）", f.qualified_applicants.len()),
            format!(
                "Prequalification result: {tender} ({} qualified)",
                count_en(f.qualified_applicants.len(), "applicant")
            ),
        );
    }
    if let Some(period) = &f.application_period {
        out.say(
            format!(
                "资格预审（{}）申请期{}至{}。",
                lots_zh(&f.lot_codes),
                instant_zh(period.start.as_ref()),
                instant_zh(period.end.as_ref())
            ),
            format!(
                "Prequalification for {}: applications from {} to {}.",
                lots_en(&f.lot_codes),
                instant_en(period.start.as_ref()),
                instant_en(period.end.as_ref())
            ),
        );
    }
    if hidden {
        out.say(
            "申请人名称及数量依法于开标后公开。",
            "The applicants' names and number are made public at bid opening.",
        );
    } else {
        out.say(
            format!("通过资格预审的申请人：{}。", none_zh(names_zh(&f.qualified_applicants))),
            format!("Qualified applicants: {}.", none_en(names_en(&f.qualified_applicants))),
        );
        if !f.disqualified_applicants.is_empty() {
            let zh: Vec<String> = f
                .disqualified_applicants
                .iter()
                .map(|d| format!("{}（{}）", org_zh(d.applicant.as_ref()), trim_stop(&d.reason)))
                .collect();
            let en: Vec<String> = f
                .disqualified_applicants
                .iter()
                .map(|d| format!("{} ({})", org_en(d.applicant.as_ref()), d.reason))
                .collect();
            out.say(format!("未通过：{}。", zh.join("；")), format!("Not qualified: {}.", en.join("; ")));
        }
    }
    out.parties(&f.qualified_applicants, PartyRole::Bidder);
    out.parties(f.disqualified_applicants.iter().filter_map(|d| d.applicant.as_ref()), PartyRole::Bidder);
    out.finish(&f.documents)
}

/// A lot's evaluation: method, valid bids, the ranked candidates, rejected bids
/// and the committee (or that it is not yet public).
pub(super) fn evaluated(mut out: Out<'_>, project: &Lookup<'_>, f: &BidsEvaluated) -> Rendered {
    out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
    match f.candidates.iter().min_by_key(|c| c.rank) {
        Some(first) => out.title(
            format!("评标完成：{}标段 第一中标候选人{}", f.lot_code, org_zh(first.bidder.as_ref())),
            format!(
                "Evaluation completed: lot {}, first-ranked candidate {}",
                f.lot_code,
                org_en(first.bidder.as_ref())
            ),
        ),
        None => out.title(
            format!("评标完成：{}标段 无中标候选人", f.lot_code),
            format!("Evaluation completed: lot {}, no candidate", f.lot_code),
        ),
    }
    let (method_zh, method_en) = f.evaluation_method().labels();
    out.say(
        format!(
            "{}评标报告于{}完成，评标办法：{method_zh}，有效投标{}家。",
            lot_label_zh(project, &f.tender_code, &f.lot_code),
            instant_zh(f.completed_at.as_ref()),
            f.valid_bid_count
        ),
        format!(
            "The evaluation report for lot {} was completed at {} (method: {method_en}); {} valid.",
            f.lot_code,
            instant_en(f.completed_at.as_ref()),
            count_en(usize::try_from(f.valid_bid_count).unwrap_or(0), "bid")
        ),
    );
    candidates(&mut out, &f.candidates, &f.lot_code);
    if !f.rejected_bids.is_empty() {
        let zh: Vec<String> = f
            .rejected_bids
            .iter()
            .map(|r| format!("{}（{}）", org_zh(r.bidder.as_ref()), trim_stop(&r.reason)))
            .collect();
        let en: Vec<String> =
            f.rejected_bids.iter().map(|r| format!("{} ({})", org_en(r.bidder.as_ref()), r.reason)).collect();
        out.say(format!("否决投标：{}。", zh.join("；")), format!("Rejected bids: {}.", en.join("; ")));
        out.parties(f.rejected_bids.iter().filter_map(|r| r.bidder.as_ref()), PartyRole::Bidder);
    }
    if !f.committee_members.is_empty() {
        let names: Vec<&str> = f.committee_members.iter().map(|p| p.name.as_str()).collect();
        out.say(
            format!("评标委员会成员：{}。", names.join("、")),
            format!("Evaluation committee: {}.", names.join(", ")),
        );
        for member in &f.committee_members {
            out.person(Some(member));
        }
    } else if out.withheld("committee_members") {
        out.say(
            "评标委员会成员名单依法于中标结果公告后公开。",
            "The evaluation committee is made public with the award result.",
        );
    }
    out.finish(&f.documents)
}

/// The publicity of a lot's candidates, whose end is a legal clock.
pub(super) fn publicized(mut out: Out<'_>, project: &Lookup<'_>, f: &CandidatesPublicized) -> Rendered {
    out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
    out.title(format!("中标候选人公示：{}标段", f.lot_code), format!("Candidate publicity: lot {}", f.lot_code));
    if let Some(period) = &f.publicity_period {
        out.say(
            format!(
                "{}中标候选人公示期{}至{}，公示期内可依法提出异议。",
                lot_label_zh(project, &f.tender_code, &f.lot_code),
                instant_zh(period.start.as_ref()),
                instant_zh(period.end.as_ref())
            ),
            format!(
                "The candidates for lot {} are publicized from {} to {}; objections may be raised meanwhile.",
                f.lot_code,
                instant_en(period.start.as_ref()),
                instant_en(period.end.as_ref())
            ),
        );
    }
    let ends_at = f.publicity_period.as_ref().and_then(|period| period.end);
    clock(&mut out, "candidate_publicity", ("中标候选人公示期", "Candidate publicity"), ends_at, &f.lot_code);
    candidates(&mut out, &f.candidates, &f.lot_code);
    out.finish(&f.documents)
}

/// An objection and the tenderee's answer, if any.
pub(super) fn objection(mut out: Out<'_>, project: &Lookup<'_>, f: &ObjectionRaised) -> Rendered {
    let lots = lot_list(&f.lot_code);
    out.scope(&f.tender_code, &lots);
    let tender = project.tender_name(&f.tender_code);
    out.title(
        format!("异议：{tender}{}", lot_suffix_zh(&f.lot_code)),
        format!("Objection: {tender}{}", lot_suffix_en(&f.lot_code)),
    );
    let (stage_zh, stage_en) = f.stage().labels();
    let (who_zh, who_en) = match &f.objector {
        Some(o) => (o.name.clone(), o.name.clone()),
        None if out.withheld("objector") => {
            ("一潜在投标人（名称依法于开标后公开）".to_owned(), "A potential bidder (named at bid opening)".to_owned())
        }
        None => ("异议人".to_owned(), "An objector".to_owned()),
    };
    out.say(
        format!("{who_zh}于{}提出异议（{stage_zh}）：{}。", instant_zh(f.received_at.as_ref()), trim_stop(&f.subject)),
        format!("{who_en} objected on {} ({stage_en}): {}.", instant_en(f.received_at.as_ref()), f.subject),
    );
    if f.answer.is_empty() {
        out.say("招标人尚未答复。", "The tenderee has not answered yet.");
    } else {
        out.say(
            format!("招标人于{}答复：{}。", instant_zh(f.answered_at.as_ref()), trim_stop(&f.answer)),
            format!("The tenderee answered on {}: {}.", instant_en(f.answered_at.as_ref()), f.answer),
        );
    }
    out.party(f.objector.as_ref(), PartyRole::Objector);
    out.finish(&f.documents)
}

/// A complaint to the supervising authority, with its details (or that they are
/// not public).
pub(super) fn complaint(mut out: Out<'_>, project: &Lookup<'_>, f: &ComplaintFiled) -> Rendered {
    let lots = lot_list(&f.lot_code);
    out.scope(&f.tender_code, &lots);
    let tender = project.tender_name(&f.tender_code);
    out.title(
        format!("投诉：{tender}{}", lot_suffix_zh(&f.lot_code)),
        format!("Complaint: {tender}{}", lot_suffix_en(&f.lot_code)),
    );
    let (who_zh, who_en) = match &f.complainant {
        Some(o) => (o.name.clone(), o.name.clone()),
        None if out.withheld("complainant") => {
            ("一潜在投标人（名称依法于开标后公开）".to_owned(), "A potential bidder (named at bid opening)".to_owned())
        }
        None => ("投诉人".to_owned(), "A complainant".to_owned()),
    };
    out.say(
        format!(
            "{who_zh}向{}投诉（{}受理）：{}。",
            org_zh(f.authority.as_ref()),
            instant_zh(f.received_at.as_ref()),
            trim_stop(&f.subject)
        ),
        format!(
            "{who_en} complained to {} (received {}): {}.",
            org_en(f.authority.as_ref()),
            instant_en(f.received_at.as_ref()),
            f.subject
        ),
    );
    if !f.details.is_empty() {
        out.say(format!("投诉详情：{}。", trim_stop(&f.details)), format!("Details: {}.", f.details));
    } else if out.withheld("details") {
        out.say(
            "投诉详情可能涉及商业秘密，不予公开。",
            "The complaint's details may contain trade secrets and are not public.",
        );
    }
    if !f.objection_event_id.is_empty() {
        out.say(
            format!("此前已提出异议（事件{}）。", f.objection_event_id),
            format!("It follows objection event {}.", f.objection_event_id),
        );
    }
    out.party(f.complainant.as_ref(), PartyRole::Objector);
    out.party(f.authority.as_ref(), PartyRole::SupervisingAuthority);
    out.finish(&f.documents)
}

/// The authority's decision on a complaint.
pub(super) fn complaint_decided(mut out: Out<'_>, project: &Lookup<'_>, f: &ComplaintDecided) -> Rendered {
    if let Some((tender, lot)) = project.complaint_scope(&f.complaint_event_id) {
        out.scope(&tender, &lot_list(&lot));
    }
    let (outcome_zh, outcome_en) = f.outcome().labels();
    out.title(format!("投诉处理决定：{outcome_zh}"), format!("Complaint decided: {outcome_en}"));
    out.say(
        format!("{}作出投诉处理决定：{outcome_zh}。", instant_zh(f.decided_at.as_ref())),
        format!("On {} the complaint was decided: {outcome_en}.", instant_en(f.decided_at.as_ref())),
    );
    out.say(format!("{}。", trim_stop(&f.decision_summary)), f.decision_summary.clone());
    out.finish(&f.documents)
}

/// The ranked candidates, with their prices and project managers.
fn candidates(out: &mut Out<'_>, list: &[Candidate], lot_code: &str) {
    if list.is_empty() {
        return;
    }
    let mut ranked: Vec<&Candidate> = list.iter().collect();
    ranked.sort_by_key(|c| c.rank);
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for c in ranked {
        let mut line_zh = format!("第{}名{}，投标报价{}", c.rank, org_zh(c.bidder.as_ref()), money_zh(c.bid_price_fen));
        let mut line_en = format!("{}. {}, bid {}", c.rank, org_en(c.bidder.as_ref()), money_en(c.bid_price_fen));
        if !c.score.is_empty() {
            line_zh.push_str(&format!("，得分{}", c.score));
            line_en.push_str(&format!(", score {}", c.score));
        }
        if let Some(pm) = &c.project_manager {
            let cert_zh = if pm.certificate_number.is_empty() {
                String::new()
            } else {
                format!("，证书编号{}", pm.certificate_number)
            };
            let cert_en = if pm.certificate_number.is_empty() {
                String::new()
            } else {
                format!(", certificate {}", pm.certificate_number)
            };
            line_zh.push_str(&format!("，项目负责人{}{cert_zh}", pm.name));
            line_en.push_str(&format!(", project manager {}{cert_en}", pm.name));
        }
        zh.push(line_zh);
        en.push(line_en);
        out.amount(
            format!("第{}名候选人报价", c.rank),
            format!("Bid of candidate ranked {}", c.rank),
            c.bid_price_fen,
            lot_code,
        );
        out.party(c.bidder.as_ref(), PartyRole::Bidder);
        out.person(c.project_manager.as_ref());
    }
    out.say(format!("中标候选人：{}。", zh.join("；")), format!("Candidates: {}.", en.join("; ")));
}

fn lot_list(lot_code: &str) -> Vec<String> {
    if lot_code.is_empty() { Vec::new() } else { vec![lot_code.to_owned()] }
}

fn lot_suffix_zh(lot_code: &str) -> String {
    if lot_code.is_empty() { String::new() } else { format!(" {lot_code}标段") }
}

fn lot_suffix_en(lot_code: &str) -> String {
    if lot_code.is_empty() { String::new() } else { format!(", lot {lot_code}") }
}

fn none_zh(list: String) -> String {
    if list.is_empty() { "无".to_owned() } else { list }
}

fn none_en(list: String) -> String {
    if list.is_empty() { "none".to_owned() } else { list }
}
