//! Qualification review and evaluation (资格审查与评标): prequalification,
//! evaluation, candidate publicity, objections and complaints.

use gongkai_proto::v1::{
    BidsEvaluated, Candidate, CandidatesPublicized, ComplaintDecided, ComplaintFiled, ObjectionRaised,
    PrequalificationCompleted, QualificationMode,
};

use super::flags::{self, days, figure};
use super::rules::{
    BIDS_NOT_OPENED, CANDIDATE_DID_NOT_BID, COMPLAINT_ALREADY_DECIDED, COMPLAINT_NOT_FOUND, NOT_EVALUATED,
    NOT_PREQUALIFIED_TENDER, OBJECTION_NOT_FOUND,
};
use super::tender::{MIN_PREQUAL_DAYS, lot, open_lot, open_targets, tender};
use super::time::{instant, whole_days};
use super::{Ctx, bid_of, org_label, reject};
use crate::state::{LotState, Tender};
use crate::vocabulary::FigureUnit;
use crate::{ComplianceFlag, Rejection};

type Decision = Result<Vec<ComplianceFlag>, Rejection>;

/// Fewer opened bids than this and the lot should not be evaluated or
/// awarded (TBL art. 28).
pub(super) const MIN_BIDS: i64 = 3;
/// Maximum whole days from evaluation to publicity start (IR art. 54).
const MAX_PUBLICITY_DELAY_DAYS: i64 = 3;
/// Minimum whole days of candidate publicity (IR art. 54).
const MIN_PUBLICITY_DAYS: i64 = 3;

/// PrequalificationCompleted: only for a prequalified tender.
pub(super) fn prequalification(ctx: &Ctx<'_>, fact: &PrequalificationCompleted) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    if tender.qualification_mode != QualificationMode::Prequalification {
        return Err(reject(
            NOT_PREQUALIFIED_TENDER,
            format!("招标项目 {} 采用资格后审，没有资格预审", tender.tender_code),
            format!("tender {} uses post-qualification", tender.tender_code),
        )
        .with("tender_code", tender.tender_code.clone())
        .with("qualification_mode", tender.qualification_mode.as_str_name()));
    }
    open_targets(tender, &fact.lot_codes)?;
    let mut flags = Vec::new();
    if let Some(period) = &fact.application_period
        && let (Some(start), Some(end)) = (&period.start, &period.end)
    {
        let length = whole_days(start, end);
        if length < MIN_PREQUAL_DAYS {
            flags.push(ctx.flag(
                flags::PREQUAL_PERIOD,
                &[tender.announced_event_id.as_str()],
                vec![days("prequalification_application_days", length, MIN_PREQUAL_DAYS)],
                format!(
                    "资格预审申请文件受理期自 {} 至 {}，仅 {length} 天，法定最少 {MIN_PREQUAL_DAYS} 天。",
                    instant(start),
                    instant(end)
                ),
            ));
        }
    }
    Ok(flags)
}

/// Every candidate must be a bidder of the lot (CANDIDATE_DID_NOT_BID).
fn candidates_bid(tender: &Tender, lot: &LotState, candidates: &[Candidate]) -> Result<(), Rejection> {
    for candidate in candidates {
        let bid = candidate.bidder.as_ref().and_then(|bidder| bid_of(lot, bidder));
        if bid.is_none() {
            let name = candidate.bidder.as_ref().map(org_label).unwrap_or_else(|| "（未填写）".to_owned());
            return Err(reject(
                CANDIDATE_DID_NOT_BID,
                format!(
                    "第 {} 名中标候选人 {name} 不在招标项目 {} 标段 {} 的开标记录中",
                    candidate.rank, tender.tender_code, lot.lot_code
                ),
                format!("candidate ranked {} did not bid for the lot", candidate.rank),
            )
            .with("tender_code", tender.tender_code.clone())
            .with("lot_code", lot.lot_code.clone())
            .with("candidate", name)
            .with("event_id", lot.opening.as_ref().map(|o| o.event_id.clone()).unwrap_or_default()));
        }
    }
    Ok(())
}

/// TBL-28-FEWER-THAN-3-BIDS, for an evaluation or an award of `lot`.
pub(super) fn fewer_than_3_bids(ctx: &Ctx<'_>, lot: &LotState, what: &str, earlier: &[&str]) -> Option<ComplianceFlag> {
    let opening = lot.opening.as_ref()?;
    let count = opening.bids.len() as i64;
    (count < MIN_BIDS).then(|| {
        let mut ids = vec![opening.event_id.as_str()];
        ids.extend_from_slice(earlier);
        ctx.flag(
            flags::FEWER_THAN_3_BIDS,
            &ids,
            vec![figure("bid_count", count, Some(MIN_BIDS), FigureUnit::Count)],
            format!(
                "标段 {} 开标时仅有 {count} 个投标人，仍{what}；投标人少于 {MIN_BIDS} 个的，招标人应当依法重新招标。",
                lot.lot_code
            ),
        )
    })
}

