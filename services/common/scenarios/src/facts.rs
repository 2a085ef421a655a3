//! A valid fact of each kind the lawful lifecycle does not use.
//!
//! What tests vary (codes, parties, times, the events a fact refers to) is an
//! argument; vary anything else with struct update syntax, e.g.
//! `pb::TenderResumed { reason: "…".into(), ..facts::tender_resumed("T1", at) }`.
//! Each fact passes validation on its own; whether it is lawful next depends
//! on the project's record, which is the caller's to arrange.

use chrono::{DateTime, Duration, Utc};
use gongkai_proto::v1 as pb;

use crate::{org, ts};

/// The authority that suspends, resumes and cancels the projects here.
fn development_commission() -> pb::Organization {
    org("哈尔滨市发展和改革委员会", 1)
}

fn codes(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|code| (*code).to_owned()).collect()
}

/// A project suspended for a planning change.
pub fn project_suspended() -> pb::ProjectSuspended {
    pb::ProjectSuspended {
        reason: "规划调整".into(),
        decided_by: Some(development_commission()),
        documents: Vec::new(),
    }
}

/// A project resumed once the planning change is done.
pub fn project_resumed() -> pb::ProjectResumed {
    pb::ProjectResumed {
        reason: "规划调整完成".into(),
        decided_by: Some(development_commission()),
        documents: Vec::new(),
    }
}

/// A project cancelled.
pub fn project_cancelled() -> pb::ProjectCancelled {
    pb::ProjectCancelled {
        reason: "项目取消".into(),
        decided_by: Some(development_commission()),
        documents: Vec::new(),
    }
}

/// Tender `tender_code` suspended on an objection (`lot_codes` empty: every lot).
pub fn tender_suspended(tender_code: &str, lot_codes: &[&str]) -> pb::TenderSuspended {
    pb::TenderSuspended {
        tender_code: tender_code.to_owned(),
        lot_codes: codes(lot_codes),
        reason: "收到异议，暂停招标活动".into(),
        documents: Vec::new(),
    }
}

/// Every lot of tender `tender_code` resumed, bids now due at `new_bid_deadline`.
pub fn tender_resumed(tender_code: &str, new_bid_deadline: DateTime<Utc>) -> pb::TenderResumed {
    pb::TenderResumed {
        tender_code: tender_code.to_owned(),
        lot_codes: Vec::new(),
        reason: "异议处理完毕".into(),
        new_bid_deadline: Some(ts(new_bid_deadline)),
        documents: Vec::new(),
    }
}

/// Tender `tender_code` cancelled (`lot_codes` empty: every lot).
pub fn tender_cancelled(tender_code: &str, lot_codes: &[&str]) -> pb::TenderCancelled {
    pb::TenderCancelled {
        tender_code: tender_code.to_owned(),
        lot_codes: codes(lot_codes),
        reason: "项目调整".into(),
        documents: Vec::new(),
    }
}

/// Prequalification of `lot_codes` of tender `tender_code`, applications open
/// for eight days from `applications_open`; `qualified` pass, nobody fails.
pub fn prequalification_completed(
    tender_code: &str,
    lot_codes: &[&str],
    applications_open: DateTime<Utc>,
    qualified: Vec<pb::Organization>,
) -> pb::PrequalificationCompleted {
    pb::PrequalificationCompleted {
        tender_code: tender_code.to_owned(),
        lot_codes: codes(lot_codes),
        application_period: Some(pb::Period {
            start: Some(ts(applications_open)),
            end: Some(ts(applications_open + Duration::days(8))),
        }),
        qualified_applicants: qualified,
        disqualified_applicants: Vec::new(),
        documents: Vec::new(),
    }
}

/// An objection by `objector` to the tender documents of lot `lot_code`,
/// received at `received_at` and answered two days later.
pub fn objection_raised(
    tender_code: &str,
    lot_code: &str,
    objector: pb::Organization,
    received_at: DateTime<Utc>,
) -> pb::ObjectionRaised {
    pb::ObjectionRaised {
        tender_code: tender_code.to_owned(),
        lot_code: lot_code.to_owned(),
        objector: Some(objector),
        received_at: Some(ts(received_at)),
        subject: "对招标文件资格条件提出异议".into(),
        answered_at: Some(ts(received_at + Duration::days(2))),
        answer: "经复核维持原结果".into(),
        stage: pb::ObjectionStage::Documents as i32,
        documents: Vec::new(),
    }
}

