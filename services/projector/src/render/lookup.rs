//! What an entry reads of its project beyond its own event, and nothing
//! else: every such read goes through a [`Lookup`], which can note it.
//!
//! An entry's text depends on its event (fixed once recorded), on whether a
//! correction superseded it, and on what it reads here: a tender's or lot's
//! name, a lot's ceiling price, a contract's tender and lots, the approved
//! investment, a complaint's scope, and what the disclosure policy has
//! released. Each read is a [`Dep`] and the value it gave, a [`Seen`]. The
//! incremental renderer (`carry`) keeps the reads of every entry: after a new
//! event it evaluates each distinct `Dep` again and draws again only the
//! entries whose reads changed. Because the text functions receive a
//! `Lookup` and never the state itself, a read that is not noted cannot be
//! written: the dependencies are what the code reads, not a list kept by
//! hand beside it.

use std::cell::RefCell;
use std::collections::BTreeSet;

use gongkai_domain::ProjectState;
use gongkai_domain::state::EffectiveFact;
use gongkai_proto::v1::fact::Kind;

/// What the project's effective history releases to the public: bid
/// openings and award results (see `policy`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Releases {
    /// (tender code, lot code) of every bid opening.
    opened: BTreeSet<(String, String)>,
    /// (tender code, lot code, position) of every award result.
    awards: Vec<(String, String, u64)>,
}

impl Releases {
    /// The releases of `state`'s effective history.
    pub(crate) fn new(state: &ProjectState) -> Self {
        let mut releases = Self::default();
        for entry in state.history() {
            releases.note(entry);
        }
        releases
    }

    /// Notes one more fact of the effective history (appended at its end).
    pub(crate) fn note(&mut self, entry: &EffectiveFact) {
        match &entry.fact {
            Kind::BidsOpened(fact) => {
                self.opened.insert((fact.tender_code.clone(), fact.lot_code.clone()));
            }
            Kind::AwardAnnounced(fact) => {
                self.awards.push((fact.tender_code.clone(), fact.lot_code.clone(), entry.project_seq));
            }
            _ => {}
        }
    }

    /// Bytes held, roughly.
    pub(crate) fn weight(&self) -> usize {
        (self.opened.len() + self.awards.len()) * 96
    }
}

/// One read of the project beyond an entry's own event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Dep {
    /// A tender's name as announced, else its code.
    TenderName(String),
    /// A lot's name, when it has one.
    LotName(String, String),
    /// A lot's ceiling price.
    LotCeiling(String, String),
    /// A contract's tender and lots, as signed.
    ContractScope(String),
    /// A contract's signed price.
    ContractPrice(String),
    /// The approved total investment, when positive.
    ApprovedInvestment,
    /// The tender and lot of the complaint filed by an event.
    ComplaintScope(String),
    /// Whether the bidders of these lots of a tender (all when empty) are public.
    BiddersPublic(String, Vec<String>),
    /// Whether the committee of a lot evaluated at a position is public.
    CommitteePublic(String, String, u64),
}

/// The value a [`Dep`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    Text(String),
    MaybeText(Option<String>),
    Amount(Option<i64>),
    Scope(Option<(String, Vec<String>)>),
    Pair(Option<(String, String)>),
    Flag(bool),
}

impl Dep {
    /// What this read gives on `state` and `releases`.
    pub(crate) fn eval(&self, state: &ProjectState, releases: &Releases) -> Seen {
        match self {
            Dep::TenderName(tender) => Seen::Text(tender_name(state, tender)),
            Dep::LotName(tender, lot) => Seen::MaybeText(lot_name(state, tender, lot)),
            Dep::LotCeiling(tender, lot) => Seen::Amount(lot_ceiling(state, tender, lot)),
            Dep::ContractScope(contract) => Seen::Scope(contract_scope(state, contract)),
            Dep::ContractPrice(contract) => Seen::Amount(contract_price(state, contract)),
            Dep::ApprovedInvestment => Seen::Amount(approved_investment(state)),
            Dep::ComplaintScope(event_id) => Seen::Pair(complaint_scope(state, event_id)),
            Dep::BiddersPublic(tender, lots) => Seen::Flag(bidders_public(state, releases, tender, lots)),
            Dep::CommitteePublic(tender, lot, position) => {
                Seen::Flag(committee_public(releases, tender, lot, *position))
            }
        }
    }

