//! Tendering (招标): announcement, amendment, suspension, resumption,
//! cancellation and bid opening; the lookups the later stages share.

use std::collections::BTreeMap;

use gongkai_proto::v1::{
    BidsOpened, QualificationMode, TenderAmended, TenderAnnounced, TenderCancelled, TenderResumed, TenderSuspended,
};
use prost_types::Timestamp;

use super::flags::{self, days, figure};
use super::rules::{
    BIDS_ALREADY_OPENED, LOT_NOT_FOUND, RETENDER_OF_UNKNOWN, TENDER_CANCELLED, TENDER_EXISTS, TENDER_NOT_FOUND,
    TENDER_NOT_SUSPENDED,
};
use super::time::{instant, seconds_between, whole_days, yuan};
use super::{Ctx, org_label, reject};
use crate::state::{LotState, LotStatus, Tender};
use crate::vocabulary::FigureUnit;
use crate::{ComplianceFlag, ProjectState, Rejection};

type Decision = Result<Vec<ComplianceFlag>, Rejection>;

/// Minimum whole days from documents issue to bid deadline (TBL art. 24).
pub(super) const MIN_BID_PERIOD_DAYS: i64 = 20;
/// Minimum whole days of the document sale window (IR art. 16).
pub(super) const MIN_SALE_DAYS: i64 = 5;
/// Minimum whole days for prequalification applications (IR art. 17).
pub(super) const MIN_PREQUAL_DAYS: i64 = 5;
/// Minimum whole days from a clarification to the deadline (TBL art. 23).
pub(super) const MIN_CLARIFICATION_DAYS: i64 = 15;
/// Tolerance between the bid deadline and the opening, seconds (TBL art. 34).
pub(super) const OPENING_TOLERANCE_SECONDS: i64 = 60;

// ---------------------------------------------------------------------------
// Lookups shared by the tender, review and award rules.
// ---------------------------------------------------------------------------

/// The tender `code` of the project (TENDER_NOT_FOUND).
pub(super) fn tender<'s>(state: &'s ProjectState, code: &str) -> Result<&'s Tender, Rejection> {
    state.tender(code).ok_or_else(|| {
        reject(
            TENDER_NOT_FOUND,
            format!("本项目没有招标项目 {code}"),
            format!("tender {code} is unknown in this project"),
        )
        .with("tender_code", code)
    })
}

/// The lot `code` of `tender` (LOT_NOT_FOUND).
pub(super) fn lot<'t>(tender: &'t Tender, code: &str) -> Result<&'t LotState, Rejection> {
    tender.lots.get(code).ok_or_else(|| {
        reject(
            LOT_NOT_FOUND,
            format!("招标项目 {} 没有标段 {code}", tender.tender_code),
            format!("lot {code} is unknown in tender {}", tender.tender_code),
        )
        .with("tender_code", tender.tender_code.clone())
        .with("lot_code", code)
    })
}

/// The lot `code` of `tender`, which must not be cancelled or failed
/// (TENDER_CANCELLED).
pub(super) fn open_lot<'t>(tender: &'t Tender, code: &str) -> Result<&'t LotState, Rejection> {
    let lot = lot(tender, code)?;
    if lot.status.is_closed() {
        return Err(closed(tender, lot));
    }
    Ok(lot)
}

/// The lots a tender-level fact concerns: each named one (known, not closed),
/// or every lot not closed when none is named (at least one).
pub(super) fn open_targets<'t>(tender: &'t Tender, codes: &[String]) -> Result<Vec<&'t LotState>, Rejection> {
    if codes.is_empty() {
        let lots: Vec<&LotState> = tender.lots.values().filter(|lot| !lot.status.is_closed()).collect();
        if lots.is_empty() {
            return Err(reject(
                TENDER_CANCELLED,
                format!("招标项目 {} 的全部标段已终止或流标", tender.tender_code),
                format!("every lot of tender {} is cancelled or failed", tender.tender_code),
            )
            .with("tender_code", tender.tender_code.clone())
            .with("tender_state", "cancelled"));
        }
        return Ok(lots);
    }
    codes.iter().map(|code| open_lot(tender, code)).collect()
}

