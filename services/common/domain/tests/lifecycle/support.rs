//! Given/when/then scaffolding and fact builders.
//!
//! `given(&[..])` records each step as an event (ids `e001`, `e002`, ...),
//! asserting that `decide` accepts it; `.when(fact)` decides one more fact
//! as event `e00N`; `.then_rejected(code)` / `.then_flags(&[..])` check the
//! outcome. Builders return compliant facts on one timeline (day 0 =
//! 2024-03-01 00:00 Beijing time), to be varied with struct update syntax.

pub(crate) use gongkai_domain::clock::DAY;
use gongkai_domain::clock::beijing;
use gongkai_domain::{Body, ComplianceFlag, ProjectState, Rejection, Submission, decide};
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    AcceptanceResult, AmendmentKind, AppraisalConclusion, ApprovalKind, AwardAnnounced, AwardCancelled,
    AwardNoticeIssued, Bid, BidsEvaluated, BidsOpened, CalendarDate, Candidate, CandidatesPublicized, ComplaintDecided,
    ComplaintFiled, ComplaintOutcome, CompletionAccepted, ContractSigned, ContractVaried, DateRange,
    DisclosureCorrected, EventEnvelope, Fact, FinalAccountsSettled, FundingSource, Lot, MilestoneReached,
    ObjectionRaised, Organization, PaymentMade, PerformanceIssueKind, PerformanceIssueRecorded, Period,
    PppDetailsDisclosed, PppOperatingModel, PppPaymentMechanism, PrequalificationCompleted, ProcurementMethod,
    ProjectApproved, ProjectCancelled, ProjectResumed, ProjectSuspended, ProjectType, QualificationMode, TenderAmended,
    TenderAnnounced, TenderCancelled, TenderFailed, TenderFailureReason, TenderResumed, TenderSuspended,
};
use prost_types::Timestamp;

pub(crate) const PROJECT: &str = "2017-230113-48-01-012345";
/// 2024-03-01 00:00 in Beijing (UTC+08:00).
const DAY0: i64 = 1_709_222_400 - beijing().local_minus_utc() as i64;
/// Ceiling price of every lot: 5 000 万元.
pub(crate) const CEILING: i64 = 5_000_000_000;
/// Approved total investment: 10 亿元.
pub(crate) const INVESTMENT: i64 = 100_000_000_000;

// ---------------------------------------------------------------------------
// Time, ids, organizations.
// ---------------------------------------------------------------------------

/// Day `n` of the timeline, 00:00 Beijing time.
pub(crate) fn day(n: i64) -> Timestamp {
    Timestamp { seconds: DAY0 + n * DAY, nanos: 0 }
}

/// `ts` moved by `seconds`.
pub(crate) fn plus(ts: Timestamp, seconds: i64) -> Timestamp {
    Timestamp { seconds: ts.seconds + seconds, nanos: ts.nanos }
}

pub(crate) fn date(year: i32, month: i32, day: i32) -> CalendarDate {
    CalendarDate { year, month, day }
}

fn period(start: Timestamp, end: Timestamp) -> Period {
    Period { start: Some(start), end: Some(end) }
}

/// Id of the event at project_seq `seq`.
pub(crate) fn e(seq: usize) -> String {
    format!("e{seq:03}")
}

/// Company number `n`, with a unified social credit code.
pub(crate) fn org(n: u32) -> Organization {
    Organization {
        name: format!("哈尔滨第{n}建设工程有限公司"),
        unified_social_credit_code: format!("91230100MA1B{n:06}"),
        role: 0,
    }
}

fn authority(name: &str) -> Organization {
    Organization { name: name.to_owned(), unified_social_credit_code: "11230100000000000X".to_owned(), role: 0 }
}

// ---------------------------------------------------------------------------
// Steps and scenarios.
// ---------------------------------------------------------------------------

/// One submission: a fact or a correction, and its business time.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    body: Option<Body>,
    at: Option<Timestamp>,
}

impl Step {
    /// The same step at business time `at`.
    pub(crate) fn at(mut self, at: Timestamp) -> Self {
        self.at = Some(at);
        self
    }

