//! The field rules of each fact kind, as stated in events.proto. Paths are
//! relative to the fact (`lots[1].name`); the caller's checker supplies the
//! prefix (`fact.` or `fact.replacement.<kind>.`).

use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    AcceptanceResult, AmendmentKind, AppraisalConclusion, ApprovalKind, AwardAnnounced, AwardCancelled,
    AwardNoticeIssued, Bid, BidsEvaluated, BidsOpened, Candidate, CandidatesPublicized, ComplaintDecided,
    ComplaintFiled, ComplaintOutcome, CompletionAccepted, ContractSettled, ContractSigned, ContractVaried, DocumentRef,
    EvaluationMethod, FinalAccountsSettled, FundingSource, MilestoneKind, MilestoneReached, ObjectionRaised,
    ObjectionStage, Organization, PaymentKind, PaymentMade, PerformanceIssueKind, PerformanceIssueRecorded,
    PppDetailsDisclosed, PppOperatingModel, PppPaymentMechanism, PrequalificationCompleted, ProcurementCategory,
    ProcurementMethod, ProjectApproved, ProjectType, QualificationMode, TenderAmended, TenderAnnounced, TenderFailed,
    TenderFailureReason,
};

use super::formats::{self, LIST_MAX, NAME_MAX, TEXT_MAX};
use super::land;
use super::values::Presence::{self, Optional, Required};
use super::values::{duplicate_of, enum_value, region_code};
use super::{Checker, Context};
use crate::clock::{beijing_day, moment};

/// The longest PPP cooperation period, in months (100 years; the law allows
/// 10 to 30 years in general, 40 for some concessions).
const MAX_COOPERATION_MONTHS: i64 = 1_200;
/// The longest delay a performance issue may state, in days (100 years).
const MAX_DELAY_DAYS: i64 = 36_525;

/// Validates one fact of any kind.
pub(super) fn validate(c: &mut Checker<'_>, kind: &Kind, context: &Context<'_>) {
    match kind {
        Kind::ProjectApproved(f) => project_approved(c, f, context),
        Kind::PppDetailsDisclosed(f) => ppp_details_disclosed(c, f),
        Kind::ProjectSuspended(f) => decision(c, &f.reason, f.decided_by.as_ref(), &f.documents),
        Kind::ProjectResumed(f) => decision(c, &f.reason, f.decided_by.as_ref(), &f.documents),
        Kind::ProjectCancelled(f) => decision(c, &f.reason, f.decided_by.as_ref(), &f.documents),
        Kind::ExpropriationPreAnnounced(f) => land::expropriation_pre_announced(c, f),
        Kind::CompensationPlanPublished(f) => land::compensation_plan_published(c, f),
        Kind::SocialStabilityRiskAssessed(f) => land::social_stability_risk_assessed(c, f),
        Kind::ExpropriationDecided(f) => land::expropriation_decided(c, f),
        Kind::CompensationPaid(f) => land::compensation_paid(c, f),
        Kind::HouseholdCompensationPublished(f) => land::household_compensation_published(c, f),
        Kind::RelocationRecorded(f) => land::relocation_recorded(c, f),
        Kind::EnvironmentalImpactApproved(f) => land::environmental_impact_approved(c, f),
        Kind::TenderAnnounced(f) => tender_announced(c, f),
        Kind::TenderAmended(f) => tender_amended(c, f),
        Kind::TenderSuspended(f) => tender_change(c, &f.tender_code, &f.lot_codes, &f.reason, &f.documents),
        Kind::TenderResumed(f) => {
            tender_change(c, &f.tender_code, &f.lot_codes, &f.reason, &f.documents);
            c.instant("new_bid_deadline", f.new_bid_deadline.as_ref(), Optional);
        }
        Kind::TenderCancelled(f) => tender_change(c, &f.tender_code, &f.lot_codes, &f.reason, &f.documents),
        Kind::BidsOpened(f) => bids_opened(c, f),
        Kind::PrequalificationCompleted(f) => prequalification_completed(c, f),
        Kind::BidsEvaluated(f) => bids_evaluated(c, f),
        Kind::CandidatesPublicized(f) => candidates_publicized(c, f),
        Kind::ObjectionRaised(f) => objection_raised(c, f),
        Kind::ComplaintFiled(f) => complaint_filed(c, f),
        Kind::ComplaintDecided(f) => complaint_decided(c, f),
        Kind::AwardAnnounced(f) => award_announced(c, f),
        Kind::AwardNoticeIssued(f) => award_notice_issued(c, f),
        Kind::AwardCancelled(f) => award_cancelled(c, f),
        Kind::TenderFailed(f) => tender_failed(c, f),
        Kind::ContractSigned(f) => contract_signed(c, f),
        Kind::ContractVaried(f) => contract_varied(c, f),
        Kind::MilestoneReached(f) => milestone_reached(c, f),
        Kind::PaymentMade(f) => payment_made(c, f),
        Kind::PerformanceIssueRecorded(f) => performance_issue_recorded(c, f),
        Kind::CompletionAccepted(f) => completion_accepted(c, f),
        Kind::FinalAccountsSettled(f) => final_accounts_settled(c, f),
        Kind::ContractSettled(f) => contract_settled(c, f),
    }
}

