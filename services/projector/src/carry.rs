//! The incremental renderer: a project's rendering carried from one event to
//! the next, byte-identical to [`render()`](crate::render()) of all its
//! events, at a cost that does not grow with the project's history.
//!
//! [`Carried`] keeps a project's events, its [`ProjectState`], what its
//! history released, a fingerprint of each entry as last drawn, and what
//! each entry read of the project (`lookup`: every read goes through a
//! [`Lookup`], which notes the read and the value it gave). A new event is
//! folded into the state; then, since an entry's text is a function of its
//! own event, of whether a correction superseded it, and of its reads:
//!
//! - its own entry is drawn;
//! - every distinct read any entry made is evaluated again (a handful per
//!   project: tender and lot names, contract scopes, what the disclosure
//!   policy released), and the entries whose reads gave something else are
//!   drawn again: e.g. the announcement's, once the last lot's bids are
//!   opened and its invited bidders are released;
//! - everything is drawn again when the event is a correction (it marks the
//!   entry it supersedes and refolds the state), or when it carries an event
//!   id the project already has or a correction named: the few events that
//!   change what is otherwise fixed once recorded (versions of facts,
//!   positions, the seq of a superseded event).
//!
//! An entry drawn again whose bytes did not change (by fingerprint: two
//! 64-bit SipHashes under keys drawn at random when the process starts, so
//! no submitter can aim at a collision) is not returned. The summaries and
//! supervision rows are folded from the state (never from all events) each
//! time. The property test `tests/carry.rs` checks, on random lifecycles,
//! that after every event the carried rows equal those of `render()`.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::OnceLock;

use gongkai_domain::{Body, ProjectState};
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{ProjectViewRows, SupervisionRows, TimelineRow, ViewChanges};
use prost::Message;

use crate::render::lookup::{Dep, Lookup, Releases, Seen};
use crate::render::{Ctx, RenderError, Version, amount_fault, ordered, recorded_kind, refusal, summaries};
use crate::rows::{Trail, project_row, supervision_rows, timeline_rows};

/// Why a rendering could not be carried over new events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarryError {
    /// The project cannot be rendered (as [`render()`](crate::render()) says).
    #[error(transparent)]
    Refused(#[from] RenderError),
    /// The events given are not the next ones of the project.
    #[error("event {got} is not the project's next (expected {expected})")]
    NotNext {
        /// The seq the next event must have.
        expected: u64,
        /// The seq given.
        got: u64,
    },
}

/// A timeline row, fingerprinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint(u64, u64);

/// The fingerprint of a timeline row as stored: its columns, not only its
/// entry, since a full row's entry keeps only what differs from the public
/// one and a change both share leaves it as it was.
fn fingerprint(row: &TimelineRow) -> Fingerprint {
    static KEYS: OnceLock<(RandomState, RandomState)> = OnceLock::new();
    let (first, second) = KEYS.get_or_init(|| (RandomState::new(), RandomState::new()));
    let stored = (&row.event_id, &row.fact_type, row.occurred_at, row.recorded_at, &row.entry);
    Fingerprint(first.hash_one(stored), second.hash_one(stored))
}

/// One event's entries as last drawn.
#[derive(Debug, Clone, Copy)]
struct Drawn {
    full: Fingerprint,
    public: Fingerprint,
}

/// A distinct read of the project: the value it gives now, and the entries
/// (by index) that made it, ascending.
#[derive(Debug)]
struct Watch {
    seen: Seen,
    readers: Vec<u32>,
}

/// A project's rendering, carried from event to event; see the module docs.
#[derive(Debug, Default)]
pub struct Carried {
    /// The events, in seq order.
    events: Vec<EventEnvelope>,
    state: ProjectState,
    releases: Releases,
    /// Every event's fact (for a correction, its replacement) by event id:
    /// the index of the event that records it, and its business time.
    versions: HashMap<String, (usize, Option<prost_types::Timestamp>)>,
    /// The index of the last event with each id.
    ids: HashMap<String, usize>,
    /// The event ids corrections named as superseded.
    named: HashSet<String>,
    drawn: Vec<Drawn>,
    reads: HashMap<Dep, Watch>,
    /// Entries in force with an amount past the money bound, by index.
    faults: BTreeMap<usize, RenderError>,
    flag_count: usize,
    project_code: String,
    trail: Trail,
    /// Bytes held, roughly.
    weight: usize,
}

impl Carried {
    /// Renders a project from its events (put in seq order, a repeated seq
    /// once) into the rows of [`render()`](crate::render()), and the
    /// rendering to carry on from.
    pub fn start(events: &[EventEnvelope]) -> Result<(ProjectViewRows, Self), RenderError> {
        let mut carried = Self::default();
        let ViewChanges(rows) = carried.take(&ordered(events), true)?;
        Ok((rows, carried))
    }

    /// Carries the rendering over `events`, the project's next ones in seq
    /// order: the rows that differ from the rendering before. On an error
    /// the rendering is no longer of any use.
    pub fn advance(&mut self, events: &[EventEnvelope]) -> Result<ViewChanges, CarryError> {
        for (expected, event) in (self.head() + 1..).zip(events) {
            if event.project_seq != expected {
                return Err(CarryError::NotNext { expected, got: event.project_seq });
            }
        }
        let events: Vec<&EventEnvelope> = events.iter().collect();
        Ok(self.take(&events, false)?)
    }