    fn occurred_at(&self) -> Timestamp {
        let natural = match &self.body {
            Some(Body::Fact(Fact { kind: Some(kind) })) => natural_time(kind),
            _ => None,
        };
        self.at.or(natural).unwrap_or_else(|| day(0))
    }

    fn submission(&self, seq: usize) -> Submission {
        Submission {
            request_id: format!("req-{seq}"),
            project_code: PROJECT.to_owned(),
            occurred_at: Some(self.occurred_at()),
            body: self.body.clone(),
        }
    }
}

/// A fact message that converts into `Fact.kind`.
pub(crate) trait IntoKind {
    fn into_kind(self) -> Kind;
}

macro_rules! into_kind {
    ($($message:ident),* $(,)?) => {$(
        impl IntoKind for $message {
            fn into_kind(self) -> Kind {
                Kind::$message(self)
            }
        }
    )*};
}

into_kind!(
    ProjectApproved,
    PppDetailsDisclosed,
    ProjectSuspended,
    ProjectResumed,
    ProjectCancelled,
    TenderAnnounced,
    TenderAmended,
    TenderSuspended,
    TenderResumed,
    TenderCancelled,
    BidsOpened,
    PrequalificationCompleted,
    BidsEvaluated,
    CandidatesPublicized,
    ObjectionRaised,
    ComplaintFiled,
    ComplaintDecided,
    AwardAnnounced,
    AwardNoticeIssued,
    AwardCancelled,
    TenderFailed,
    ContractSigned,
    ContractVaried,
    MilestoneReached,
    PaymentMade,
    PerformanceIssueRecorded,
    CompletionAccepted,
    FinalAccountsSettled,
);

impl<T: IntoKind> From<T> for Step {
    fn from(fact: T) -> Self {
        Step { body: Some(Body::Fact(Fact { kind: Some(fact.into_kind()) })), at: None }
    }
}

/// `fact` submitted with business time `at`.
pub(crate) fn on(at: Timestamp, fact: impl Into<Step>) -> Step {
    fact.into().at(at)
}

/// A correction of event `supersedes` by `replacement`.
pub(crate) fn correct(supersedes: &str, replacement: impl IntoKind) -> Step {
    Step {
        body: Some(Body::Correction(DisclosureCorrected {
            supersedes_event_id: supersedes.to_owned(),
            reason: "原公告信息有误".to_owned(),
            replacement: Some(Fact { kind: Some(replacement.into_kind()) }),
            replacement_occurred_at: None,
        })),
        at: Some(day(100)),
    }
}

/// A correction whose replacement happened at `at` (business time).
pub(crate) fn correct_at(supersedes: &str, replacement: impl IntoKind, at: Timestamp) -> Step {
    let mut step = correct(supersedes, replacement);
    if let Some(Body::Correction(correction)) = &mut step.body {
        correction.replacement_occurred_at = Some(at);
    }
    step
}

/// A submission with nothing in it.
pub(crate) fn empty_step() -> Step {
    Step { body: None, at: None }
}

/// The business time a fact states itself, if any.
fn natural_time(kind: &Kind) -> Option<Timestamp> {
    match kind {
        Kind::TenderAnnounced(f) => f.tender_documents_issued_at,
        Kind::BidsOpened(f) => f.opened_at,
        Kind::PrequalificationCompleted(f) => f.application_period.and_then(|p| p.end),
        Kind::BidsEvaluated(f) => f.completed_at,
        Kind::CandidatesPublicized(f) => f.publicity_period.and_then(|p| p.start),
        Kind::ObjectionRaised(f) => f.received_at,
        Kind::ComplaintFiled(f) => f.received_at,
        Kind::ComplaintDecided(f) => f.decided_at,
        Kind::AwardAnnounced(f) => f.announced_at,
        Kind::AwardNoticeIssued(f) => f.issued_at,
        Kind::ContractSigned(f) => f.signed_at,
        Kind::MilestoneReached(f) => f.reached_at,
        Kind::PaymentMade(f) => f.paid_at,
        Kind::PerformanceIssueRecorded(f) => f.occurred_at,
        Kind::CompletionAccepted(f) => f.accepted_at,
        Kind::FinalAccountsSettled(f) => f.settled_at,
        _ => None,
    }
}

/// A recorded history.
#[derive(Debug, Clone, Default)]
pub(crate) struct Given {
    events: Vec<EventEnvelope>,
}