// ---------------------------------------------------------------------------
// Projects
// ---------------------------------------------------------------------------

fn project_approved(c: &mut Checker<'_>, f: &ProjectApproved, context: &Context<'_>) {
    c.enumeration::<ApprovalKind>("approval_kind", f.approval_kind, Required);
    c.organization("approving_authority", f.approving_authority.as_ref(), Required);
    c.text("approval_document_number", &f.approval_document_number, NAME_MAX, Required);
    c.text("project_name", &f.project_name, NAME_MAX, Required);
    c.enumeration::<ProjectType>("project_type", f.project_type, Required);
    c.text("industry", &f.industry, NAME_MAX, Required);
    c.organization("owner", f.owner.as_ref(), Required);
    let region = region_code(&f.region_code).and_then(|()| match context.project_region {
        Some(project) if !f.region_code.starts_with(division_prefix(project)) => {
            Err(format!("应位于项目代码的行政区划 {project} 之内"))
        }
        _ => Ok(()),
    });
    c.check("region_code", region);
    c.location("location", f.location.as_ref(), Optional);
    c.positive_fen("total_investment_fen", f.total_investment_fen);
    if c.count("funding_sources", f.funding_sources.len(), 1, LIST_MAX) {
        for (i, source) in f.funding_sources.iter().enumerate() {
            let outcome = enum_value::<FundingSource>(*source, Required)
                .and_then(|()| duplicate_of(&f.funding_sources[..i], source, "funding_sources"));
            c.item("funding_sources", i).fail_on(outcome);
        }
    }
    let other_funding = f.funding_sources.contains(&(FundingSource::Other as i32));
    c.text("funding_description", &f.funding_description, TEXT_MAX, required_if(other_funding));
    c.date_range("planned_period", f.planned_period.as_ref(), Required);
    c.text("scope_description", &f.scope_description, TEXT_MAX, Required);
    c.documents(&f.documents);
}

/// The leading digits of a division code that every code inside it shares:
/// `23` for a province `230000`, `2301` for a prefecture `230100`, else all six.
fn division_prefix(division: &str) -> &str {
    if let Some(province) = division.strip_suffix("0000") {
        province
    } else if let Some(prefecture) = division.strip_suffix("00") {
        prefecture
    } else {
        division
    }
}

fn ppp_details_disclosed(c: &mut Checker<'_>, f: &PppDetailsDisclosed) {
    c.enumeration::<PppOperatingModel>("operating_model", f.operating_model, Required);
    let other_model = f.operating_model == PppOperatingModel::Other as i32;
    c.text("operating_model_description", &f.operating_model_description, TEXT_MAX, required_if(other_model));
    c.positive("cooperation_period_months", f.cooperation_period_months.into(), MAX_COOPERATION_MONTHS);
    c.enumeration::<PppPaymentMechanism>("payment_mechanism", f.payment_mechanism, Required);
    c.enumeration::<AppraisalConclusion>("value_for_money_conclusion", f.value_for_money_conclusion, Required);
    c.text("value_for_money_summary", &f.value_for_money_summary, TEXT_MAX, Required);
    c.enumeration::<AppraisalConclusion>(
        "fiscal_affordability_conclusion",
        f.fiscal_affordability_conclusion,
        Required,
    );
    c.text("fiscal_affordability_summary", &f.fiscal_affordability_summary, TEXT_MAX, Required);
    c.basis_points("general_budget_share_bp", f.general_budget_share_bp);
    c.basis_points("government_equity_share_bp", f.government_equity_share_bp);
    c.documents(&f.documents);
}