/// BidsEvaluated: after the lot's bid opening, candidates among its bidders.
pub(super) fn evaluated(ctx: &Ctx<'_>, fact: &BidsEvaluated) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lot = open_lot(tender, &fact.lot_code)?;
    if lot.opening.is_none() {
        return Err(reject(
            BIDS_NOT_OPENED,
            format!("招标项目 {} 标段 {} 尚未开标，不能评标", tender.tender_code, lot.lot_code),
            "the lot's bids were not opened yet",
        )
        .with("tender_code", tender.tender_code.clone())
        .with("lot_code", lot.lot_code.clone())
        .with("lot_stage", "announced"));
    }
    candidates_bid(tender, lot, &fact.candidates)?;
    Ok(fewer_than_3_bids(ctx, lot, "进行了评标", &[]).into_iter().collect())
}

/// CandidatesPublicized: after the lot's evaluation.
pub(super) fn publicized(ctx: &Ctx<'_>, fact: &CandidatesPublicized) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lot = open_lot(tender, &fact.lot_code)?;
    let Some(evaluation) = &lot.evaluation else {
        return Err(not_evaluated(tender, lot, "公示中标候选人", "publicize candidates"));
    };
    candidates_bid(tender, lot, &fact.candidates)?;
    let mut flags = Vec::new();
    let start = fact.publicity_period.and_then(|period| period.start);
    let end = fact.publicity_period.and_then(|period| period.end);
    if let (Some(completed), Some(start)) = (&evaluation.completed_at, &start) {
        let delay = whole_days(completed, start);
        if delay > MAX_PUBLICITY_DELAY_DAYS {
            flags.push(ctx.flag(
                flags::PUBLICITY_DELAY,
                &[evaluation.event_id.as_str()],
                vec![days("days_from_evaluation_to_publicity", delay, MAX_PUBLICITY_DELAY_DAYS)],
                format!(
                    "评标报告于 {} 提交，中标候选人公示于 {} 开始，相隔 {delay} 天，法定应在 {MAX_PUBLICITY_DELAY_DAYS} 天内公示。",
                    instant(completed),
                    instant(start)
                ),
            ));
        }
    }
    if let (Some(start), Some(end)) = (&start, &end) {
        let length = whole_days(start, end);
        if length < MIN_PUBLICITY_DAYS {
            flags.push(ctx.flag(
                flags::PUBLICITY_SHORT,
                &[],
                vec![days("publicity_days", length, MIN_PUBLICITY_DAYS)],
                format!(
                    "中标候选人公示期自 {} 至 {}，仅 {length} 天，法定最少 {MIN_PUBLICITY_DAYS} 天。",
                    instant(start),
                    instant(end)
                ),
            ));
        }
    }
    Ok(flags)
}

/// NOT_EVALUATED for `lot`.
pub(super) fn not_evaluated(tender: &Tender, lot: &LotState, zh: &str, en: &str) -> Rejection {
    reject(
        NOT_EVALUATED,
        format!("招标项目 {} 标段 {} 尚未评标，不能{zh}", tender.tender_code, lot.lot_code),
        format!("the lot was not evaluated yet: cannot {en}"),
    )
    .with("tender_code", tender.tender_code.clone())
    .with("lot_code", lot.lot_code.clone())
    .with("lot_stage", if lot.opening.is_some() { "bids_opened" } else { "announced" })
}

/// ObjectionRaised: a known tender (and lot, when named).
pub(super) fn objection(ctx: &Ctx<'_>, fact: &ObjectionRaised) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    if !fact.lot_code.is_empty() {
        lot(tender, &fact.lot_code)?;
    }
    Ok(Vec::new())
}

/// ComplaintFiled: a known tender (and lot), and the objection it follows.
pub(super) fn complaint(ctx: &Ctx<'_>, fact: &ComplaintFiled) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    if !fact.lot_code.is_empty() {
        lot(tender, &fact.lot_code)?;
    }
    if !fact.objection_event_id.is_empty() {
        let objection = ctx.state.objection(&fact.objection_event_id);
        if objection.is_none_or(|objection| objection.tender_code != tender.tender_code) {
            return Err(reject(
                OBJECTION_NOT_FOUND,
                format!("事件 {} 不是招标项目 {} 的异议", fact.objection_event_id, tender.tender_code),
                format!("event {} is no objection of tender {}", fact.objection_event_id, tender.tender_code),
            )
            .with("tender_code", tender.tender_code.clone())
            .with("objection_event_id", fact.objection_event_id.clone()));
        }
    }
    Ok(Vec::new())
}

/// ComplaintDecided: a known complaint, decided once.
pub(super) fn complaint_decided(ctx: &Ctx<'_>, fact: &ComplaintDecided) -> Decision {
    let Some(complaint) = ctx.state.complaint(&fact.complaint_event_id) else {
        return Err(complaint_not_found(&fact.complaint_event_id));
    };
    if let Some(decided) = &complaint.decided_event_id {
        return Err(reject(
            COMPLAINT_ALREADY_DECIDED,
            format!("投诉 {} 已于事件 {decided} 作出处理决定", fact.complaint_event_id),
            "the complaint was already decided",
        )
        .with("complaint_event_id", fact.complaint_event_id.clone())
        .with("event_id", decided.clone()));
    }
    Ok(Vec::new())
}

/// COMPLAINT_NOT_FOUND for `event_id`.
pub(super) fn complaint_not_found(event_id: &str) -> Rejection {
    reject(
        COMPLAINT_NOT_FOUND,
        format!("事件 {event_id} 不是本项目的投诉"),
        format!("event {event_id} is no complaint of this project"),
    )
    .with("complaint_event_id", event_id)
}
