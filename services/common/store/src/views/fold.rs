//! The fold: events from the log into the read model, one project at a time
//! or many per transaction.
//!
//! [`Projections::project_event`] takes one event as it arrives from the log, in any
//! order and any number of times, and keeps each project's views equal to the
//! rendering of its longest gapless prefix of events:
//!
//! 1. the project's head row is locked (a `SELECT … FOR UPDATE` on
//!    PostgreSQL; on SQLite the transaction holds the write lock), so two
//!    projector instances never render the same project at once;
//! 2. an event at or below the head is a duplicate: nothing changes;
//! 3. otherwise it is kept in `projector_events` (idempotent by
//!    `(project_code, project_seq)`), and if it closes the gap after the head,
//!    the project's events up to the new head are rendered by the caller's
//!    function and its rows in the public and full tables replaced.
//!
//! All of it is one transaction, so the views never show a half-applied event,
//! and the log's offsets can be committed after it (at-least-once delivery,
//! exactly-once effect).
//!
//! A project the render function refuses (it returns [`Unrenderable`]) is
//! *parked*, never the batch: its events are kept all the same, its views
//! and head stay where they were, a `projector_parked` row says why, and its
//! projects rows carry `parked_since`. Any later batch that names the project,
//! even with no new event, renders it again from everything kept; when that
//! succeeds it is unparked in the same transaction. One hostile event thus
//! costs its own project's freshness and nothing else.
//!
//! [`Projections::project_batch`] does the same for many projects in one
//! transaction (head rows locked in code order), writing every table with
//! multi-row statements: the embedded projector folds what it polled this
//! way, and a rebuild a chunk of the log at a time, with each project
//! rendered ahead of the transaction when the chunk holds its whole history.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;
use prost::Message;

use super::View;
use crate::db::{in_transaction, to_i64};
use crate::events::decode_envelope;
use crate::query::{self, Sql};
use crate::{ProjectRow, ProjectViewRows, Projections, StoreError, SupervisionRows, TimelineRow, public, supervision};

/// Why a project could not be rendered: the render function's refusal, or
/// its panic caught by the caller. The project is parked (see
/// [`Projections::project_batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrenderable {
    /// The event the failure is pinned on (the project's new head when the
    /// renderer cannot tell).
    pub event_id: String,
    /// That event's seq.
    pub project_seq: u64,
    /// What went wrong, for supervisors and operators.
    pub reason: String,
}

/// What [`Projections::project_event`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    /// Already folded in: nothing changed.
    Duplicate,
    /// Kept, but an earlier event of the project has not arrived yet.
    Waiting {
        /// The project's views stay at this seq.
        head: u64,
    },
    /// The views now cover the project up to `head`.
    Advanced {
        /// The new head seq.
        head: u64,
    },
    /// Kept, but the project could not be rendered: it is parked, its views
    /// stay at `head`, and every other project of the batch went on.
    Parked {
        /// The project's views stay at this seq.
        head: u64,
    },
}

/// One project's events for [`Projections::project_batch`].
#[derive(Debug, Clone, Default)]
pub struct ProjectEvents {
    /// The project every event belongs to.
    pub project_code: String,
    /// Its events, in any order, possibly repeated or already folded.
    pub events: Vec<EventEnvelope>,
    /// The rows of exactly `events`, rendered by the caller outside the
    /// transaction, when `events` are the project's gapless history from
    /// seq 1. Used only if the read model holds nothing of the project yet
    /// (a rebuild); otherwise the project is rendered again from everything
    /// kept. Rendering ahead lets a rebuild render one chunk while the
    /// previous one is written.
    pub rendered: Option<ProjectViewRows>,
}

/// An event kept in `projector_events`: seq, position, stored envelope.
type Kept = (i64, i64, Vec<u8>);

