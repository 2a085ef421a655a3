//! Which domain (service, topic) each fact belongs to, and its type name.

use gongkai_proto::v1::Domain;
use gongkai_proto::v1::fact::Kind;

use crate::Body;
// Spelled with the domain's label, so it lives with the labels.
pub use crate::vocabulary::topic;

/// The package of every contract message, as it prefixes a type name.
const PACKAGE: &str = "gongkai.v1.";

/// The lifecycle domain that owns a fact kind.
pub fn domain_of(kind: &Kind) -> Domain {
    match kind {
        Kind::ProjectApproved(_)
        | Kind::PppDetailsDisclosed(_)
        | Kind::ProjectSuspended(_)
        | Kind::ProjectResumed(_)
        | Kind::ProjectCancelled(_)
        | Kind::ExpropriationPreAnnounced(_)
        | Kind::CompensationPlanPublished(_)
        | Kind::SocialStabilityRiskAssessed(_)
        | Kind::ExpropriationDecided(_)
        | Kind::CompensationPaid(_)
        | Kind::HouseholdCompensationPublished(_)
        | Kind::RelocationRecorded(_)
        | Kind::EnvironmentalImpactApproved(_) => Domain::Projects,
        Kind::TenderAnnounced(_)
        | Kind::TenderAmended(_)
        | Kind::TenderSuspended(_)
        | Kind::TenderResumed(_)
        | Kind::TenderCancelled(_)
        | Kind::BidsOpened(_) => Domain::Tenders,
        Kind::PrequalificationCompleted(_)
        | Kind::BidsEvaluated(_)
        | Kind::CandidatesPublicized(_)
        | Kind::ObjectionRaised(_)
        | Kind::ComplaintFiled(_)
        | Kind::ComplaintDecided(_) => Domain::Review,
        Kind::AwardAnnounced(_) | Kind::AwardNoticeIssued(_) | Kind::AwardCancelled(_) | Kind::TenderFailed(_) => {
            Domain::Awards
        }
        Kind::ContractSigned(_)
        | Kind::ContractVaried(_)
        | Kind::MilestoneReached(_)
        | Kind::PaymentMade(_)
        | Kind::PerformanceIssueRecorded(_)
        | Kind::CompletionAccepted(_)
        | Kind::ContractSettled(_)
        | Kind::FinalAccountsSettled(_) => Domain::Contracts,
    }
}

/// The protobuf message name of a fact kind, without the package.
pub fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::ProjectApproved(_) => "ProjectApproved",
        Kind::PppDetailsDisclosed(_) => "PppDetailsDisclosed",
        Kind::ProjectSuspended(_) => "ProjectSuspended",
        Kind::ProjectResumed(_) => "ProjectResumed",
        Kind::ProjectCancelled(_) => "ProjectCancelled",
        Kind::ExpropriationPreAnnounced(_) => "ExpropriationPreAnnounced",
        Kind::CompensationPlanPublished(_) => "CompensationPlanPublished",
        Kind::SocialStabilityRiskAssessed(_) => "SocialStabilityRiskAssessed",
        Kind::ExpropriationDecided(_) => "ExpropriationDecided",
        Kind::CompensationPaid(_) => "CompensationPaid",
        Kind::HouseholdCompensationPublished(_) => "HouseholdCompensationPublished",
        Kind::RelocationRecorded(_) => "RelocationRecorded",
        Kind::EnvironmentalImpactApproved(_) => "EnvironmentalImpactApproved",
        Kind::TenderAnnounced(_) => "TenderAnnounced",
        Kind::TenderAmended(_) => "TenderAmended",
        Kind::TenderSuspended(_) => "TenderSuspended",
        Kind::TenderResumed(_) => "TenderResumed",
        Kind::TenderCancelled(_) => "TenderCancelled",
        Kind::BidsOpened(_) => "BidsOpened",
        Kind::PrequalificationCompleted(_) => "PrequalificationCompleted",
        Kind::BidsEvaluated(_) => "BidsEvaluated",
        Kind::CandidatesPublicized(_) => "CandidatesPublicized",
        Kind::ObjectionRaised(_) => "ObjectionRaised",
        Kind::ComplaintFiled(_) => "ComplaintFiled",
        Kind::ComplaintDecided(_) => "ComplaintDecided",
        Kind::AwardAnnounced(_) => "AwardAnnounced",
        Kind::AwardNoticeIssued(_) => "AwardNoticeIssued",
        Kind::AwardCancelled(_) => "AwardCancelled",
        Kind::TenderFailed(_) => "TenderFailed",
        Kind::ContractSigned(_) => "ContractSigned",
        Kind::ContractVaried(_) => "ContractVaried",
        Kind::MilestoneReached(_) => "MilestoneReached",
        Kind::PaymentMade(_) => "PaymentMade",
        Kind::PerformanceIssueRecorded(_) => "PerformanceIssueRecorded",
        Kind::CompletionAccepted(_) => "CompletionAccepted",
        Kind::FinalAccountsSettled(_) => "FinalAccountsSettled",
        Kind::ContractSettled(_) => "ContractSettled",
    }
}