/// Records `steps` in order, each of which must be accepted.
pub(crate) fn given(steps: &[Step]) -> Given {
    steps.iter().cloned().fold(Given::default(), Given::and)
}

impl Given {
    /// Records one more step, which must be accepted.
    pub(crate) fn and(mut self, step: impl Into<Step>) -> Self {
        let step = step.into();
        let seq = self.events.len() + 1;
        let flags = decide(&self.state(), &step.submission(seq), &e(seq))
            .unwrap_or_else(|rejection| panic!("given step {seq} was refused: {rejection}"));
        self.events.push(EventEnvelope {
            event_id: e(seq),
            subject: PROJECT.to_owned(),
            project_seq: seq as u64,
            occurred_at: Some(step.occurred_at()),
            flags,
            body: step.body,
            ..Default::default()
        });
        self
    }

    /// Records one more step without deciding it: an event an older version
    /// of the rules accepted.
    pub(crate) fn and_recorded_earlier(mut self, step: impl Into<Step>) -> Self {
        let step = step.into();
        let seq = self.events.len() + 1;
        self.events.push(EventEnvelope {
            event_id: e(seq),
            subject: PROJECT.to_owned(),
            project_seq: seq as u64,
            occurred_at: Some(step.occurred_at()),
            body: step.body,
            ..Default::default()
        });
        self
    }

    /// Decides one more step, recorded as the next event id.
    pub(crate) fn when(&self, step: impl Into<Step>) -> Outcome {
        let step = step.into();
        let seq = self.events.len() + 1;
        Outcome { result: decide(&self.state(), &step.submission(seq), &e(seq)), event_id: e(seq) }
    }

    /// The state folded from the recorded events.
    pub(crate) fn state(&self) -> ProjectState {
        ProjectState::from_events(&self.events)
    }

    /// The recorded events.
    pub(crate) fn events(&self) -> &[EventEnvelope] {
        &self.events
    }

    /// Every flag raised while recording the history.
    pub(crate) fn flags_raised(&self) -> Vec<&ComplianceFlag> {
        self.events.iter().flat_map(|event| &event.flags).collect()
    }
}

/// What `decide` answered.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) result: Result<Vec<ComplianceFlag>, Rejection>,
    pub(crate) event_id: String,
}

impl Outcome {
    /// Asserts a refusal by `rule` and returns it.
    #[track_caller]
    pub(crate) fn then_rejected(self, rule: &str) -> Rejection {
        match self.result {
            Err(rejection) => {
                assert_eq!(rejection.rule, rule, "refused by another rule: {rejection}");
                assert!(!rejection.message.is_empty());
                rejection
            }
            Ok(flags) => panic!("expected {rule}, but accepted with flags {:?}", codes(&flags)),
        }
    }

    /// Asserts acceptance with exactly the flags `rules` (in any order).
    #[track_caller]
    pub(crate) fn then_flags(self, rules: &[&str]) -> Vec<ComplianceFlag> {
        match self.result {
            Ok(flags) => {
                let mut raised = codes(&flags);
                raised.sort_unstable();
                let mut expected = rules.to_vec();
                expected.sort_unstable();
                assert_eq!(raised, expected, "flags raised: {flags:#?}");
                for flag in &flags {
                    assert_eq!(flag.event_ids.last(), Some(&self.event_id), "the new event is named last");
                    assert!(!flag.title.is_empty() && !flag.explanation.is_empty());
                }
                flags
            }
            Err(rejection) => panic!("expected acceptance with {rules:?}, but refused: {rejection}"),
        }
    }

    /// Asserts acceptance with no flag.
    #[track_caller]
    pub(crate) fn then_accepted(self) {
        self.then_flags(&[]);
    }

    /// Asserts acceptance with the single flag `rule` and returns it.
    #[track_caller]
    pub(crate) fn then_flag(self, rule: &str) -> ComplianceFlag {
        self.then_flags(&[rule]).remove(0)
    }
}

fn codes(flags: &[ComplianceFlag]) -> Vec<&str> {
    flags.iter().map(|flag| flag.rule.as_str()).collect()
}

