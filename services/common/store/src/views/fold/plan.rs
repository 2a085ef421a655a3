//! Deciding, inside the fold's transaction, what each project of a batch
//! becomes: which incoming events are kept, where its head goes, and its
//! rendering (whole from everything kept, carried over a remembered one, or
//! the caller's ahead), or its parking when the renderer refuses it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use gongkai_proto::v1::EventEnvelope;
use prost::Message;

use super::{Kept, ProjectEvents, Projected, Unrenderable};
use crate::db::to_i64;
use crate::events::decode_envelope;
use crate::views::memory::{Remembered, Renderer, ViewChanges};
use crate::{ProjectViewRows, StoreError, SupervisionRows};

/// What the transaction decided for one project of a batch.
pub(super) struct Plan<'b> {
    pub(super) code: &'b str,
    /// `(seq, position, stored envelope)` to keep.
    pub(super) keep: Vec<Kept>,
    pub(super) outcome: Projected,
    /// The events to render when the views advance: `1..=head` to render
    /// the project whole, the new ones to carry a remembered rendering.
    render: Option<Vec<EventEnvelope>>,
    /// The position of the new head event.
    pub(super) position: i64,
}

/// An event of a project as the transaction knows it.
enum Known<'e> {
    /// Kept by an earlier transaction: its position and stored envelope.
    Stored(i64, Vec<u8>),
    /// Arriving now.
    Incoming(&'e EventEnvelope),
}

/// How a project is rendered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rendering {
    /// Whole, from everything kept (`stored` holds every kept event).
    Whole,
    /// Carried from the remembered head (`stored` holds the kept events
    /// beyond it).
    Carried,
}

