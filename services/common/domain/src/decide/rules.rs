//! Rule codes: hard rules (`Rejection::rule`, ErrorInfo reason of
//! FAILED_PRECONDITION, catalogue in the header of `ingestion.proto`) and soft
//! rules (`ComplianceFlag::rule`, catalogue in `common.proto`).

/// Fact for a project never approved.
pub const PROJECT_NOT_FOUND: &str = "PROJECT_NOT_FOUND";
/// Approval for a known project code.
pub const PROJECT_EXISTS: &str = "PROJECT_EXISTS";
/// Any fact (other than a correction) for a cancelled project.
pub const PROJECT_CANCELLED: &str = "PROJECT_CANCELLED";
/// Resumption of a project that is not suspended.
pub const PROJECT_NOT_SUSPENDED: &str = "PROJECT_NOT_SUSPENDED";
/// PPP details for a construction project.
pub const PROJECT_NOT_PPP: &str = "PROJECT_NOT_PPP";
/// PPP details disclosed twice.
pub const PPP_DETAILS_EXIST: &str = "PPP_DETAILS_EXIST";
/// Compensation payment or per-household results for an expropriation no
/// earlier fact opened.
pub const EXPROPRIATION_NOT_FOUND: &str = "EXPROPRIATION_NOT_FOUND";
/// Second approval or decision of an expropriation.
pub const EXPROPRIATION_ALREADY_DECIDED: &str = "EXPROPRIATION_ALREADY_DECIDED";
/// Tender announcement for a known tender code.
pub const TENDER_EXISTS: &str = "TENDER_EXISTS";
/// Tender code unknown in this project.
pub const TENDER_NOT_FOUND: &str = "TENDER_NOT_FOUND";
/// Fact for a cancelled (or failed, i.e. closed) tender or lot.
pub const TENDER_CANCELLED: &str = "TENDER_CANCELLED";
/// Tender resumption when not suspended.
pub const TENDER_NOT_SUSPENDED: &str = "TENDER_NOT_SUSPENDED";
/// `retender_of` names no failed or cancelled tender.
pub const RETENDER_OF_UNKNOWN: &str = "RETENDER_OF_UNKNOWN";
/// Lot code unknown in the tender.
pub const LOT_NOT_FOUND: &str = "LOT_NOT_FOUND";
/// Bid opening recorded twice for a lot.
pub const BIDS_ALREADY_OPENED: &str = "BIDS_ALREADY_OPENED";
/// Prequalification result for a post-qualified tender.
pub const NOT_PREQUALIFIED_TENDER: &str = "NOT_PREQUALIFIED_TENDER";
/// Evaluation before bid opening.
pub const BIDS_NOT_OPENED: &str = "BIDS_NOT_OPENED";
/// Publicity or award before evaluation.
pub const NOT_EVALUATED: &str = "NOT_EVALUATED";
/// Candidate not among the lot's bidders.
pub const CANDIDATE_DID_NOT_BID: &str = "CANDIDATE_DID_NOT_BID";
/// Complaint naming an unknown objection.
pub const OBJECTION_NOT_FOUND: &str = "OBJECTION_NOT_FOUND";
/// Decision (or award cancellation) naming an unknown complaint.
pub const COMPLAINT_NOT_FOUND: &str = "COMPLAINT_NOT_FOUND";
/// Second decision for a complaint.
pub const COMPLAINT_ALREADY_DECIDED: &str = "COMPLAINT_ALREADY_DECIDED";
/// Award to someone who did not bid for the lot.
pub const WINNER_DID_NOT_BID: &str = "WINNER_DID_NOT_BID";
/// Award notice, cancellation or contract with no award (to that winner).
pub const AWARD_NOT_FOUND: &str = "AWARD_NOT_FOUND";
/// Contract signature for a known contract code.
pub const CONTRACT_EXISTS: &str = "CONTRACT_EXISTS";
/// Variation, milestone, payment, issue, acceptance or settlement on an
/// unknown contract.
pub const CONTRACT_NOT_FOUND: &str = "CONTRACT_NOT_FOUND";
/// Payment for an unrecorded milestone.
pub const MILESTONE_NOT_FOUND: &str = "MILESTONE_NOT_FOUND";
/// Completion of a project with no signed contract.
pub const NO_SIGNED_CONTRACT: &str = "NO_SIGNED_CONTRACT";
/// Final accounts before a passed completion acceptance.
pub const NO_ACCEPTED_COMPLETION: &str = "NO_ACCEPTED_COMPLETION";
/// Contract settlement before a passed completion acceptance of the contract.
pub const CONTRACT_NOT_ACCEPTED: &str = "CONTRACT_NOT_ACCEPTED";
/// Second settlement of a contract (correct the first instead).
pub const CONTRACT_ALREADY_SETTLED: &str = "CONTRACT_ALREADY_SETTLED";
/// Correction of an unknown event of this project.
pub const EVENT_NOT_FOUND: &str = "EVENT_NOT_FOUND";
/// Correction of an event already corrected.
pub const EVENT_ALREADY_SUPERSEDED: &str = "EVENT_ALREADY_SUPERSEDED";
/// Replacement of another kind than the superseded fact (or no replacement).
pub const CORRECTION_KIND_MISMATCH: &str = "CORRECTION_KIND_MISMATCH";
/// A submission with no fact at all; validation refuses it first, so this is
/// only a guard. Not in the `ingestion.proto` header catalogue.
pub const FACT_MISSING: &str = "FACT_MISSING";

