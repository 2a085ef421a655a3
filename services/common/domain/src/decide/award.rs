//! Awards (中标): award result, award notice, award cancellation, failed tender.

use gongkai_proto::v1::{AwardAnnounced, AwardCancelled, AwardNoticeIssued, TenderFailed};

use super::flags::{self, figure};
use super::review::{complaint_not_found, fewer_than_3_bids, not_evaluated};
use super::rules::{AWARD_NOT_FOUND, WINNER_DID_NOT_BID};
use super::tender::{lot, open_lot, tender};
use super::time::{percent, share_bp, yuan};
use super::{Ctx, bid_of, org_label, reject, same_org};
use crate::state::{LotState, Tender};
use crate::vocabulary::FigureUnit;
use crate::{ComplianceFlag, Rejection};

type Decision = Result<Vec<ComplianceFlag>, Rejection>;

/// A winning price at this share of the ceiling or more raises GK-NEAR-CEILING.
const NEAR_CEILING_BP: i64 = 9_900;

/// AWARD_NOT_FOUND for `lot`.
pub(super) fn award_not_found(tender: &Tender, lot: &LotState, zh: &str, en: &str) -> Rejection {
    reject(
        AWARD_NOT_FOUND,
        format!("招标项目 {} 标段 {} {zh}", tender.tender_code, lot.lot_code),
        format!("lot {} of tender {}: {en}", lot.lot_code, tender.tender_code),
    )
    .with("tender_code", tender.tender_code.clone())
    .with("lot_code", lot.lot_code.clone())
}

/// AwardAnnounced: after evaluation, to a bidder of the lot.
pub(super) fn announced(ctx: &Ctx<'_>, fact: &AwardAnnounced) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lot = open_lot(tender, &fact.lot_code)?;
    let Some(evaluation) = &lot.evaluation else {
        return Err(not_evaluated(tender, lot, "确定中标人", "announce an award"));
    };
    let Some(winner) = fact.winner.as_ref().filter(|winner| bid_of(lot, winner).is_some()) else {
        let name = fact.winner.as_ref().map(org_label).unwrap_or_else(|| "（未填写）".to_owned());
        return Err(reject(
            WINNER_DID_NOT_BID,
            format!("中标人 {name} 不在招标项目 {} 标段 {} 的开标记录中", tender.tender_code, lot.lot_code),
            "the winner did not bid for the lot",
        )
        .with("tender_code", tender.tender_code.clone())
        .with("lot_code", lot.lot_code.clone())
        .with("winner", name)
        .with("event_id", lot.opening.as_ref().map(|o| o.event_id.clone()).unwrap_or_default()));
    };

    let mut flags: Vec<ComplianceFlag> =
        fewer_than_3_bids(ctx, lot, "确定了中标人", &[evaluation.event_id.as_str()]).into_iter().collect();

    let rank = evaluation
        .candidates
        .iter()
        .find(|candidate| candidate.bidder.as_ref().is_some_and(|bidder| same_org(bidder, winner)))
        .map_or(0, |candidate| i64::from(candidate.rank));
    if rank != 1 && fact.not_first_ranked_reason.trim().is_empty() {
        let first = evaluation
            .candidates
            .iter()
            .find(|candidate| candidate.rank == 1)
            .and_then(|candidate| candidate.bidder.as_ref())
            .map_or_else(|| "（评标报告未列出）".to_owned(), org_label);
        let place = if rank == 0 {
            "不在中标候选人之列".to_owned()
        } else {
            format!("为第 {rank} 名中标候选人")
        };
        flags.push(ctx.flag(
            flags::NOT_FIRST_RANKED,
            &[evaluation.event_id.as_str()],
            vec![figure("winner_candidate_rank", rank, Some(1), FigureUnit::Rank)],
            format!(
                "中标人 {} {place}，排名第一的中标候选人为 {first}，未记录不确定其为中标人的理由。",
                org_label(winner)
            ),
        ));
    }

    if let Some(ceiling) = lot.ceiling_price_fen
        && let Some(share) = share_bp(fact.award_price_fen, ceiling)
        && share >= NEAR_CEILING_BP
    {
        flags.push(ctx.flag(
            flags::NEAR_CEILING,
            &[tender.announced_event_id.as_str()],
            vec![
                figure("winning_price_share_of_ceiling", share, Some(NEAR_CEILING_BP), FigureUnit::PercentBp),
                figure("award_price_fen", fact.award_price_fen, Some(ceiling), FigureUnit::Fen),
            ],
            format!(
                "中标价 {} 为最高投标限价 {} 的 {}，达到或超过 {}。",
                yuan(fact.award_price_fen),
                yuan(ceiling),
                percent(share),
                percent(NEAR_CEILING_BP)
            ),
        ));
    }
    Ok(flags)
}

/// AwardNoticeIssued: to the winner of the award in force.
pub(super) fn notice(ctx: &Ctx<'_>, fact: &AwardNoticeIssued) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lot = open_lot(tender, &fact.lot_code)?;
    let Some(award) = &lot.award else {
        return Err(award_not_found(tender, lot, "尚未确定中标人，不能发出中标通知书", "no award in force"));
    };
    if let (Some(addressee), Some(winner)) = (&fact.winner, &award.winner)
        && !same_org(addressee, winner)
    {
        return Err(award_not_found(
            tender,
            lot,
            &format!("的中标人为 {}，中标通知书却发给 {}", org_label(winner), org_label(addressee)),
            "the notice is addressed to someone other than the winner",
        )
        .with("winner", org_label(addressee))
        .with("event_id", award.event_id.clone()));
    }
    Ok(Vec::new())
}

/// AwardCancelled: of the award in force; the complaint, when named, known.
pub(super) fn cancelled(ctx: &Ctx<'_>, fact: &AwardCancelled) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    let lot = lot(tender, &fact.lot_code)?;
    if lot.award.is_none() {
        return Err(award_not_found(tender, lot, "没有有效的中标结果，无从取消", "no award in force to cancel"));
    }
    if !fact.complaint_event_id.is_empty() && ctx.state.complaint(&fact.complaint_event_id).is_none() {
        return Err(complaint_not_found(&fact.complaint_event_id));
    }
    Ok(Vec::new())
}

/// TenderFailed: of a lot still open.
pub(super) fn failed(ctx: &Ctx<'_>, fact: &TenderFailed) -> Decision {
    let tender = tender(ctx.state, &fact.tender_code)?;
    open_lot(tender, &fact.lot_code)?;
    Ok(Vec::new())
}
