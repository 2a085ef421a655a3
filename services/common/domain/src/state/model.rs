//! The read model of one project: what its effective history amounts to.
//!
//! Every recorded instant, date and amount is kept as in the fact that set it;
//! every `event_id` below is the id of the event whose content is in force
//! (the original, or the last correction of it).

use std::collections::BTreeMap;

use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    AcceptanceResult, Bid, CalendarDate, Candidate, ComplaintOutcome, DateRange, Domain, MilestoneKind, Organization,
    Period, ProcurementMethod, QualificationMode,
};
use prost_types::Timestamp;

/// Where a project stands once approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectStatus {
    /// Approved and going on.
    #[default]
    Active,
    /// Suspended (暂停) until a ProjectResumed.
    Suspended,
    /// Cancelled (撤销/终止): final.
    Cancelled,
}

/// One recorded event of the project (fact or correction), as indexed by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The event's own id.
    pub event_id: String,
    /// Its position in the project's stream.
    pub project_seq: u64,
    /// Message name of the fact it carries (for a correction: of its replacement).
    pub kind: &'static str,
    /// Lifecycle domain of that fact.
    pub domain: Domain,
    /// Whether the event is a DisclosureCorrected.
    pub is_correction: bool,
    /// For a correction: the event it supersedes.
    pub supersedes: Option<String>,
    /// The correction that superseded this event, if any.
    pub superseded_by: Option<String>,
    /// Id of the original fact event of this chain of versions (itself for an
    /// original fact).
    pub original_event_id: String,
}

/// One fact of the effective history: the latest version of an original fact,
/// in the original's position.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveFact {
    /// Id of the original fact event.
    pub original_event_id: String,
    /// Id of the version in force (the original or its last correction).
    pub event_id: String,
    /// Position of the original in the project's stream.
    pub project_seq: u64,
    /// Business time of the version in force.
    pub occurred_at: Option<Timestamp>,
    /// The fact in force.
    pub fact: Kind,
}

/// A fact message together with the event that carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    /// Event in force that carries the fact.
    pub event_id: String,
    /// The fact.
    pub fact: T,
}

/// Status of one lot (标段/包) of a tender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LotStatus {
    /// Going on.
    #[default]
    Open,
    /// Suspended by a TenderSuspended.
    Suspended,
    /// Cancelled by a TenderCancelled: closed.
    Cancelled,
    /// Failed (流标) by a TenderFailed: closed; a re-tender is a new tender.
    Failed,
}

impl LotStatus {
    /// Whether no further tendering fact may concern the lot.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Cancelled | Self::Failed)
    }

    /// Lowercase name, for rejection metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Suspended => "suspended",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }
}

/// How far a lot has come (ignoring its status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LotStage {
    /// Announced, bids not yet opened.
    Announced,
    /// Bids opened.
    BidsOpened,
    /// Evaluation report in.
    Evaluated,
    /// Candidates publicized.
    Publicized,
    /// Award in force.
    Awarded,
    /// Award notice issued for the award in force.
    Notified,
    /// A contract covers the lot.
    Contracted,
}

/// One tender project (招标项目) of the project.
#[derive(Debug, Clone, PartialEq)]
pub struct Tender {
    /// Tender project code.
    pub tender_code: String,
    /// Tender project name.
    pub name: String,
    /// The TenderAnnounced event in force.
    pub announced_event_id: String,
    /// Procurement method.
    pub method: ProcurementMethod,
    /// Prequalification or post-qualification.
    pub qualification_mode: QualificationMode,
    /// When the tender documents were first issued.
    pub documents_issued_at: Option<Timestamp>,
    /// Document sale window.
    pub document_sale_period: Option<Period>,
    /// Prequalification application deadline, for prequalified tenders.
    pub prequalification_deadline: Option<Timestamp>,
    /// The failed or cancelled tender this one repeats.
    pub retender_of: Option<String>,
    /// TenderAmended events, in order.
    pub amendment_event_ids: Vec<String>,
    /// PrequalificationCompleted events, in order.
    pub prequalification_event_ids: Vec<String>,
    /// The lots, by lot code.
    pub lots: BTreeMap<String, LotState>,
}

impl Tender {
    /// Whether every lot is cancelled or failed.
    pub fn is_closed(&self) -> bool {
        self.lots.values().all(|lot| lot.status.is_closed())
    }