/// A complaint by `complainant` against the answer to the objection recorded
/// as event `objection_event_id`, received at `received_at`.
pub fn complaint_filed(
    tender_code: &str,
    lot_code: &str,
    complainant: pb::Organization,
    received_at: DateTime<Utc>,
    objection_event_id: &str,
) -> pb::ComplaintFiled {
    pb::ComplaintFiled {
        tender_code: tender_code.to_owned(),
        lot_code: lot_code.to_owned(),
        complainant: Some(complainant),
        authority: Some(org("哈尔滨市住房和城乡建设局", 520)),
        received_at: Some(ts(received_at)),
        subject: "对异议答复不服".into(),
        details: "涉及商业秘密的投诉细节".into(),
        objection_event_id: objection_event_id.to_owned(),
        documents: Vec::new(),
    }
}

/// The complaint recorded as event `complaint_event_id`, dismissed at `decided_at`.
pub fn complaint_decided(complaint_event_id: &str, decided_at: DateTime<Utc>) -> pb::ComplaintDecided {
    pb::ComplaintDecided {
        complaint_event_id: complaint_event_id.to_owned(),
        decided_at: Some(ts(decided_at)),
        outcome: pb::ComplaintOutcome::Dismissed as i32,
        decision_summary: "投诉缺乏事实依据，予以驳回".into(),
        documents: Vec::new(),
    }
}

/// The award of lot `lot_code` cancelled for fraud.
pub fn award_cancelled(tender_code: &str, lot_code: &str) -> pb::AwardCancelled {
    pb::AwardCancelled {
        tender_code: tender_code.to_owned(),
        lot_code: lot_code.to_owned(),
        reason: "中标人弄虚作假".into(),
        complaint_event_id: String::new(),
        documents: Vec::new(),
    }
}

/// Lot `lot_code` failed for want of three valid bids.
pub fn tender_failed(tender_code: &str, lot_code: &str) -> pb::TenderFailed {
    pb::TenderFailed {
        tender_code: tender_code.to_owned(),
        lot_code: lot_code.to_owned(),
        reason: pb::TenderFailureReason::FewerThanThreeBids as i32,
        reason_text: "有效投标人不足三家".into(),
        documents: Vec::new(),
    }
}

/// A twelve-day delay under contract `contract_code` at `occurred_at`, with a penalty.
pub fn performance_issue_recorded(contract_code: &str, occurred_at: DateTime<Utc>) -> pb::PerformanceIssueRecorded {
    pb::PerformanceIssueRecorded {
        contract_code: contract_code.to_owned(),
        kind: pb::PerformanceIssueKind::Delay as i32,
        occurred_at: Some(ts(occurred_at)),
        description: "冬季施工延误".into(),
        penalty_fen: Some(5_000_000),
        delay_days: Some(12),
        documents: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use gongkai_domain::validate;
    use gongkai_domain::{Body, Submission};
    use gongkai_proto::v1::fact::Kind;

    use super::*;

    #[test]
    fn every_fact_passes_validation() {
        let at = Utc.with_ymd_and_hms(2024, 6, 3, 1, 0, 0).single().expect("valid time");
        let event = "01900000-0000-7000-8000-000000000001";
        let bidder = org("甲建设有限公司", 501);
        let kinds = [
            Kind::ProjectSuspended(project_suspended()),
            Kind::ProjectResumed(project_resumed()),
            Kind::ProjectCancelled(project_cancelled()),
            Kind::TenderSuspended(tender_suspended("T1", &["A1"])),
            Kind::TenderResumed(tender_resumed("T1", at + Duration::days(30))),
            Kind::TenderCancelled(tender_cancelled("T1", &[])),
            Kind::PrequalificationCompleted(prequalification_completed("T1", &["A1"], at, vec![bidder.clone()])),
            Kind::ObjectionRaised(objection_raised("T1", "A1", bidder.clone(), at)),
            Kind::ComplaintFiled(complaint_filed("T1", "A1", bidder, at, event)),
            Kind::ComplaintDecided(complaint_decided(event, at)),
            Kind::AwardCancelled(award_cancelled("T1", "A1")),
            Kind::TenderFailed(tender_failed("T1", "A1")),
            Kind::PerformanceIssueRecorded(performance_issue_recorded("HT-A1", at)),
        ];
        for kind in kinds {
            let submission = Submission {
                request_id: "r-1".into(),
                project_code: "2024-230113-77-01-000001".into(),
                occurred_at: Some(ts(at + Duration::days(40))),
                body: Some(Body::Fact(pb::Fact { kind: Some(kind.clone()) })),
            };
            let violations = validate::submission(&submission, at + Duration::days(365));
            assert!(violations.is_empty(), "{kind:?}: {violations:?}");
        }
    }
}