    /// The seq of the last event (0 before any).
    pub fn head(&self) -> u64 {
        self.events.last().map_or(0, |event| event.project_seq)
    }

    /// Bytes held, roughly: what the projector's memory budget counts.
    pub fn weight(&self) -> usize {
        self.weight
            + self.releases.weight()
            + self.trail.weight()
            + self
                .reads
                .iter()
                .map(|(dep, watch)| dep.weight() + watch.seen.weight() + watch.readers.len() * 4)
                .sum::<usize>()
    }

    /// Folds `events` in and draws what they may have changed (everything
    /// with `whole`); the rows that changed.
    fn take(&mut self, events: &[&EventEnvelope], mut whole: bool) -> Result<ViewChanges, RenderError> {
        let known = self.events.len();
        for event in events {
            whole |= self.absorb(event);
        }
        if whole {
            self.releases = Releases::new(&self.state);
        }
        refusal(&self.state, self.events.last())?;
        let dirty: Vec<usize> = if whole {
            self.reads.clear();
            self.faults.clear();
            (0..self.events.len()).collect()
        } else {
            let mut dirty: BTreeSet<usize> = (known..self.events.len()).collect();
            for (dep, watch) in &mut self.reads {
                let now = dep.eval(&self.state, &self.releases);
                if now != watch.seen {
                    watch.seen = now;
                    dirty.extend(watch.readers.drain(..).map(|at| at as usize));
                }
            }
            dirty.into_iter().collect()
        };

        let (mut public_timeline, mut full_timeline): (Vec<TimelineRow>, Vec<TimelineRow>) = (Vec::new(), Vec::new());
        let (events, versions) = (&self.events, &self.versions);
        let version_of = |event_id: &str| {
            let &(at, occurred_at) = versions.get(event_id)?;
            recorded_kind(&events[at]).map(|kind| Version { kind, occurred_at })
        };
        let ctx = Ctx { state: &self.state, versions: &version_of };
        for at in dirty {
            let lookup = Lookup::noting(&self.state, &self.releases);
            let (full, public) = ctx.draw(&events[at], &lookup);
            for (dep, seen) in lookup.reads() {
                let reader = at as u32;
                match self.reads.entry(dep) {
                    Entry::Occupied(mut watch) => {
                        let readers = &mut watch.get_mut().readers;
                        if let Err(slot) = readers.binary_search(&reader) {
                            readers.insert(slot, reader);
                        }
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(Watch { seen, readers: vec![reader] });
                    }
                }
            }
            match amount_fault(&full) {
                Some(fault) => self.faults.insert(at, fault),
                None => self.faults.remove(&at),
            };
            let (full, public) = timeline_rows(&full, &public);
            let now = Drawn { full: fingerprint(&full), public: fingerprint(&public) };
            let before = self.drawn.get(at).copied();
            if before.is_none_or(|before| before.full != now.full) {
                full_timeline.push(full);
            }
            if before.is_none_or(|before| before.public != now.public) {
                public_timeline.push(public);
            }
            match self.drawn.get_mut(at) {
                Some(drawn) => *drawn = now,
                None => self.drawn.push(now),
            }
        }
        self.reads.retain(|_, watch| !watch.readers.is_empty());
        if let Some(fault) = self.faults.values().next() {
            return Err(fault.clone());
        }

        let (public_summary, full_summary) =
            summaries(self.events.last(), &self.project_code, self.flag_count, &self.state);
        let source_of = |event_id: &str| self.ids.get(event_id).map(|&at| self.events[at].source.as_str());
        let supervision: SupervisionRows = supervision_rows(&self.state, &self.trail, &source_of, &full_summary);
        Ok(ViewChanges(ProjectViewRows {
            public_timeline,
            full_timeline,
            public_project: project_row(&public_summary),
            full_project: project_row(&full_summary),
            supervision,
        }))
    }

    /// Folds one event in (the next in seq order); whether everything must
    /// be drawn again.
    fn absorb(&mut self, event: &EventEnvelope) -> bool {
        let at = self.events.len();
        let mut whole = self.ids.contains_key(&event.event_id) || self.named.contains(&event.event_id);
        if recorded_kind(event).is_some() {
            let occurred_at = match &event.body {
                Some(Body::Correction(correction)) => correction.replacement_occurred_at.or_else(|| {
                    self.versions.get(correction.supersedes_event_id.as_str()).and_then(|&(_, occurred_at)| occurred_at)
                }),
                _ => event.occurred_at,
            };
            self.versions.insert(event.event_id.clone(), (at, occurred_at));
        }
        if let Some(Body::Correction(correction)) = &event.body {
            whole = true;
            self.named.insert(correction.supersedes_event_id.clone());
        }
        self.ids.insert(event.event_id.clone(), at);
        self.flag_count += event.flags.len();
        if self.project_code.is_empty() {
            self.project_code.clone_from(&event.subject);
        }
        self.trail.note(event);
        let history = self.state.history().len();
        self.state.apply(event);
        if !whole
            && self.state.history().len() > history
            && let Some(entry) = self.state.history().last()
        {
            self.releases.note(entry);
        }
        // The event decoded, its fact in the state (twice: history and
        // model), its ids and fingerprints: measured at about 5 times its
        // encoding and 1 KB (RSS over 2,000 lifecycles of 26 events).
        self.weight += 5 * event.encoded_len() + 1024;
        self.events.push(event.clone());
        whole
    }
}
