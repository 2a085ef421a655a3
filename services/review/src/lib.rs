//! Target `review`: `gongkai.v1.QualificationReviewService`, the review domain
//! (资格审查、评标、公示): prequalification, evaluation, candidate publicity,
//! objections and complaints. Events go to topic `gongkai.review.v1`.

use gongkai_proto::v1::Domain;
use gongkai_proto::v1::qualification_review_service_server::{
    QualificationReviewService, QualificationReviewServiceServer,
};

gongkai_ingest::ingestion_service! {
    /// `QualificationReviewService` over the shared submit path.
    Review: QualificationReviewService / QualificationReviewServiceServer, Domain::Review,
    [
        record_prequalification: RecordPrequalificationRequest,
        record_evaluation: RecordEvaluationRequest,
        publicize_candidates: PublicizeCandidatesRequest,
        record_objection: RecordObjectionRequest,
        record_complaint: RecordComplaintRequest,
        record_complaint_decision: RecordComplaintDecisionRequest,
        correct_disclosure: CorrectDisclosureRequest,
    ]
}
