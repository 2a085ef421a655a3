//! Every ingestion request, seen as a [`Submission`].

use gongkai_domain::{Body, Submission};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::fact::Kind;

/// An ingestion request: `request_id`, `project_code`, `occurred_at` and the
/// fact (or correction) in field 4, the same for all of them.
pub trait IngestRequest {
    /// The request as a submission to decide.
    fn into_submission(self) -> Submission;
}

macro_rules! fact_requests {
    ($($request:ident => $kind:ident,)*) => {$(
        impl IngestRequest for pb::$request {
            fn into_submission(self) -> Submission {
                Submission {
                    request_id: self.request_id,
                    project_code: self.project_code,
                    occurred_at: self.occurred_at,
                    body: self.fact.map(|fact| Body::Fact(pb::Fact { kind: Some(Kind::$kind(fact)) })),
                }
            }
        }
    )*};
}

fact_requests! {
    RecordApprovalRequest => ProjectApproved,
    DisclosePppDetailsRequest => PppDetailsDisclosed,
    SuspendProjectRequest => ProjectSuspended,
    ResumeProjectRequest => ProjectResumed,
    CancelProjectRequest => ProjectCancelled,
    PreAnnounceExpropriationRequest => ExpropriationPreAnnounced,
    PublishCompensationPlanRequest => CompensationPlanPublished,
    RecordRiskAssessmentRequest => SocialStabilityRiskAssessed,
    RecordExpropriationDecisionRequest => ExpropriationDecided,
    RecordCompensationPaymentRequest => CompensationPaid,
    PublishHouseholdCompensationRequest => HouseholdCompensationPublished,
    RecordRelocationRequest => RelocationRecorded,
    RecordEnvironmentalApprovalRequest => EnvironmentalImpactApproved,
    AnnounceTenderRequest => TenderAnnounced,
    AmendTenderRequest => TenderAmended,
    SuspendTenderRequest => TenderSuspended,
    ResumeTenderRequest => TenderResumed,
    CancelTenderRequest => TenderCancelled,
    RecordBidOpeningRequest => BidsOpened,
    RecordPrequalificationRequest => PrequalificationCompleted,
    RecordEvaluationRequest => BidsEvaluated,
    PublicizeCandidatesRequest => CandidatesPublicized,
    RecordObjectionRequest => ObjectionRaised,
    RecordComplaintRequest => ComplaintFiled,
    RecordComplaintDecisionRequest => ComplaintDecided,
    AnnounceAwardRequest => AwardAnnounced,
    IssueAwardNoticeRequest => AwardNoticeIssued,
    CancelAwardRequest => AwardCancelled,
    RecordFailedTenderRequest => TenderFailed,
    SignContractRequest => ContractSigned,
    VaryContractRequest => ContractVaried,
    RecordMilestoneRequest => MilestoneReached,
    RecordPaymentRequest => PaymentMade,
    RecordPerformanceIssueRequest => PerformanceIssueRecorded,
    AcceptCompletionRequest => CompletionAccepted,
    SettleContractRequest => ContractSettled,
    SettleFinalAccountsRequest => FinalAccountsSettled,
}

impl IngestRequest for pb::CorrectDisclosureRequest {
    fn into_submission(self) -> Submission {
        Submission {
            request_id: self.request_id,
            project_code: self.project_code,
            occurred_at: self.occurred_at,
            body: self.fact.map(Body::Correction),
        }
    }
}
