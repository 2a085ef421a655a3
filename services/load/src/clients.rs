//! The means to send any lifecycle [`Request`] to its ingestion service.

use gongkai_proto::v1 as pb;
use gongkai_proto::v1::award_service_client::AwardServiceClient;
use gongkai_proto::v1::contract_service_client::ContractServiceClient;
use gongkai_proto::v1::project_service_client::ProjectServiceClient;
use gongkai_proto::v1::qualification_review_service_client::QualificationReviewServiceClient;
use gongkai_proto::v1::tender_service_client::TenderServiceClient;
use gongkai_scenarios::Request;
use tonic::transport::Channel;
use tonic::{Request as GrpcRequest, Status};

/// Clients of the five ingestion services over one channel, sending a bearer token.
#[derive(Debug, Clone)]
pub struct Clients {
    channel: Channel,
    token: String,
}

impl Clients {
    /// Clients over `channel` that authenticate with `token`.
    pub fn new(channel: Channel, token: &str) -> Self {
        Self { channel, token: token.to_owned() }
    }

    /// The same clients with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Self::new(self.channel.clone(), token)
    }

    fn request<T>(&self, message: T) -> GrpcRequest<T> {
        let mut request = GrpcRequest::new(message);
        if !self.token.is_empty() {
            let value = format!("Bearer {}", self.token).parse().expect("token is ASCII");
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Sends `request` to its RPC.
    pub async fn send(&self, request: Request) -> Result<pb::Receipt, Status> {
        let channel = self.channel.clone();
        macro_rules! call {
            ($client:ident, $method:ident, $message:expr) => {
                $client::new(channel).$method(self.request($message)).await.map(tonic::Response::into_inner)
            };
        }
        match request {
            Request::RecordApproval(m) => call!(ProjectServiceClient, record_approval, m),
            Request::DisclosePppDetails(m) => call!(ProjectServiceClient, disclose_ppp_details, m),
            Request::SuspendProject(m) => call!(ProjectServiceClient, suspend_project, m),
            Request::ResumeProject(m) => call!(ProjectServiceClient, resume_project, m),
            Request::CancelProject(m) => call!(ProjectServiceClient, cancel_project, m),
            Request::PreAnnounceExpropriation(m) => call!(ProjectServiceClient, pre_announce_expropriation, m),
            Request::PublishCompensationPlan(m) => call!(ProjectServiceClient, publish_compensation_plan, m),
            Request::RecordRiskAssessment(m) => call!(ProjectServiceClient, record_risk_assessment, m),
            Request::RecordExpropriationDecision(m) => call!(ProjectServiceClient, record_expropriation_decision, m),
            Request::RecordCompensationPayment(m) => call!(ProjectServiceClient, record_compensation_payment, m),
            Request::PublishHouseholdCompensation(m) => {
                call!(ProjectServiceClient, publish_household_compensation, m)
            }
            Request::RecordRelocation(m) => call!(ProjectServiceClient, record_relocation, m),
            Request::RecordEnvironmentalApproval(m) => call!(ProjectServiceClient, record_environmental_approval, m),
            Request::AnnounceTender(m) => call!(TenderServiceClient, announce_tender, m),
            Request::AmendTender(m) => call!(TenderServiceClient, amend_tender, m),
            Request::SuspendTender(m) => call!(TenderServiceClient, suspend_tender, m),
            Request::ResumeTender(m) => call!(TenderServiceClient, resume_tender, m),
            Request::CancelTender(m) => call!(TenderServiceClient, cancel_tender, m),
            Request::RecordBidOpening(m) => call!(TenderServiceClient, record_bid_opening, m),
            Request::RecordPrequalification(m) => call!(QualificationReviewServiceClient, record_prequalification, m),
            Request::RecordEvaluation(m) => call!(QualificationReviewServiceClient, record_evaluation, m),
            Request::PublicizeCandidates(m) => call!(QualificationReviewServiceClient, publicize_candidates, m),
            Request::RecordObjection(m) => call!(QualificationReviewServiceClient, record_objection, m),
            Request::RecordComplaint(m) => call!(QualificationReviewServiceClient, record_complaint, m),
            Request::RecordComplaintDecision(m) => {
                call!(QualificationReviewServiceClient, record_complaint_decision, m)
            }
            Request::AnnounceAward(m) => call!(AwardServiceClient, announce_award, m),
            Request::IssueAwardNotice(m) => call!(AwardServiceClient, issue_award_notice, m),
            Request::CancelAward(m) => call!(AwardServiceClient, cancel_award, m),
            Request::RecordFailedTender(m) => call!(AwardServiceClient, record_failed_tender, m),
            Request::SignContract(m) => call!(ContractServiceClient, sign_contract, m),
            Request::VaryContract(m) => call!(ContractServiceClient, vary_contract, m),
            Request::RecordMilestone(m) => call!(ContractServiceClient, record_milestone, m),
            Request::RecordPayment(m) => call!(ContractServiceClient, record_payment, m),
            Request::RecordPerformanceIssue(m) => call!(ContractServiceClient, record_performance_issue, m),
            Request::AcceptCompletion(m) => call!(ContractServiceClient, accept_completion, m),
            Request::SettleContract(m) => call!(ContractServiceClient, settle_contract, m),
            Request::SettleFinalAccounts(m) => call!(ContractServiceClient, settle_final_accounts, m),
            Request::CorrectDisclosure(domain, m) => match domain {
                pb::Domain::Projects => call!(ProjectServiceClient, correct_disclosure, m),
                pb::Domain::Tenders => call!(TenderServiceClient, correct_disclosure, m),
                pb::Domain::Review => call!(QualificationReviewServiceClient, correct_disclosure, m),
                pb::Domain::Awards => call!(AwardServiceClient, correct_disclosure, m),
                pb::Domain::Contracts | pb::Domain::Unspecified => {
                    call!(ContractServiceClient, correct_disclosure, m)
                }
            },
        }
    }
}