fn closed(tender: &Tender, lot: &LotState) -> Rejection {
    let (zh, en) = if lot.status == LotStatus::Failed { ("已流标", "failed") } else { ("已终止", "cancelled") };
    reject(
        TENDER_CANCELLED,
        format!("招标项目 {} 标段 {} {zh}，不能再记录招标活动", tender.tender_code, lot.lot_code),
        format!("lot {} of tender {} is {en}", lot.lot_code, tender.tender_code),
    )
    .with("tender_code", tender.tender_code.clone())
    .with("lot_code", lot.lot_code.clone())
    .with("lot_state", lot.status.as_str())
    .with("event_id", lot.status_event_id.clone().unwrap_or_default())
}

/// The earliest bid deadline in force among `lots`, with the event that set it.
fn earliest_deadline<'l>(lots: &[&'l LotState]) -> Option<(Timestamp, &'l str)> {
    lots.iter()
        .filter_map(|lot| lot.bid_deadline.map(|deadline| (deadline, lot.deadline_event_id.as_str())))
        .min_by_key(|(deadline, _)| deadline.seconds)
}

// ---------------------------------------------------------------------------
// Soft rules shared by announcement, amendment and resumption.
// ---------------------------------------------------------------------------

/// TBL-24-BID-PERIOD: fewer than 20 whole days from documents issue to the
/// bid deadline.
fn bid_period(ctx: &Ctx<'_>, issued: &Timestamp, deadline: &Timestamp, earlier: &[&str]) -> Option<ComplianceFlag> {
    let period = whole_days(issued, deadline);
    (period < MIN_BID_PERIOD_DAYS).then(|| {
        ctx.flag(
            flags::BID_PERIOD,
            earlier,
            vec![days("days_from_documents_to_deadline", period, MIN_BID_PERIOD_DAYS)],
            format!(
                "招标文件于 {} 发出，投标截止时间为 {}，投标期 {period} 天，法定最少 {MIN_BID_PERIOD_DAYS} 天。",
                instant(issued),
                instant(deadline)
            ),
        )
    })
}

/// TBL-34-OPENING-TIME: the (scheduled or actual) opening is more than 60
/// seconds away from the bid deadline in force.
fn opening_time(
    ctx: &Ctx<'_>,
    deadline: &Timestamp,
    opening: &Timestamp,
    earlier: &[&str],
    actual: bool,
) -> Option<ComplianceFlag> {
    let gap = seconds_between(deadline, opening);
    let distance = gap.saturating_abs();
    (distance > OPENING_TOLERANCE_SECONDS).then(|| {
        let what = if actual { "实际开标时间" } else { "开标时间定为" };
        let side = if gap > 0 { "晚于" } else { "早于" };
        ctx.flag(
            flags::OPENING_TIME,
            earlier,
            vec![figure(
                "seconds_between_deadline_and_opening",
                distance,
                Some(OPENING_TOLERANCE_SECONDS),
                FigureUnit::Seconds,
            )],
            format!(
                "{what} {}，{side}投标截止时间 {} 共 {} 秒；开标应当在投标截止时间的同一时间公开进行。",
                instant(opening),
                instant(deadline),
                distance
            ),
        )
    })
}

// ---------------------------------------------------------------------------
// Facts.
// ---------------------------------------------------------------------------

