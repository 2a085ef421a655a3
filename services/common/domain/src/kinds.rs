//! Which domain (service, topic) each fact belongs to, and its type name.

use gongkai_proto::v1::Domain;
use gongkai_proto::v1::fact::Kind;

use crate::Body;

/// The lifecycle domain that owns a fact kind.
pub fn domain_of(kind: &Kind) -> Domain {
    match kind {
        Kind::ProjectApproved(_)
        | Kind::PppDetailsDisclosed(_)
        | Kind::ProjectSuspended(_)
        | Kind::ProjectResumed(_)
        | Kind::ProjectCancelled(_) => Domain::Projects,
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
    }
}

/// The CloudEvents `type` of an event body, e.g. `gongkai.v1.TenderAnnounced`.
pub fn event_type(body: &Body) -> String {
    match body {
        Body::Fact(fact) => match &fact.kind {
            Some(kind) => format!("gongkai.v1.{}", kind_name(kind)),
            None => "gongkai.v1.Fact".to_owned(),
        },
        Body::Correction(_) => "gongkai.v1.DisclosureCorrected".to_owned(),
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

/// The topic name part of a domain, e.g. `tenders` in `gongkai.tenders.v1`.
pub fn domain_slug(domain: Domain) -> &'static str {
    match domain {
        Domain::Unspecified => "unspecified",
        Domain::Projects => "projects",
        Domain::Tenders => "tenders",
        Domain::Review => "review",
        Domain::Awards => "awards",
        Domain::Contracts => "contracts",
    }
}

/// The Kafka topic of a domain: one per domain, value = protobuf
/// `EventEnvelope`, key = project code. Part of the public contract.
pub fn topic(domain: Domain) -> &'static str {
    match domain {
        Domain::Unspecified => "gongkai.unspecified.v1",
        Domain::Projects => "gongkai.projects.v1",
        Domain::Tenders => "gongkai.tenders.v1",
        Domain::Review => "gongkai.review.v1",
        Domain::Awards => "gongkai.awards.v1",
        Domain::Contracts => "gongkai.contracts.v1",
    }
}

/// Every domain that has a topic.
pub const DOMAINS: [Domain; 5] = [Domain::Projects, Domain::Tenders, Domain::Review, Domain::Awards, Domain::Contracts];