    /// Bytes held, roughly.
    pub(crate) fn weight(&self) -> usize {
        let text = match self {
            Dep::TenderName(a) | Dep::ContractScope(a) | Dep::ContractPrice(a) | Dep::ComplaintScope(a) => a.len(),
            Dep::LotName(a, b) | Dep::LotCeiling(a, b) | Dep::CommitteePublic(a, b, _) => a.len() + b.len(),
            Dep::BiddersPublic(a, lots) => a.len() + lots.iter().map(|lot| lot.len() + 24).sum::<usize>(),
            Dep::ApprovedInvestment => 0,
        };
        96 + text
    }
}

impl Seen {
    /// Bytes held, roughly.
    pub(crate) fn weight(&self) -> usize {
        match self {
            Seen::Text(text) | Seen::MaybeText(Some(text)) => text.len(),
            Seen::Scope(Some((tender, lots))) => tender.len() + lots.iter().map(|lot| lot.len() + 24).sum::<usize>(),
            Seen::Pair(Some((tender, lot))) => tender.len() + lot.len(),
            _ => 0,
        }
    }
}

fn tender_name(state: &ProjectState, tender_code: &str) -> String {
    state
        .tender(tender_code)
        .map(|tender| tender.name.clone())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| tender_code.to_owned())
}

fn lot_name(state: &ProjectState, tender_code: &str, lot_code: &str) -> Option<String> {
    state.lot(tender_code, lot_code).map(|lot| lot.name.clone()).filter(|name| !name.is_empty())
}

fn lot_ceiling(state: &ProjectState, tender_code: &str, lot_code: &str) -> Option<i64> {
    state.lot(tender_code, lot_code).and_then(|lot| lot.ceiling_price_fen)
}

fn contract_scope(state: &ProjectState, contract_code: &str) -> Option<(String, Vec<String>)> {
    state.contract(contract_code).map(|contract| (contract.tender_code.clone(), contract.lot_codes.clone()))
}

fn contract_price(state: &ProjectState, contract_code: &str) -> Option<i64> {
    state.contract(contract_code).map(|contract| contract.price_fen)
}

fn approved_investment(state: &ProjectState) -> Option<i64> {
    state.approval().map(|approval| approval.fact.total_investment_fen).filter(|fen| *fen > 0)
}

fn complaint_scope(state: &ProjectState, event_id: &str) -> Option<(String, String)> {
    state.complaint(event_id).map(|complaint| (complaint.tender_code.clone(), complaint.lot_code.clone()))
}

/// Whether potential bidders of `lot_codes` of a tender (every lot when
/// empty) are public (TBL art. 22): at least one of those lots has had its
/// bids opened and each of the others is opened or closed (cancelled or
/// failed) without an opening.
fn bidders_public(state: &ProjectState, releases: &Releases, tender_code: &str, lot_codes: &[String]) -> bool {
    let lots: Vec<String> = if lot_codes.is_empty() {
        state.tender(tender_code).map(|tender| tender.lots.keys().cloned().collect()).unwrap_or_default()
    } else {
        lot_codes.to_vec()
    };
    let is_opened = |lot: &String| releases.opened.contains(&(tender_code.to_owned(), lot.clone()));
    let is_closed = |lot: &String| state.lot(tender_code, lot).is_some_and(|state| state.status.is_closed());
    lots.iter().any(is_opened) && lots.iter().all(|lot| is_opened(lot) || is_closed(lot))
}

/// Whether the evaluation committee of a lot evaluated at `position` is
/// public: an award result for the lot was recorded after it.
fn committee_public(releases: &Releases, tender_code: &str, lot_code: &str, position: u64) -> bool {
    releases.awards.iter().any(|(tender, lot, at)| tender == tender_code && lot == lot_code && *at > position)
}

/// The project as an entry may read it, noting each read when asked to.
#[derive(Debug)]
pub(crate) struct Lookup<'s> {
    state: &'s ProjectState,
    releases: &'s Releases,
    reads: Option<RefCell<Vec<(Dep, Seen)>>>,
}

