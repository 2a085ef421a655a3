//! Lawful project lifecycles and valid facts, as the ingestion requests a
//! trading center would send: the fixtures the load generator, the benches
//! and the tests share.
//!
//! The crate sits at the bottom of the tree, beside the contract: of
//! gongkai's crates it needs only the generated messages (`gongkai-proto`),
//! so the load generator and `gongkai-testkit` both build on it and neither
//! depends on the other. Sending a [`Request`] over gRPC is the load
//! generator's business (`gongkai_load::Clients`); submitting it in-process
//! is testkit's (`gongkai_testkit::submission`).
//!
//! - [`ppp_lifecycle`]: a complete PPP project, approval to final accounts,
//!   that raises no compliance flag; tests derive unlawful variants from it.
//! - [`expropriation_lifecycle`] ([`land`]): the same project with its land
//!   expropriation and resettlement before the tender and the start of
//!   operation after completion, equally lawful.
//! - [`facts`]: a valid fact of each kind that lifecycle does not use
//!   (suspensions, cancellations, prequalification, objections and
//!   complaints, a cancelled award, a failed tender, a performance issue).

pub mod facts;
pub mod land;
mod lifecycle;

use chrono::{DateTime, Utc};
use gongkai_proto::v1 as pb;
use prost_types::Timestamp;

pub use land::expropriation_lifecycle;
pub use lifecycle::{PppLifecycle, ppp_lifecycle};

/// A protobuf timestamp for `time`.
pub fn ts(time: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: time.timestamp(), nanos: 0 }
}

/// A calendar date.
pub fn date(year: i32, month: i32, day: i32) -> pb::CalendarDate {
    pb::CalendarDate { year, month, day }
}

/// A valid unified social credit code (GB 32100-2015) made from `seed`.
pub fn credit_code(seed: u32) -> String {
    // Registration authority 9 (industry and commerce), type 1 (enterprise),
    // division 230100 (Harbin), then a 9-character organization code from the seed.
    let body = format!("91230100{seed:09}");
    let check = credit_code_check(&body);
    format!("{body}{check}")
}

/// The check character of the first 17 characters of a credit code.
fn credit_code_check(body: &str) -> char {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(byte, weight)| ALPHABET.iter().position(|c| *c == byte).expect("alphabet") as u32 * weight)
        .sum();
    ALPHABET[((31 - sum % 31) % 31) as usize] as char
}

/// An organization with a valid credit code.
pub fn org(name: &str, seed: u32) -> pb::Organization {
    pb::Organization { name: name.to_owned(), unified_social_credit_code: credit_code(seed), role: 0 }
}

/// A document reference with a well-formed hash.
pub fn doc(title: &str, kind: pb::DocumentType, published: DateTime<Utc>) -> pb::DocumentRef {
    let digest = gongkai_sha256_hex(title);
    pb::DocumentRef {
        title: title.to_owned(),
        r#type: kind as i32,
        url: format!("https://ggzy.harbin.gov.cn/docs/{}.pdf", &digest[..16]),
        sha256: digest,
        published_at: Some(ts(published)),
    }
}

