//! The read model: the projector's copy of the log and the views it renders,
//! by concern. `fold` folds events into the views (its docs argue why the
//! views only ever show a project's longest gapless prefix, and how a
//! project that cannot be rendered is parked); `read` holds the readers of
//! the views for the supervisors and the public reader, and what the
//! projector asks of its own progress; `parked` lists what the fold parked;
//! `memory` is what the fold may remember of a project between
//! transactions, so that a project's next event costs only that event.
//! The rows the fold writes are in `crate::rows`.

mod fold;
mod memory;
mod parked;
pub(crate) mod read;
mod rebuild;

pub use fold::{ProjectEvents, Projected, Unrenderable};
pub use memory::{Forgetful, Memory, Remembered, Renderer, ViewChanges};
pub use parked::ParkedProject;
pub use rebuild::{REBUILT_TABLES, RebuildFrom, RebuiltProject, ViewRebuild};

/// Which side of the read model to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// What the public may see.
    Public,
    /// Everything, for supervisors.
    Full,
}

impl View {
    fn timeline_table(self) -> &'static str {
        match self {
            View::Public => "public_timeline",
            View::Full => "full_timeline",
        }
    }

    fn projects_table(self) -> &'static str {
        match self {
            View::Public => "public_projects",
            View::Full => "full_projects",
        }
    }
}
