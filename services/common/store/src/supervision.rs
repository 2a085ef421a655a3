//! What supervisors query: the search index the projector keeps beside the
//! full views, the deadline watch's open expectations, compliance flags, the
//! commit-safe change feed and the supervisors' audit trail.
//!
//! # Search index
//!
//! [`SupervisionRows`] are rendered with a project's views and written in the
//! same transaction as its `full_*` rows (see `write_supervision_rows!`):
//! one `project_search` row (the columns filters need), the project's
//! `project_terms` (character bigrams of its names, so a Chinese query of two
//! or more characters is found without word boundaries) and its
//! `project_deadlines` (disclosures it still owes, each with its due time).
//!
//! # Change feed
//!
//! On SQLite writers are serialized and positions become visible in order:
//! the feed follows `position`. On PostgreSQL a smaller position can commit
//! after a larger one, so the feed follows `(transaction_id, position)` and
//! only returns rows whose transaction lies below the snapshot's `xmin`:
//! every transaction below it has ended, so no row can still appear before
//! the cursor.

use chrono::{DateTime, Utc};
use gongkai_proto::v1::EventEnvelope;

use crate::events::decode_envelope;
use crate::{Store, StoreError};

/// The columns SearchProjects filters on, for one project.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchRow {
    /// Store position of the project's first event (seq 1): the sort key of
    /// search, which never changes, so paging neither skips nor repeats.
    pub first_position: i64,
    /// 6-digit region code.
    pub region_code: String,
    /// `construction` or `ppp`.
    pub project_type: String,
    /// Stage label, lowercase.
    pub stage: String,
    /// Business time of the latest event.
    pub last_event_at: DateTime<Utc>,
    /// Earliest `occurred_at` of the project's events.
    pub first_occurred_at: DateTime<Utc>,
    /// Latest `occurred_at` of the project's events.
    pub last_occurred_at: DateTime<Utc>,
    /// Owner's unified social credit code.
    pub owner_code: String,
    /// Owner's name.
    pub owner_name: String,
    /// Winners of the lots in force: `(credit code, name)`.
    pub winners: Vec<(String, String)>,
    /// Trading centers that submitted the project's events.
    pub sources: Vec<String>,
    /// Approved total investment, fen.
    pub investment_fen: i64,
    /// Current contract value, fen, once a contract is signed.
    pub contract_price_fen: Option<i64>,
    /// Final cost, fen, once settled.
    pub final_cost_fen: Option<i64>,
    /// Names and codes matched by free text (project, tenders, lots, parties).
    pub texts: Vec<String>,
}

/// A disclosure a project still owes.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineRow {
    /// `GK-MISSING-*` rule code.
    pub rule: String,
    /// What it concerns, e.g. `<tender_code>/<lot_code>`.
    pub subject: String,
    /// When the flag is raised if the disclosure has not come.
    pub due_at: DateTime<Utc>,
    /// The trading center that owes it.
    pub source: String,
    /// The encoded `gongkai.v1.ComplianceFlag` raised once due.
    pub flag: Vec<u8>,
}

/// Everything the supervision side keeps per project beside the views.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SupervisionRows {
    /// The search row.
    pub search: SearchRow,
    /// Open expectations of the deadline watch.
    pub deadlines: Vec<DeadlineRow>,
}

impl SearchRow {
    /// The distinct search terms of the project: every character bigram of
    /// every run of CJK characters in its texts (and the character itself
    /// for a run of one).
    pub fn terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = self.texts.iter().flat_map(|text| cjk_bigrams(text)).collect();
        terms.sort();
        terms.dedup();
        terms
    }

    fn search_text(&self) -> String {
        let mut text = String::from("|");
        for part in &self.texts {
            text.push_str(&part.to_lowercase());
            text.push('|');
        }
        text
    }
}

/// Whether `c` is a CJK ideograph (the unified blocks and their extensions).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// The character bigrams of each run of CJK characters in `text` (a run of
/// one character yields that character).
pub fn cjk_bigrams(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut flush = |run: &mut Vec<char>| {
        match run.len() {
            0 => {}
            1 => terms.push(run[0].to_string()),
            _ => terms.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run);
        }
    }
    flush(&mut run);
    terms
}

