//! Writing the rendered rows of one side of the read model: the timeline
//! entries that changed, those no longer rendered, and the project
//! summaries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::db::to_i64;
use crate::public::FeedChange;
use crate::query::{self, Sql, Value};
use crate::views::View;
use crate::views::memory::ViewChanges;
use crate::{ProjectRow, ProjectViewRows, StoreError, TimelineRow};

/// A timeline row as the fold compares it with a new rendering: every
/// column, since a full row's entry keeps only what differs from the public
/// one, and a change both share leaves it as it was.
#[derive(sqlx::FromRow)]
pub(super) struct EntryRow {
    project_code: String,
    project_seq: i64,
    event_id: String,
    fact_type: String,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    entry: Vec<u8>,
}

impl EntryRow {
    /// Whether `row` would store what this row holds. Times compare to the
    /// microsecond, PostgreSQL's precision: a rendering's nanoseconds are
    /// not a change.
    fn holds(&self, row: &TimelineRow) -> bool {
        self.entry == row.entry
            && self.event_id == row.event_id
            && self.fact_type == row.fact_type
            && self.occurred_at.timestamp_micros() == row.occurred_at.timestamp_micros()
            && self.recorded_at.timestamp_micros() == row.recorded_at.timestamp_micros()
    }
}

impl View {
    /// The rows of this side among a project's rendered rows.
    fn rendered(self, rows: &ProjectViewRows) -> (&[TimelineRow], &ProjectRow) {
        match self {
            View::Public => (&rows.public_timeline, &rows.public_project),
            View::Full => (&rows.full_timeline, &rows.full_project),
        }
    }
}

/// The queries for the timeline entries of the projects `codes` in `view`.
pub(super) fn entries<'a>(view: View, codes: &[&'a str]) -> Vec<Sql<'a>> {
    // Table names come from `View`, never from input.
    let head = format!(
        "SELECT project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry FROM {} \
         WHERE project_code IN (",
        view.timeline_table()
    );
    query::in_list(&head, codes, ")")
}

/// What one side of the read model gets from a batch: timeline entries to
/// write, entries to delete, and summaries.
pub(super) struct ViewWrites<'a> {
    timeline: Vec<(&'a str, &'a TimelineRow)>,
    stale: Vec<(&'a str, i64)>,
    summaries: Vec<(&'a str, &'a ProjectRow)>,
    /// On the public side, what the change feed gains from the projects
    /// rendered whole: each entry written, `published` when it was not
    /// there before, else `updated`.
    feed: Vec<FeedChange<'a>>,
}

impl<'a> ViewWrites<'a> {
    /// The writes of `view` for the projects in `whole`, `existing` being
    /// that side's entries of those projects, and for those in `changed`.
    /// Only timeline entries whose bytes changed are written and only those
    /// no longer rendered are deleted: a new event usually changes one or two
    /// entries of a long history, and rewriting them all made the live fold
    /// cost grow with each project's age.
    pub(super) fn of(
        view: View,
        existing: &'a [EntryRow],
        whole: &[(&'a str, &'a ProjectViewRows)],
        changed: &[(&'a str, &'a ViewChanges)],
    ) -> Result<Self, StoreError> {
        let mut stale: HashMap<(&str, i64), &EntryRow> =
            existing.iter().map(|row| ((row.project_code.as_str(), row.project_seq), row)).collect();
        let mut timeline: Vec<(&str, &TimelineRow)> = Vec::new();
        let mut summaries: Vec<(&str, &ProjectRow)> = Vec::new();
        let mut feed: Vec<FeedChange<'a>> = Vec::new();
        for &(code, rows) in whole {
            let (rendered, summary) = view.rendered(rows);
            for row in rendered {
                let seq = to_i64(row.project_seq)?;
                let change = match stale.remove(&(code, seq)) {
                    None => "published",
                    Some(before) if !before.holds(row) => "updated",
                    Some(_) => continue,
                };
                timeline.push((code, row));
                if view == View::Public {
                    feed.push((code, seq, change, row));
                }
            }
            summaries.push((code, summary));
        }
        for &(code, changes) in changed {
            let (rendered, summary) = view.rendered(&changes.0);
            for row in rendered {
                to_i64(row.project_seq)?;
                timeline.push((code, row));
            }
            summaries.push((code, summary));
        }
        for (_, summary) in &summaries {
            to_i64(summary.head_seq)?;
        }
        // What is left was not rendered again (e.g. an entry withheld anew).
        Ok(ViewWrites { timeline, stale: stale.into_keys().collect(), summaries, feed })
    }

    /// What the public change feed gains from the projects rendered whole
    /// (empty on the full side).
    pub(super) fn feed(&self) -> &[FeedChange<'a>] {
        &self.feed
    }

    /// The statements that write them.
    pub(super) fn statements(&self, view: View) -> Vec<Sql<'a>> {
        let (timeline_table, projects_table) = (view.timeline_table(), view.projects_table());
        let mut statements: Vec<Sql<'a>> = self
            .stale
            .iter()
            .map(|&(code, seq)| {
                let mut delete = Sql::new(format!("DELETE FROM {timeline_table} WHERE project_code = "));
                delete.bind(code).push(" AND project_seq = ").bind(seq);
                delete
            })
            .collect();
        statements.extend(query::insert(
            &format!("INSERT INTO {timeline_table} ({TIMELINE_COLUMNS})"),
            "ON CONFLICT (project_code, project_seq) DO UPDATE SET event_id = excluded.event_id, \
             fact_type = excluded.fact_type, occurred_at = excluded.occurred_at, \
             recorded_at = excluded.recorded_at, entry = excluded.entry",
            &self.timeline,
            |&(code, row)| timeline_values(code, row),
        ));
        statements.extend(query::insert(
            &format!("INSERT INTO {projects_table} ({PROJECT_COLUMNS})"),
            "ON CONFLICT (project_code) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, \
             project_type = excluded.project_type, stage = excluded.stage, head_seq = excluded.head_seq, \
             last_event_at = excluded.last_event_at, approved_investment_fen = excluded.approved_investment_fen, \
             contract_value_fen = excluded.contract_value_fen, summary = excluded.summary, parked_since = NULL",
            &self.summaries,
            |&(code, row)| project_values(code, row),
        ));
        statements
    }
}

/// The columns of a timeline table, in the order of [`timeline_values`].
pub(crate) const TIMELINE_COLUMNS: &str =
    "project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry";

/// One timeline row of project `code` as bound.
pub(crate) fn timeline_values<'a>(code: &'a str, row: &'a TimelineRow) -> [Value<'a>; 7] {
    [
        code.into(),
        (row.project_seq as i64).into(),
        (&row.event_id).into(),
        (&row.fact_type).into(),
        row.occurred_at.into(),
        row.recorded_at.into(),
        (&row.entry).into(),
    ]
}

/// The columns of a projects table the projector writes, in the order of
/// [`project_values`] (`parked_since` is left to its default).
pub(crate) const PROJECT_COLUMNS: &str = "project_code, name, region_code, project_type, stage, head_seq, \
     last_event_at, approved_investment_fen, contract_value_fen, summary";

/// One project summary of project `code` as bound.
pub(crate) fn project_values<'a>(code: &'a str, row: &'a ProjectRow) -> [Value<'a>; 10] {
    [
        code.into(),
        (&row.name).into(),
        (&row.region_code).into(),
        (&row.project_type).into(),
        (&row.stage).into(),
        (row.head_seq as i64).into(),
        row.last_event_at.into(),
        row.approved_investment_fen.into(),
        row.contract_value_fen.into(),
        (&row.summary).into(),
    ]
}
