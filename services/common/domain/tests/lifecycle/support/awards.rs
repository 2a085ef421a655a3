//! Builders of the awards domain: award, award notice, award cancellation,
//! failed tender.

use gongkai_proto::v1::{AwardAnnounced, AwardCancelled, AwardNoticeIssued, TenderFailed, TenderFailureReason};

use super::{day, org};

/// Award to company `winner` at `price_fen`, announced day 42.
pub(crate) fn awarded(code: &str, lot: &str, winner: u32, price_fen: i64) -> AwardAnnounced {
    AwardAnnounced {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        winner: Some(org(winner)),
        award_price_fen: price_fen,
        announced_at: Some(day(42)),
        not_first_ranked_reason: String::new(),
        documents: Vec::new(),
    }
}

/// Award notice to company `winner`, issued day 43.
pub(crate) fn notice(code: &str, lot: &str, winner: u32) -> AwardNoticeIssued {
    AwardNoticeIssued {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        winner: Some(org(winner)),
        issued_at: Some(day(43)),
        documents: Vec::new(),
    }
}

pub(crate) fn award_cancelled(code: &str, lot: &str) -> AwardCancelled {
    AwardCancelled {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        reason: "投诉成立，中标无效".to_owned(),
        complaint_event_id: String::new(),
        documents: Vec::new(),
    }
}

pub(crate) fn tender_failed(code: &str, lot: &str) -> TenderFailed {
    TenderFailed {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        reason: TenderFailureReason::FewerThanThreeBids as i32,
        reason_text: String::new(),
        documents: Vec::new(),
    }
}
