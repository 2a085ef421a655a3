//! A project's state, folded from its recorded events.
//!
//! The state reflects the *effective* history: every fact in its original
//! position, replaced by its latest correction when it was corrected. It keeps
//! that list ([`ProjectState::history`]) and folds it into a read model
//! (approval, tenders and lots, complaints, contracts, completion); a
//! correction replaces one entry and the model is folded again from scratch.
//! Every recorded event, corrections included, is indexed by id
//! ([`ProjectState::event`]).

mod fold;
pub mod land;
mod model;
pub mod outcome;

use std::collections::BTreeMap;

use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    EnvironmentalImpactApproved, EventEnvelope, MilestoneKind, PppDetailsDisclosed, ProjectApproved, ProjectType,
};
use prost_types::Timestamp;

pub use model::{
    Award, AwardNotice, Complaint, Completion, Contract, EffectiveFact, Evaluation, FinalAccounts, LotStage, LotState,
    LotStatus, Milestone, Objection, Opening, Payment, ProjectStatus, Publicity, Recorded, RecordedEvent, Settlement,
    Tender, Variation,
};

use crate::Body;
use crate::kinds::{domain_of, kind_name};
use land::{Expropriation, LandTotals};

/// Everything the rules need to know about a project's past.
#[derive(Debug, Clone, Default)]
pub struct ProjectState {
    last_seq: u64,
    index: BTreeMap<String, RecordedEvent>,
    history: Vec<EffectiveFact>,
    folded: Folded,
}

/// The read model folded from the effective history.
#[derive(Debug, Clone, Default)]
pub(crate) struct Folded {
    pub(crate) approval: Option<Recorded<ProjectApproved>>,
    pub(crate) status: ProjectStatus,
    pub(crate) status_event_id: Option<String>,
    pub(crate) ppp_details: Option<Recorded<PppDetailsDisclosed>>,
    pub(crate) tenders: BTreeMap<String, Tender>,
    pub(crate) objections: BTreeMap<String, Objection>,
    pub(crate) complaints: BTreeMap<String, Complaint>,
    pub(crate) contracts: BTreeMap<String, Contract>,
    pub(crate) completions: Vec<Completion>,
    pub(crate) final_accounts: Option<FinalAccounts>,
    pub(crate) expropriations: BTreeMap<String, Expropriation>,
    pub(crate) land_totals: LandTotals,
    pub(crate) eia_approvals: Vec<Recorded<EnvironmentalImpactApproved>>,
    pub(crate) fault: Option<BoundFault>,
}

/// The first effective fact whose effect leaves the money bound (see
/// [`crate::money`]). `decide` refuses such facts; one can only come from an
/// event accepted before the bound existed. The totals it would have changed
/// keep their last values, so a project with a fault must not be published
/// as if its figures were true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundFault {
    /// The event in force whose effect leaves the bound.
    pub event_id: String,
    /// Which total, in Chinese.
    pub description: String,
}

impl ProjectState {
    /// Folds a project's recorded events, in project_seq order. Bodies are
    /// facts or corrections; an event without a body, or a correction of an
    /// unknown event, is indexed where possible and otherwise skipped.
    pub fn from_events(events: &[EventEnvelope]) -> Self {
        let mut state = Self::default();
        for event in events {
            state.apply(event);
        }
        state
    }

    /// Folds one more recorded event (the next in project_seq order), e.g. in
    /// a projector that keeps the state between events.
    pub fn apply(&mut self, event: &EventEnvelope) {
        self.last_seq = self.last_seq.max(event.project_seq);
        match &event.body {
            Some(Body::Fact(fact)) => {
                let Some(kind) = &fact.kind else { return };
                self.index.insert(
                    event.event_id.clone(),
                    RecordedEvent {
                        event_id: event.event_id.clone(),
                        project_seq: event.project_seq,
                        kind: kind_name(kind),
                        domain: domain_of(kind),
                        is_correction: false,
                        supersedes: None,
                        superseded_by: None,
                        original_event_id: event.event_id.clone(),
                    },
                );
                self.push_fact(EffectiveFact {
                    original_event_id: event.event_id.clone(),
                    event_id: event.event_id.clone(),
                    project_seq: event.project_seq,
                    occurred_at: event.occurred_at,
                    fact: kind.clone(),
                });
            }
            Some(Body::Correction(correction)) => {
                let Some(kind) = correction.replacement.as_ref().and_then(|fact| fact.kind.as_ref()) else { return };
                let Some(position) =
                    self.index_correction(&event.event_id, event.project_seq, &correction.supersedes_event_id, kind)
                else {
                    return;
                };
                let entry = &mut self.history[position];
                entry.event_id = event.event_id.clone();
                entry.fact = kind.clone();
                if correction.replacement_occurred_at.is_some() {
                    entry.occurred_at = correction.replacement_occurred_at;
                }
                self.refold();
            }
            None => {}
        }
    }

