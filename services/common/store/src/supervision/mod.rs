//! What supervisors query: the search index the projector keeps beside the
//! full views, the deadline watch's open expectations, compliance flags, the
//! commit-safe change feed and the supervisors' audit trail. By concern:
//! `index` (the rows the projector writes for search and deadlines, and why
//! a Chinese query finds them), `search` (SearchProjects and the project
//! look-ups beside it), `flags` (flags, due deadlines and disclosure
//! timings), `audit` (the audit trail), `feed` (the change feed, and why it
//! never skips a late commit), over the WHERE-clause builder in `filter`.

mod audit;
mod feed;
mod filter;
mod flags;
mod index;
mod search;

pub use audit::{AuditQuery, AuditRow};
pub use feed::FeedCursor;
pub use filter::Window;
pub use flags::{DisclosureTiming, FlagHit, FlagQuery};
pub use index::{DeadlineRow, SearchRow, SupervisionRows, cjk_bigrams, is_cjk};
pub(crate) use index::{search_text, write_supervision_rows};
pub use search::{AmountColumn, ProjectCursor, ProjectHit, ProjectQuery};
