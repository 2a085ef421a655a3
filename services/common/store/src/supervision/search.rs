//! SearchProjects and the project look-ups beside it. A search is one
//! keyset-paged walk of `project_search` in the order of each project's first
//! event, with every filter a condition on indexed columns or a per-row
//! [`probe`], so it stops at the page's end however many projects match.

use chrono::{DateTime, Utc};

use super::filter::{Arg, Filter, Window, bind_all, escape_like};
use super::index::cjk_bigrams;
use crate::{Store, StoreError};

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
#[derive(Debug, Clone, PartialEq)]
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

/// Region prefixes as conditions on `column`: a whole 6-digit code is an
/// equality (served by the `(region_code, first_position)` index), shorter
/// prefixes a LIKE (none: nothing matches).
fn region_filter(f: &mut Filter, column: &str, prefixes: &[String]) {
    if let [code] = prefixes
        && code.len() == 6
    {
        let p = f.arg(Arg::Text(code.clone()));
        f.push(format!("{column} = {p}"));
    } else {
        f.any_prefix(column, prefixes);
    }
}

/// `has_flag` / `flag_rule`: a soft-rule flag, or a missing-disclosure flag
/// of the deadline watch already due at `query.now` (raised at its due time,
/// as ListFlags shows it), in `flag_period`.
fn flag_filter(f: &mut Filter, query: &ProjectQuery) -> String {
    let mut raised = query.flag_period.clauses(f, "c.raised_at");
    raised.insert(0, "c.project_code = s.project_code".to_owned());
    let mut due = query.flag_period.clauses(f, "d.due_at");
    due.insert(0, "d.project_code = s.project_code".to_owned());
    let now = f.arg(Arg::Time(query.now));
    due.push(format!("d.due_at <= {now}"));
    if let Some(rule) = &query.flag_rule {
        let p = f.arg(Arg::Text(rule.clone()));
        raised.push(format!("c.rule = {p}"));
        due.push(format!("d.rule = {p}"));
    }
    format!(
        "({} OR {})",
        probe(&format!("compliance_flags c WHERE {}", raised.join(" AND "))),
        probe(&format!("project_deadlines d WHERE {}", due.join(" AND ")))
    )
}

/// `EXISTS (SELECT 1 FROM <from_where>)` as a probe of one index per row
/// scanned. `LIMIT 1 OFFSET 0` keeps PostgreSQL from turning it into a join
/// or a hash of every matching row: either would read all the matches of a
/// common term or flag and sort them, where the scan in search order stops
/// at the page's end.
fn probe(from_where: &str) -> String {
    format!("EXISTS (SELECT 1 FROM {from_where} LIMIT 1 OFFSET 0)")
}

type HitRow = (String, i64, Vec<u8>);

