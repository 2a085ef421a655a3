//! Builders of the qualification review domain: evaluation, candidate
//! publicity, prequalification, objection, complaint and its decision.

use gongkai_proto::v1::{
    BidsEvaluated, Candidate, CandidatesPublicized, ComplaintDecided, ComplaintFiled, ComplaintOutcome,
    ObjectionRaised, PrequalificationCompleted,
};

use super::{authority, day, org, period, price_of};

/// Candidates: company `ranked[i]` at rank i + 1, with the [`bids`] price of
/// its position.
fn candidates(ranked: &[u32]) -> Vec<Candidate> {
    ranked
        .iter()
        .zip(1..)
        .map(|(n, rank)| Candidate {
            rank,
            bidder: Some(org(*n)),
            bid_price_fen: price_of(i64::from(rank) - 1),
            score: String::new(),
            project_manager: None,
        })
        .collect()
}

/// Evaluation completed day 37.
pub(crate) fn evaluated(code: &str, lot: &str, ranked: &[u32]) -> BidsEvaluated {
    BidsEvaluated {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        completed_at: Some(day(37)),
        candidates: candidates(ranked),
        committee_members: Vec::new(),
        valid_bid_count: ranked.len() as i32,
        rejected_bids: Vec::new(),
        evaluation_method: 0,
        documents: Vec::new(),
    }
}

/// Publicity day 38..41 (3 days).
pub(crate) fn publicized(code: &str, lot: &str, ranked: &[u32]) -> CandidatesPublicized {
    CandidatesPublicized {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        publicity_period: Some(period(day(38), day(41))),
        candidates: candidates(ranked),
        documents: Vec::new(),
    }
}

pub(crate) fn prequalification(code: &str) -> PrequalificationCompleted {
    PrequalificationCompleted {
        tender_code: code.to_owned(),
        lot_codes: Vec::new(),
        application_period: Some(period(day(16), day(21))),
        qualified_applicants: vec![org(1), org(2), org(3)],
        disqualified_applicants: Vec::new(),
        documents: Vec::new(),
    }
}

pub(crate) fn objection(code: &str, lot: &str) -> ObjectionRaised {
    ObjectionRaised {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        objector: Some(org(4)),
        received_at: Some(day(39)),
        subject: "对第一中标候选人业绩有异议".to_owned(),
        answered_at: Some(day(40)),
        answer: "经核查业绩属实".to_owned(),
        stage: 0,
        documents: Vec::new(),
    }
}

pub(crate) fn complaint(code: &str, lot: &str, objection_event_id: &str) -> ComplaintFiled {
    ComplaintFiled {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        complainant: Some(org(4)),
        authority: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        received_at: Some(day(41)),
        subject: "评标结果投诉".to_owned(),
        details: String::new(),
        objection_event_id: objection_event_id.to_owned(),
        documents: Vec::new(),
    }
}

pub(crate) fn complaint_decided(complaint_event_id: &str) -> ComplaintDecided {
    ComplaintDecided {
        complaint_event_id: complaint_event_id.to_owned(),
        decided_at: Some(day(60)),
        outcome: ComplaintOutcome::Dismissed as i32,
        decision_summary: "投诉缺乏事实根据，予以驳回".to_owned(),
        documents: Vec::new(),
    }
}
