//! Builders of the tenders domain: the announcement (post- or prequalified),
//! amendment, suspension, resumption, cancellation, bids and their opening.

use gongkai_proto::v1::{
    AmendmentKind, Bid, BidsOpened, Lot, ProcurementMethod, QualificationMode, TenderAmended, TenderAnnounced,
    TenderCancelled, TenderResumed, TenderSuspended,
};

use super::{CEILING, authority, day, lot_codes, org, period};

/// A post-qualified open tender: documents issued day 10, sold day 10..16,
/// bid deadline and opening day 35 (25 days), each lot with the ceiling.
pub(crate) fn tender(code: &str, lots: &[&str]) -> TenderAnnounced {
    TenderAnnounced {
        tender_code: code.to_owned(),
        name: format!("{code} 施工招标"),
        method: ProcurementMethod::Open as i32,
        lots: lots
            .iter()
            .map(|lot| Lot {
                lot_code: (*lot).to_owned(),
                name: format!("施工{lot}标段"),
                ceiling_price_fen: Some(CEILING),
                estimated_value_fen: CEILING,
                description: String::new(),
                planned_contract_period: None,
            })
            .collect(),
        tender_documents_issued_at: Some(day(10)),
        document_sale_period: Some(period(day(10), day(16))),
        bid_deadline: Some(day(35)),
        bid_opening_at: Some(day(35)),
        bid_opening_place: "哈尔滨市公共资源交易中心第三开标室".to_owned(),
        qualification_mode: QualificationMode::PostQualification as i32,
        prequalification_deadline: None,
        bid_security_fen: 0,
        unified_deal_code: format!("DEAL-{code}"),
        retender_of: String::new(),
        invited_bidders: Vec::new(),
        tenderee: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        tender_agent: None,
        category: 0,
        documents: Vec::new(),
    }
}

/// The same tender with prequalification: applications close day 21 (5 days
/// after the sale window closes).
pub(crate) fn prequalified_tender(code: &str, lots: &[&str]) -> TenderAnnounced {
    TenderAnnounced {
        qualification_mode: QualificationMode::Prequalification as i32,
        prequalification_deadline: Some(day(21)),
        ..tender(code, lots)
    }
}

/// A clarification of every lot that does not affect bid preparation.
pub(crate) fn amended(code: &str) -> TenderAmended {
    TenderAmended {
        tender_code: code.to_owned(),
        lot_codes: Vec::new(),
        kind: AmendmentKind::Clarification as i32,
        affects_bid_preparation: false,
        new_bid_deadline: None,
        new_bid_opening_at: None,
        summary: "澄清工程量清单第 3 项".to_owned(),
        documents: Vec::new(),
    }
}

pub(crate) fn tender_suspended(code: &str, lots: &[&str]) -> TenderSuspended {
    TenderSuspended {
        tender_code: code.to_owned(),
        lot_codes: lot_codes(lots),
        reason: "因投诉暂停".to_owned(),
        documents: Vec::new(),
    }
}

pub(crate) fn tender_resumed(code: &str, lots: &[&str]) -> TenderResumed {
    TenderResumed {
        tender_code: code.to_owned(),
        lot_codes: lot_codes(lots),
        reason: "投诉处理完毕".to_owned(),
        new_bid_deadline: None,
        documents: Vec::new(),
    }
}

pub(crate) fn tender_cancelled(code: &str, lots: &[&str]) -> TenderCancelled {
    TenderCancelled {
        tender_code: code.to_owned(),
        lot_codes: lot_codes(lots),
        reason: "需求变更".to_owned(),
        documents: Vec::new(),
    }
}

/// A bid by company `n` at `price_fen`, submitted day 30.
pub(crate) fn bid(n: u32, price_fen: i64) -> Bid {
    Bid { bidder: Some(org(n)), price_fen, submitted_at: Some(day(30)), consortium_members: Vec::new() }
}

/// Bids of companies `bidders`, priced 4 500 万元 + 100 万元 per position.
pub(crate) fn bids(bidders: &[u32]) -> Vec<Bid> {
    bidders.iter().zip(0_i64..).map(|(n, i)| bid(*n, price_of(i))).collect()
}

/// Price of the bid at position `i` of [`bids`].
pub(crate) fn price_of(i: i64) -> i64 {
    4_500_000_000 + i * 100_000_000
}

/// Bid opening of a lot at the day-35 deadline.
pub(crate) fn opened(code: &str, lot: &str, bids: Vec<Bid>) -> BidsOpened {
    BidsOpened {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        opened_at: Some(day(35)),
        place: "哈尔滨市公共资源交易中心第三开标室".to_owned(),
        bids,
        documents: Vec::new(),
    }
}