impl Store {
    /// One page of projects matching `query`, after `cursor`, the most
    /// recently registered first (by the position of their first event: a
    /// key that never changes, so paging neither skips nor repeats).
    ///
    /// Every filter is a condition on columns the order indexes carry, or a
    /// per-row [`probe`] by project code, so the planner walks an index in
    /// search order without touching the table (an index-only scan) and
    /// stops at the page's end; summaries are read for the page only.
    pub async fn search_projects(
        &self,
        query: &ProjectQuery,
        cursor: Option<&ProjectCursor>,
        limit: u32,
    ) -> Result<Vec<ProjectHit>, StoreError> {
        let mut f = Filter::default();
        region_filter(&mut f, "s.region_code", &query.region_prefixes);
        if !query.stages.is_empty() {
            let placeholders: Vec<String> = query.stages.iter().map(|s| f.arg(Arg::Text(s.clone()))).collect();
            f.push(format!("s.stage IN ({})", placeholders.join(", ")));
        }
        if let Some(project_type) = &query.project_type {
            let p = f.arg(Arg::Text(project_type.clone()));
            f.push(format!("s.project_type = {p}"));
        }
        if let Some(owner) = &query.owner {
            if is_credit_code(owner) {
                let p = f.arg(Arg::Text(owner.clone()));
                f.push(format!("s.owner_code = {p}"));
            } else {
                f.contains("s.owner_name", owner);
            }
        }
        if let Some(winner) = &query.winner {
            if is_credit_code(winner) {
                f.contains("s.winners", &format!("|{winner}|"));
            } else {
                f.contains("s.winners", winner);
            }
        }
        let amount = match query.amount_column {
            AmountColumn::Investment => "s.investment_fen",
            AmountColumn::ContractPrice => "s.contract_price_fen",
            AmountColumn::FinalCost => "s.final_cost_fen",
        };
        if let Some(min) = query.min_amount_fen {
            let p = f.arg(Arg::Int(min));
            f.push(format!("{amount} >= {p}"));
        }
        if let Some(max) = query.max_amount_fen {
            let p = f.arg(Arg::Int(max));
            f.push(format!("{amount} <= {p}"));
        }
        if !query.active.is_open() {
            // Cheap bounds on the row first, then the exact check on the timeline.
            if let Some(start) = query.active.start {
                let p = f.arg(Arg::Time(start));
                f.push(format!("s.last_occurred_at >= {p}"));
            }
            if let Some(end) = query.active.end {
                let p = f.arg(Arg::Time(end));
                f.push(format!("s.first_occurred_at < {p}"));
            }
            let mut inner = query.active.clauses(&mut f, "t.occurred_at");
            inner.insert(0, "t.project_code = s.project_code".to_owned());
            f.push(format!("EXISTS (SELECT 1 FROM full_timeline t WHERE {})", inner.join(" AND ")));
        }
        if query.has_flag || query.flag_rule.is_some() {
            let flags = flag_filter(&mut f, query);
            f.push(flags);
        }
        if let Some(text) = &query.text {
            let lowered = text.to_lowercase();
            let mut terms = cjk_bigrams(&lowered);
            terms.retain(|t| t.chars().count() == 2);
            terms.sort();
            terms.dedup();
            for term in &terms {
                let p = f.arg(Arg::Text(term.clone()));
                f.push(probe(&format!("project_terms t WHERE t.term = {p} AND t.project_code = s.project_code")));
            }
            // A single bigram is its own proof; longer text must also occur
            // as such (its bigrams could be scattered).
            let one_bigram = terms.len() == 1 && lowered.chars().count() == 2;
            if terms.is_empty() {
                f.contains("s.search_text", &lowered);
            } else if !one_bigram {
                let p = f.arg(Arg::Text(format!("%{}%", escape_like(&lowered))));
                f.push(probe(&format!(
                    "project_search x WHERE x.project_code = s.project_code AND x.search_text LIKE {p} ESCAPE '\\'"
                )));
            }
        }
        if let Some(source) = &query.source {
            f.contains("s.sources", &format!("|{source}|"));
        }
        if let Some(cursor) = cursor {
            let t = f.arg(Arg::Int(cursor.first_position));
            let c = f.arg(Arg::Text(cursor.project_code.clone()));
            f.push(format!("(s.first_position, s.project_code) < ({t}, {c})"));
        }
        let l = f.arg(Arg::Int(i64::from(limit)));
        let sql = format!(
            "SELECT h.project_code, h.first_position, \
               (SELECT p.summary FROM full_projects p WHERE p.project_code = h.project_code) FROM (\
               SELECT s.project_code, s.first_position FROM project_search s WHERE {} \
               ORDER BY s.first_position DESC, s.project_code DESC LIMIT {l}\
             ) h ORDER BY h.first_position DESC, h.project_code DESC",
            f.sql()
        );
        let rows: Vec<HitRow> = match self {
            Store::Postgres(pool) => {
                // The plan's cost counts a scan to the end of the index (the
                // page usually ends far sooner), which makes PostgreSQL spend
                // more time JIT-compiling it than running it.
                let mut tx = pool.begin().await?;
                sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
                let rows = bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &f.args).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
            Store::Sqlite(pool) => bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &f.args).fetch_all(pool).await?,
        };
        Ok(rows
            .into_iter()
            .map(|(project_code, first_position, summary)| ProjectHit { project_code, first_position, summary })
            .collect())
    }

    /// The region of a project as recorded by the event store, if known.
    pub async fn project_region(&self, project_code: &str) -> Result<Option<String>, StoreError> {
        let query = "SELECT region_code FROM streams WHERE project_code = $1";
        Ok(match self {
            Store::Postgres(pool) => sqlx::query_scalar(query).bind(project_code).fetch_optional(pool).await?,
            Store::Sqlite(pool) => sqlx::query_scalar(query).bind(project_code).fetch_optional(pool).await?,
        })
    }

    /// The highest position folded into the views for `project_code`.
    pub async fn projected_position(&self, project_code: &str) -> Result<u64, StoreError> {
        let query = "SELECT COALESCE(MAX(position), 0) FROM projector_heads WHERE project_code = $1";
        let position: i64 = match self {
            Store::Postgres(pool) => sqlx::query_scalar(query).bind(project_code).fetch_one(pool).await?,
            Store::Sqlite(pool) => sqlx::query_scalar(query).bind(project_code).fetch_one(pool).await?,
        };
        Ok(position.max(0) as u64)
    }
}
