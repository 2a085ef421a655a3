//! Target `projector`: folds each project's events into the views people read.
//!
//! For every project it renders, from the project's events in `project_seq`
//! order (facts and corrections, as recorded):
//!
//! - the **public timeline**, what citizens see, with the disclosure policy
//!   (docs/domain.md, "Disclosure policy", common.proto) applied *here*, before
//!   anything reaches a public table, topic or page;
//! - the **full timeline** for supervisors, with everything;
//! - the **project summary**, public and full.
//!
//! [`render()`] is the pure core: no IO, no clock, no randomness. The same
//! events always give byte-identical views, so the live projector and a
//! rebuild from the log agree. Embargoes lift by recomputation: a view is
//! the rendering of *all* of a project's events, and a later event (e.g.
//! the bid opening) releases what an earlier entry withheld.
//!
//! The live projector does not render all of them again for each event: a
//! [`Carried`] rendering keeps the project's state and what each entry read
//! of it, and draws again only the new entry and those whose reads changed
//! (`carry`), which gives the bytes [`render()`] gives at a cost that does
//! not grow with the project's history. The [`runner`]'s fold remembers
//! these renderings in a bounded cache, across batches.

pub mod carry;
pub mod render;
mod rows;
pub mod runner;

pub use carry::{Carried, CarryError};
pub use render::{ProjectViews, RenderError, render};

/// The rows the store keeps of a project rendered from its events
/// ([`render()`]'s views as timeline and summary rows, and the supervision
/// rows): what [`Carried`] must equal after every event.
pub fn view_rows(events: &[gongkai_proto::v1::EventEnvelope]) -> Result<gongkai_store::ProjectViewRows, RenderError> {
    rows::to_rows(events)
}
pub use runner::{ProjectorError, RunOptions, project, retry, run};