/// What the transaction decided for one project of a batch.
struct Plan<'b> {
    code: &'b str,
    /// `(seq, position, stored envelope)` to keep.
    keep: Vec<Kept>,
    outcome: Projected,
    /// The events `1..=head` when the views advance and must be rendered.
    render: Option<Vec<EventEnvelope>>,
    /// The position of the new head event.
    position: i64,
}

/// An event of a project as the transaction knows it.
enum Known<'e> {
    /// Kept by an earlier transaction: its position and stored envelope.
    Stored(i64, Vec<u8>),
    /// Arriving now.
    Incoming(&'e EventEnvelope),
}

/// Plans one project: which incoming events to keep, where its head goes and
/// what to render, from its locked `head` and the events kept before. The
/// flag says the caller's rendering can be used as it is.
fn plan(project: &ProjectEvents, head: i64, stored: Vec<Kept>) -> Result<(Plan<'_>, bool), StoreError> {
    let fresh = stored.is_empty();
    // Every event known after this batch, by seq; what was kept before wins.
    let mut known: BTreeMap<i64, Known<'_>> =
        stored.into_iter().map(|(seq, position, bytes)| (seq, Known::Stored(position, bytes))).collect();
    let mut keep = Vec::new();
    for event in &project.events {
        let seq = to_i64(event.project_seq)?;
        if seq <= head || known.contains_key(&seq) {
            continue;
        }
        let mut stored = event.clone();
        stored.position = 0;
        keep.push((seq, to_i64(event.position)?, stored.encode_to_vec()));
        known.insert(seq, Known::Incoming(event));
    }
    let code = project.project_code.as_str();
    let plan = |keep, outcome, render, position| Plan { code, keep, outcome, render, position };
    let new_head = known.keys().zip(1..).take_while(|(seq, want)| **seq == *want).count() as i64;
    // Nothing new, and nothing kept beyond the head (which only a parked
    // project has): a duplicate.
    if keep.is_empty() && new_head <= head {
        return Ok((plan(keep, Projected::Duplicate, None, 0), false));
    }
    if new_head <= head {
        return Ok((plan(keep, Projected::Waiting { head: head as u64 }, None, 0), false));
    }
    let position = match known.get(&new_head) {
        Some(Known::Stored(position, _)) => *position,
        Some(Known::Incoming(event)) => to_i64(event.position)?,
        None => 0,
    };
    let outcome = Projected::Advanced { head: new_head as u64 };
    // The caller rendered exactly the incoming events: usable when nothing
    // was kept before and they are the whole history up to the new head.
    if fresh && project.rendered.is_some() && known.len() as i64 == new_head {
        return Ok((plan(keep, outcome, None, position), true));
    }
    let events = known
        .range(..=new_head)
        .map(|(_, known)| match known {
            Known::Stored(position, bytes) => decode_envelope(*position, bytes),
            Known::Incoming(event) => Ok((*event).clone()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((plan(keep, outcome, Some(events), position), false))
}

/// What the transaction decided for a batch: a plan per project, and the
/// projects whose views advance (rendered now, or ahead by the caller) or
/// that could not be rendered.
struct Decided<'b> {
    plans: Vec<Plan<'b>>,
    rendered: Vec<(&'b str, ProjectViewRows)>,
    ahead: Vec<(&'b str, &'b ProjectViewRows)>,
    parked: Vec<(&'b str, Unrenderable)>,
}

/// Plans every project of `batch` from its locked `heads` and the events
/// `stored` before, rendering those whose views advance.
fn decide<'b, F>(
    batch: &'b [ProjectEvents],
    heads: &BTreeMap<String, i64>,
    mut stored: BTreeMap<String, Vec<Kept>>,
    render: F,
) -> Result<Decided<'b>, StoreError>
where
    F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
{
    let mut decided = Decided { plans: Vec::new(), rendered: Vec::new(), ahead: Vec::new(), parked: Vec::new() };
    for project in batch {
        let head = heads.get(&project.project_code).copied().unwrap_or_default();
        let (mut plan, use_ahead) = plan(project, head, stored.remove(&project.project_code).unwrap_or_default())?;
        if let Some(events) = plan.render.take() {
            match render(&events) {
                Ok(rows) => decided.rendered.push((plan.code, rows)),
                Err(failure) => {
                    plan.outcome = Projected::Parked { head: head.max(0) as u64 };
                    decided.parked.push((plan.code, failure));
                }
            }
        } else if let (true, Some(rows)) = (use_ahead, &project.rendered) {
            decided.ahead.push((plan.code, rows));
        }
        decided.plans.push(plan);
    }
    Ok(decided)
}

/// An event kept in `projector_events`, as read back.
#[derive(sqlx::FromRow)]
struct KeptRow {
    project_code: String,
    project_seq: i64,
    position: i64,
    envelope: Vec<u8>,
}

/// A timeline entry as the fold compares it with a new rendering.
#[derive(sqlx::FromRow)]
struct EntryRow {
    project_code: String,
    project_seq: i64,
    entry: Vec<u8>,
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
fn entries<'a>(view: View, codes: &[&'a str]) -> Vec<Sql<'a>> {
    // Table names come from `View`, never from input.
    let head =
        format!("SELECT project_code, project_seq, entry FROM {} WHERE project_code IN (", view.timeline_table());
    query::in_list(&head, codes, ")")
}

/// The statements that replace the rows of the projects in `rendered` in
/// one side of the read model, `existing` being that side's entries of
/// those projects. Only timeline entries whose bytes changed are written and
/// only those no longer rendered are deleted: a new event usually changes
/// one or two entries of a long history, and rewriting them all made the
/// live fold cost grow with each project's age.
fn view_statements<'a>(
    view: View,
    existing: &'a [EntryRow],
    rendered: &[(&'a str, &'a ProjectViewRows)],
) -> Result<Vec<Sql<'a>>, StoreError> {
    let (timeline_table, projects_table) = (view.timeline_table(), view.projects_table());
    let mut stale: HashMap<(&str, i64), &[u8]> =
        existing.iter().map(|row| ((row.project_code.as_str(), row.project_seq), row.entry.as_slice())).collect();
    let mut timeline: Vec<(&str, &TimelineRow)> = Vec::new();
    for &(code, rows) in rendered {
        for row in view.rendered(rows).0 {
            let seq = to_i64(row.project_seq)?;
            if stale.remove(&(code, seq)) != Some(row.entry.as_slice()) {
                timeline.push((code, row));
            }
        }
    }
    // What is left was not rendered again (e.g. an entry withheld anew).
    let mut statements: Vec<Sql<'a>> = stale
        .into_keys()
        .map(|(code, seq)| {
            let mut delete = Sql::new(format!("DELETE FROM {timeline_table} WHERE project_code = "));
            delete.bind(code).push(" AND project_seq = ").bind(seq);
            delete
        })
        .collect();
    statements.extend(query::insert(
        &format!(
            "INSERT INTO {timeline_table} (project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry)"
        ),
        "ON CONFLICT (project_code, project_seq) DO UPDATE SET event_id = excluded.event_id, \
         fact_type = excluded.fact_type, occurred_at = excluded.occurred_at, \
         recorded_at = excluded.recorded_at, entry = excluded.entry",
        &timeline,
        |&(code, row)| {
            [
                code.into(),
                (row.project_seq as i64).into(),
                (&row.event_id).into(),
                (&row.fact_type).into(),
                row.occurred_at.into(),
                row.recorded_at.into(),
                (&row.entry).into(),
            ]
        },
    ));
    let summaries: Vec<(&str, &ProjectRow)> =
        rendered.iter().map(|&(code, rows)| (code, view.rendered(rows).1)).collect();
    for (_, summary) in &summaries {
        to_i64(summary.head_seq)?;
    }
    statements.extend(query::insert(
        &format!(
            "INSERT INTO {projects_table} \
             (project_code, name, region_code, project_type, stage, head_seq, last_event_at, summary)"
        ),
        "ON CONFLICT (project_code) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, \
         project_type = excluded.project_type, stage = excluded.stage, head_seq = excluded.head_seq, \
         last_event_at = excluded.last_event_at, summary = excluded.summary, parked_since = NULL",
        &summaries,
        |&(code, row)| {
            [
                code.into(),
                (&row.name).into(),
                (&row.region_code).into(),
                (&row.project_type).into(),
                (&row.stage).into(),
                (row.head_seq as i64).into(),
                row.last_event_at.into(),
                (&row.summary).into(),
            ]
        },
    ));
    Ok(statements)
}

