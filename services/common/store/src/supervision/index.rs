//! The search index and the deadline watch's open expectations, as the
//! projector writes them.
//!
//! # Search index
//!
//! [`SupervisionRows`] are rendered with a project's views and written in the
//! same transaction as its `full_*` rows (see [`index_statements`]):
//! one `project_search` row (the columns filters need, and the lowercased
//! names and codes free text is found in, Chinese without word boundaries)
//! and its `project_deadlines` (disclosures it still owes, each with its due
//! time).

use chrono::{DateTime, Utc};

use crate::query::{self, Sql, Value};

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
    fn search_text(&self) -> String {
        let mut text = String::from("|");
        for part in &self.texts {
            text.push_str(&part.to_lowercase());
            text.push('|');
        }
        text
    }
}

/// What the fold writes of one project's [`SupervisionRows`]: the search
/// row and the open deadlines, each when it changed.
#[derive(Debug)]
struct IndexChange<'a> {
    code: &'a str,
    search: Option<&'a SearchRow>,
    deadlines: Option<&'a [DeadlineRow]>,
}

impl<'a> IndexChange<'a> {
    /// The changes that replace the rows of each `(project code, rows)` of
    /// `projects`: the search row and the deadlines are written again.
    fn replacing(projects: &[(&'a str, &'a SupervisionRows)]) -> Vec<Self> {
        projects
            .iter()
            .map(|&(code, rows)| IndexChange { code, search: Some(&rows.search), deadlines: Some(&rows.deadlines) })
            .collect()
    }

    /// The changes from `before`, the rows last written for project `code`,
    /// to `after`: only what differs is written.
    fn between(code: &'a str, before: &SupervisionRows, after: &'a SupervisionRows) -> Self {
        IndexChange {
            code,
            search: (before.search != after.search).then_some(&after.search),
            deadlines: (before.deadlines != after.deadlines).then_some(after.deadlines.as_slice()),
        }
    }
}

/// The statements that write the [`SupervisionRows`] of projects, run
/// inside the projector's transaction with multi-row statements: those of
/// `replaced` (`(project code, rows)`) replace what the project had; those
/// of `advanced` (`(project code, rows last written, rows)`) are written
/// where they differ from the rows the fold wrote last, which it remembered.
pub(crate) fn index_statements<'a>(
    replaced: &[(&'a str, &'a SupervisionRows)],
    advanced: &[(&'a str, &SupervisionRows, &'a SupervisionRows)],
) -> Vec<Sql<'a>> {
    let mut changes = IndexChange::replacing(replaced);
    changes.extend(advanced.iter().map(|&(code, before, after)| IndexChange::between(code, before, after)));
    let searched: Vec<(&str, &SearchRow)> =
        changes.iter().filter_map(|change| change.search.map(|search| (change.code, search))).collect();
    let mut statements = query::insert(
        &format!("INSERT INTO project_search ({SEARCH_COLUMNS})"),
        "ON CONFLICT (project_code) DO UPDATE SET region_code = excluded.region_code, \
         project_type = excluded.project_type, stage = excluded.stage, last_event_at = excluded.last_event_at, \
         first_occurred_at = excluded.first_occurred_at, last_occurred_at = excluded.last_occurred_at, \
         owner_code = excluded.owner_code, owner_name = excluded.owner_name, winners = excluded.winners, \
         sources = excluded.sources, investment_fen = excluded.investment_fen, \
         contract_price_fen = excluded.contract_price_fen, final_cost_fen = excluded.final_cost_fen, \
         search_text = excluded.search_text, first_position = excluded.first_position",
        &searched,
        |&(code, search)| search_values(code, search),
    );
    let rewritten: Vec<&str> =
        changes.iter().filter(|change| change.deadlines.is_some()).map(|change| change.code).collect();
    statements.extend(query::in_list("DELETE FROM project_deadlines WHERE project_code IN (", &rewritten, ")"));
    let deadlines: Vec<(&str, &DeadlineRow)> = changes
        .iter()
        .flat_map(|change| change.deadlines.unwrap_or_default().iter().map(move |deadline| (change.code, deadline)))
        .collect();
    statements.extend(query::insert(
        &format!("INSERT INTO project_deadlines ({DEADLINE_COLUMNS})"),
        "ON CONFLICT (project_code, rule, subject) DO NOTHING",
        &deadlines,
        |&(code, deadline)| deadline_values(code, deadline),
    ));
    statements
}

/// The columns of `project_search`, in the order of [`search_values`].
pub(crate) const SEARCH_COLUMNS: &str = "project_code, region_code, project_type, stage, last_event_at, \
     first_occurred_at, last_occurred_at, owner_code, owner_name, winners, sources, investment_fen, \
     contract_price_fen, final_cost_fen, search_text, first_position";

/// The search row of project `code` as bound.
pub(crate) fn search_values<'a>(code: &'a str, search: &'a SearchRow) -> [Value<'a>; 16] {
    let winners: String = search.winners.iter().map(|(code, name)| format!("|{code}|{name}|")).collect();
    let sources: String = search.sources.iter().map(|source| format!("|{source}|")).collect();
    [
        code.into(),
        (&search.region_code).into(),
        (&search.project_type).into(),
        (&search.stage).into(),
        search.last_event_at.into(),
        search.first_occurred_at.into(),
        search.last_occurred_at.into(),
        (&search.owner_code).into(),
        (&search.owner_name).into(),
        winners.into(),
        sources.into(),
        search.investment_fen.into(),
        search.contract_price_fen.into(),
        search.final_cost_fen.into(),
        search.search_text().into(),
        search.first_position.into(),
    ]
}

/// The columns of `project_deadlines`, in the order of [`deadline_values`].
pub(crate) const DEADLINE_COLUMNS: &str = "project_code, rule, subject, due_at, source, flag";

/// One open deadline of project `code` as bound.
pub(crate) fn deadline_values<'a>(code: &'a str, deadline: &'a DeadlineRow) -> [Value<'a>; 6] {
    [
        code.into(),
        (&deadline.rule).into(),
        (&deadline.subject).into(),
        deadline.due_at.into(),
        (&deadline.source).into(),
        (&deadline.flag).into(),
    ]
}