/// Every fact kind, its payload empty, in the contract's order (the field
/// numbers of `Fact.kind`).
pub fn every_kind() -> [Kind; 37] {
    [
        Kind::ProjectApproved(Default::default()),
        Kind::PppDetailsDisclosed(Default::default()),
        Kind::ProjectSuspended(Default::default()),
        Kind::ProjectResumed(Default::default()),
        Kind::ProjectCancelled(Default::default()),
        Kind::ExpropriationPreAnnounced(Default::default()),
        Kind::CompensationPlanPublished(Default::default()),
        Kind::SocialStabilityRiskAssessed(Default::default()),
        Kind::ExpropriationDecided(Default::default()),
        Kind::CompensationPaid(Default::default()),
        Kind::HouseholdCompensationPublished(Default::default()),
        Kind::RelocationRecorded(Default::default()),
        Kind::EnvironmentalImpactApproved(Default::default()),
        Kind::TenderAnnounced(Default::default()),
        Kind::TenderAmended(Default::default()),
        Kind::TenderSuspended(Default::default()),
        Kind::TenderResumed(Default::default()),
        Kind::TenderCancelled(Default::default()),
        Kind::BidsOpened(Default::default()),
        Kind::PrequalificationCompleted(Default::default()),
        Kind::BidsEvaluated(Default::default()),
        Kind::CandidatesPublicized(Default::default()),
        Kind::ObjectionRaised(Default::default()),
        Kind::ComplaintFiled(Default::default()),
        Kind::ComplaintDecided(Default::default()),
        Kind::AwardAnnounced(Default::default()),
        Kind::AwardNoticeIssued(Default::default()),
        Kind::AwardCancelled(Default::default()),
        Kind::TenderFailed(Default::default()),
        Kind::ContractSigned(Default::default()),
        Kind::ContractVaried(Default::default()),
        Kind::MilestoneReached(Default::default()),
        Kind::PaymentMade(Default::default()),
        Kind::PerformanceIssueRecorded(Default::default()),
        Kind::CompletionAccepted(Default::default()),
        Kind::FinalAccountsSettled(Default::default()),
        Kind::ContractSettled(Default::default()),
    ]
}

/// The CloudEvents `type` of a fact of this kind, e.g.
/// `gongkai.v1.TenderAnnounced`.
pub fn fact_type(kind: &Kind) -> String {
    format!("{PACKAGE}{}", kind_name(kind))
}

/// The CloudEvents `type` of an event body, e.g. `gongkai.v1.TenderAnnounced`.
pub fn event_type(body: &Body) -> String {
    match body {
        Body::Fact(fact) => match &fact.kind {
            Some(kind) => fact_type(kind),
            None => format!("{PACKAGE}Fact"),
        },
        Body::Correction(_) => format!("{PACKAGE}DisclosureCorrected"),
    }
}

/// The domain an event body belongs to: its fact's, or for a correction, the
/// replacement's (which must be the superseded event's).
pub fn body_domain(body: &Body) -> Option<Domain> {
    let kind = match body {
        Body::Fact(fact) => fact.kind.as_ref(),
        Body::Correction(correction) => correction.replacement.as_ref().and_then(|fact| fact.kind.as_ref()),
    };
    kind.map(domain_of)
}

/// Every domain that has a topic.
pub const DOMAINS: [Domain; 5] = [Domain::Projects, Domain::Tenders, Domain::Review, Domain::Awards, Domain::Contracts];

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;

    #[test]
    fn every_kind_is_every_field_of_the_fact_oneof_in_order() {
        let pool = DescriptorPool::decode(gongkai_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
        let fact = pool.get_message_by_name("gongkai.v1.Fact").expect("Fact");
        let oneof = fact.oneofs().find(|oneof| oneof.name() == "kind").expect("Fact.kind");
        let contract: Vec<String> =
            oneof.fields().map(|field| field.kind().as_message().expect("a message").full_name().to_owned()).collect();
        let ours: Vec<String> = every_kind().iter().map(fact_type).collect();
        assert_eq!(ours, contract);
    }
}
