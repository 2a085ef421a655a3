//! The gRPC ceiling for `gongkai load`: the five ingestion services of the
//! `gongkai.v1` contract on gongkai's own server stack ([`GrpcServer`]: the
//! same tonic, transport settings, health and reflection), answering every
//! call at once with one fixed `Receipt` — no authentication, store or log.
//!
//! It lives next to the load generator because it calibrates it: `gongkai
//! load` against this server measures what the client, tonic and the loopback
//! socket cost for the same requests, so `just bench` can report ingestion as
//! a share of that. Run it with
//!
//! ```sh
//! cargo run --release -p gongkai-load --example echo-server -- 127.0.0.1:0
//! gongkai load --endpoint http://<printed address> --token any --refusal-every 0 --retry-every 0
//! ```
//!
//! It prints `grpc: http://<address>` and `Press Ctrl-C to stop.` like
//! `gongkai dev`, and stops on SIGINT or SIGTERM.

use std::net::SocketAddr;

use gongkai_grpc::GrpcServer;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::award_service_server::{AwardService, AwardServiceServer};
use gongkai_proto::v1::contract_service_server::{ContractService, ContractServiceServer};
use gongkai_proto::v1::project_service_server::{ProjectService, ProjectServiceServer};
use gongkai_proto::v1::qualification_review_service_server::{
    QualificationReviewService, QualificationReviewServiceServer,
};
use gongkai_proto::v1::tender_service_server::{TenderService, TenderServiceServer};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tonic::{Request, Response, Status};

/// Answers every ingestion call with the same receipt.
#[derive(Debug, Clone)]
struct Echo {
    receipt: pb::Receipt,
}

impl Echo {
    /// A receipt of the size a real one has: ids, codes and two SHA-256 hex hashes.
    fn new() -> Self {
        Self {
            receipt: pb::Receipt {
                event_id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".to_owned(),
                project_code: "2024-230113-48-01-000001".to_owned(),
                project_seq: 2,
                position: 1,
                hash: "ab".repeat(32),
                prev_hash: "cd".repeat(32),
                recorded_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
                flags: Vec::new(),
                replayed: false,
            },
        }
    }
}

/// Implements `$service` for [`Echo`]: each method takes its request (decoded
/// by tonic, as in the real server) and returns the fixed receipt.
macro_rules! echo_service {
    ($service:ident, [$($method:ident: $request:ident),* $(,)?]) => {
        #[tonic::async_trait]
        impl $service for Echo {
            $(
                async fn $method(&self, _request: Request<pb::$request>) -> Result<Response<pb::Receipt>, Status> {
                    Ok(Response::new(self.receipt.clone()))
                }
            )*
        }
    };
}

echo_service!(ProjectService, [
    record_approval: RecordApprovalRequest,
    disclose_ppp_details: DisclosePppDetailsRequest,
    suspend_project: SuspendProjectRequest,
    resume_project: ResumeProjectRequest,
    cancel_project: CancelProjectRequest,
    pre_announce_expropriation: PreAnnounceExpropriationRequest,
    publish_compensation_plan: PublishCompensationPlanRequest,
    record_risk_assessment: RecordRiskAssessmentRequest,
    record_expropriation_decision: RecordExpropriationDecisionRequest,
    record_compensation_payment: RecordCompensationPaymentRequest,
    publish_household_compensation: PublishHouseholdCompensationRequest,
    record_relocation: RecordRelocationRequest,
    record_environmental_approval: RecordEnvironmentalApprovalRequest,
    correct_disclosure: CorrectDisclosureRequest,
]);

echo_service!(TenderService, [
    announce_tender: AnnounceTenderRequest,
    amend_tender: AmendTenderRequest,
    suspend_tender: SuspendTenderRequest,
    resume_tender: ResumeTenderRequest,
    cancel_tender: CancelTenderRequest,
    record_bid_opening: RecordBidOpeningRequest,
    correct_disclosure: CorrectDisclosureRequest,
]);

echo_service!(QualificationReviewService, [
    record_prequalification: RecordPrequalificationRequest,
    record_evaluation: RecordEvaluationRequest,
    publicize_candidates: PublicizeCandidatesRequest,
    record_objection: RecordObjectionRequest,
    record_complaint: RecordComplaintRequest,
    record_complaint_decision: RecordComplaintDecisionRequest,
    correct_disclosure: CorrectDisclosureRequest,
]);

echo_service!(AwardService, [
    announce_award: AnnounceAwardRequest,
    issue_award_notice: IssueAwardNoticeRequest,
    cancel_award: CancelAwardRequest,
    record_failed_tender: RecordFailedTenderRequest,
    correct_disclosure: CorrectDisclosureRequest,
]);

echo_service!(ContractService, [
    sign_contract: SignContractRequest,
    vary_contract: VaryContractRequest,
    record_milestone: RecordMilestoneRequest,
    record_payment: RecordPaymentRequest,
    record_performance_issue: RecordPerformanceIssueRequest,
    accept_completion: AcceptCompletionRequest,
    settle_contract: SettleContractRequest,
    settle_final_accounts: SettleFinalAccountsRequest,
    correct_disclosure: CorrectDisclosureRequest,
]);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address: SocketAddr = std::env::args().nth(1).as_deref().unwrap_or("127.0.0.1:50061").parse()?;
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;

    let echo = Echo::new();
    let mut server = GrpcServer::default();
    let limit = server.max_message_bytes();
    server
        .add_service(ProjectServiceServer::new(echo.clone()).max_decoding_message_size(limit))
        .add_service(TenderServiceServer::new(echo.clone()).max_decoding_message_size(limit))
        .add_service(QualificationReviewServiceServer::new(echo.clone()).max_decoding_message_size(limit))
        .add_service(AwardServiceServer::new(echo.clone()).max_decoding_message_size(limit))
        .add_service(ContractServiceServer::new(echo).max_decoding_message_size(limit));

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    };
    println!("gongkai echo server: the five ingestion services, no work behind them");
    println!("  grpc: http://{bound}");
    println!("Press Ctrl-C to stop.");
    server.serve(listener, shutdown).await?;
    Ok(())
}