fn gongkai_sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Any ingestion request, tagged with the RPC that takes it.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum Request {
    RecordApproval(pb::RecordApprovalRequest),
    DisclosePppDetails(pb::DisclosePppDetailsRequest),
    SuspendProject(pb::SuspendProjectRequest),
    ResumeProject(pb::ResumeProjectRequest),
    CancelProject(pb::CancelProjectRequest),
    PreAnnounceExpropriation(pb::PreAnnounceExpropriationRequest),
    PublishCompensationPlan(pb::PublishCompensationPlanRequest),
    RecordRiskAssessment(pb::RecordRiskAssessmentRequest),
    RecordExpropriationDecision(pb::RecordExpropriationDecisionRequest),
    RecordCompensationPayment(pb::RecordCompensationPaymentRequest),
    PublishHouseholdCompensation(pb::PublishHouseholdCompensationRequest),
    RecordRelocation(pb::RecordRelocationRequest),
    RecordEnvironmentalApproval(pb::RecordEnvironmentalApprovalRequest),
    AnnounceTender(pb::AnnounceTenderRequest),
    AmendTender(pb::AmendTenderRequest),
    SuspendTender(pb::SuspendTenderRequest),
    ResumeTender(pb::ResumeTenderRequest),
    CancelTender(pb::CancelTenderRequest),
    RecordBidOpening(pb::RecordBidOpeningRequest),
    RecordPrequalification(pb::RecordPrequalificationRequest),
    RecordEvaluation(pb::RecordEvaluationRequest),
    PublicizeCandidates(pb::PublicizeCandidatesRequest),
    RecordObjection(pb::RecordObjectionRequest),
    RecordComplaint(pb::RecordComplaintRequest),
    RecordComplaintDecision(pb::RecordComplaintDecisionRequest),
    AnnounceAward(pb::AnnounceAwardRequest),
    IssueAwardNotice(pb::IssueAwardNoticeRequest),
    CancelAward(pb::CancelAwardRequest),
    RecordFailedTender(pb::RecordFailedTenderRequest),
    SignContract(pb::SignContractRequest),
    VaryContract(pb::VaryContractRequest),
    RecordMilestone(pb::RecordMilestoneRequest),
    RecordPayment(pb::RecordPaymentRequest),
    RecordPerformanceIssue(pb::RecordPerformanceIssueRequest),
    AcceptCompletion(pb::AcceptCompletionRequest),
    SettleContract(pb::SettleContractRequest),
    SettleFinalAccounts(pb::SettleFinalAccountsRequest),
    /// `CorrectDisclosure` on the service of `domain`.
    CorrectDisclosure(pb::Domain, pb::CorrectDisclosureRequest),
}

/// Spells once which fact kind each request variant carries.
macro_rules! request_facts {
    ($($variant:ident => $kind:ident,)*) => {
        impl Request {
            /// The request's business time and what it records: its fact, or
            /// for `CorrectDisclosure` the correction; `None` for a request
            /// without its fact.
            pub fn body(&self) -> (Option<Timestamp>, Option<pb::event_envelope::Body>) {
                use pb::event_envelope::Body;
                match self {
                    $(Request::$variant(m) => (
                        m.occurred_at,
                        m.fact.clone().map(|fact| Body::Fact(pb::Fact { kind: Some(pb::fact::Kind::$kind(fact)) })),
                    ),)*
                    Request::CorrectDisclosure(_, m) => (m.occurred_at, m.fact.clone().map(Body::Correction)),
                }
            }
        }
    };
}

request_facts! {
    RecordApproval => ProjectApproved,
    DisclosePppDetails => PppDetailsDisclosed,
    SuspendProject => ProjectSuspended,
    ResumeProject => ProjectResumed,
    CancelProject => ProjectCancelled,
    PreAnnounceExpropriation => ExpropriationPreAnnounced,
    PublishCompensationPlan => CompensationPlanPublished,
    RecordRiskAssessment => SocialStabilityRiskAssessed,
    RecordExpropriationDecision => ExpropriationDecided,
    RecordCompensationPayment => CompensationPaid,
    PublishHouseholdCompensation => HouseholdCompensationPublished,
    RecordRelocation => RelocationRecorded,
    RecordEnvironmentalApproval => EnvironmentalImpactApproved,
    AnnounceTender => TenderAnnounced,
    AmendTender => TenderAmended,
    SuspendTender => TenderSuspended,
    ResumeTender => TenderResumed,
    CancelTender => TenderCancelled,
    RecordBidOpening => BidsOpened,
    RecordPrequalification => PrequalificationCompleted,
    RecordEvaluation => BidsEvaluated,
    PublicizeCandidates => CandidatesPublicized,
    RecordObjection => ObjectionRaised,
    RecordComplaint => ComplaintFiled,
    RecordComplaintDecision => ComplaintDecided,
    AnnounceAward => AwardAnnounced,
    IssueAwardNotice => AwardNoticeIssued,
    CancelAward => AwardCancelled,
    RecordFailedTender => TenderFailed,
    SignContract => ContractSigned,
    VaryContract => ContractVaried,
    RecordMilestone => MilestoneReached,
    RecordPayment => PaymentMade,
    RecordPerformanceIssue => PerformanceIssueRecorded,
    AcceptCompletion => CompletionAccepted,
    SettleContract => ContractSettled,
    SettleFinalAccounts => FinalAccountsSettled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_carry_their_check_digit() {
        // A registered code checks out with the same formula.
        assert_eq!(credit_code_check("91350100M000100Y4"), '3');
        let code = credit_code(7);
        assert_eq!(code.len(), 18);
        assert_ne!(credit_code(7), credit_code(8));
    }
}