/// Suspension, resumption or cancellation of a project.
fn decision(c: &mut Checker<'_>, reason: &str, decided_by: Option<&Organization>, documents: &[DocumentRef]) {
    c.text("reason", reason, TEXT_MAX, Required);
    c.organization("decided_by", decided_by, Optional);
    c.documents(documents);
}

// ---------------------------------------------------------------------------
// Tenders
// ---------------------------------------------------------------------------

fn tender_announced(c: &mut Checker<'_>, f: &TenderAnnounced) {
    c.code("tender_code", &f.tender_code, Required);
    c.text("name", &f.name, NAME_MAX, Required);
    c.enumeration::<ProcurementMethod>("method", f.method, Required);
    if c.count("lots", f.lots.len(), 1, LIST_MAX) {
        for (i, lot) in f.lots.iter().enumerate() {
            let mut l = c.item("lots", i);
            let unique = match f.lots[..i].iter().position(|other| other.lot_code == lot.lot_code) {
                Some(first) => Err(format!("与 lots[{first}].lot_code 重复")),
                None => Ok(()),
            };
            l.check("lot_code", formats::code(&lot.lot_code).and(unique));
            l.text("name", &lot.name, NAME_MAX, Required);
            if let Some(ceiling) = lot.ceiling_price_fen {
                l.positive_fen("ceiling_price_fen", ceiling);
            }
            l.fen("estimated_value_fen", lot.estimated_value_fen);
            l.text("description", &lot.description, TEXT_MAX, Optional);
            l.date_range("planned_contract_period", lot.planned_contract_period.as_ref(), Optional);
        }
    }
    let issued = c.instant("tender_documents_issued_at", f.tender_documents_issued_at.as_ref(), Required);
    let sale = c.period("document_sale_period", f.document_sale_period.as_ref());
    let deadline = c.instant("bid_deadline", f.bid_deadline.as_ref(), Required);
    let opening = c.instant("bid_opening_at", f.bid_opening_at.as_ref(), Required);
    // One notice's own times, in the only order they can happen.
    const ISSUED: &str = "招标文件发出时间 (tender_documents_issued_at)";
    let (issued_day, deadline) = (beijing_day(issued), deadline.map(moment));
    let issued = issued.map(moment);
    c.not_before("bid_deadline", deadline, issued, ISSUED);
    c.not_before("bid_opening_at", opening.map(moment), issued, ISSUED);
    if let Some((sale_start, sale_end)) = sale {
        c.not_before("document_sale_period.start", beijing_day(Some(sale_start)), issued_day, "招标文件发出之日");
        c.not_after("document_sale_period.end", Some(moment(sale_end)), deadline, "投标截止时间 (bid_deadline)");
    }
    c.text("bid_opening_place", &f.bid_opening_place, NAME_MAX, Required);
    c.enumeration::<QualificationMode>("qualification_mode", f.qualification_mode, Required);
    const DEADLINE: &str = "prequalification_deadline";
    match QualificationMode::try_from(f.qualification_mode) {
        Ok(QualificationMode::Prequalification) => {
            let prequalification = c.instant(DEADLINE, f.prequalification_deadline.as_ref(), Required);
            c.not_after(DEADLINE, prequalification.map(moment), deadline, "投标截止时间 (bid_deadline)");
        }
        Ok(QualificationMode::PostQualification) => {
            if c.present(DEADLINE, f.prequalification_deadline.as_ref(), Optional).is_some() {
                c.check(DEADLINE, Err("资格后审时不应填写资格预审申请截止时间".into()));
            }
        }
        _ => {
            c.instant(DEADLINE, f.prequalification_deadline.as_ref(), Optional);
        }
    }
    c.fen("bid_security_fen", f.bid_security_fen);
    c.code("unified_deal_code", &f.unified_deal_code, Required);
    c.code("retender_of", &f.retender_of, Optional);
    let invited = f.method == ProcurementMethod::Invited as i32;
    if !invited && !f.invited_bidders.is_empty() {
        c.check("invited_bidders", Err("仅邀请招标可填写受邀投标人".into()));
    }
    c.organizations("invited_bidders", &f.invited_bidders, if invited { 3 } else { 0 });
    c.organization("tenderee", f.tenderee.as_ref(), Required);
    c.organization("tender_agent", f.tender_agent.as_ref(), Optional);
    c.enumeration::<ProcurementCategory>("category", f.category, Optional);
    c.documents(&f.documents);
}