    /// Whether some lot failed or was cancelled (a re-tender may name it).
    pub fn has_failed_or_cancelled_lot(&self) -> bool {
        self.lots.values().any(|lot| lot.status.is_closed())
    }
}

/// The bid opening (开标) of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    /// The BidsOpened event in force.
    pub event_id: String,
    /// When opening started.
    pub opened_at: Option<Timestamp>,
    /// The bids read out, in opening order.
    pub bids: Vec<Bid>,
}

/// The evaluation report (评标报告) of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The BidsEvaluated event in force.
    pub event_id: String,
    /// When the report was completed.
    pub completed_at: Option<Timestamp>,
    /// Ranked candidates.
    pub candidates: Vec<Candidate>,
    /// Valid bids after rejections.
    pub valid_bid_count: i32,
}

/// The candidate publicity (中标候选人公示) of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Publicity {
    /// The CandidatesPublicized event in force.
    pub event_id: String,
    /// Publicity period.
    pub period: Option<Period>,
}

/// An award (中标) of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Award {
    /// The AwardAnnounced event in force.
    pub event_id: String,
    /// The winner.
    pub winner: Option<Organization>,
    /// Award price, fen.
    pub price_fen: i64,
    /// When the result was announced.
    pub announced_at: Option<Timestamp>,
    /// The award notice (中标通知书), once issued.
    pub notice: Option<AwardNotice>,
    /// For a cancelled award: the AwardCancelled event.
    pub cancelled_event_id: Option<String>,
}

/// An award notice (中标通知书).
#[derive(Debug, Clone, PartialEq)]
pub struct AwardNotice {
    /// The AwardNoticeIssued event in force.
    pub event_id: String,
    /// When it was issued.
    pub issued_at: Option<Timestamp>,
}

/// One lot (标段/包) of a tender.
#[derive(Debug, Clone, PartialEq)]
pub struct LotState {
    /// Lot code.
    pub lot_code: String,
    /// Lot name.
    pub name: String,
    /// Ceiling price (最高投标限价), fen, when set.
    pub ceiling_price_fen: Option<i64>,
    /// Planned contract period of the lot.
    pub planned_contract_period: Option<DateRange>,
    /// Open, suspended, cancelled or failed.
    pub status: LotStatus,
    /// The event that set the status (none while open since announcement).
    pub status_event_id: Option<String>,
    /// Bid deadline in force (after amendments and resumptions).
    pub bid_deadline: Option<Timestamp>,
    /// Scheduled bid opening in force.
    pub bid_opening_at: Option<Timestamp>,
    /// The event that set the bid deadline in force.
    pub deadline_event_id: String,
    /// Bid opening, once recorded.
    pub opening: Option<Opening>,
    /// Latest evaluation report.
    pub evaluation: Option<Evaluation>,
    /// Candidate publicity of the latest evaluation.
    pub publicity: Option<Publicity>,
    /// Award in force.
    pub award: Option<Award>,
    /// Awards cancelled, oldest first.
    pub cancelled_awards: Vec<Award>,
    /// Contracts covering the lot.
    pub contract_codes: Vec<String>,
}

impl LotState {
    /// How far the lot has come.
    pub fn stage(&self) -> LotStage {
        if !self.contract_codes.is_empty() {
            LotStage::Contracted
        } else if let Some(award) = &self.award {
            if award.notice.is_some() { LotStage::Notified } else { LotStage::Awarded }
        } else if self.publicity.is_some() {
            LotStage::Publicized
        } else if self.evaluation.is_some() {
            LotStage::Evaluated
        } else if self.opening.is_some() {
            LotStage::BidsOpened
        } else {
            LotStage::Announced
        }
    }
}

/// An objection (异议).
#[derive(Debug, Clone, PartialEq)]
pub struct Objection {
    /// The ObjectionRaised event in force.
    pub event_id: String,
    /// Tender it concerns.
    pub tender_code: String,
    /// Lot it concerns; empty for the whole tender.
    pub lot_code: String,
}

