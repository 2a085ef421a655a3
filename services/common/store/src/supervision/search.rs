//! SearchProjects and the project look-ups beside it. A search is one
//! keyset-paged walk of `project_search` in the order of each project's first
//! event, with every filter a condition on indexed columns or a per-row
//! [`probe`], so it stops at the page's end however many projects match.

use chrono::{DateTime, Utc};
use gongkai_proto::v1::EventEnvelope;

use super::Window;
use crate::db::dispatch;
use crate::query::Sql;
use crate::{StoreError, SupervisionReader};

/// Which amount an amount range applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AmountColumn {
    /// Approved total investment.
    #[default]
    Investment,
    /// Current contract value.
    ContractPrice,
    /// Final cost.
    FinalCost,
}

/// Validated SearchProjects filters (all must match).
#[derive(Debug, Clone, Default)]
pub struct ProjectQuery {
    /// Region prefixes, any of which must match (the caller's, or the request's).
    pub region_prefixes: Vec<String>,
    /// Stage labels, any of which must match; empty = any.
    pub stages: Vec<String>,
    /// `construction` or `ppp`; `None` = any.
    pub project_type: Option<String>,
    /// Exact credit code or substring of the owner's name.
    pub owner: Option<String>,
    /// Exact credit code or substring of a winner's name.
    pub winner: Option<String>,
    /// Which amount the range applies to.
    pub amount_column: AmountColumn,
    /// Inclusive lower bound, fen.
    pub min_amount_fen: Option<i64>,
    /// Inclusive upper bound, fen.
    pub max_amount_fen: Option<i64>,
    /// At least one event's occurred_at in this window.
    pub active: Window,
    /// At least one flag (in `flag_period`), soft-rule or missing-disclosure.
    pub has_flag: bool,
    /// At least one flag of this rule (in `flag_period`).
    pub flag_rule: Option<String>,
    /// When the flags were raised.
    pub flag_period: Window,
    /// Missing-disclosure flags count once due by then.
    pub now: DateTime<Utc>,
    /// Free text.
    pub text: Option<String>,
    /// A trading center that submitted one of the project's events.
    pub source: Option<String>,
}

/// A keyset cursor over `(first_position DESC, project_code DESC)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectCursor {
    /// Sort key of the last project returned.
    pub first_position: i64,
    /// Code of the last project returned.
    pub project_code: String,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProjectHit {
    /// Project code.
    pub project_code: String,
    /// Sort key: store position of the project's first event.
    pub first_position: i64,
    /// The encoded full `gongkai.v1.ProjectSummary`.
    pub summary: Vec<u8>,
}

/// Whether `text` looks like a unified social credit code (18 characters of
/// digits and capitals).
fn is_credit_code(text: &str) -> bool {
    text.len() == 18 && text.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// Region prefixes as a condition on `column`: a whole 6-digit code is an
/// equality (served by the `(region_code, first_position)` index), shorter
/// prefixes a LIKE (none: nothing matches).
fn region_filter<'a>(sql: &mut Sql<'a>, column: &str, prefixes: &'a [String]) {
    if let [code] = prefixes
        && code.len() == 6
    {
        sql.and().push(format!("{column} = ")).bind(code);
    } else {
        sql.and().like_any_prefix(column, prefixes);
    }
}

/// `has_flag` / `flag_rule`: a soft-rule flag, or a missing-disclosure flag
/// of the deadline watch already due at `query.now` (raised at its due time,
/// as ListFlags shows it), in `flag_period`.
fn flag_filter(query: &ProjectQuery) -> Sql<'_> {
    let mut raised = Sql::new("compliance_flags c");
    raised.and().push("c.project_code = s.project_code");
    query.flag_period.restrict(&mut raised, "c.raised_at");
    let mut due = Sql::new("project_deadlines d");
    due.and().push("d.project_code = s.project_code");
    query.flag_period.restrict(&mut due, "d.due_at");
    due.and().push("d.due_at <= ").bind(query.now);
    if let Some(rule) = &query.flag_rule {
        raised.and().push("c.rule = ").bind(rule);
        due.and().push("d.rule = ").bind(rule);
    }
    let mut either = Sql::new("(");
    either.append(probe(raised)).push(" OR ").append(probe(due)).push(")");
    either
}

