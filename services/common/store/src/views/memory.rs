//! What the fold may remember of a project between transactions, so that a
//! project's next event costs the fold that event and not its history.
//!
//! Without memory, every fold of a project reads everything the read model
//! holds of it (its kept events, its feed rows, both timelines' entries),
//! renders all of it and compares. With a [`Memory`], the
//! fold keeps, after each transaction that commits, a [`Remembered`] per
//! project: the head it reached, the supervision rows it wrote and the
//! renderer's own memo (for the projector: its state, and what it last
//! rendered). The next fold of the project:
//!
//! 1. takes the project out of the memory, and trusts it only if the head
//!    row, locked in this transaction, is still the head it remembers: heads
//!    only grow (a rebuild empties them), so no other projector instance
//!    folded the project since, and the rows in the read model are the ones
//!    it wrote (the renderer is deterministic: whoever wrote them, a rebuild
//!    included, wrote these bytes);
//! 2. reads only the kept events beyond the head (none, unless events wait
//!    behind a gap, perhaps kept by another instance);
//! 3. has the renderer carry its memo over the new events
//!    ([`Renderer::advance`]), which returns only the rows that changed;
//! 4. writes those rows, appends them to the public change feed (the latest
//!    feed row of every entry is the entry as written, after every fold),
//!    upserts the summaries, and writes of the supervision rows only what
//!    differs from those it remembers.
//!
//! A project it does not remember, or whose head moved, or whose memo the
//! renderer cannot carry (it refuses, or panics) is folded as without memory
//! and remembered afresh. The memory is given back its projects only after
//! the transaction commits: a batch that fails leaves it without them, never
//! with a rendering the read model does not hold.

use gongkai_proto::v1::EventEnvelope;

use super::Unrenderable;
use crate::{ProjectViewRows, SupervisionRows};

/// The rows of a project whose views advanced, against what the fold last
/// wrote of it: both timelines hold only the entries that are new or
/// rendered differently (in seq order); the summaries and supervision rows
/// are all there (the fold compares the latter with those it wrote).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewChanges(pub ProjectViewRows);

/// What renders a project's views: from all its events, or carried forward
/// from a memo of its rendering over new events.
pub trait Renderer {
    /// What the renderer keeps of a project's rendering between folds.
    type Memo: Send;

    /// The rows of a project's gapless events (seq 1..=head, positions
    /// filled), and a memo of them; or why it cannot be rendered.
    fn render(&self, events: &[EventEnvelope]) -> Result<(ProjectViewRows, Self::Memo), Unrenderable>;

    /// Carries `memo`, of a project's events up to some head, over `events`,
    /// the next ones in seq order (head + 1 onwards, gapless): the rows that
    /// differ from the memo's rendering, which becomes that of all the events.
    /// On an error the memo is dropped and the project rendered again from
    /// all its events, with [`Renderer::render`].
    fn advance(&self, memo: &mut Self::Memo, events: &[EventEnvelope]) -> Result<ViewChanges, Unrenderable>;
}

/// What the fold remembers of one project: see the module docs.
#[derive(Debug)]
pub struct Remembered<M> {
    /// The project's head when it was remembered.
    pub(super) head: i64,
    /// The supervision rows written at that head.
    pub(super) supervision: SupervisionRows,
    /// The renderer's memo at that head.
    pub memo: M,
}

impl<M> Remembered<M> {
    /// The head the project was remembered at.
    pub fn head(&self) -> u64 {
        self.head.max(0) as u64
    }
}

/// Where the fold keeps what it remembers: the projector's bounded cache.
/// The fold takes a project out before it folds it and keeps it again after
/// the transaction commits.
pub trait Memory<M> {
    /// Takes `project_code`'s memory out, if there is one.
    fn take(&mut self, project_code: &str) -> Option<Remembered<M>>;

    /// Keeps `remembered` as `project_code`'s memory (it may be forgotten).
    fn keep(&mut self, project_code: &str, remembered: Remembered<M>);
}

/// A [`Memory`] that keeps nothing: every fold reads and renders all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forgetful;

impl<M> Memory<M> for Forgetful {
    fn take(&mut self, _project_code: &str) -> Option<Remembered<M>> {
        None
    }

    fn keep(&mut self, _project_code: &str, _remembered: Remembered<M>) {}
}

/// A render function as a [`Renderer`] without memo: it can only render all.
#[derive(Debug)]
pub(super) struct Stateless<F>(pub(super) F);

impl<F> Renderer for Stateless<F>
where
    F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
{
    type Memo = ();

    fn render(&self, events: &[EventEnvelope]) -> Result<(ProjectViewRows, ()), Unrenderable> {
        (self.0)(events).map(|rows| (rows, ()))
    }

    fn advance(&self, _memo: &mut (), events: &[EventEnvelope]) -> Result<ViewChanges, Unrenderable> {
        // Never remembered (the fold keeps nothing for a `Forgetful` memory).
        let head = events.last();
        Err(Unrenderable {
            event_id: head.map(|event| event.event_id.clone()).unwrap_or_default(),
            project_seq: head.map_or(0, |event| event.project_seq),
            reason: "this renderer renders whole projects only".to_owned(),
        })
    }
}