/// Writes the [`SupervisionRows`] of each `(project code, rows)` of the slice
/// `$projects` inside the projector's transaction `$tx` (either backend),
/// replacing what the projects had, with multi-row statements.
macro_rules! write_supervision_rows {
    ($tx:ident, $projects:expr) => {{
        let projects: &[(&str, &$crate::SupervisionRows)] = $projects;
        let codes: Vec<&str> = projects.iter().map(|(code, _)| *code).collect();
        let searches: Vec<(&str, &$crate::SearchRow, String, String, String)> = projects
            .iter()
            .map(|(code, rows)| {
                let search = &rows.search;
                let winners = search.winners.iter().map(|(code, name)| format!("|{code}|{name}|")).collect();
                let sources = search.sources.iter().map(|source| format!("|{source}|")).collect();
                (*code, search, winners, sources, $crate::supervision::search_text(search))
            })
            .collect();
        $crate::views::insert_rows!(
            $tx,
            "INSERT INTO project_search (project_code, region_code, project_type, stage, last_event_at, \
             first_occurred_at, last_occurred_at, owner_code, owner_name, winners, sources, investment_fen, \
             contract_price_fen, final_cost_fen, search_text, first_position)",
            "ON CONFLICT (project_code) DO UPDATE SET region_code = excluded.region_code, \
             project_type = excluded.project_type, stage = excluded.stage, last_event_at = excluded.last_event_at, \
             first_occurred_at = excluded.first_occurred_at, last_occurred_at = excluded.last_occurred_at, \
             owner_code = excluded.owner_code, owner_name = excluded.owner_name, winners = excluded.winners, \
             sources = excluded.sources, investment_fen = excluded.investment_fen, \
             contract_price_fen = excluded.contract_price_fen, final_cost_fen = excluded.final_cost_fen, \
             search_text = excluded.search_text, first_position = excluded.first_position",
            16,
            &searches,
            |query, row| query
                .bind(row.0)
                .bind(&row.1.region_code)
                .bind(&row.1.project_type)
                .bind(&row.1.stage)
                .bind(row.1.last_event_at)
                .bind(row.1.first_occurred_at)
                .bind(row.1.last_occurred_at)
                .bind(&row.1.owner_code)
                .bind(&row.1.owner_name)
                .bind(&row.2)
                .bind(&row.3)
                .bind(row.1.investment_fen)
                .bind(row.1.contract_price_fen)
                .bind(row.1.final_cost_fen)
                .bind(&row.4)
                .bind(row.1.first_position)
        );
        // Terms change only with the names a project carries: write the new
        // ones and delete the gone ones instead of rewriting them all.
        let existing = $crate::views::for_codes!(
            $tx,
            "SELECT term, project_code FROM project_terms WHERE project_code IN ({})",
            &codes,
            fetch_all as (String, String)
        );
        let mut gone: std::collections::HashSet<(String, String)> = existing.into_iter().collect();
        let terms: Vec<(String, &str)> = projects
            .iter()
            .flat_map(|(code, rows)| rows.search.terms().into_iter().map(move |term| (term, *code)))
            .filter(|(term, code)| !gone.remove(&(term.clone(), (*code).to_owned())))
            .collect();
        for (term, code) in gone {
            sqlx::query("DELETE FROM project_terms WHERE term = $1 AND project_code = $2")
                .bind(term)
                .bind(code)
                .execute(&mut *$tx)
                .await?;
        }
        $crate::views::insert_rows!(
            $tx,
            "INSERT INTO project_terms (term, project_code)",
            "",
            2,
            &terms,
            |query, row| query.bind(&row.0).bind(row.1)
        );
        $crate::views::for_codes!($tx, "DELETE FROM project_deadlines WHERE project_code IN ({})", &codes, execute);
        let deadlines: Vec<(&str, &$crate::DeadlineRow)> = projects
            .iter()
            .flat_map(|(code, rows)| rows.deadlines.iter().map(move |deadline| (*code, deadline)))
            .collect();
        $crate::views::insert_rows!(
            $tx,
            "INSERT INTO project_deadlines (project_code, rule, subject, due_at, source, flag)",
            "ON CONFLICT (project_code, rule, subject) DO NOTHING",
            6,
            &deadlines,
            |query, row| query
                .bind(row.0)
                .bind(&row.1.rule)
                .bind(&row.1.subject)
                .bind(row.1.due_at)
                .bind(&row.1.source)
                .bind(&row.1.flag)
        );
    }};
}
pub(crate) use write_supervision_rows;

pub(crate) fn search_text(row: &SearchRow) -> String {
    row.search_text()
}

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

/// A WHERE clause under construction, `$n` placeholders numbered as added.
#[derive(Debug, Default)]
struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    /// Adds `arg` and returns its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() { "TRUE".to_owned() } else { self.clauses.join(" AND ") }
    }

    /// `column LIKE '<prefix>%'` for any of `prefixes` (none: nothing matches).
    fn any_prefix(&mut self, column: &str, prefixes: &[String]) {
        let parts: Vec<String> = prefixes
            .iter()
            .map(|prefix| {
                let placeholder = self.arg(Arg::Text(format!("{}%", escape_like(prefix))));
                format!("{column} LIKE {placeholder} ESCAPE '\\'")
            })
            .collect();
        if parts.is_empty() {
            self.push("FALSE".to_owned());
        } else {
            self.push(format!("({})", parts.join(" OR ")));
        }
    }

    /// `column LIKE '%<needle>%'`.
    fn contains(&mut self, column: &str, needle: &str) {
        let placeholder = self.arg(Arg::Text(format!("%{}%", escape_like(needle))));
        self.push(format!("{column} LIKE {placeholder} ESCAPE '\\'"));
    }
}

