//! What supervisors query, the role [`SupervisionReader`](crate::SupervisionReader):
//! the search index the projector keeps beside the full views, the deadline
//! watch's open expectations, compliance flags, the commit-safe change feed
//! and the supervisors' audit trail. By concern: `index` (the rows the
//! projector writes for search and deadlines, and why a Chinese query finds
//! them), `search` (SearchProjects and the project look-ups beside it),
//! `flags` (flags, due deadlines and disclosure timings), `audit` (the audit
//! trail), `feed` (the change feed, and why it never skips a late commit),
//! and the time [`Window`] they filter on. Supervisors also read both views
//! of a project and its parking (`crate::views`) and its events
//! (`crate::events`).

mod audit;
mod feed;
mod flags;
mod index;
mod search;
mod window;

pub use audit::{AuditQuery, AuditRow};
pub use feed::FeedCursor;
pub(crate) use feed::FeedRow;
pub use flags::{DisclosureTiming, FlagHit, FlagQuery};
pub(crate) use index::{DEADLINE_COLUMNS, SEARCH_COLUMNS, deadline_values, index_statements, search_values};
pub use index::{DeadlineRow, SearchRow, SupervisionRows};
pub use search::{AmountColumn, ProjectCursor, ProjectHit, ProjectQuery};
pub use window::Window;