/// Asserts that `flag` has figure `name` with `value` against `limit`.
#[track_caller]
pub(crate) fn assert_figure(flag: &ComplianceFlag, name: &str, value: i64, limit: Option<i64>, unit: &str) {
    let figure = flag
        .figures
        .iter()
        .find(|figure| figure.name == name)
        .unwrap_or_else(|| panic!("no figure {name} in {:#?}", flag.figures));
    assert_eq!((figure.value, figure.limit, figure.unit.as_str()), (value, limit, unit), "figure {name}");
}

// ---------------------------------------------------------------------------
// Fact builders: compliant by default.
// ---------------------------------------------------------------------------

/// A construction project approved on day 0; planned 2024-03-01..2026-12-31.
pub(crate) fn approved() -> ProjectApproved {
    ProjectApproved {
        approval_kind: ApprovalKind::Examination as i32,
        approving_authority: Some(authority("哈尔滨市发展和改革委员会")),
        approval_document_number: "哈发改审批〔2024〕12号".to_owned(),
        project_name: "双城区新兴大街道路改造工程".to_owned(),
        project_type: ProjectType::Construction as i32,
        industry: "市政道路".to_owned(),
        owner: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        region_code: "230113".to_owned(),
        location: None,
        total_investment_fen: INVESTMENT,
        funding_sources: vec![FundingSource::LocalBudget as i32],
        funding_description: String::new(),
        planned_period: Some(DateRange { start: Some(date(2024, 3, 1)), end: Some(date(2026, 12, 31)) }),
        scope_description: "道路改造 3.2 公里及配套管网".to_owned(),
        documents: Vec::new(),
    }
}

/// The same project approved as a PPP project.
pub(crate) fn ppp_approved() -> ProjectApproved {
    ProjectApproved { project_type: ProjectType::Ppp as i32, ..approved() }
}

pub(crate) fn ppp_details() -> PppDetailsDisclosed {
    PppDetailsDisclosed {
        operating_model: PppOperatingModel::Bot as i32,
        operating_model_description: String::new(),
        cooperation_period_months: 240,
        payment_mechanism: PppPaymentMechanism::ViabilityGap as i32,
        value_for_money_conclusion: AppraisalConclusion::Passed as i32,
        value_for_money_summary: "定性评价通过".to_owned(),
        fiscal_affordability_conclusion: AppraisalConclusion::Passed as i32,
        fiscal_affordability_summary: "占一般公共预算支出比例 4.2%".to_owned(),
        general_budget_share_bp: 420,
        government_equity_share_bp: 2000,
        documents: Vec::new(),
    }
}

pub(crate) fn project_suspended() -> ProjectSuspended {
    ProjectSuspended { reason: "资金未到位".to_owned(), decided_by: None, documents: Vec::new() }
}

pub(crate) fn project_resumed() -> ProjectResumed {
    ProjectResumed { reason: "资金已落实".to_owned(), decided_by: None, documents: Vec::new() }
}

pub(crate) fn project_cancelled() -> ProjectCancelled {
    ProjectCancelled { reason: "规划调整".to_owned(), decided_by: None, documents: Vec::new() }
}

/// A post-qualified open tender: documents issued day 10, sold day 10..16,
/// bid deadline and opening day 35 (25 days), each lot with the ceiling.
pub(crate) fn tender(code: &str, lots: &[&str]) -> TenderAnnounced {
    TenderAnnounced {
        tender_code: code.to_owned(),
        name: format!("{code} 施工招标"),
        method: ProcurementMethod::Open as i32,
        lots: lots
            .iter()
            .map(|lot| Lot {
                lot_code: (*lot).to_owned(),
                name: format!("施工{lot}标段"),
                ceiling_price_fen: Some(CEILING),
                estimated_value_fen: CEILING,
                description: String::new(),
                planned_contract_period: None,
            })
            .collect(),
        tender_documents_issued_at: Some(day(10)),
        document_sale_period: Some(period(day(10), day(16))),
        bid_deadline: Some(day(35)),
        bid_opening_at: Some(day(35)),
        bid_opening_place: "哈尔滨市公共资源交易中心第三开标室".to_owned(),
        qualification_mode: QualificationMode::PostQualification as i32,
        prequalification_deadline: None,
        bid_security_fen: 0,
        unified_deal_code: format!("DEAL-{code}"),
        retender_of: String::new(),
        invited_bidders: Vec::new(),
        tenderee: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        tender_agent: None,
        category: 0,
        documents: Vec::new(),
    }
}

