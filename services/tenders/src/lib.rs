//! Target `tenders`: `gongkai.v1.TenderService`, the tenders domain (招标、开标):
//! tender notices with their lots, amendments, suspension, resumption,
//! cancellation and bid opening. Events go to topic `gongkai.tenders.v1`.

use gongkai_proto::v1::Domain;
use gongkai_proto::v1::tender_service_server::{TenderService, TenderServiceServer};

gongkai_ingest::ingestion_service! {
    /// `TenderService` over the shared submit path.
    Tenders: TenderService / TenderServiceServer, Domain::Tenders,
    [
        announce_tender: AnnounceTenderRequest,
        amend_tender: AmendTenderRequest,
        suspend_tender: SuspendTenderRequest,
        resume_tender: ResumeTenderRequest,
        cancel_tender: CancelTenderRequest,
        record_bid_opening: RecordBidOpeningRequest,
        correct_disclosure: CorrectDisclosureRequest,
    ]
}