fn tender_amended(c: &mut Checker<'_>, f: &TenderAmended) {
    c.code("tender_code", &f.tender_code, Required);
    c.codes("lot_codes", &f.lot_codes, 0);
    c.enumeration::<AmendmentKind>("kind", f.kind, Required);
    c.instant("new_bid_deadline", f.new_bid_deadline.as_ref(), Optional);
    c.instant("new_bid_opening_at", f.new_bid_opening_at.as_ref(), Optional);
    c.text("summary", &f.summary, TEXT_MAX, Required);
    c.documents(&f.documents);
}

/// Suspension, resumption or cancellation of a tender or some of its lots.
fn tender_change(
    c: &mut Checker<'_>,
    tender_code: &str,
    lot_codes: &[String],
    reason: &str,
    documents: &[DocumentRef],
) {
    c.code("tender_code", tender_code, Required);
    c.codes("lot_codes", lot_codes, 0);
    c.text("reason", reason, TEXT_MAX, Required);
    c.documents(documents);
}

/// The tender and lot a lot-level fact is about.
fn tender_lot(c: &mut Checker<'_>, tender_code: &str, lot_code: &str, lot: Presence) {
    c.code("tender_code", tender_code, Required);
    c.code("lot_code", lot_code, lot);
}

fn bids_opened(c: &mut Checker<'_>, f: &BidsOpened) {
    tender_lot(c, &f.tender_code, &f.lot_code, Required);
    let opened = c.instant("opened_at", f.opened_at.as_ref(), Required);
    c.text("place", &f.place, NAME_MAX, Required);
    if c.count("bids", f.bids.len(), 0, LIST_MAX) {
        for (i, bid) in f.bids.iter().enumerate() {
            self::bid(&mut c.item("bids", i), bid, opened.map(moment));
        }
    }
    c.documents(&f.documents);
}

/// One bid of an opening record: it was submitted before the opening.
fn bid(c: &mut Checker<'_>, bid: &Bid, opened: Option<(i64, i32)>) {
    c.organization("bidder", bid.bidder.as_ref(), Required);
    c.fen("price_fen", bid.price_fen);
    let submitted = c.instant("submitted_at", bid.submitted_at.as_ref(), Required);
    c.not_after("submitted_at", submitted.map(moment), opened, "开标时间 (opened_at)");
    c.organizations("consortium_members", &bid.consortium_members, 0);
}

// ---------------------------------------------------------------------------
// Review
// ---------------------------------------------------------------------------

fn prequalification_completed(c: &mut Checker<'_>, f: &PrequalificationCompleted) {
    c.code("tender_code", &f.tender_code, Required);
    c.codes("lot_codes", &f.lot_codes, 0);
    c.period("application_period", f.application_period.as_ref());
    c.organizations("qualified_applicants", &f.qualified_applicants, 0);
    if c.count("disqualified_applicants", f.disqualified_applicants.len(), 0, LIST_MAX) {
        for (i, applicant) in f.disqualified_applicants.iter().enumerate() {
            let mut a = c.item("disqualified_applicants", i);
            a.organization("applicant", applicant.applicant.as_ref(), Required);
            a.text("reason", &applicant.reason, TEXT_MAX, Required);
        }
    }
    c.documents(&f.documents);
}