/// The same tender with prequalification: applications close day 21 (5 days
/// after the sale window closes).
pub(crate) fn prequalified_tender(code: &str, lots: &[&str]) -> TenderAnnounced {
    TenderAnnounced {
        qualification_mode: QualificationMode::Prequalification as i32,
        prequalification_deadline: Some(day(21)),
        ..tender(code, lots)
    }
}

/// A clarification of every lot that does not affect bid preparation.
pub(crate) fn amended(code: &str) -> TenderAmended {
    TenderAmended {
        tender_code: code.to_owned(),
        lot_codes: Vec::new(),
        kind: AmendmentKind::Clarification as i32,
        affects_bid_preparation: false,
        new_bid_deadline: None,
        new_bid_opening_at: None,
        summary: "澄清工程量清单第 3 项".to_owned(),
        documents: Vec::new(),
    }
}

fn lot_codes(lots: &[&str]) -> Vec<String> {
    lots.iter().map(|lot| (*lot).to_owned()).collect()
}

pub(crate) fn tender_suspended(code: &str, lots: &[&str]) -> TenderSuspended {
    TenderSuspended {
        tender_code: code.to_owned(),
        lot_codes: lot_codes(lots),
        reason: "因投诉暂停".to_owned(),
        documents: Vec::new(),
    }
}

pub(crate) fn tender_resumed(code: &str, lots: &[&str]) -> TenderResumed {
    TenderResumed {
        tender_code: code.to_owned(),
        lot_codes: lot_codes(lots),
        reason: "投诉处理完毕".to_owned(),
        new_bid_deadline: None,
        documents: Vec::new(),
    }
}

pub(crate) fn tender_cancelled(code: &str, lots: &[&str]) -> TenderCancelled {
    TenderCancelled {
        tender_code: code.to_owned(),
        lot_codes: lot_codes(lots),
        reason: "需求变更".to_owned(),
        documents: Vec::new(),
    }
}

/// A bid by company `n` at `price_fen`, submitted day 30.
pub(crate) fn bid(n: u32, price_fen: i64) -> Bid {
    Bid { bidder: Some(org(n)), price_fen, submitted_at: Some(day(30)), consortium_members: Vec::new() }
}

/// Bids of companies `bidders`, priced 4 500 万元 + 100 万元 per position.
pub(crate) fn bids(bidders: &[u32]) -> Vec<Bid> {
    bidders.iter().zip(0_i64..).map(|(n, i)| bid(*n, price_of(i))).collect()
}

/// Price of the bid at position `i` of [`bids`].
pub(crate) fn price_of(i: i64) -> i64 {
    4_500_000_000 + i * 100_000_000
}

/// Bid opening of a lot at the day-35 deadline.
pub(crate) fn opened(code: &str, lot: &str, bids: Vec<Bid>) -> BidsOpened {
    BidsOpened {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        opened_at: Some(day(35)),
        place: "哈尔滨市公共资源交易中心第三开标室".to_owned(),
        bids,
        documents: Vec::new(),
    }
}

/// Candidates: company `ranked[i]` at rank i + 1, with the [`bids`] price of
/// its position.
fn candidates(ranked: &[u32]) -> Vec<Candidate> {
    ranked
        .iter()
        .zip(1..)
        .map(|(n, rank)| Candidate {
            rank,
            bidder: Some(org(*n)),
            bid_price_fen: price_of(i64::from(rank) - 1),
            score: String::new(),
            project_manager: None,
        })
        .collect()
}

/// Evaluation completed day 37.
pub(crate) fn evaluated(code: &str, lot: &str, ranked: &[u32]) -> BidsEvaluated {
    BidsEvaluated {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        completed_at: Some(day(37)),
        candidates: candidates(ranked),
        committee_members: Vec::new(),
        valid_bid_count: ranked.len() as i32,
        rejected_bids: Vec::new(),
        evaluation_method: 0,
        documents: Vec::new(),
    }
}

