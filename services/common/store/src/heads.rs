//! How far the read model has got, per project.

use crate::{Store, StoreError};

impl Store {
    /// The last project_seq of `project_code` folded into the views (0: none).
    pub async fn projected_seq(&self, project_code: &str) -> Result<u64, StoreError> {
        let query = "SELECT projected_seq FROM projector_heads WHERE project_code = $1";
        let seq: Option<i64> = match self {
            Store::Postgres(pool) => sqlx::query_scalar(query).bind(project_code).fetch_optional(pool).await?,
            Store::Sqlite(pool) => sqlx::query_scalar(query).bind(project_code).fetch_optional(pool).await?,
        };
        Ok(seq.unwrap_or(0).max(0) as u64)
    }
}
