//! The projects the fold has parked: those whose render function refused
//! their events (see the `fold` module docs for when a project is parked and
//! how it is unparked). Supervisors and operators read the reasons here; the
//! public readers see only `parked_since` on the project rows.

use chrono::{DateTime, Utc};

use crate::sql::fetch_all_with;
use crate::{Store, StoreError};

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

impl Store {
    /// Every parked project (see the module docs), by project code.
    pub async fn parked_projects(&self) -> Result<Vec<ParkedProject>, StoreError> {
        self.parked_where("", None).await
    }

    /// One project's parking, if it is parked.
    pub async fn parked_project(&self, project_code: &str) -> Result<Option<ParkedProject>, StoreError> {
        Ok(self.parked_where(" WHERE project_code = $1", Some(project_code)).await?.pop())
    }

    async fn parked_where(&self, clause: &str, code: Option<&str>) -> Result<Vec<ParkedProject>, StoreError> {
        type Row = (String, String, i64, String, DateTime<Utc>);
        let query = format!(
            "SELECT project_code, event_id, project_seq, reason, parked_at FROM projector_parked{clause} \
             ORDER BY project_code"
        );
        let rows: Vec<Row> = fetch_all_with!(self, query, code.as_slice(), query_as);
        Ok(rows
            .into_iter()
            .map(|(project_code, event_id, seq, reason, parked_at)| ParkedProject {
                project_code,
                event_id,
                project_seq: seq.max(0) as u64,
                reason,
                parked_at,
            })
            .collect())
    }
}