/// Plans one project: which incoming events to keep, where its head goes and
/// what to render, from its locked `head` and the events kept before
/// (`stored`, as `rendering` says). The flag says the caller's rendering can
/// be used as it is.
fn plan(
    project: &ProjectEvents,
    head: i64,
    stored: Vec<Kept>,
    rendering: Rendering,
) -> Result<(Plan<'_>, bool), StoreError> {
    let fresh = stored.is_empty() && rendering == Rendering::Whole;
    // Every event known after this batch, by seq; what was kept before wins.
    let mut known: BTreeMap<i64, Known<'_>> =
        stored.into_iter().map(|(seq, position, bytes)| (seq, Known::Stored(position, bytes))).collect();
    let mut keep = Vec::new();
    for event in &project.events {
        let seq = to_i64(event.project_seq)?;
        if seq <= head || known.contains_key(&seq) {
            continue;
        }
        let mut stored = event.clone();
        stored.position = 0;
        keep.push((seq, to_i64(event.position)?, stored.encode_to_vec()));
        known.insert(seq, Known::Incoming(event));
    }
    let code = project.project_code.as_str();
    let plan = |keep, outcome, render, position| Plan { code, keep, outcome, render, position };
    let (new_head, first) = match rendering {
        Rendering::Whole => (known.keys().zip(1..).take_while(|(seq, want)| **seq == *want).count() as i64, 1),
        Rendering::Carried => {
            let next = head + 1;
            let run = known.range(next..).map(|(seq, _)| *seq).zip(next..).take_while(|(seq, want)| seq == want);
            (head + run.count() as i64, next)
        }
    };
    // Nothing new, and nothing kept beyond the head (which only a parked
    // project has): a duplicate.
    if keep.is_empty() && new_head <= head {
        return Ok((plan(keep, Projected::Duplicate, None, 0), false));
    }
    if new_head <= head {
        return Ok((plan(keep, Projected::Waiting { head: head as u64 }, None, 0), false));
    }
    let position = match known.get(&new_head) {
        Some(Known::Stored(position, _)) => *position,
        Some(Known::Incoming(event)) => to_i64(event.position)?,
        None => 0,
    };
    let outcome = Projected::Advanced { head: new_head as u64 };
    // The caller rendered exactly the incoming events: usable when nothing
    // was kept before and they are the whole history up to the new head.
    if fresh && project.rendered.is_some() && known.len() as i64 == new_head {
        return Ok((plan(keep, outcome, None, position), true));
    }
    let events = known
        .range(first..=new_head)
        .map(|(_, known)| match known {
            Known::Stored(position, bytes) => decode_envelope(*position, bytes),
            Known::Incoming(event) => Ok((*event).clone()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((plan(keep, outcome, Some(events), position), false))
}

/// The rows of a project whose views advance.
pub(super) enum Rows<'b> {
    /// All of them, rendered now or ahead by the caller.
    Whole(Cow<'b, ProjectViewRows>),
    /// Those that changed since the remembered head (`Advance::before`).
    Changed(ViewChanges),
}

/// A project whose views advance.
pub(super) struct Advance<'b, M> {
    pub(super) code: &'b str,
    /// Its head before.
    pub(super) head: i64,
    /// Its new head.
    pub(super) new_head: i64,
    pub(super) rows: Rows<'b>,
    /// The supervision rows written at the remembered head, for changed rows.
    pub(super) before: Option<SupervisionRows>,
    /// The renderer's memo of the new head, to remember after commit.
    pub(super) memo: Option<M>,
}

/// What the transaction decided for a batch.
pub(super) struct Decided<'b, M> {
    /// A plan per project, in batch order.
    pub(super) plans: Vec<Option<Plan<'b>>>,
    pub(super) advances: Vec<Advance<'b, M>>,
    pub(super) parked: Vec<(&'b str, Unrenderable)>,
    /// Remembered projects whose head stays: remembered again as they are.
    pub(super) unmoved: Vec<(&'b str, Remembered<M>)>,
}

impl<'b, M> Decided<'b, M> {
    pub(super) fn new(projects: usize) -> Self {
        Decided {
            plans: (0..projects).map(|_| None).collect(),
            advances: Vec::new(),
            parked: Vec::new(),
            unmoved: Vec::new(),
        }
    }

    /// Plans the project at `at` of `batch` as a whole (not remembered, or
    /// its memo could not be carried), rendering it when its views advance.
    pub(super) fn whole<R: Renderer<Memo = M>>(
        &mut self,
        at: usize,
        project: &'b ProjectEvents,
        head: i64,
        stored: Vec<Kept>,
        renderer: &R,
    ) -> Result<(), StoreError> {
        let (mut plan, use_ahead) = plan(project, head, stored, Rendering::Whole)?;
        let new_head = match plan.outcome {
            Projected::Advanced { head } => head as i64,
            _ => head,
        };
        if let Some(events) = plan.render.take() {
            match renderer.render(&events) {
                Ok((rows, memo)) => self.advances.push(Advance {
                    code: plan.code,
                    head,
                    new_head,
                    rows: Rows::Whole(Cow::Owned(rows)),
                    before: None,
                    memo: Some(memo),
                }),
                Err(failure) => {
                    plan.outcome = Projected::Parked { head: head.max(0) as u64 };
                    self.parked.push((plan.code, failure));
                }
            }
        } else if let (true, Some(rows)) = (use_ahead, &project.rendered) {
            let rows = Rows::Whole(Cow::Borrowed(rows));
            self.advances.push(Advance { code: plan.code, head, new_head, rows, before: None, memo: None });
        }
        self.plans[at] = Some(plan);
        Ok(())
    }

    /// Plans the remembered project at `at` of `batch`, carrying its memo
    /// over its new events. `false` when the memo could not be carried: the
    /// project is then to be planned whole.
    pub(super) fn carried<R: Renderer<Memo = M>>(
        &mut self,
        at: usize,
        project: &'b ProjectEvents,
        head: i64,
        beyond: Vec<Kept>,
        mut remembered: Remembered<M>,
        renderer: &R,
    ) -> Result<bool, StoreError> {
        let (mut plan, _) = plan(project, head, beyond, Rendering::Carried)?;
        let Some(events) = plan.render.take() else {
            self.unmoved.push((plan.code, remembered));
            self.plans[at] = Some(plan);
            return Ok(true);
        };
        let new_head = match plan.outcome {
            Projected::Advanced { head } => head as i64,
            _ => head,
        };
        match renderer.advance(&mut remembered.memo, &events) {
            Ok(changes) => {
                self.advances.push(Advance {
                    code: plan.code,
                    head,
                    new_head,
                    rows: Rows::Changed(changes),
                    before: Some(remembered.supervision),
                    memo: Some(remembered.memo),
                });
                self.plans[at] = Some(plan);
                Ok(true)
            }
            Err(failure) => {
                tracing::debug!(
                    project = plan.code,
                    reason = %failure.reason,
                    "The remembered rendering cannot be carried; rendering the project whole."
                );
                Ok(false)
            }
        }
    }
}
