//! Target `contracts`: `gongkai.v1.ContractService`, the contracts domain
//! (合同、履约、竣工): signing, variations, milestones, payments, performance
//! issues, completion acceptance and final accounts. Events go to topic
//! `gongkai.contracts.v1`.

use gongkai_proto::v1::Domain;
use gongkai_proto::v1::contract_service_server::{ContractService, ContractServiceServer};

gongkai_ingest::ingestion_service! {
    /// `ContractService` over the shared submit path.
    Contracts: ContractService / ContractServiceServer, Domain::Contracts,
    [
        sign_contract: SignContractRequest,
        vary_contract: VaryContractRequest,
        record_milestone: RecordMilestoneRequest,
        record_payment: RecordPaymentRequest,
        record_performance_issue: RecordPerformanceIssueRequest,
        accept_completion: AcceptCompletionRequest,
        settle_contract: SettleContractRequest,
        settle_final_accounts: SettleFinalAccountsRequest,
        correct_disclosure: CorrectDisclosureRequest,
    ]
}
