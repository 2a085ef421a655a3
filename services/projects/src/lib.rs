//! Target `projects`: `gongkai.v1.ProjectService`, the projects domain (立项):
//! approval, PPP details, suspension, resumption and cancellation of projects.
//! Events go to topic `gongkai.projects.v1`.

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
        correct_disclosure: CorrectDisclosureRequest,
    ]
}