/// TenderAnnounced.
pub(super) fn announced(ctx: &Ctx<'_>, fact: &TenderAnnounced) -> Decision {
    let state = ctx.state;
    if let Some(existing) = state.tender(&fact.tender_code) {
        return Err(reject(
            TENDER_EXISTS,
            format!("招标项目 {} 已于事件 {} 发布", fact.tender_code, existing.announced_event_id),
            format!("tender {} was already announced", fact.tender_code),
        )
        .with("tender_code", fact.tender_code.clone())
        .with("event_id", existing.announced_event_id.clone()));
    }
    if !fact.retender_of.is_empty() {
        let repeated = state.tender(&fact.retender_of);
        if !repeated.is_some_and(Tender::has_failed_or_cancelled_lot) {
            let (zh, en) = match repeated {
                Some(_) => ("没有流标或终止的标段", "has no failed or cancelled lot"),
                None => ("不存在", "is unknown in this project"),
            };
            return Err(reject(
                RETENDER_OF_UNKNOWN,
                format!("重新招标所指的招标项目 {} {zh}", fact.retender_of),
                format!("retender_of tender {} {en}", fact.retender_of),
            )
            .with("tender_code", fact.tender_code.clone())
            .with("retender_of", fact.retender_of.clone()));
        }
    }

    let mut flags = Vec::new();
    let issued = fact.tender_documents_issued_at;
    if let (Some(issued), Some(deadline)) = (&issued, &fact.bid_deadline) {
        flags.extend(bid_period(ctx, issued, deadline, &[]));
    }
    let sale = fact.document_sale_period.and_then(|period| Some((period.start?, period.end?)));
    if let Some((start, end)) = &sale {
        let window = whole_days(start, end);
        if window < MIN_SALE_DAYS {
            flags.push(ctx.flag(
                flags::SALE_WINDOW,
                &[],
                vec![days("document_sale_days", window, MIN_SALE_DAYS)],
                format!(
                    "招标文件发售期自 {} 至 {}，仅 {window} 天，法定最少 {MIN_SALE_DAYS} 天。",
                    instant(start),
                    instant(end)
                ),
            ));
        }
    }
    if fact.qualification_mode() == QualificationMode::Prequalification
        && let Some(deadline) = &fact.prequalification_deadline
        && let Some(from) = sale.map(|(_, end)| end).or(issued)
    {
        let period = whole_days(&from, deadline);
        if period < MIN_PREQUAL_DAYS {
            flags.push(ctx.flag(
                flags::PREQUAL_PERIOD,
                &[],
                vec![days("days_from_sale_end_to_prequalification_deadline", period, MIN_PREQUAL_DAYS)],
                format!(
                    "资格预审文件停止发售时间为 {}，资格预审申请截止时间为 {}，仅 {period} 天，法定最少 {MIN_PREQUAL_DAYS} 天。",
                    instant(&from),
                    instant(deadline)
                ),
            ));
        }
    }
    if let (Some(deadline), Some(opening)) = (&fact.bid_deadline, &fact.bid_opening_at) {
        flags.extend(opening_time(ctx, deadline, opening, &[], false));
    }
    Ok(flags)
}

/// TenderAmended.
pub(super) fn amended(ctx: &Ctx<'_>, fact: &TenderAmended) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lots = open_targets(tender, &fact.lot_codes)?;
    let announced = tender.announced_event_id.as_str();
    let mut flags = Vec::new();
    if let (Some(issued), Some(new_deadline)) = (&tender.documents_issued_at, &fact.new_bid_deadline) {
        flags.extend(bid_period(ctx, issued, new_deadline, &[announced]));
    }
    let in_force = earliest_deadline(&lots);
    if fact.affects_bid_preparation
        && let Some(at) = &ctx.occurred_at
    {
        let deadline = match (fact.new_bid_deadline, in_force) {
            (Some(new_deadline), _) => Some((new_deadline, announced)),
            (None, in_force) => in_force,
        };
        if let Some((deadline, source)) = deadline {
            let notice = whole_days(at, &deadline);
            if notice < MIN_CLARIFICATION_DAYS {
                let how = if fact.new_bid_deadline.is_some() {
                    format!("投标截止时间顺延至 {}，距澄清或修改仍仅 {notice} 天", instant(&deadline))
                } else {
                    format!("距投标截止时间 {} 仅 {notice} 天且未顺延", instant(&deadline))
                };
                flags.push(ctx.flag(
                    flags::LATE_CLARIFICATION,
                    &[announced, source],
                    vec![days("days_from_clarification_to_deadline", notice, MIN_CLARIFICATION_DAYS)],
                    format!(
                        "可能影响投标文件编制的澄清或修改于 {} 发出，{how}，法定最少 {MIN_CLARIFICATION_DAYS} 天。",
                        instant(at)
                    ),
                ));
            }
        }
    }
    if let Some(opening) = &fact.new_bid_opening_at
        && let Some((deadline, source)) = fact.new_bid_deadline.map(|d| (d, announced)).or(in_force)
    {
        flags.extend(opening_time(ctx, &deadline, opening, &[announced, source], false));
    }
    Ok(flags)
}