/// A complaint (投诉) and its decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Complaint {
    /// The ComplaintFiled event in force.
    pub event_id: String,
    /// Tender it concerns.
    pub tender_code: String,
    /// Lot it concerns; empty for the whole tender.
    pub lot_code: String,
    /// The ComplaintDecided event, once decided.
    pub decided_event_id: Option<String>,
    /// Outcome, once decided.
    pub outcome: Option<ComplaintOutcome>,
}

/// A contract variation (合同变更).
#[derive(Debug, Clone, PartialEq)]
pub struct Variation {
    /// The ContractVaried event in force.
    pub event_id: String,
    /// Variation number.
    pub variation_number: String,
    /// Signed price change, fen.
    pub price_change_fen: i64,
    /// New contract end date, for a time variation.
    pub new_end_date: Option<CalendarDate>,
}

/// A milestone reached (履约节点).
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// The MilestoneReached event in force.
    pub event_id: String,
    /// Milestone name.
    pub name: String,
    /// When it was reached.
    pub reached_at: Option<Timestamp>,
    /// Planned date, when stated.
    pub planned_date: Option<CalendarDate>,
    /// Kind of milestone (commencement, operation start, handover, ...).
    pub kind: MilestoneKind,
}

/// A payment under a contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    /// The PaymentMade event in force.
    pub event_id: String,
    /// Payment number.
    pub payment_number: String,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Milestone paid for; empty when none.
    pub milestone_code: String,
}

/// A signed contract and its performance.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// Contract code.
    pub contract_code: String,
    /// The ContractSigned event in force.
    pub signed_event_id: String,
    /// Tender it results from.
    pub tender_code: String,
    /// Lots it covers.
    pub lot_codes: Vec<String>,
    /// Suppliers, lead first.
    pub suppliers: Vec<Organization>,
    /// Signed price, fen (the baseline; variations do not change it).
    pub price_fen: i64,
    /// Contract period as signed.
    pub period: Option<DateRange>,
    /// When it was signed.
    pub signed_at: Option<Timestamp>,
    /// Whether it is a PPP project agreement.
    pub is_ppp_project_agreement: bool,
    /// Variations, in order.
    pub variations: Vec<Variation>,
    /// Sum of the absolute price changes of all variations, fen (within the bound).
    pub variation_abs_total_fen: i64,
    /// Net price after variations, fen (0..=the bound).
    pub current_price_fen: i64,
    /// End date in force: the last time variation's, else the signed period's.
    pub end_date: Option<CalendarDate>,
    /// Milestones reached, by milestone code.
    pub milestones: BTreeMap<String, Milestone>,
    /// Payments, in order.
    pub payments: Vec<Payment>,
    /// Sum of the payments, fen (within the bound).
    pub paid_fen: i64,
    /// PerformanceIssueRecorded events, in order.
    pub issue_event_ids: Vec<String>,
    /// CompletionAccepted events covering the contract, in order.
    pub completion_event_ids: Vec<String>,
    /// Its settlement (竣工结算), once recorded.
    pub settlement: Option<Settlement>,
}

/// A contract's settlement (竣工结算).
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    /// The ContractSettled event in force.
    pub event_id: String,
    /// Final settled value, fen.
    pub settled_value_fen: i64,
    /// When it was agreed.
    pub settled_at: Option<Timestamp>,
}

/// A completion acceptance (竣工验收).
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The CompletionAccepted event in force.
    pub event_id: String,
    /// Contracts accepted.
    pub contract_codes: Vec<String>,
    /// Result.
    pub result: AcceptanceResult,
    /// When the acceptance was signed off.
    pub accepted_at: Option<Timestamp>,
    /// Actual completion date.
    pub actual_completion_date: Option<CalendarDate>,
}

impl Completion {
    /// Whether the works passed (with or without remarks).
    pub fn passed(&self) -> bool {
        matches!(self.result, AcceptanceResult::Passed | AcceptanceResult::PassedWithRemarks)
    }
}

/// The final accounts (竣工决算).
#[derive(Debug, Clone, PartialEq)]
pub struct FinalAccounts {
    /// The FinalAccountsSettled event in force.
    pub event_id: String,
    /// Final cost, fen.
    pub final_cost_fen: i64,
    /// When they were approved.
    pub settled_at: Option<Timestamp>,
    /// Actual end date of the project.
    pub actual_end_date: Option<CalendarDate>,
    /// Final scope as built.
    pub final_scope: String,
}
