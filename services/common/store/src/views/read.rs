//! Readers of the read model: a project's timeline and summary on either
//! side (the supervisors name the side, the public reader only ever reads
//! its own), and how far the projector has come. None of them writes the views; the
//! fold does, and a rebuild (`rebuild`) builds new ones beside them.

use super::View;
use crate::db::{Db, dispatch};
use crate::full_entry::full_entry;
use crate::{Projections, StoreError, SupervisionReader};

/// A project's timeline in `view`, as encoded `TimelineEntry` messages in
/// seq order.
pub(crate) async fn timeline(db: &Db, view: View, project_code: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    match view {
        View::Public => {
            let query = "SELECT entry FROM public_timeline WHERE project_code = $1 ORDER BY project_seq";
            Ok(dispatch!(db, |pool| sqlx::query_scalar(query).bind(project_code).fetch_all(pool).await?))
        }
        View::Full => {
            // A full entry is kept as what it adds to the public one.
            let query = "SELECT f.entry, p.entry FROM full_timeline f LEFT JOIN public_timeline p \
                         ON p.project_code = f.project_code AND p.project_seq = f.project_seq \
                         WHERE f.project_code = $1 ORDER BY f.project_seq";
            let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> =
                dispatch!(db, |pool| sqlx::query_as(query).bind(project_code).fetch_all(pool).await?);
            rows.iter().map(|(stored, public)| full_entry(public.as_deref(), stored)).collect()
        }
    }
}

impl SupervisionReader {
    /// A project's timeline in `view`, as encoded `TimelineEntry` messages in
    /// seq order.
    pub async fn timeline(&self, view: View, project_code: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        timeline(&self.db, view, project_code).await
    }

    /// A project's summary in `view`, as an encoded `ProjectSummary`.
    pub async fn project_summary(&self, view: View, project_code: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let query = format!("SELECT summary FROM {} WHERE project_code = $1", view.projects_table());
        let query = sqlx::AssertSqlSafe(query);
        Ok(dispatch!(&self.db, |pool| sqlx::query_scalar(query).bind(project_code).fetch_optional(pool).await?))
    }

    /// How many entries of each event `view` holds, over all projects.
    pub async fn timeline_event_counts(&self, view: View) -> Result<Vec<(String, i64)>, StoreError> {
        let query = format!("SELECT event_id, COUNT(*) FROM {} GROUP BY event_id", view.timeline_table());
        let query = sqlx::AssertSqlSafe(query);
        Ok(dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?))
    }
}

impl Projections {
    /// The highest store position the projector has folded into the views,
    /// and the highest in the store: their difference is the projector's lag.
    pub async fn projection_positions(&self) -> Result<(u64, u64), StoreError> {
        let query = "SELECT (SELECT COALESCE(MAX(position), 0) FROM projector_heads), \
                     (SELECT COALESCE(MAX(position), 0) FROM events)";
        let (projected, stored): (i64, i64) = dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_one(pool).await?);
        Ok((projected.max(0) as u64, stored.max(0) as u64))
    }

    /// How many projects the read model holds.
    pub async fn projected_projects(&self) -> Result<u64, StoreError> {
        let query = "SELECT COUNT(*) FROM projector_heads WHERE projected_seq > 0";
        let count: i64 = dispatch!(&self.db, |pool| sqlx::query_scalar(query).fetch_one(pool).await?);
        Ok(count.max(0) as u64)
    }
}