impl<'s> Lookup<'s> {
    /// Reads `state` and `releases` without noting anything.
    pub(crate) fn new(state: &'s ProjectState, releases: &'s Releases) -> Self {
        Self { state, releases, reads: None }
    }

    /// Reads `state` and `releases`, noting every read ([`Self::reads`]).
    pub(crate) fn noting(state: &'s ProjectState, releases: &'s Releases) -> Self {
        Self { state, releases, reads: Some(RefCell::new(Vec::new())) }
    }

    /// What was read since [`Self::noting`], in order.
    pub(crate) fn reads(self) -> Vec<(Dep, Seen)> {
        self.reads.map(RefCell::into_inner).unwrap_or_default()
    }

    fn note(&self, dep: impl FnOnce() -> Dep, seen: impl FnOnce() -> Seen) {
        if let Some(reads) = &self.reads {
            reads.borrow_mut().push((dep(), seen()));
        }
    }

    /// The tender's name as announced, else its code.
    pub(crate) fn tender_name(&self, tender_code: &str) -> String {
        let name = tender_name(self.state, tender_code);
        self.note(|| Dep::TenderName(tender_code.to_owned()), || Seen::Text(name.clone()));
        name
    }

    /// The lot's name, when it has one.
    pub(crate) fn lot_name(&self, tender_code: &str, lot_code: &str) -> Option<String> {
        let name = lot_name(self.state, tender_code, lot_code);
        self.note(|| Dep::LotName(tender_code.to_owned(), lot_code.to_owned()), || Seen::MaybeText(name.clone()));
        name
    }

    /// The lot's ceiling price.
    pub(crate) fn lot_ceiling(&self, tender_code: &str, lot_code: &str) -> Option<i64> {
        let ceiling = lot_ceiling(self.state, tender_code, lot_code);
        self.note(|| Dep::LotCeiling(tender_code.to_owned(), lot_code.to_owned()), || Seen::Amount(ceiling));
        ceiling
    }

    /// The contract's tender and lots, as signed.
    pub(crate) fn contract_scope(&self, contract_code: &str) -> Option<(String, Vec<String>)> {
        let scope = contract_scope(self.state, contract_code);
        self.note(|| Dep::ContractScope(contract_code.to_owned()), || Seen::Scope(scope.clone()));
        scope
    }

    /// The contract's signed price.
    pub(crate) fn contract_price(&self, contract_code: &str) -> Option<i64> {
        let price = contract_price(self.state, contract_code);
        self.note(|| Dep::ContractPrice(contract_code.to_owned()), || Seen::Amount(price));
        price
    }

    /// The approved total investment, when positive.
    pub(crate) fn approved_investment(&self) -> Option<i64> {
        let investment = approved_investment(self.state);
        self.note(|| Dep::ApprovedInvestment, || Seen::Amount(investment));
        investment
    }

    /// The tender and lot of the complaint `event_id` filed (any version of it).
    pub(crate) fn complaint_scope(&self, event_id: &str) -> Option<(String, String)> {
        let scope = complaint_scope(self.state, event_id);
        self.note(|| Dep::ComplaintScope(event_id.to_owned()), || Seen::Pair(scope.clone()));
        scope
    }

    /// Whether the potential bidders of `lot_codes` of a tender (every lot
    /// when empty) are public; see `policy`.
    pub(crate) fn bidders_public(&self, tender_code: &str, lot_codes: &[String]) -> bool {
        let public = bidders_public(self.state, self.releases, tender_code, lot_codes);
        self.note(|| Dep::BiddersPublic(tender_code.to_owned(), lot_codes.to_vec()), || Seen::Flag(public));
        public
    }

    /// Whether the evaluation committee of a lot evaluated at `position` is public.
    pub(crate) fn committee_public(&self, tender_code: &str, lot_code: &str, position: u64) -> bool {
        let public = committee_public(self.releases, tender_code, lot_code, position);
        self.note(
            || Dep::CommitteePublic(tender_code.to_owned(), lot_code.to_owned(), position),
            || Seen::Flag(public),
        );
        public
    }
}