/// Publicity day 38..41 (3 days).
pub(crate) fn publicized(code: &str, lot: &str, ranked: &[u32]) -> CandidatesPublicized {
    CandidatesPublicized {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        publicity_period: Some(period(day(38), day(41))),
        candidates: candidates(ranked),
        documents: Vec::new(),
    }
}

/// Award to company `winner` at `price_fen`, announced day 42.
pub(crate) fn awarded(code: &str, lot: &str, winner: u32, price_fen: i64) -> AwardAnnounced {
    AwardAnnounced {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        winner: Some(org(winner)),
        award_price_fen: price_fen,
        announced_at: Some(day(42)),
        not_first_ranked_reason: String::new(),
        documents: Vec::new(),
    }
}

/// Award notice to company `winner`, issued day 43.
pub(crate) fn notice(code: &str, lot: &str, winner: u32) -> AwardNoticeIssued {
    AwardNoticeIssued {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        winner: Some(org(winner)),
        issued_at: Some(day(43)),
        documents: Vec::new(),
    }
}

pub(crate) fn award_cancelled(code: &str, lot: &str) -> AwardCancelled {
    AwardCancelled {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        reason: "投诉成立，中标无效".to_owned(),
        complaint_event_id: String::new(),
        documents: Vec::new(),
    }
}

pub(crate) fn tender_failed(code: &str, lot: &str) -> TenderFailed {
    TenderFailed {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        reason: TenderFailureReason::FewerThanThreeBids as i32,
        reason_text: String::new(),
        documents: Vec::new(),
    }
}

pub(crate) fn prequalification(code: &str) -> PrequalificationCompleted {
    PrequalificationCompleted {
        tender_code: code.to_owned(),
        lot_codes: Vec::new(),
        application_period: Some(period(day(16), day(21))),
        qualified_applicants: vec![org(1), org(2), org(3)],
        disqualified_applicants: Vec::new(),
        documents: Vec::new(),
    }
}

pub(crate) fn objection(code: &str, lot: &str) -> ObjectionRaised {
    ObjectionRaised {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        objector: Some(org(4)),
        received_at: Some(day(39)),
        subject: "对第一中标候选人业绩有异议".to_owned(),
        answered_at: Some(day(40)),
        answer: "经核查业绩属实".to_owned(),
        stage: 0,
        documents: Vec::new(),
    }
}

pub(crate) fn complaint(code: &str, lot: &str, objection_event_id: &str) -> ComplaintFiled {
    ComplaintFiled {
        tender_code: code.to_owned(),
        lot_code: lot.to_owned(),
        complainant: Some(org(4)),
        authority: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        received_at: Some(day(41)),
        subject: "评标结果投诉".to_owned(),
        details: String::new(),
        objection_event_id: objection_event_id.to_owned(),
        documents: Vec::new(),
    }
}

pub(crate) fn complaint_decided(complaint_event_id: &str) -> ComplaintDecided {
    ComplaintDecided {
        complaint_event_id: complaint_event_id.to_owned(),
        decided_at: Some(day(60)),
        outcome: ComplaintOutcome::Dismissed as i32,
        decision_summary: "投诉缺乏事实根据，予以驳回".to_owned(),
        documents: Vec::new(),
    }
}

/// A contract signed day 50 with `suppliers` at `price_fen`, period
/// 2024-05-01..2025-12-31.
pub(crate) fn contract(code: &str, tender: &str, lots: &[&str], suppliers: &[u32], price_fen: i64) -> ContractSigned {
    ContractSigned {
        contract_code: code.to_owned(),
        tender_code: tender.to_owned(),
        lot_codes: lot_codes(lots),
        buyer: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        suppliers: suppliers.iter().map(|n| org(*n)).collect(),
        price_fen,
        contract_period: Some(DateRange { start: Some(date(2024, 5, 1)), end: Some(date(2025, 12, 31)) }),
        signed_at: Some(day(50)),
        is_ppp_project_agreement: false,
        title: format!("{code} 施工合同"),
        documents: Vec::new(),
    }
}

/// A price variation.
pub(crate) fn varied(contract: &str, number: &str, price_change_fen: i64) -> ContractVaried {
    ContractVaried {
        contract_code: contract.to_owned(),
        variation_number: number.to_owned(),
        changes_price: true,
        changes_time: false,
        changes_scope: false,
        price_change_fen,
        new_end_date: None,
        scope_change: String::new(),
        reason: "设计变更".to_owned(),
        approved_by: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        documents: Vec::new(),
    }
}

