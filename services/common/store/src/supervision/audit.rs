//! The supervisors' audit trail: one `audit_log` row per supervisor call,
//! read back newest first, filtered, with a `(called_at, audit_id)` keyset
//! cursor.

use chrono::{DateTime, Utc};

use super::filter::{Arg, Filter, Window, bind_all, fetch_all_as};
use crate::{Store, StoreError};

/// One audited call.
#[derive(Debug, Clone, PartialEq)]
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

type AuditTuple = (String, String, String, DateTime<Utc>, String, String, String, String, i64, String);

impl Store {
    /// Records one supervisor call.
    pub async fn record_audit(&self, row: &AuditRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit_log (audit_id, principal, role, called_at, method, arguments_json, project_code, \
                   status_code, result_count, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        macro_rules! insert {
            ($pool:expr) => {
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
                    .execute($pool)
                    .await
                    .map(drop)?
            };
        }
        match self {
            Store::Postgres(pool) => insert!(pool),
            Store::Sqlite(pool) => insert!(pool),
        }
        Ok(())
    }

    /// One page of audit records, newest first, after `cursor` = `(called_at, audit_id)`.
    pub async fn list_audit(
        &self,
        query: &AuditQuery,
        cursor: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let mut f = Filter::default();
        for clause in query.period.clauses(&mut f, "called_at") {
            f.push(clause);
        }
        if let Some(principal) = &query.principal {
            let p = f.arg(Arg::Text(principal.clone()));
            f.push(format!("principal = {p}"));
        }
        if let Some(method) = &query.method {
            let p = f.arg(Arg::Text(method.clone()));
            f.push(format!("method = {p}"));
        }
        if let Some(project) = &query.project_code {
            let p = f.arg(Arg::Text(project.clone()));
            f.push(format!("project_code = {p}"));
        }
        if let Some((called_at, id)) = cursor {
            let t = f.arg(Arg::Time(called_at));
            let k = f.arg(Arg::Text(id));
            f.push(format!("(called_at < {t} OR (called_at = {t} AND audit_id < {k}))"));
        }
        let l = f.arg(Arg::Int(i64::from(limit)));
        let sql = format!(
            "SELECT audit_id, principal, role, called_at, method, arguments_json, project_code, status_code, \
             result_count, trace_id FROM audit_log WHERE {} ORDER BY called_at DESC, audit_id DESC LIMIT {l}",
            f.sql()
        );
        let rows: Vec<AuditTuple> = fetch_all_as!(self, sql, f);
        Ok(rows
            .into_iter()
            .map(
                |(
                    audit_id,
                    principal,
                    role,
                    called_at,
                    method,
                    arguments_json,
                    project_code,
                    status_code,
                    result_count,
                    trace_id,
                )| AuditRow {
                    audit_id,
                    principal,
                    role,
                    called_at,
                    method,
                    arguments_json,
                    project_code,
                    status_code,
                    result_count,
                    trace_id,
                },
            )
            .collect())
    }
}