impl Projections {
    /// Folds one event from the log into the read model; see the module docs.
    /// `render` turns a project's gapless events (seq 1..=head, positions
    /// filled) into its rows.
    pub async fn project_event<F>(&self, event: &EventEnvelope, render: F) -> Result<Projected, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        self.project_events(&event.subject, std::slice::from_ref(event), render).await
    }

    /// Folds several events of one project (`project_code`) at once: one
    /// transaction and one rendering, however many there are. The outcome
    /// says where the project's views stand afterwards.
    pub async fn project_events<F>(
        &self,
        project_code: &str,
        events: &[EventEnvelope],
        render: F,
    ) -> Result<Projected, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        let batch = [ProjectEvents { project_code: project_code.to_owned(), events: events.to_vec(), rendered: None }];
        let outcomes = self.project_batch(&batch, render).await?;
        Ok(outcomes[0])
    }

    /// Folds the events of several projects in one transaction, each project
    /// as [`Projections::project_events`] would, with every table written by
    /// multi-row statements. Head rows are locked in project-code order, so
    /// concurrent batches cannot deadlock. The outcomes follow `batch`.
    pub async fn project_batch<F>(&self, batch: &[ProjectEvents], render: F) -> Result<Vec<Projected>, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        let mut codes: Vec<&str> = batch.iter().map(|project| project.project_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != batch.len() {
            return Err(StoreError::InvalidEvent("a batch names a project twice".to_owned()));
        }
        // Whether the public change feed grew: its followers are told after commit.
        let mut published = false;
        let outcomes = in_transaction!(&self.db, |tx, dialect| {
            let open = "INSERT INTO projector_heads (project_code, projected_seq, position)";
            for statement in query::insert(open, "ON CONFLICT (project_code) DO NOTHING", &codes, |&code| {
                [code.into(), 0_i64.into(), 0_i64.into()]
            }) {
                statement.execute(&mut *tx).await?;
            }
            let mut heads: BTreeMap<String, i64> = BTreeMap::new();
            let lock = format!(") ORDER BY project_code{}", dialect::FOR_UPDATE);
            let select = "SELECT project_code, projected_seq FROM projector_heads WHERE project_code IN (";
            for statement in query::in_list(select, &codes, &lock) {
                heads.extend(statement.fetch_all::<(String, i64), _>(&mut *tx).await?);
            }
            let mut stored: BTreeMap<String, Vec<Kept>> = BTreeMap::new();
            let select = "SELECT project_code, project_seq, position, envelope FROM projector_events \
                          WHERE project_code IN (";
            for statement in query::in_list(select, &codes, ") ORDER BY project_code, project_seq") {
                for row in statement.fetch_all::<KeptRow, _>(&mut *tx).await? {
                    stored.entry(row.project_code).or_default().push((row.project_seq, row.position, row.envelope));
                }
            }

            let Decided { plans, rendered, ahead, parked } = decide(batch, &heads, stored, render)?;
            let views: Vec<(&str, &ProjectViewRows)> =
                rendered.iter().map(|(code, rows)| (*code, rows)).chain(ahead).collect();
            let advanced: Vec<&str> = views.iter().map(|(code, _)| *code).collect();

            let keep: Vec<(&str, &Kept)> =
                plans.iter().flat_map(|plan| plan.keep.iter().map(|kept| (plan.code, kept))).collect();
            let insert = "INSERT INTO projector_events (project_code, project_seq, position, envelope)";
            let tail = "ON CONFLICT (project_code, project_seq) DO NOTHING";
            for statement in query::insert(insert, tail, &keep, |&(code, (seq, position, envelope))| {
                [code.into(), (*seq).into(), (*position).into(), envelope.into()]
            }) {
                statement.execute(&mut *tx).await?;
            }
            // Parked projects: the reason (the first parking time kept) and
            // `parked_since` on their rows, which otherwise stay as they were.
            let now = Utc::now();
            for (code, failure) in &parked {
                sqlx::query(
                    "INSERT INTO projector_parked (project_code, event_id, project_seq, reason, parked_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_code) DO UPDATE SET \
                     event_id = excluded.event_id, project_seq = excluded.project_seq, reason = excluded.reason",
                )
                .bind(*code)
                .bind(&failure.event_id)
                .bind(to_i64(failure.project_seq)?)
                .bind(&failure.reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                for table in ["public_projects", "full_projects"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET parked_since = $2 WHERE project_code = $1 AND parked_since IS NULL"
                    )))
                    .bind(*code)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if !views.is_empty() {
                let unpark = "DELETE FROM projector_parked WHERE project_code IN (";
                for statement in query::in_list(unpark, &advanced, ")") {
                    statement.execute(&mut *tx).await?;
                }
                let mut fed = Vec::new();
                for statement in public::fed_rows(&advanced) {
                    fed.extend(statement.fetch_all(&mut *tx).await?);
                }
                let public: Vec<(&str, &[TimelineRow])> =
                    views.iter().map(|(code, rows)| (*code, rows.public_timeline.as_slice())).collect();
                let changes = public::change_statements(fed, &public)?;
                published = !changes.is_empty();
                for statement in changes {
                    statement.execute(&mut *tx).await?;
                }
                if let (true, Some(notify)) = (published, dialect::NOTIFY_PUBLIC_CHANGES) {
                    sqlx::query(notify).bind(crate::signal::PUBLIC_CHANGES_CHANNEL).execute(&mut *tx).await?;
                }
                for view in [View::Public, View::Full] {
                    let mut existing = Vec::new();
                    for statement in entries(view, &advanced) {
                        existing.extend(statement.fetch_all::<EntryRow, _>(&mut *tx).await?);
                    }
                    for statement in view_statements(view, &existing, &views)? {
                        statement.execute(&mut *tx).await?;
                    }
                }
                let index: Vec<(&str, &SupervisionRows)> =
                    views.iter().map(|(code, rows)| (*code, &rows.supervision)).collect();
                let mut terms = Vec::new();
                for statement in supervision::existing_terms(&advanced) {
                    terms.extend(statement.fetch_all(&mut *tx).await?);
                }
                for statement in supervision::index_statements(&index, terms) {
                    statement.execute(&mut *tx).await?;
                }
                let moved: Vec<(&str, i64, i64)> = plans
                    .iter()
                    .filter_map(|plan| match plan.outcome {
                        Projected::Advanced { head } => Some((plan.code, head as i64, plan.position)),
                        _ => None,
                    })
                    .collect();
                let tail = "ON CONFLICT (project_code) DO UPDATE SET projected_seq = excluded.projected_seq, \
                            position = excluded.position";
                let insert = "INSERT INTO projector_heads (project_code, projected_seq, position)";
                for statement in query::insert(insert, tail, &moved, |&(code, seq, position)| {
                    [code.into(), seq.into(), position.into()]
                }) {
                    statement.execute(&mut *tx).await?;
                }
            }
            plans.iter().map(|plan| plan.outcome).collect::<Vec<_>>()
        });
        if published {
            self.changes.raise();
        }
        Ok(outcomes)
    }
}