/// A variation (or a correction) would leave a contract's price below zero.
pub const CONTRACT_PRICE_BELOW_ZERO: &str = "CONTRACT_PRICE_BELOW_ZERO";
/// A total would leave ±10^15 fen (see `crate::money`).
pub const AMOUNT_TOTAL_OUT_OF_BOUNDS: &str = "AMOUNT_TOTAL_OUT_OF_BOUNDS";
/// The project's record already holds an event whose effect leaves a bound
/// (accepted by an older version); only a correction that cures it is taken.
pub const RECORD_OUT_OF_BOUNDS: &str = "RECORD_OUT_OF_BOUNDS";

/// Every hard-rule code `decide` can return.
pub const HARD_RULES: [&str; 38] = [
    PROJECT_NOT_FOUND,
    PROJECT_EXISTS,
    PROJECT_CANCELLED,
    PROJECT_NOT_SUSPENDED,
    PROJECT_NOT_PPP,
    PPP_DETAILS_EXIST,
    EXPROPRIATION_NOT_FOUND,
    EXPROPRIATION_ALREADY_DECIDED,
    TENDER_EXISTS,
    TENDER_NOT_FOUND,
    TENDER_CANCELLED,
    TENDER_NOT_SUSPENDED,
    RETENDER_OF_UNKNOWN,
    LOT_NOT_FOUND,
    BIDS_ALREADY_OPENED,
    NOT_PREQUALIFIED_TENDER,
    BIDS_NOT_OPENED,
    NOT_EVALUATED,
    CANDIDATE_DID_NOT_BID,
    OBJECTION_NOT_FOUND,
    COMPLAINT_NOT_FOUND,
    COMPLAINT_ALREADY_DECIDED,
    WINNER_DID_NOT_BID,
    AWARD_NOT_FOUND,
    CONTRACT_EXISTS,
    CONTRACT_NOT_FOUND,
    MILESTONE_NOT_FOUND,
    NO_SIGNED_CONTRACT,
    NO_ACCEPTED_COMPLETION,
    CONTRACT_NOT_ACCEPTED,
    CONTRACT_ALREADY_SETTLED,
    EVENT_NOT_FOUND,
    EVENT_ALREADY_SUPERSEDED,
    CORRECTION_KIND_MISMATCH,
    FACT_MISSING,
    CONTRACT_PRICE_BELOW_ZERO,
    AMOUNT_TOTAL_OUT_OF_BOUNDS,
    RECORD_OUT_OF_BOUNDS,
];