/// Ranked candidates: `min..=3`, ranks 1..=3 and unique.
fn candidates(c: &mut Checker<'_>, candidates: &[Candidate], min: usize) {
    const FIELD: &str = "candidates";
    if !c.count(FIELD, candidates.len(), min, 3) {
        return;
    }
    for (i, candidate) in candidates.iter().enumerate() {
        let mut k = c.item(FIELD, i);
        let rank = if (1..=3).contains(&candidate.rank) {
            match candidates[..i].iter().position(|other| other.rank == candidate.rank) {
                Some(first) => Err(format!("名次 {} 与 candidates[{first}] 重复", candidate.rank)),
                None => Ok(()),
            }
        } else {
            Err("名次应为 1 至 3".into())
        };
        k.check("rank", rank);
        k.organization("bidder", candidate.bidder.as_ref(), Required);
        k.fen("bid_price_fen", candidate.bid_price_fen);
        if !candidate.score.is_empty() {
            k.check("score", formats::decimal(&candidate.score));
        }
        k.person("project_manager", candidate.project_manager.as_ref(), Optional);
    }
}

fn bids_evaluated(c: &mut Checker<'_>, f: &BidsEvaluated) {
    tender_lot(c, &f.tender_code, &f.lot_code, Required);
    c.instant("completed_at", f.completed_at.as_ref(), Required);
    candidates(c, &f.candidates, 0);
    c.people("committee_members", &f.committee_members);
    if !(0..=LIST_MAX as i32).contains(&f.valid_bid_count) {
        c.check("valid_bid_count", Err(format!("应在 0 至 {LIST_MAX} 之间")));
    }
    if c.count("rejected_bids", f.rejected_bids.len(), 0, LIST_MAX) {
        for (i, rejected) in f.rejected_bids.iter().enumerate() {
            let mut r = c.item("rejected_bids", i);
            r.organization("bidder", rejected.bidder.as_ref(), Required);
            r.text("reason", &rejected.reason, TEXT_MAX, Required);
        }
    }
    c.enumeration::<EvaluationMethod>("evaluation_method", f.evaluation_method, Optional);
    c.documents(&f.documents);
}

fn candidates_publicized(c: &mut Checker<'_>, f: &CandidatesPublicized) {
    tender_lot(c, &f.tender_code, &f.lot_code, Required);
    c.period("publicity_period", f.publicity_period.as_ref());
    candidates(c, &f.candidates, 1);
    c.documents(&f.documents);
}

fn objection_raised(c: &mut Checker<'_>, f: &ObjectionRaised) {
    tender_lot(c, &f.tender_code, &f.lot_code, Optional);
    c.organization("objector", f.objector.as_ref(), Optional);
    let received = c.instant("received_at", f.received_at.as_ref(), Required);
    c.text("subject", &f.subject, NAME_MAX, Required);
    let answered = c.present("answered_at", f.answered_at.as_ref(), Optional).is_some();
    if !answered && !f.answer.trim().is_empty() {
        c.check("answered_at", Err("已有答复内容时必须填写答复时间".into()));
    }
    let answered_at = c.instant("answered_at", f.answered_at.as_ref(), Optional);
    c.not_before("answered_at", answered_at.map(moment), received.map(moment), "收到异议时间 (received_at)");
    c.text("answer", &f.answer, TEXT_MAX, Optional);
    c.enumeration::<ObjectionStage>("stage", f.stage, Optional);
    c.documents(&f.documents);
}

fn complaint_filed(c: &mut Checker<'_>, f: &ComplaintFiled) {
    tender_lot(c, &f.tender_code, &f.lot_code, Optional);
    c.organization("complainant", f.complainant.as_ref(), Optional);
    c.organization("authority", f.authority.as_ref(), Required);
    c.instant("received_at", f.received_at.as_ref(), Required);
    c.text("subject", &f.subject, NAME_MAX, Required);
    c.text("details", &f.details, TEXT_MAX, Optional);
    c.event_id("objection_event_id", &f.objection_event_id, Optional);
    c.documents(&f.documents);
}

