//! The lifecycle of a major construction or PPP project, as pure functions.
//!
//! No IO happens here. The submit path (in `gongkai-ingest`) loads a project's
//! events, folds them into a [`ProjectState`], asks [`decide()`] whether the
//! submitted fact may follow them, and appends it. Three kinds of answer:
//!
//! - [`validate::submission`] lists every malformed field (INVALID_ARGUMENT);
//! - [`decide()`] refuses a fact that cannot have happened in this order with a
//!   [`Rejection`] naming the hard rule (FAILED_PRECONDITION), or accepts it
//!   with the [`ComplianceFlag`]s of the soft rules it breaks: the bus records
//!   what happened even when it broke the law;
//! - [`hash`] chains each project's events with SHA-256 so that any later
//!   alteration shows, and finds where a stored chain breaks; [`rechain`]
//!   moves a chain recorded under the legacy scheme to the current one.
//!
//! What every reader of the record shares lives here too, each in one
//! place: the fact kinds' domains and type names ([`kinds`]), their
//! disclosure deadlines ([`disclosure`]), when a fact was made public and how
//! promptly ([`promptness`]), the words for stages, project
//! types and domains ([`vocabulary`]), Beijing time ([`clock`]) and the
//! names of the regions behind the region codes ([`divisions`]).
//!
//! Facts and events are the `gongkai.v1` protobuf messages themselves: the
//! contract is the domain's vocabulary, so nothing is translated twice.

pub mod clock;
pub mod codes;
pub mod commitment;
pub mod decide;
pub mod disclosure;
pub mod divisions;
pub mod hash;
pub mod kinds;
pub mod money;
pub mod promptness;
pub mod rechain;
pub mod state;
pub mod validate;
pub mod vocabulary;

pub use decide::decide;
pub use gongkai_proto::v1::ComplianceFlag;
pub use gongkai_proto::v1::event_envelope::Body;
pub use state::ProjectState;

use prost_types::Timestamp;

/// What a trading center asks to record: one fact, or a correction of an
/// earlier one, for one project. Built from any ingestion request.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The submitter's idempotency key.
    pub request_id: String,
    /// The project the fact belongs to (`YYYY-AAAAAA-II-TT-NNNNNN`).
    pub project_code: String,
    /// Business time of the fact.
    pub occurred_at: Option<Timestamp>,
    /// The fact or correction; `None` when the request carried none.
    pub body: Option<Body>,
}

/// One malformed field: the path in the request (e.g.
/// `fact.lots[1].ceiling_price_fen`) and what is wrong with it, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request message.
    pub field: String,
    /// What is wrong, for the submitter's developers.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

/// A hard rule refused the fact: it cannot have happened in this order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct Rejection {
    /// Stable rule code, e.g. `BIDS_NOT_OPENED` (see `ingestion.proto`).
    pub rule: &'static str,
    /// Plain-language reason naming the conflicting state.
    pub message: String,
    /// The conflicting state as key/value pairs, e.g. `lot_code` → `A1`.
    pub context: Vec<(&'static str, String)>,
}

impl Rejection {
    /// A refusal by `rule`.
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self { rule, message: message.into(), context: Vec::new() }
    }

    /// Adds one piece of conflicting state.
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }
}