/// TenderSuspended.
pub(super) fn suspended(ctx: &Ctx<'_>, fact: &TenderSuspended) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    open_targets(tender, &fact.lot_codes)?;
    Ok(Vec::new())
}

/// TenderResumed: the lots resumed must be suspended.
pub(super) fn resumed(ctx: &Ctx<'_>, fact: &TenderResumed) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lots = open_targets(tender, &fact.lot_codes)?;
    let not_suspended: Vec<&str> =
        lots.iter().filter(|lot| lot.status != LotStatus::Suspended).map(|lot| lot.lot_code.as_str()).collect();
    // A whole-tender resumption needs some suspended lot; a named one, each.
    let refused = if fact.lot_codes.is_empty() { not_suspended.len() == lots.len() } else { !not_suspended.is_empty() };
    if refused {
        return Err(reject(
            TENDER_NOT_SUSPENDED,
            format!("招标项目 {} 的标段 {} 未暂停，无需恢复", tender.tender_code, not_suspended.join("、")),
            format!("lots {} of tender {} are not suspended", not_suspended.join(", "), tender.tender_code),
        )
        .with("tender_code", tender.tender_code.clone())
        .with("lot_code", not_suspended.join(","))
        .with("lot_state", "open"));
    }
    let mut flags = Vec::new();
    if let (Some(issued), Some(new_deadline)) = (&tender.documents_issued_at, &fact.new_bid_deadline) {
        flags.extend(bid_period(ctx, issued, new_deadline, &[tender.announced_event_id.as_str()]));
    }
    Ok(flags)
}

/// TenderCancelled.
pub(super) fn cancelled(ctx: &Ctx<'_>, fact: &TenderCancelled) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    open_targets(tender, &fact.lot_codes)?;
    Ok(Vec::new())
}

/// BidsOpened: once per lot.
pub(super) fn bids_opened(ctx: &Ctx<'_>, fact: &BidsOpened) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lot = open_lot(tender, &fact.lot_code)?;
    if let Some(opening) = &lot.opening {
        return Err(reject(
            BIDS_ALREADY_OPENED,
            format!(
                "招标项目 {} 标段 {} 已于事件 {} 开标，如需修改请提交更正",
                tender.tender_code, lot.lot_code, opening.event_id
            ),
            "bids of this lot were already opened; correct that record instead",
        )
        .with("tender_code", tender.tender_code.clone())
        .with("lot_code", lot.lot_code.clone())
        .with("event_id", opening.event_id.clone()));
    }

    let mut flags = Vec::new();
    if let (Some(deadline), Some(opened_at)) = (&lot.bid_deadline, &fact.opened_at) {
        flags.extend(opening_time(ctx, deadline, opened_at, &[lot.deadline_event_id.as_str()], true));
    }
    if let [single] = fact.bids.as_slice() {
        let bidder = single.bidder.as_ref().map(org_label).unwrap_or_default();
        flags.push(ctx.flag(
            flags::SINGLE_BIDDER,
            &[],
            vec![figure("bid_count", 1, Some(2), FigureUnit::Count)],
            format!("标段 {} 开标时仅有 1 个投标人（{bidder}），不存在竞争。", lot.lot_code),
        ));
    }
    let mut by_price: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for bid in &fact.bids {
        by_price.entry(bid.price_fen).or_default().push(bid.bidder.as_ref().map(org_label).unwrap_or_default());
    }
    let identical: Vec<(i64, Vec<String>)> = by_price.into_iter().filter(|(_, bidders)| bidders.len() > 1).collect();
    if !identical.is_empty() {
        let mut figures = Vec::new();
        let mut parts = Vec::new();
        for (price, bidders) in &identical {
            figures.push(figure("identical_bid_price_fen", *price, None, FigureUnit::Fen));
            figures.push(figure("bids_at_identical_price", bidders.len() as i64, Some(1), FigureUnit::Count));
            parts.push(format!("{} 个投标人（{}）报价均为 {}", bidders.len(), bidders.join("、"), yuan(*price)));
        }
        flags.push(ctx.flag(
            flags::IDENTICAL_PRICES,
            &[],
            figures,
            format!("标段 {} 开标记录中 {}，可能存在串通投标。", lot.lot_code, parts.join("；")),
        ));
    }
    Ok(flags)
}