fn complaint_decided(c: &mut Checker<'_>, f: &ComplaintDecided) {
    c.event_id("complaint_event_id", &f.complaint_event_id, Required);
    c.instant("decided_at", f.decided_at.as_ref(), Required);
    c.enumeration::<ComplaintOutcome>("outcome", f.outcome, Required);
    c.text("decision_summary", &f.decision_summary, TEXT_MAX, Required);
    c.documents(&f.documents);
}

// ---------------------------------------------------------------------------
// Awards
// ---------------------------------------------------------------------------

fn award_announced(c: &mut Checker<'_>, f: &AwardAnnounced) {
    tender_lot(c, &f.tender_code, &f.lot_code, Required);
    c.organization("winner", f.winner.as_ref(), Required);
    c.fen("award_price_fen", f.award_price_fen);
    c.instant("announced_at", f.announced_at.as_ref(), Required);
    c.text("not_first_ranked_reason", &f.not_first_ranked_reason, TEXT_MAX, Optional);
    c.documents(&f.documents);
}

fn award_notice_issued(c: &mut Checker<'_>, f: &AwardNoticeIssued) {
    tender_lot(c, &f.tender_code, &f.lot_code, Required);
    c.organization("winner", f.winner.as_ref(), Required);
    c.instant("issued_at", f.issued_at.as_ref(), Required);
    c.documents(&f.documents);
}

fn award_cancelled(c: &mut Checker<'_>, f: &AwardCancelled) {
    tender_lot(c, &f.tender_code, &f.lot_code, Required);
    c.text("reason", &f.reason, TEXT_MAX, Required);
    c.event_id("complaint_event_id", &f.complaint_event_id, Optional);
    c.documents(&f.documents);
}

fn tender_failed(c: &mut Checker<'_>, f: &TenderFailed) {
    tender_lot(c, &f.tender_code, &f.lot_code, Required);
    c.enumeration::<TenderFailureReason>("reason", f.reason, Required);
    let other = f.reason == TenderFailureReason::Other as i32;
    c.text("reason_text", &f.reason_text, TEXT_MAX, required_if(other));
    c.documents(&f.documents);
}

// ---------------------------------------------------------------------------
// Contracts
// ---------------------------------------------------------------------------

fn contract_signed(c: &mut Checker<'_>, f: &ContractSigned) {
    c.code("contract_code", &f.contract_code, Required);
    c.code("tender_code", &f.tender_code, Required);
    c.codes("lot_codes", &f.lot_codes, 1);
    c.organization("buyer", f.buyer.as_ref(), Required);
    c.organizations("suppliers", &f.suppliers, 1);
    c.fen("price_fen", f.price_fen);
    let period = c.date_range("contract_period", f.contract_period.as_ref(), Required);
    let signed = c.instant("signed_at", f.signed_at.as_ref(), Required);
    // A contract cannot have run its course before it was signed.
    let end = period.map(|(_, end)| end);
    c.not_before("contract_period.end", end, beijing_day(signed), "签订之日 (signed_at)");
    c.text("title", &f.title, NAME_MAX, Optional);
    c.documents(&f.documents);
}

fn contract_varied(c: &mut Checker<'_>, f: &ContractVaried) {
    c.code("contract_code", &f.contract_code, Required);
    c.code("variation_number", &f.variation_number, Required);
    if !(f.changes_price || f.changes_time || f.changes_scope) {
        c.check("changes_scope", Err("价格、工期、范围至少须变更一项".into()));
    }
    if !f.changes_price && f.price_change_fen != 0 {
        c.check("price_change_fen", Err("未变更价格（changes_price 为 false）时必须为 0".into()));
    }
    c.signed_fen("price_change_fen", f.price_change_fen);
    if f.changes_time {
        c.date("new_end_date", f.new_end_date.as_ref(), Required);
    } else if c.present("new_end_date", f.new_end_date.as_ref(), Optional).is_some() {
        c.check("new_end_date", Err("未变更工期（changes_time 为 false）时不应填写".into()));
    }
    c.text("scope_change", &f.scope_change, TEXT_MAX, required_if(f.changes_scope));
    c.text("reason", &f.reason, TEXT_MAX, Required);
    c.organization("approved_by", f.approved_by.as_ref(), Required);
    c.documents(&f.documents);
}

