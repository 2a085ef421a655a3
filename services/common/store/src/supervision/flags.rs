//! Compliance flags as supervisors list them: the soft-rule flags raised with
//! events, and the deadline watch's missing-disclosure flags once due (a
//! `project_deadlines` row counts from its `due_at`, so a flag appears without
//! any writer having to raise it), in one keyset-paged order; and the
//! disclosure timings that timeliness reports are computed from.

use chrono::{DateTime, Utc};

use super::filter::{Arg, Filter, Window, bind_all, fetch_all_as};
use crate::{Store, StoreError};

/// A compliance flag as stored, with where it was raised.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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

type FlagRow = (String, String, String, String, String, DateTime<Utc>, Vec<u8>, String);

impl Store {
    /// One page of flags (soft-rule flags, and deadline-watch flags due by
    /// `query.now`), newest first, after `cursor` = `(raised_at, key)`.
    pub async fn list_flags(
        &self,
        query: &FlagQuery,
        cursor: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<FlagHit>, StoreError> {
        let mut f = Filter::default();
        let now = f.arg(Arg::Time(query.now));
        f.any_prefix("u.region_code", &query.region_prefixes);
        if let Some(rule) = &query.rule {
            let p = f.arg(Arg::Text(rule.clone()));
            f.push(format!("u.rule = {p}"));
        }
        if let Some(source) = &query.source {
            let p = f.arg(Arg::Text(source.clone()));
            f.push(format!("u.source = {p}"));
        }
        if let Some(project) = &query.project_code {
            let p = f.arg(Arg::Text(project.clone()));
            f.push(format!("u.project_code = {p}"));
        }
        for clause in query.period.clauses(&mut f, "u.raised_at") {
            f.push(clause);
        }
        if let Some((raised_at, key)) = cursor {
            let t = f.arg(Arg::Time(raised_at));
            let k = f.arg(Arg::Text(key));
            f.push(format!("(u.raised_at < {t} OR (u.raised_at = {t} AND u.sort_key < {k}))"));
        }
        let l = f.arg(Arg::Int(i64::from(limit)));
        let sql = format!(
            "SELECT u.project_code, u.name, u.region_code, u.source, u.event_id, u.raised_at, u.flag, u.sort_key FROM (\
               SELECT c.project_code, p.name, p.region_code, e.source, CAST(c.event_id AS TEXT) AS event_id, \
                      c.raised_at, c.flag, c.rule, 'e' || CAST(1000000000000 + c.id AS TEXT) AS sort_key \
               FROM compliance_flags c JOIN events e ON e.event_id = c.event_id \
               JOIN full_projects p ON p.project_code = c.project_code \
             UNION ALL \
               SELECT d.project_code, p.name, p.region_code, d.source, '' AS event_id, d.due_at AS raised_at, \
                      d.flag, d.rule, 'd' || d.rule || '/' || d.subject AS sort_key \
               FROM project_deadlines d JOIN full_projects p ON p.project_code = d.project_code \
               WHERE d.due_at <= {now}\
             ) u WHERE {} ORDER BY u.raised_at DESC, u.sort_key DESC LIMIT {l}",
            f.sql()
        );
        let rows: Vec<FlagRow> = fetch_all_as!(self, sql, f);
        Ok(rows
            .into_iter()
            .map(|(project_code, project_name, region_code, source, event_id, raised_at, flag, key)| FlagHit {
                project_code,
                project_name,
                region_code,
                source,
                event_id,
                raised_at,
                flag,
                key,
            })
            .collect())
    }

    /// Disclosures of projects in `region_prefixes` whose business time lies
    /// in `period`, optionally of one trading center.
    pub async fn disclosure_timings(
        &self,
        region_prefixes: &[String],
        period: Window,
        source: Option<&str>,
    ) -> Result<Vec<DisclosureTiming>, StoreError> {
        let mut f = Filter::default();
        f.any_prefix("s.region_code", region_prefixes);
        for clause in period.clauses(&mut f, "e.occurred_at") {
            f.push(clause);
        }
        if let Some(source) = source {
            let p = f.arg(Arg::Text(source.to_owned()));
            f.push(format!("e.source = {p}"));
        }
        let sql = format!(
            "SELECT e.source, e.event_type, e.occurred_at, e.recorded_at FROM events e \
             JOIN streams s ON s.project_code = e.project_code WHERE {} ORDER BY e.position",
            f.sql()
        );
        let rows: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = fetch_all_as!(self, sql, f);
        Ok(rows
            .into_iter()
            .map(|(source, event_type, occurred_at, recorded_at)| DisclosureTiming {
                source,
                event_type,
                occurred_at,
                recorded_at,
            })
            .collect())
    }
}