/// A time variation moving the end date.
pub(crate) fn extended(contract: &str, number: &str, new_end: CalendarDate) -> ContractVaried {
    ContractVaried {
        changes_price: false,
        changes_time: true,
        price_change_fen: 0,
        new_end_date: Some(new_end),
        ..varied(contract, number, 0)
    }
}

pub(crate) fn milestone(contract: &str, code: &str, on: i64) -> MilestoneReached {
    MilestoneReached {
        contract_code: contract.to_owned(),
        milestone_code: code.to_owned(),
        milestone_name: format!("节点 {code}"),
        planned_date: None,
        reached_at: Some(day(on)),
        progress_bp: 0,
        kind: 0,
        documents: Vec::new(),
    }
}

pub(crate) fn payment(contract: &str, number: &str, amount_fen: i64, milestone: &str) -> PaymentMade {
    PaymentMade {
        contract_code: contract.to_owned(),
        payment_number: number.to_owned(),
        amount_fen,
        paid_at: Some(day(200)),
        payee: Some(org(1)),
        milestone_code: milestone.to_owned(),
        kind: 0,
        documents: Vec::new(),
    }
}

pub(crate) fn issue(contract: &str) -> PerformanceIssueRecorded {
    PerformanceIssueRecorded {
        contract_code: contract.to_owned(),
        kind: PerformanceIssueKind::Delay as i32,
        occurred_at: Some(day(300)),
        description: "雨季停工".to_owned(),
        penalty_fen: None,
        delay_days: Some(12),
        documents: Vec::new(),
    }
}

/// A passed acceptance on 2025-12-20.
pub(crate) fn accepted(contracts: &[&str]) -> CompletionAccepted {
    CompletionAccepted {
        contract_codes: lot_codes(contracts),
        accepted_at: Some(day(660)),
        actual_completion_date: Some(date(2025, 12, 20)),
        result: AcceptanceResult::Passed as i32,
        participants: Vec::new(),
        remarks: String::new(),
        documents: Vec::new(),
    }
}

/// Final accounts at `final_cost_fen`, project ended 2025-12-31.
pub(crate) fn settled(final_cost_fen: i64) -> FinalAccountsSettled {
    FinalAccountsSettled {
        final_cost_fen,
        settled_at: Some(day(750)),
        actual_end_date: Some(date(2025, 12, 31)),
        final_scope: "道路改造 3.2 公里及配套管网".to_owned(),
        audited_by: Some(authority("哈尔滨市审计局")),
        documents: Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Histories.
// ---------------------------------------------------------------------------

/// Approval and tender T1 with lot A (events e001, e002).
pub(crate) fn until_announced() -> Vec<Step> {
    vec![approved().into(), tender("T1", &["A"]).into()]
}

/// ... and bids of companies 1..4 opened for T1/A (e003).
pub(crate) fn until_opened() -> Vec<Step> {
    let mut steps = until_announced();
    steps.push(opened("T1", "A", bids(&[1, 2, 3, 4])).into());
    steps
}

/// ... evaluated with 1, 2, 3 ranked (e004) and publicized (e005).
pub(crate) fn until_evaluated() -> Vec<Step> {
    let mut steps = until_opened();
    steps.push(evaluated("T1", "A", &[1, 2, 3]).into());
    steps.push(publicized("T1", "A", &[1, 2, 3]).into());
    steps
}

/// ... awarded to company 1 at its bid price (e006).
pub(crate) fn until_awarded() -> Vec<Step> {
    let mut steps = until_evaluated();
    steps.push(awarded("T1", "A", 1, price_of(0)).into());
    steps
}

/// ... award notice issued day 43 (e007).
pub(crate) fn until_notified() -> Vec<Step> {
    let mut steps = until_awarded();
    steps.push(notice("T1", "A", 1).into());
    steps
}

/// ... contract C1 signed day 50 at the award price (e008).
pub(crate) fn until_signed() -> Vec<Step> {
    let mut steps = until_notified();
    steps.push(contract("C1", "T1", &["A"], &[1], price_of(0)).into());
    steps
}
