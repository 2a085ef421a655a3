//! Target `projector`: folds each project's events into the views people read.
//!
//! For every project it renders, from the project's events in `project_seq`
//! order (facts and corrections, as recorded):
//!
//! - the **public timeline**, what citizens see, with the disclosure policy
//!   (DOMAIN.md "Disclosure policy", common.proto) applied *here*, before
//!   anything reaches a public table, topic or page;
//! - the **full timeline** for supervisors, with everything;
//! - the **project summary**, public and full.
//!
//! [`render()`] is the pure core: no IO, no clock, no randomness. The same
//! events always give byte-identical views, so the live projector and a
//! rebuild from the log agree. Embargoes lift by recomputation: a view is
//! always rendered from *all* of a project's events, and a later event (e.g.
//! the bid opening) releases what an earlier entry withheld.

pub mod render;
mod rows;
pub mod runner;

pub use render::{ProjectViews, RenderError, render};
pub use runner::{ProjectorError, project, retry, run};
