//! Award facts (中标): award result, award notice, award cancellation and
//! failed tender, each for one lot. An award price is set against the lot's
//! ceiling price when the announcement gave one.

use gongkai_proto::v1::{AwardAnnounced, AwardCancelled, AwardNoticeIssued, PartyRole, TenderFailed};

use super::{Lookup, Out, Rendered, lot_label_zh, trim_stop};
use crate::render::format::{Labels, instant_en, instant_zh, money_en, money_zh, org_en, org_zh, percent};

/// An award result: winner and price, set against the lot's ceiling price when
/// it has one.
pub(super) fn announced(mut out: Out<'_>, project: &Lookup<'_>, f: &AwardAnnounced) -> Rendered {
    out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
    let winner_zh = org_zh(f.winner.as_ref());
    let winner_en = org_en(f.winner.as_ref());
    out.title(
        format!("中标结果公告：{}标段 {winner_zh}，{}", f.lot_code, money_zh(f.award_price_fen)),
        format!("Award: lot {} to {winner_en} at {}", f.lot_code, money_en(f.award_price_fen)),
    );
    out.say(
        format!(
            "{}公告{}中标人为{winner_zh}，中标价{}。",
            instant_zh(f.announced_at.as_ref()),
            lot_label_zh(project, &f.tender_code, &f.lot_code),
            money_zh(f.award_price_fen)
        ),
        format!(
            "On {} lot {} was awarded to {winner_en} at {}.",
            instant_en(f.announced_at.as_ref()),
            f.lot_code,
            money_en(f.award_price_fen)
        ),
    );
    if let Some(ceiling) = project.lot_ceiling(&f.tender_code, &f.lot_code)
        && ceiling > 0
    {
        let bp = i64::try_from(i128::from(f.award_price_fen) * 10_000 / i128::from(ceiling)).unwrap_or(0);
        out.say(
            format!("中标价为最高投标限价的{}。", percent(bp)),
            format!("That is {} of the ceiling price.", percent(bp)),
        );
    }
    if !f.not_first_ranked_reason.is_empty() {
        out.say(
            format!("中标人非排名第一的中标候选人，理由：{}。", trim_stop(&f.not_first_ranked_reason)),
            format!("The winner is not the first-ranked candidate: {}.", f.not_first_ranked_reason),
        );
    }
    out.amount("中标价", "Award price", f.award_price_fen, &f.lot_code);
    out.party(f.winner.as_ref(), PartyRole::Supplier);
    out.finish(&f.documents)
}

/// The issue of an award notice, which starts the 30 days for the contract.
pub(super) fn notice(mut out: Out<'_>, project: &Lookup<'_>, f: &AwardNoticeIssued) -> Rendered {
    out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
    out.title(
        format!("中标通知书：{}标段 {}", f.lot_code, org_zh(f.winner.as_ref())),
        format!("Award notice: lot {} to {}", f.lot_code, org_en(f.winner.as_ref())),
    );
    out.say(
        format!(
            "{}向{}发出{}中标通知书，合同应自发出之日起30日内订立。",
            instant_zh(f.issued_at.as_ref()),
            org_zh(f.winner.as_ref()),
            lot_label_zh(project, &f.tender_code, &f.lot_code)
        ),
        format!(
            "On {} the award notice for lot {} was issued to {}; the contract is due within 30 days.",
            instant_en(f.issued_at.as_ref()),
            f.lot_code,
            org_en(f.winner.as_ref())
        ),
    );
    out.party(f.winner.as_ref(), PartyRole::Supplier);
    out.finish(&f.documents)
}

/// The cancellation of an award.
pub(super) fn cancelled(mut out: Out<'_>, project: &Lookup<'_>, f: &AwardCancelled) -> Rendered {
    out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
    out.title(format!("取消中标：{}标段", f.lot_code), format!("Award cancelled: lot {}", f.lot_code));
    out.say(
        format!("{}的中标被取消，原因：{}。", lot_label_zh(project, &f.tender_code, &f.lot_code), trim_stop(&f.reason)),
        format!("The award of lot {} was cancelled: {}.", f.lot_code, f.reason),
    );
    if !f.complaint_event_id.is_empty() {
        out.say(
            format!("起因于投诉（事件{}）。", f.complaint_event_id),
            format!("It follows complaint event {}.", f.complaint_event_id),
        );
    }
    out.finish(&f.documents)
}

/// A lot's failed tender and why.
pub(super) fn failed(mut out: Out<'_>, project: &Lookup<'_>, f: &TenderFailed) -> Rendered {
    out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
    let (reason_zh, reason_en) = f.reason().labels();
    out.title(
        format!("流标：{}标段（{reason_zh}）", f.lot_code),
        format!("Tender failed: lot {} ({reason_en})", f.lot_code),
    );
    out.say(
        format!("{}流标，原因：{reason_zh}。", lot_label_zh(project, &f.tender_code, &f.lot_code)),
        format!("The tender of lot {} failed: {reason_en}.", f.lot_code),
    );
    if !f.reason_text.is_empty() {
        out.say(format!("{}。", trim_stop(&f.reason_text)), f.reason_text.clone());
    }
    out.finish(&f.documents)
}
