//! Target `awards`: `gongkai.v1.AwardService`, the awards domain (中标、流标):
//! award results, award notices, award cancellations and failed tenders.
//! Events go to topic `gongkai.awards.v1`.

use gongkai_proto::v1::Domain;
use gongkai_proto::v1::award_service_server::{AwardService, AwardServiceServer};

gongkai_ingest::ingestion_service! {
    /// `AwardService` over the shared submit path.
    Awards: AwardService / AwardServiceServer, Domain::Awards,
    [
        announce_award: AnnounceAwardRequest,
        issue_award_notice: IssueAwardNoticeRequest,
        cancel_award: CancelAwardRequest,
        record_failed_tender: RecordFailedTenderRequest,
        correct_disclosure: CorrectDisclosureRequest,
    ]
}
