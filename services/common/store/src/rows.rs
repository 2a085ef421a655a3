//! The rows the projector's render function produces for one project, as the
//! store writes them: timeline entries and summaries for both sides of the
//! read model, and the supervision rows beside them. They live apart from the
//! fold that writes them (`views`) and from the public readers (`public`) so
//! that both can name them without importing each other.

use chrono::{DateTime, Utc};

/// One timeline entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// Position in the project's stream.
    pub project_seq: u64,
    /// The event's id.
    pub event_id: String,
    /// The fact's message name, e.g. `TenderAnnounced`.
    pub fact_type: String,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
    /// Bus time.
    pub recorded_at: DateTime<Utc>,
    /// The encoded `gongkai.v1.TimelineEntry`.
    pub entry: Vec<u8>,
    /// What the entry adds to the public promptness counts: set on public
    /// rows of entries that count as a disclosure, else `None`.
    pub promptness: Option<crate::PromptnessRow>,
}

/// One project summary as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    /// Project name.
    pub name: String,
    /// 6-digit region code.
    pub region_code: String,
    /// `construction` or `ppp`.
    pub project_type: String,
    /// Lifecycle stage, lowercase.
    pub stage: String,
    /// The last project_seq folded in.
    pub head_seq: u64,
    /// Business time of the latest event.
    pub last_event_at: DateTime<Utc>,
    /// Approved total investment, fen (the summary's baseline), kept as a
    /// column so that totals by stage need no summary decoded.
    pub approved_investment_fen: i64,
    /// Current contract value, fen; 0 before the first contract.
    pub contract_value_fen: i64,
    /// The encoded `gongkai.v1.ProjectSummary`.
    pub summary: Vec<u8>,
}

/// Everything rendered for one project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectViewRows {
    /// The public timeline, disclosure policy applied.
    pub public_timeline: Vec<TimelineRow>,
    /// The full timeline, for supervisors.
    pub full_timeline: Vec<TimelineRow>,
    /// The public summary.
    pub public_project: ProjectRow,
    /// The full summary.
    pub full_project: ProjectRow,
    /// The supervision side: search index and open deadlines.
    pub supervision: crate::SupervisionRows,
}
