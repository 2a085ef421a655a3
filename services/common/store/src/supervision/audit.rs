//! The supervisors' audit trail: one `audit_log` row per supervisor call,
//! read back newest first, filtered, with a `(called_at, audit_id)` keyset
//! cursor.

use chrono::{DateTime, Utc};

use super::Window;
use crate::db::dispatch;
use crate::query::Sql;
use crate::{StoreError, SupervisionReader};

/// One audited call.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    /// UUIDv7.
    pub audit_id: String,
    /// Credential id.
    pub principal: String,
    /// Credential role.
    pub role: String,
    /// When the call started.
    pub called_at: DateTime<Utc>,
    /// Full gRPC method name.
    pub method: String,
    /// Request as canonical proto3 JSON.
    pub arguments_json: String,
    /// Project code the arguments name, if any.
    pub project_code: String,
    /// gRPC status code name.
    pub status_code: String,
    /// Items returned.
    pub result_count: i64,
    /// W3C trace id.
    pub trace_id: String,
}

/// ListAuditRecords filters.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Window of `called_at`.
    pub period: Window,
    /// Credential id.
    pub principal: Option<String>,
    /// Method.
    pub method: Option<String>,
    /// Project code named by the arguments.
    pub project_code: Option<String>,
}

impl SupervisionReader {
    /// Records one supervisor call.
    pub async fn record_audit(&self, row: &AuditRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit_log (audit_id, principal, role, called_at, method, arguments_json, project_code, \
                   status_code, result_count, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        dispatch!(&self.audit, |pool| {
            sqlx::query(sql)
                .bind(&row.audit_id)
                .bind(&row.principal)
                .bind(&row.role)
                .bind(row.called_at)
                .bind(&row.method)
                .bind(&row.arguments_json)
                .bind(&row.project_code)
                .bind(&row.status_code)
                .bind(row.result_count)
                .bind(&row.trace_id)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(())
    }

    /// One page of audit records, newest first, after `cursor` = `(called_at, audit_id)`.
    pub async fn list_audit(
        &self,
        query: &AuditQuery,
        cursor: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let mut sql = Sql::new(
            "SELECT audit_id, principal, role, called_at, method, arguments_json, project_code, status_code, \
             result_count, trace_id FROM audit_log",
        );
        query.period.restrict(&mut sql, "called_at");
        if let Some(principal) = &query.principal {
            sql.and().push("principal = ").bind(principal);
        }
        if let Some(method) = &query.method {
            sql.and().push("method = ").bind(method);
        }
        if let Some(project) = &query.project_code {
            sql.and().push("project_code = ").bind(project);
        }
        if let Some((called_at, id)) = cursor {
            sql.and().push("(called_at < ").bind(called_at);
            sql.push(" OR (called_at = ").bind(called_at).push(" AND audit_id < ").bind(id).push("))");
        }
        sql.push(" ORDER BY called_at DESC, audit_id DESC LIMIT ").bind(i64::from(limit));
        Ok(dispatch!(&self.db, |pool| sql.fetch_all(pool).await?))
    }
}
