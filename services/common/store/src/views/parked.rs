//! The projects the fold has parked: those whose render function refused
//! their events (see the `fold` module docs for when a project is parked and
//! how it is unparked). The projector and operators list them all,
//! supervisors read one project's reason; the public readers see only
//! `parked_since` on the project rows.

use chrono::{DateTime, Utc};

use crate::db::dispatch;
use crate::{Projections, StoreError, SupervisionReader};

/// A project the projector could not render, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedProject {
    /// The project.
    pub project_code: String,
    /// The event the failure is pinned on.
    pub event_id: String,
    /// That event's seq.
    pub project_seq: u64,
    /// What went wrong.
    pub reason: String,
    /// When it was first parked.
    pub parked_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ParkedRow {
    project_code: String,
    event_id: String,
    project_seq: i64,
    reason: String,
    parked_at: DateTime<Utc>,
}

impl From<ParkedRow> for ParkedProject {
    fn from(row: ParkedRow) -> Self {
        ParkedProject {
            project_code: row.project_code,
            event_id: row.event_id,
            project_seq: row.project_seq.max(0) as u64,
            reason: row.reason,
            parked_at: row.parked_at,
        }
    }
}

const PARKED: &str = "SELECT project_code, event_id, project_seq, reason, parked_at FROM projector_parked";

impl Projections {
    /// Every parked project (see the module docs), by project code.
    pub async fn parked_projects(&self) -> Result<Vec<ParkedProject>, StoreError> {
        let query = sqlx::AssertSqlSafe(format!("{PARKED} ORDER BY project_code"));
        let rows: Vec<ParkedRow> = dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?);
        Ok(rows.into_iter().map(ParkedProject::from).collect())
    }
}

impl SupervisionReader {
    /// One project's parking, if it is parked.
    pub async fn parked_project(&self, project_code: &str) -> Result<Option<ParkedProject>, StoreError> {
        let query = sqlx::AssertSqlSafe(format!("{PARKED} WHERE project_code = $1"));
        let row: Option<ParkedRow> =
            dispatch!(&self.db, |pool| sqlx::query_as(query).bind(project_code).fetch_optional(pool).await?);
        Ok(row.map(ParkedProject::from))
    }
}
