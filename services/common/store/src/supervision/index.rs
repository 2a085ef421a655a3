//! The search index and the deadline watch's open expectations, as the
//! projector writes them.
//!
//! # Search index
//!
//! [`SupervisionRows`] are rendered with a project's views and written in the
//! same transaction as its `full_*` rows (see `write_supervision_rows!`):
//! one `project_search` row (the columns filters need), the project's
//! `project_terms` (character bigrams of its names, so a Chinese query of two
//! or more characters is found without word boundaries) and its
//! `project_deadlines` (disclosures it still owes, each with its due time).

use chrono::{DateTime, Utc};

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
        $crate::sql::insert_rows!(
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
        let existing = $crate::sql::for_codes!(
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
        $crate::sql::insert_rows!(
            $tx,
            "INSERT INTO project_terms (term, project_code)",
            "",
            2,
            &terms,
            |query, row| query.bind(&row.0).bind(row.1)
        );
        $crate::sql::for_codes!($tx, "DELETE FROM project_deadlines WHERE project_code IN ({})", &codes, execute);
        let deadlines: Vec<(&str, &$crate::DeadlineRow)> = projects
            .iter()
            .flat_map(|(code, rows)| rows.deadlines.iter().map(move |deadline| (*code, deadline)))
            .collect();
        $crate::sql::insert_rows!(
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
