//! How far the read model has got, per project.

use std::collections::HashMap;

use crate::{Store, StoreError};

impl Store {
    /// The last project_seq of `project_code` folded into the views (0: none).
    pub async fn projected_seq(&self, project_code: &str) -> Result<u64, StoreError> {
        let heads = self.projected_seqs(&[project_code]).await?;
        Ok(heads.get(project_code).copied().unwrap_or(0))
    }

    /// The last project_seq folded into the views of each of `project_codes`
    /// that has any, in one query: a watcher following many projects must
    /// not pay a round trip per project.
    pub async fn projected_seqs(&self, project_codes: &[&str]) -> Result<HashMap<String, u64>, StoreError> {
        let rows: Vec<(String, i64)> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as("SELECT project_code, projected_seq FROM projector_heads WHERE project_code = ANY($1)")
                    .bind(project_codes)
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                let mut rows = Vec::with_capacity(project_codes.len());
                // Within SQLite's bound on parameters per statement.
                for chunk in project_codes.chunks(500) {
                    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                        "SELECT project_code, projected_seq FROM projector_heads WHERE project_code IN (",
                    );
                    let mut codes = query.separated(", ");
                    for code in chunk {
                        codes.push_bind(*code);
                    }
                    query.push(")");
                    rows.extend(query.build_query_as::<(String, i64)>().fetch_all(pool).await?);
                }
                rows
            }
        };
        Ok(rows.into_iter().map(|(code, seq)| (code, seq.max(0) as u64)).collect())
    }
}
