//! How far the read model has got, per project.

use std::collections::HashMap;

use crate::db::dispatch;
use crate::query;
use crate::{Projections, StoreError};

impl Projections {
    /// The last project_seq of `project_code` folded into the views (0: none).
    pub async fn projected_seq(&self, project_code: &str) -> Result<u64, StoreError> {
        let heads = self.projected_seqs(&[project_code]).await?;
        Ok(heads.get(project_code).copied().unwrap_or(0))
    }

    /// The last project_seq folded into the views of each of `project_codes`
    /// that has any, in one query: a watcher following many projects must
    /// not pay a round trip per project.
    pub async fn projected_seqs(&self, project_codes: &[&str]) -> Result<HashMap<String, u64>, StoreError> {
        let head = "SELECT project_code, projected_seq FROM projector_heads WHERE project_code IN (";
        let mut heads = HashMap::with_capacity(project_codes.len());
        for statement in query::in_list(head, project_codes, ")") {
            let rows: Vec<(String, i64)> = dispatch!(&self.db, |pool| statement.fetch_all(pool).await?);
            heads.extend(rows.into_iter().map(|(code, seq)| (code, seq.max(0) as u64)));
        }
        Ok(heads)
    }
}
