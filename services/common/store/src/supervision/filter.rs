//! The WHERE-clause builder that search, flags and audit share: arguments
//! bound in the order they are added, `$n` placeholders numbered to match
//! (so one SQL text serves both backends), LIKE patterns escaped, and the
//! [`Window`] of times a query may be limited to. Everything built here is
//! column names the callers fix and placeholders; no input becomes SQL text.

use chrono::{DateTime, Utc};

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

/// A WHERE clause under construction, `$n` placeholders numbered as added.
#[derive(Debug, Default)]
pub(super) struct Filter {
    clauses: Vec<String>,
    pub(super) args: Vec<Arg>,
}

impl Filter {
    /// Adds `arg` and returns its placeholder.
    pub(super) fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    pub(super) fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    pub(super) fn sql(&self) -> String {
        if self.clauses.is_empty() { "TRUE".to_owned() } else { self.clauses.join(" AND ") }
    }

    /// `column LIKE '<prefix>%'` for any of `prefixes` (none: nothing matches).
    pub(super) fn any_prefix(&mut self, column: &str, prefixes: &[String]) {
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
    pub(super) fn contains(&mut self, column: &str, needle: &str) {
        let placeholder = self.arg(Arg::Text(format!("%{}%", escape_like(needle))));
        self.push(format!("{column} LIKE {placeholder} ESCAPE '\\'"));
    }
}

/// Escapes LIKE wildcards with `\`.
pub(super) fn escape_like(text: &str) -> String {
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
pub(super) use bind_all;

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
pub(super) use fetch_all_as;

/// An inclusive-exclusive window; either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    pub(super) fn is_open(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    pub(super) fn clauses(&self, filter: &mut Filter, column: &str) -> Vec<String> {
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
