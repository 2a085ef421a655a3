//! Target `projects`: `gongkai.v1.ProjectService`, the projects domain (立项):
//! approval, PPP details, suspension, resumption and cancellation of projects,
//! and land expropriation, resettlement and the EIA approval. Events go to
//! topic `gongkai.projects.v1`.

use gongkai_proto::v1::Domain;
use gongkai_proto::v1::project_service_server::{ProjectService, ProjectServiceServer};

gongkai_ingest::ingestion_service! {
    /// `ProjectService` over the shared submit path.
    Projects: ProjectService / ProjectServiceServer, Domain::Projects,
    [
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
    ]
}