/// `EXISTS (SELECT 1 FROM <from_where>)` as a probe of one index per row
/// scanned. `LIMIT 1 OFFSET 0` keeps PostgreSQL from turning it into a join
/// or a hash of every matching row: either would read all the matches of a
/// common term or flag and sort them, where the scan in search order stops
/// at the page's end.
fn probe(from_where: Sql<'_>) -> Sql<'_> {
    let mut probe = Sql::new("EXISTS (SELECT 1 FROM ");
    probe.append(from_where).push(" LIMIT 1 OFFSET 0)");
    probe
}

/// The condition of a free-text query: the text, lowercased, in the
/// project's search text (its lowercased names and codes), so Chinese is
/// found without word boundaries. Tested by a `probe` of the project's row:
/// a test of `s.search_text` itself would make the scan fetch every row it
/// passes from the table, where the probe fetches only those the filters on
/// the index let through.
fn text_filter(sql: &mut Sql<'_>, text: &str) {
    let mut text_of = Sql::new("project_search x");
    text_of.and().push("x.project_code = s.project_code");
    text_of.and().like_contains("x.search_text", &text.to_lowercase());
    sql.and().append(probe(text_of));
}

impl SupervisionReader {
    /// One page of projects matching `query`, after `cursor`, the most
    /// recently registered first (by the position of their first event: a
    /// key that never changes, so paging neither skips nor repeats).
    ///
    /// Every filter is a condition on columns the order indexes carry, or a
    /// per-row `probe` by project code (free text too), so the planner walks
    /// an index in search order without touching the table (an index-only
    /// scan; the owner, winner and source tests read the row) and stops at
    /// the page's end; summaries are read for the page only.
    pub async fn search_projects(
        &self,
        query: &ProjectQuery,
        cursor: Option<&ProjectCursor>,
        limit: u32,
    ) -> Result<Vec<ProjectHit>, StoreError> {
        let mut sql = Sql::new(
            "SELECT h.project_code, h.first_position, \
               (SELECT p.summary FROM full_projects p WHERE p.project_code = h.project_code) AS summary FROM (\
               SELECT s.project_code, s.first_position FROM project_search s",
        );
        region_filter(&mut sql, "s.region_code", &query.region_prefixes);
        if !query.stages.is_empty() {
            sql.and().push("s.stage IN (").list(&query.stages).push(")");
        }
        if let Some(project_type) = &query.project_type {
            sql.and().push("s.project_type = ").bind(project_type);
        }
        if let Some(owner) = &query.owner {
            if is_credit_code(owner) {
                sql.and().push("s.owner_code = ").bind(owner);
            } else {
                sql.and().like_contains("s.owner_name", owner);
            }
        }
        if let Some(winner) = &query.winner {
            if is_credit_code(winner) {
                sql.and().like_contains("s.winners", &format!("|{winner}|"));
            } else {
                sql.and().like_contains("s.winners", winner);
            }
        }
        let amount = match query.amount_column {
            AmountColumn::Investment => "s.investment_fen",
            AmountColumn::ContractPrice => "s.contract_price_fen",
            AmountColumn::FinalCost => "s.final_cost_fen",
        };
        if let Some(min) = query.min_amount_fen {
            sql.and().push(format!("{amount} >= ")).bind(min);
        }
        if let Some(max) = query.max_amount_fen {
            sql.and().push(format!("{amount} <= ")).bind(max);
        }
        if !query.active.is_open() {
            // Cheap bounds on the row first, then the exact check on the timeline.
            if let Some(start) = query.active.start {
                sql.and().push("s.last_occurred_at >= ").bind(start);
            }
            if let Some(end) = query.active.end {
                sql.and().push("s.first_occurred_at < ").bind(end);
            }
            let mut active = Sql::new("SELECT 1 FROM full_timeline t");
            active.and().push("t.project_code = s.project_code");
            query.active.restrict(&mut active, "t.occurred_at");
            sql.and().push("EXISTS (").append(active).push(")");
        }
        if query.has_flag || query.flag_rule.is_some() {
            sql.and().append(flag_filter(query));
        }
        if let Some(text) = &query.text {
            text_filter(&mut sql, text);
        }
        if let Some(source) = &query.source {
            sql.and().like_contains("s.sources", &format!("|{source}|"));
        }
        if let Some(cursor) = cursor {
            sql.and().push("(s.first_position, s.project_code) < (").bind(cursor.first_position);
            sql.push(", ").bind(&cursor.project_code).push(")");
        }
        sql.push(" ORDER BY s.first_position DESC, s.project_code DESC LIMIT ").bind(i64::from(limit));
        sql.push(") h ORDER BY h.first_position DESC, h.project_code DESC");
        dispatch!(&self.db, |pool, dialect| dialect::fetch_search_page(pool, &sql).await)
    }

    /// The region of a project as recorded by the event store, if known.
    pub async fn project_region(&self, project_code: &str) -> Result<Option<String>, StoreError> {
        let query = "SELECT region_code FROM streams WHERE project_code = $1";
        Ok(dispatch!(&self.db, |pool| sqlx::query_scalar(query).bind(project_code).fetch_optional(pool).await?))
    }

    /// The highest position folded into the views for `project_code`.
    pub async fn projected_position(&self, project_code: &str) -> Result<u64, StoreError> {
        let query = "SELECT COALESCE(MAX(position), 0) FROM projector_heads WHERE project_code = $1";
        let position: i64 =
            dispatch!(&self.db, |pool| sqlx::query_scalar(query).bind(project_code).fetch_one(pool).await?);
        Ok(position.max(0) as u64)
    }

    /// The project's events, ordered by `project_seq`, with `position` filled
    /// in; empty for an unknown project: what a supervisor verifies the hash
    /// chain on.
    pub async fn load_stream(&self, project_code: &str) -> Result<Vec<EventEnvelope>, StoreError> {
        crate::events::load_stream(&self.db, project_code).await
    }
}