    /// The project_seq of the last event folded (0 for a new project).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Whether the project has been approved.
    pub fn exists(&self) -> bool {
        self.folded.approval.is_some()
    }

    /// The project's region code, from its (effective) approval.
    pub fn region_code(&self) -> Option<&str> {
        self.folded.approval.as_ref().map(|approval| approval.fact.region_code.as_str())
    }

    /// The effective approval (立项) and the event in force that carries it.
    pub fn approval(&self) -> Option<&Recorded<ProjectApproved>> {
        self.folded.approval.as_ref()
    }

    /// Construction or PPP, from the approval.
    pub fn project_type(&self) -> Option<ProjectType> {
        self.folded.approval.as_ref().map(|approval| approval.fact.project_type())
    }

    /// Active, suspended or cancelled; `None` before approval.
    pub fn status(&self) -> Option<ProjectStatus> {
        self.exists().then_some(self.folded.status)
    }

    /// The event that set the current status (suspension, resumption or
    /// cancellation); `None` while active since approval.
    pub fn status_event_id(&self) -> Option<&str> {
        self.folded.status_event_id.as_deref()
    }

    /// The disclosed PPP details, if any.
    pub fn ppp_details(&self) -> Option<&Recorded<PppDetailsDisclosed>> {
        self.folded.ppp_details.as_ref()
    }

    /// Every tender, by tender code.
    pub fn tenders(&self) -> &BTreeMap<String, Tender> {
        &self.folded.tenders
    }

    /// One tender.
    pub fn tender(&self, tender_code: &str) -> Option<&Tender> {
        self.folded.tenders.get(tender_code)
    }

    /// One lot of one tender.
    pub fn lot(&self, tender_code: &str, lot_code: &str) -> Option<&LotState> {
        self.tender(tender_code).and_then(|tender| tender.lots.get(lot_code))
    }

    /// Every objection, by the id of its original ObjectionRaised event.
    pub fn objections(&self) -> &BTreeMap<String, Objection> {
        &self.folded.objections
    }

    /// Every complaint, by the id of its original ComplaintFiled event.
    pub fn complaints(&self) -> &BTreeMap<String, Complaint> {
        &self.folded.complaints
    }

    /// The complaint filed by `event_id` (the original or any version of it).
    pub fn complaint(&self, event_id: &str) -> Option<&Complaint> {
        self.original_event_id(event_id).and_then(|original| self.folded.complaints.get(original))
    }

    /// The objection raised by `event_id` (the original or any version of it).
    pub fn objection(&self, event_id: &str) -> Option<&Objection> {
        self.original_event_id(event_id).and_then(|original| self.folded.objections.get(original))
    }

    /// The first fact whose effect leaves the money bound, if any.
    pub fn bound_fault(&self) -> Option<&BoundFault> {
        self.folded.fault.as_ref()
    }

    /// The project's contracted totals: signed prices and prices after
    /// variations, summed over its contracts; `None` when one leaves the bound.
    pub fn contracted_totals(&self) -> Option<(i64, i64)> {
        let contracts = self.folded.contracts.values();
        let signed = crate::money::checked_sum(contracts.clone().map(|c| c.price_fen))?;
        let current = crate::money::checked_sum(contracts.map(|c| c.current_price_fen))?;
        Some((signed, current))
    }

    /// Every contract, by contract code.
    pub fn contracts(&self) -> &BTreeMap<String, Contract> {
        &self.folded.contracts
    }

    /// One contract.
    pub fn contract(&self, contract_code: &str) -> Option<&Contract> {
        self.folded.contracts.get(contract_code)
    }

    /// Completion acceptances, in order.
    pub fn completions(&self) -> &[Completion] {
        &self.folded.completions
    }

    /// Whether a completion acceptance passed (with or without remarks).
    pub fn has_passed_completion(&self) -> bool {
        self.folded.completions.iter().any(Completion::passed)
    }

    /// The final accounts, once settled.
    pub fn final_accounts(&self) -> Option<&FinalAccounts> {
        self.folded.final_accounts.as_ref()
    }