fn milestone_reached(c: &mut Checker<'_>, f: &MilestoneReached) {
    c.code("contract_code", &f.contract_code, Required);
    c.code("milestone_code", &f.milestone_code, Required);
    c.text("milestone_name", &f.milestone_name, NAME_MAX, Required);
    c.date("planned_date", f.planned_date.as_ref(), Optional);
    c.instant("reached_at", f.reached_at.as_ref(), Required);
    c.basis_points("progress_bp", f.progress_bp);
    c.enumeration::<MilestoneKind>("kind", f.kind, Optional);
    c.documents(&f.documents);
}

fn payment_made(c: &mut Checker<'_>, f: &PaymentMade) {
    c.code("contract_code", &f.contract_code, Required);
    c.code("payment_number", &f.payment_number, Required);
    c.positive_fen("amount_fen", f.amount_fen);
    c.instant("paid_at", f.paid_at.as_ref(), Required);
    c.organization("payee", f.payee.as_ref(), Required);
    c.code("milestone_code", &f.milestone_code, Optional);
    c.enumeration::<PaymentKind>("kind", f.kind, Optional);
    c.documents(&f.documents);
}

fn performance_issue_recorded(c: &mut Checker<'_>, f: &PerformanceIssueRecorded) {
    c.code("contract_code", &f.contract_code, Required);
    c.enumeration::<PerformanceIssueKind>("kind", f.kind, Required);
    c.instant("occurred_at", f.occurred_at.as_ref(), Required);
    c.text("description", &f.description, TEXT_MAX, Required);
    if let Some(penalty) = f.penalty_fen {
        c.positive_fen("penalty_fen", penalty);
    }
    if let Some(days) = f.delay_days {
        c.positive("delay_days", days.into(), MAX_DELAY_DAYS);
    }
    c.documents(&f.documents);
}

fn completion_accepted(c: &mut Checker<'_>, f: &CompletionAccepted) {
    c.codes("contract_codes", &f.contract_codes, 1);
    let accepted = c.instant("accepted_at", f.accepted_at.as_ref(), Required);
    let completed = c.date("actual_completion_date", f.actual_completion_date.as_ref(), Required);
    c.not_after("actual_completion_date", completed, beijing_day(accepted), "验收之日 (accepted_at)");
    c.enumeration::<AcceptanceResult>("result", f.result, Required);
    c.organizations("participants", &f.participants, 0);
    let needs_remarks =
        [AcceptanceResult::PassedWithRemarks, AcceptanceResult::Failed].iter().any(|result| f.result == *result as i32);
    c.text("remarks", &f.remarks, TEXT_MAX, required_if(needs_remarks));
    c.documents(&f.documents);
}

fn contract_settled(c: &mut Checker<'_>, f: &ContractSettled) {
    c.code("contract_code", &f.contract_code, Required);
    c.fen("settled_value_fen", f.settled_value_fen);
    c.instant("settled_at", f.settled_at.as_ref(), Required);
    c.organization("reviewed_by", f.reviewed_by.as_ref(), Optional);
    c.documents(&f.documents);
}

fn final_accounts_settled(c: &mut Checker<'_>, f: &FinalAccountsSettled) {
    c.fen("final_cost_fen", f.final_cost_fen);
    let settled = c.instant("settled_at", f.settled_at.as_ref(), Required);
    let ended = c.date("actual_end_date", f.actual_end_date.as_ref(), Required);
    c.not_after("actual_end_date", ended, beijing_day(settled), "决算之日 (settled_at)");
    c.text("final_scope", &f.final_scope, TEXT_MAX, Required);
    c.organization("audited_by", f.audited_by.as_ref(), Required);
    c.documents(&f.documents);
}

/// Required when `condition` holds, else optional.
fn required_if(condition: bool) -> Presence {
    if condition { Required } else { Optional }
}
