//! How soon each fact must be disclosed: its timeliness deadline, the delay
//! allowed between when it happened and when the bus recorded it
//! (recorded_at − occurred_at).
//!
//! 3 days for the tender, evaluation, publicity and award notices (IR art.
//! 54 uses 3 days for the candidate publicity; the others follow the same
//! practice), and for the expropriation notices the law wants announced
//! promptly (pre-announcement, compensation plan, approval or decision,
//! per-household results); 7 days for contracts (TBL art. 46 and the public
//! procurement practice of publishing within 2 working days, with margin),
//! 30 days for performance records (milestones, payments, variations, issues,
//! completion, final accounts, compensation paid, relocation) and
//! [`DEFAULT_DEADLINE_SECONDS`], 20 days, otherwise (approvals, PPP details,
//! risk assessments, EIA approvals, status changes, corrections).
//!
//! [`deadline`] decides by the fact kind, every kind named, so a new kind
//! needs a decision; the type-keyed views ([`deadline_of_type`],
//! [`deadlines`]) are derived from it with [`crate::kinds`].

use std::sync::LazyLock;

use gongkai_proto::v1::fact::Kind;

use crate::clock::DAY;
use crate::kinds::{every_kind, fact_type};

/// Deadline of the notices: tender, bids, evaluation, publicity, award.
const NOTICE: i64 = 3 * DAY;
/// Deadline of a contract.
const CONTRACT: i64 = 7 * DAY;
/// Deadline of a performance record.
const PERFORMANCE: i64 = 30 * DAY;
/// Deadline of every other fact and of corrections: 20 days.
pub const DEFAULT_DEADLINE_SECONDS: i64 = 20 * DAY;

/// The allowed delay of a fact of this kind, seconds.
pub fn deadline(kind: &Kind) -> i64 {
    match kind {
        Kind::TenderAnnounced(_)
        | Kind::TenderAmended(_)
        | Kind::BidsOpened(_)
        | Kind::BidsEvaluated(_)
        | Kind::CandidatesPublicized(_)
        | Kind::AwardAnnounced(_)
        | Kind::AwardNoticeIssued(_)
        | Kind::ExpropriationPreAnnounced(_)
        | Kind::CompensationPlanPublished(_)
        | Kind::ExpropriationDecided(_)
        | Kind::HouseholdCompensationPublished(_) => NOTICE,
        Kind::ContractSigned(_) => CONTRACT,
        Kind::ContractVaried(_)
        | Kind::MilestoneReached(_)
        | Kind::PaymentMade(_)
        | Kind::PerformanceIssueRecorded(_)
        | Kind::CompletionAccepted(_)
        | Kind::ContractSettled(_)
        | Kind::FinalAccountsSettled(_)
        | Kind::CompensationPaid(_)
        | Kind::RelocationRecorded(_) => PERFORMANCE,
        Kind::ProjectApproved(_)
        | Kind::PppDetailsDisclosed(_)
        | Kind::ProjectSuspended(_)
        | Kind::ProjectResumed(_)
        | Kind::ProjectCancelled(_)
        | Kind::SocialStabilityRiskAssessed(_)
        | Kind::EnvironmentalImpactApproved(_)
        | Kind::TenderSuspended(_)
        | Kind::TenderResumed(_)
        | Kind::TenderCancelled(_)
        | Kind::PrequalificationCompleted(_)
        | Kind::ObjectionRaised(_)
        | Kind::ComplaintFiled(_)
        | Kind::ComplaintDecided(_)
        | Kind::AwardCancelled(_)
        | Kind::TenderFailed(_) => DEFAULT_DEADLINE_SECONDS,
    }
}

/// The deadlines other than the default, by CloudEvents type, in the
/// contract's order of the kinds.
static SPECIFIC: LazyLock<Vec<(String, i64)>> = LazyLock::new(|| {
    every_kind()
        .iter()
        .map(|kind| (fact_type(kind), deadline(kind)))
        .filter(|(_, seconds)| *seconds != DEFAULT_DEADLINE_SECONDS)
        .collect()
});

/// Every deadline other than [`DEFAULT_DEADLINE_SECONDS`], keyed by the
/// CloudEvents type of its kind (`gongkai.v1.TenderAnnounced`), in the
/// contract's order of the kinds.
pub fn deadlines() -> &'static [(String, i64)] {
    &SPECIFIC
}

/// The allowed delay of an event of CloudEvents type `event_type`, seconds:
/// its kind's [`deadline`], the default for any other type (corrections).
pub fn deadline_of_type(event_type: &str) -> i64 {
    deadlines().iter().find(|(name, _)| name == event_type).map_or(DEFAULT_DEADLINE_SECONDS, |(_, seconds)| *seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadlines_are_the_published_table() {
        let table: Vec<(&str, i64)> = deadlines().iter().map(|(name, seconds)| (name.as_str(), *seconds)).collect();
        assert_eq!(
            table,
            [
                ("gongkai.v1.ExpropriationPreAnnounced", 3 * DAY),
                ("gongkai.v1.CompensationPlanPublished", 3 * DAY),
                ("gongkai.v1.ExpropriationDecided", 3 * DAY),
                ("gongkai.v1.CompensationPaid", 30 * DAY),
                ("gongkai.v1.HouseholdCompensationPublished", 3 * DAY),
                ("gongkai.v1.RelocationRecorded", 30 * DAY),
                ("gongkai.v1.TenderAnnounced", 3 * DAY),
                ("gongkai.v1.TenderAmended", 3 * DAY),
                ("gongkai.v1.BidsOpened", 3 * DAY),
                ("gongkai.v1.BidsEvaluated", 3 * DAY),
                ("gongkai.v1.CandidatesPublicized", 3 * DAY),
                ("gongkai.v1.AwardAnnounced", 3 * DAY),
                ("gongkai.v1.AwardNoticeIssued", 3 * DAY),
                ("gongkai.v1.ContractSigned", 7 * DAY),
                ("gongkai.v1.ContractVaried", 30 * DAY),
                ("gongkai.v1.MilestoneReached", 30 * DAY),
                ("gongkai.v1.PaymentMade", 30 * DAY),
                ("gongkai.v1.PerformanceIssueRecorded", 30 * DAY),
                ("gongkai.v1.CompletionAccepted", 30 * DAY),
                ("gongkai.v1.FinalAccountsSettled", 30 * DAY),
                ("gongkai.v1.ContractSettled", 30 * DAY),
            ]
        );
        assert_eq!(DEFAULT_DEADLINE_SECONDS, 20 * DAY);
    }

    #[test]
    fn a_type_gets_its_kinds_deadline_or_the_default() {
        assert_eq!(deadline_of_type("gongkai.v1.ContractSigned"), 7 * DAY);
        assert_eq!(deadline_of_type("gongkai.v1.ProjectApproved"), 20 * DAY);
        assert_eq!(deadline_of_type("gongkai.v1.DisclosureCorrected"), 20 * DAY);
        assert_eq!(deadline_of_type("ContractSigned"), 20 * DAY);
        for kind in every_kind() {
            assert_eq!(deadline_of_type(&fact_type(&kind)), deadline(&kind));
        }
    }
}