    /// Every milestone of `kind` reached under any contract, with its
    /// contract's code, by contract code then milestone code.
    pub fn milestones(&self, kind: MilestoneKind) -> impl Iterator<Item = (&str, &Milestone)> {
        self.folded.contracts.values().flat_map(move |contract| {
            contract
                .milestones
                .values()
                .filter(move |milestone| milestone.kind == kind)
                .map(|milestone| (contract.contract_code.as_str(), milestone))
        })
    }

    /// Every expropriation (征收批次/片区), by expropriation code.
    pub fn expropriations(&self) -> &BTreeMap<String, Expropriation> {
        &self.folded.expropriations
    }

    /// One expropriation.
    pub fn expropriation(&self, expropriation_code: &str) -> Option<&Expropriation> {
        self.folded.expropriations.get(expropriation_code)
    }

    /// The totals over the project's expropriations.
    pub fn land_totals(&self) -> &LandTotals {
        &self.folded.land_totals
    }

    /// The environmental impact assessment approvals, in the order recorded.
    pub fn eia_approvals(&self) -> &[Recorded<EnvironmentalImpactApproved>] {
        &self.folded.eia_approvals
    }

    /// Every recorded event (facts and corrections), by event id.
    pub fn events(&self) -> &BTreeMap<String, RecordedEvent> {
        &self.index
    }

    /// One recorded event.
    pub fn event(&self, event_id: &str) -> Option<&RecordedEvent> {
        self.index.get(event_id)
    }

    /// The correction that superseded `event_id`, if any.
    pub fn superseded_by(&self, event_id: &str) -> Option<&str> {
        self.index.get(event_id).and_then(|event| event.superseded_by.as_deref())
    }

    /// Id of the original fact of `event_id`'s chain of versions.
    pub fn original_event_id(&self, event_id: &str) -> Option<&str> {
        self.index.get(event_id).map(|event| event.original_event_id.as_str())
    }

    /// The effective history: each original fact in its position, as last
    /// corrected.
    pub fn history(&self) -> &[EffectiveFact] {
        &self.history
    }

    /// Position of `event_id` in the effective history, as the project_seq of
    /// its original (u64::MAX when unknown): orders event ids oldest first.
    pub fn position_of(&self, event_id: &str) -> u64 {
        self.original_event_id(event_id)
            .and_then(|original| self.index.get(original))
            .map_or(u64::MAX, |e| e.project_seq)
    }

    /// Appends one fact to the effective history and folds it.
    pub(crate) fn push_fact(&mut self, entry: EffectiveFact) {
        fold::apply(&mut self.folded, &self.index, &entry);
        self.history.push(entry);
    }

    /// Indexes a correction `event_id` of `supersedes` and marks the latter
    /// superseded; returns the position in the effective history of the fact
    /// it replaces. `None` (nothing changed) when `supersedes` is unknown.
    pub(crate) fn index_correction(
        &mut self,
        event_id: &str,
        seq: u64,
        supersedes: &str,
        kind: &Kind,
    ) -> Option<usize> {
        let target = self.index.get_mut(supersedes)?;
        target.superseded_by = Some(event_id.to_owned());
        let original = target.original_event_id.clone();
        let position = self.history.iter().position(|entry| entry.original_event_id == original)?;
        self.index.insert(
            event_id.to_owned(),
            RecordedEvent {
                event_id: event_id.to_owned(),
                project_seq: seq,
                kind: kind_name(kind),
                domain: domain_of(kind),
                is_correction: true,
                supersedes: Some(supersedes.to_owned()),
                superseded_by: None,
                original_event_id: original,
            },
        );
        Some(position)
    }

    /// Empties the effective history and the model (keeping the event index
    /// and last_seq) and returns the history, to be folded again entry by
    /// entry with [`Self::push_fact`].
    pub(crate) fn take_history(&mut self) -> Vec<EffectiveFact> {
        self.folded = Folded::default();
        std::mem::take(&mut self.history)
    }

    fn refold(&mut self) {
        let history = self.take_history();
        for entry in history {
            self.push_fact(entry);
        }
    }

    /// The occurred_at of an event in the effective history (by any version id).
    pub fn occurred_at_of(&self, event_id: &str) -> Option<Timestamp> {
        let original = self.original_event_id(event_id)?;
        self.history.iter().find(|entry| entry.original_event_id == original).and_then(|entry| entry.occurred_at)
    }
}