/// < 20 days from tender documents issue to bid deadline (TBL art. 24).
pub const TBL_24_BID_PERIOD: &str = "TBL-24-BID-PERIOD";
/// Document sale window < 5 days (IR art. 16).
pub const IR_16_SALE_WINDOW: &str = "IR-16-SALE-WINDOW";
/// Prequalification application period < 5 days (IR art. 17).
pub const IR_17_PREQUAL_PERIOD: &str = "IR-17-PREQUAL-PERIOD";
/// Clarification affecting bids < 15 days before the deadline (TBL art. 23).
pub const TBL_23_LATE_CLARIFICATION: &str = "TBL-23-LATE-CLARIFICATION";
/// Bid opening not at the bid deadline (TBL art. 34).
pub const TBL_34_OPENING_TIME: &str = "TBL-34-OPENING-TIME";
/// Fewer than 3 bids, still evaluated or awarded (TBL art. 28).
pub const TBL_28_FEWER_THAN_3_BIDS: &str = "TBL-28-FEWER-THAN-3-BIDS";
/// Candidate publicity not started within 3 days of evaluation (IR art. 54).
pub const IR_54_PUBLICITY_DELAY: &str = "IR-54-PUBLICITY-DELAY";
/// Candidate publicity shorter than 3 days (IR art. 54).
pub const IR_54_PUBLICITY_SHORT: &str = "IR-54-PUBLICITY-SHORT";
/// Award to other than the first-ranked candidate without a reason (IR art. 55).
pub const IR_55_NOT_FIRST_RANKED: &str = "IR-55-NOT-FIRST-RANKED";
/// Contract signed > 30 days after the award notice (TBL art. 46).
pub const TBL_46_LATE_CONTRACT: &str = "TBL-46-LATE-CONTRACT";
/// Contract price differs from the award price (TBL art. 46).
pub const TBL_46_PRICE_MISMATCH: &str = "TBL-46-PRICE-MISMATCH";
/// Cumulative variations > 10 % of the contract price.
pub const GK_VARIATION_OVER_10PCT: &str = "GK-VARIATION-OVER-10PCT";
/// Completion cost or date overrun.
pub const GK_COMPLETION_OVERRUN: &str = "GK-COMPLETION-OVERRUN";
/// A contract settled above its price in force (signed plus disclosed
/// variations).
pub const GK_SETTLEMENT_OVER_CONTRACT: &str = "GK-SETTLEMENT-OVER-CONTRACT";
/// Winning price >= 99 % of the ceiling price.
pub const GK_NEAR_CEILING: &str = "GK-NEAR-CEILING";
/// A single bidder (OCP red flag R018).
pub const OCP_R018_SINGLE_BIDDER: &str = "OCP-R018-SINGLE-BIDDER";
/// Identical bid prices (OCP red flag R028).
pub const OCP_R028_IDENTICAL_PRICES: &str = "OCP-R028-IDENTICAL-PRICES";
/// Compensation plan open for comment < 30 days (LAL art. 47; 2011
/// Regulations art. 10).
pub const LAL_47_COMMENT_PERIOD: &str = "LAL-47-COMMENT-PERIOD";
/// Expropriation decided with no published plan or no risk assessment (LAL
/// art. 47; 2011 Regulations art. 12).
pub const LAL_47_DECISION_PREREQUISITES: &str = "LAL-47-DECISION-PREREQUISITES";
/// Relocation or demolition before any compensation was paid (LAL art. 48;
/// 2011 Regulations art. 27).
pub const LAL_48_RELOCATION_BEFORE_COMPENSATION: &str = "LAL-48-RELOCATION-BEFORE-COMPENSATION";
/// Works commenced before the EIA approval (EIA Law art. 22, 25).
pub const EIA_25_WORKS_BEFORE_APPROVAL: &str = "EIA-25-WORKS-BEFORE-APPROVAL";

/// Every soft-rule code `decide` can raise.
pub const SOFT_RULES: [&str; 21] = [
    TBL_24_BID_PERIOD,
    IR_16_SALE_WINDOW,
    IR_17_PREQUAL_PERIOD,
    TBL_23_LATE_CLARIFICATION,
    TBL_34_OPENING_TIME,
    TBL_28_FEWER_THAN_3_BIDS,
    IR_54_PUBLICITY_DELAY,
    IR_54_PUBLICITY_SHORT,
    IR_55_NOT_FIRST_RANKED,
    TBL_46_LATE_CONTRACT,
    TBL_46_PRICE_MISMATCH,
    GK_VARIATION_OVER_10PCT,
    GK_COMPLETION_OVERRUN,
    GK_SETTLEMENT_OVER_CONTRACT,
    GK_NEAR_CEILING,
    OCP_R018_SINGLE_BIDDER,
    OCP_R028_IDENTICAL_PRICES,
    LAL_47_COMMENT_PERIOD,
    LAL_47_DECISION_PREREQUISITES,
    LAL_48_RELOCATION_BEFORE_COMPENSATION,
    EIA_25_WORKS_BEFORE_APPROVAL,
];
