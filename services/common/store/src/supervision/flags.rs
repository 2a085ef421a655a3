//! Compliance flags as supervisors list them: the soft-rule flags raised with
//! events, and the deadline watch's missing-disclosure flags once due (a
//! `project_deadlines` row counts from its `due_at`, so a flag appears without
//! any writer having to raise it), in one keyset-paged order; and the
//! disclosure timings that timeliness reports are computed from.

use chrono::{DateTime, Utc};

use super::Window;
use crate::db::dispatch;
use crate::query::Sql;
use crate::{StoreError, SupervisionReader};

/// A compliance flag as stored, with where it was raised.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FlagHit {
    /// Project code.
    pub project_code: String,
    /// Project name.
    pub project_name: String,
    /// Region code.
    pub region_code: String,
    /// Trading center.
    pub source: String,
    /// Raising event; empty for deadline-watch flags.
    pub event_id: String,
    /// When raised.
    pub raised_at: DateTime<Utc>,
    /// The encoded `gongkai.v1.ComplianceFlag`.
    pub flag: Vec<u8>,
    /// Tie-breaking key of the row (for the cursor).
    pub key: String,
}

/// ListFlags filters.
#[derive(Debug, Clone, Default)]
pub struct FlagQuery {
    /// Region prefixes, any of which must match.
    pub region_prefixes: Vec<String>,
    /// Rule code.
    pub rule: Option<String>,
    /// Trading center.
    pub source: Option<String>,
    /// Raised in this window.
    pub period: Window,
    /// One project.
    pub project_code: Option<String>,
    /// Deadline-watch flags count once `due_at <= now`.
    pub now: DateTime<Utc>,
}

/// One disclosure's timing, for timeliness.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DisclosureTiming {
    /// Trading center.
    pub source: String,
    /// Envelope type.
    pub event_type: String,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
    /// Bus time.
    pub recorded_at: DateTime<Utc>,
}

impl SupervisionReader {
    /// One page of flags (soft-rule flags, and deadline-watch flags due by
    /// `query.now`), newest first, after `cursor` = `(raised_at, key)`.
    pub async fn list_flags(
        &self,
        query: &FlagQuery,
        cursor: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<FlagHit>, StoreError> {
        let mut sql = Sql::new(
            "SELECT u.project_code, u.name AS project_name, u.region_code, u.source, u.event_id, u.raised_at, u.flag, \
                    u.sort_key AS key FROM (\
               SELECT c.project_code, p.name, p.region_code, e.source, CAST(c.event_id AS TEXT) AS event_id, \
                      c.raised_at, c.flag, c.rule, 'e' || CAST(1000000000000 + c.id AS TEXT) AS sort_key \
               FROM compliance_flags c JOIN events e ON e.event_id = c.event_id \
               JOIN full_projects p ON p.project_code = c.project_code \
             UNION ALL \
               SELECT d.project_code, p.name, p.region_code, d.source, '' AS event_id, d.due_at AS raised_at, \
                      d.flag, d.rule, 'd' || d.rule || '/' || d.subject AS sort_key \
               FROM project_deadlines d JOIN full_projects p ON p.project_code = d.project_code \
               WHERE d.due_at <= ",
        );
        sql.bind(query.now).push(") u");
        sql.and().like_any_prefix("u.region_code", &query.region_prefixes);
        if let Some(rule) = &query.rule {
            sql.and().push("u.rule = ").bind(rule);
        }
        if let Some(source) = &query.source {
            sql.and().push("u.source = ").bind(source);
        }
        if let Some(project) = &query.project_code {
            sql.and().push("u.project_code = ").bind(project);
        }
        query.period.restrict(&mut sql, "u.raised_at");
        if let Some((raised_at, key)) = cursor {
            sql.and().push("(u.raised_at < ").bind(raised_at);
            sql.push(" OR (u.raised_at = ").bind(raised_at).push(" AND u.sort_key < ").bind(key).push("))");
        }
        sql.push(" ORDER BY u.raised_at DESC, u.sort_key DESC LIMIT ").bind(i64::from(limit));
        Ok(dispatch!(&self.db, |pool| sql.fetch_all(pool).await?))
    }

    /// Disclosures of projects in `region_prefixes` whose business time lies
    /// in `period`, optionally of one trading center.
    pub async fn disclosure_timings(
        &self,
        region_prefixes: &[String],
        period: Window,
        source: Option<&str>,
    ) -> Result<Vec<DisclosureTiming>, StoreError> {
        let mut sql = Sql::new(
            "SELECT e.source, e.event_type, e.occurred_at, e.recorded_at FROM events e \
             JOIN streams s ON s.project_code = e.project_code",
        );
        sql.and().like_any_prefix("s.region_code", region_prefixes);
        period.restrict(&mut sql, "e.occurred_at");
        if let Some(source) = source {
            sql.and().push("e.source = ").bind(source);
        }
        sql.push(" ORDER BY e.position");
        Ok(dispatch!(&self.db, |pool| sql.fetch_all(pool).await?))
    }
}
