//! The [`Window`] of times a supervisor's query may be limited to.

use chrono::{DateTime, Utc};

use crate::query::Sql;

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

    /// Adds the window's bounds on `column` to the WHERE clause of `sql`.
    pub(super) fn restrict(&self, sql: &mut Sql<'_>, column: &str) {
        if let Some(start) = self.start {
            sql.and().push(format!("{column} >= ")).bind(start);
        }
        if let Some(end) = self.end {
            sql.and().push(format!("{column} < ")).bind(end);
        }
    }
}