/// Escapes LIKE wildcards with `\`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(text) => query.bind(text.clone()),
                Arg::Int(value) => query.bind(*value),
                Arg::Time(time) => query.bind(*time),
            };
        }
        query
    }};
}

/// Runs `$sql` with `$filter`'s arguments and `fetch_all` on either backend.
macro_rules! fetch_all_as {
    ($store:expr, $sql:expr, $filter:expr) => {
        match $store {
            Store::Postgres(pool) => {
                bind_all!(sqlx::query_as(sqlx::AssertSqlSafe($sql.clone())), &$filter.args).fetch_all(pool).await?
            }
            Store::Sqlite(pool) => {
                bind_all!(sqlx::query_as(sqlx::AssertSqlSafe($sql.clone())), &$filter.args).fetch_all(pool).await?
            }
        }
    };
}

/// An inclusive-exclusive window; either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    fn is_open(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    fn clauses(&self, filter: &mut Filter, column: &str) -> Vec<String> {
        let mut clauses = Vec::new();
        if let Some(start) = self.start {
            let p = filter.arg(Arg::Time(start));
            clauses.push(format!("{column} >= {p}"));
        }
        if let Some(end) = self.end {
            let p = filter.arg(Arg::Time(end));
            clauses.push(format!("{column} < {p}"));
        }
        clauses
    }
}

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

/// A change-feed cursor: the last event sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedCursor {
    /// PostgreSQL transaction id of the last event sent (0 on SQLite and at the start).
    pub transaction_id: i64,
    /// Its position.
    pub position: i64,
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
type FlagRow = (String, String, String, String, String, DateTime<Utc>, Vec<u8>, String);
type AuditTuple = (String, String, String, DateTime<Utc>, String, String, String, String, i64, String);

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

    /// The feed cursor just after the event at `position` (0 = the start);
    /// `None` when no event has that position.
    pub async fn feed_cursor(&self, position: u64) -> Result<Option<FeedCursor>, StoreError> {
        if position == 0 {
            return Ok(Some(FeedCursor::default()));
        }
        // Positions are BIGINTs: none lies beyond i64::MAX. A caller's
        // position past it names no event, like any other unused one.
        let Ok(position) = i64::try_from(position) else { return Ok(None) };
        Ok(match self {
            Store::Postgres(pool) => sqlx::query_scalar::<_, i64>(
                "SELECT CAST(CAST(transaction_id AS TEXT) AS BIGINT) FROM events WHERE position = $1",
            )
            .bind(position)
            .fetch_optional(pool)
            .await?
            .map(|transaction_id| FeedCursor { transaction_id, position }),
            Store::Sqlite(pool) => sqlx::query_scalar::<_, i64>("SELECT position FROM events WHERE position = $1")
                .bind(position)
                .fetch_optional(pool)
                .await?
                .map(|position| FeedCursor { transaction_id: 0, position }),
        })
    }

    /// Up to `limit` events after `cursor` in commit-safe order, each with
    /// its project's region and the cursor just after it (see the module docs).
    pub async fn feed_after(
        &self,
        cursor: FeedCursor,
        limit: u32,
    ) -> Result<Vec<(EventEnvelope, String, FeedCursor)>, StoreError> {
        let limit = i64::from(limit);
        let rows: Vec<(i64, i64, Vec<u8>, String)> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT CAST(CAST(e.transaction_id AS TEXT) AS BIGINT), e.position, e.envelope, s.region_code \
                     FROM events e JOIN streams s ON s.project_code = e.project_code \
                     WHERE (e.transaction_id, e.position) > (CAST(CAST($1 AS TEXT) AS xid8), $2) \
                       AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
                     ORDER BY e.transaction_id, e.position LIMIT $3",
                )
                .bind(cursor.transaction_id)
                .bind(cursor.position)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT 0, e.position, e.envelope, s.region_code FROM events e \
                     JOIN streams s ON s.project_code = e.project_code \
                     WHERE e.position > $1 ORDER BY e.position LIMIT $2",
                )
                .bind(cursor.position)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        rows.into_iter()
            .map(|(transaction_id, position, bytes, region)| {
                Ok((decode_envelope(position, &bytes)?, region, FeedCursor { transaction_id, position }))
            })
            .collect()
    }
}
