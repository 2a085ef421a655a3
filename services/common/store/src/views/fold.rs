//! The fold: events from the log into the read model, one project at a time
//! or many per transaction.
//!
//! [`Store::project_event`] takes one event as it arrives from the log, in any
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
//! [`Store::project_batch`] does the same for many projects in one
//! transaction (head rows locked in code order), writing every table with
//! multi-row statements: the embedded projector folds what it polled this
//! way, and a rebuild a chunk of the log at a time, with each project
//! rendered ahead of the transaction when the chunk holds its whole history.

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;
use prost::Message;

use super::View;
use crate::events::decode_envelope;
use crate::sql::{for_codes, in_transaction, insert_rows, to_i64};
use crate::{ProjectRow, ProjectViewRows, Store, StoreError, TimelineRow};

/// Why a project could not be rendered: the render function's refusal, or
/// its panic caught by the caller. The project is parked (see
/// [`Store::project_batch`]).
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

/// What [`Store::project_event`] did with an event.
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

/// Replaces the rows of the projects in `$rendered` (`(code, &ProjectViewRows)`)
/// in one side of the read model. Only timeline entries whose bytes changed
/// are written and only those no longer rendered are deleted: a new event
/// usually changes one or two entries of a long history, and rewriting them
/// all made the live fold cost grow with each project's age.
macro_rules! replace_view_rows {
    ($tx:ident, $view:expr, $codes:expr, $rendered:expr, |$rows:ident| ($timeline:expr, $summary:expr)) => {{
        let (timeline_table, projects_table) = ($view.timeline_table(), $view.projects_table());
        // Table names come from `View`, never from input.
        let existing = for_codes!(
            $tx,
            "SELECT project_code, project_seq, entry FROM {timeline_table} WHERE project_code IN ({})",
            $codes,
            fetch_all as (String, i64, Vec<u8>)
        );
        let mut stale: std::collections::HashMap<(&str, i64), &[u8]> =
            existing.iter().map(|(code, seq, entry)| ((code.as_str(), *seq), entry.as_slice())).collect();
        let mut timeline: Vec<(&str, &TimelineRow)> = Vec::new();
        for (code, $rows) in $rendered.iter() {
            for row in $timeline.iter() {
                let seq = to_i64(row.project_seq)?;
                if stale.remove(&(*code, seq)) != Some(row.entry.as_slice()) {
                    timeline.push((*code, row));
                }
            }
        }
        // What is left was not rendered again (e.g. an entry withheld anew).
        for (code, seq) in stale.into_keys() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {timeline_table} WHERE project_code = $1 AND project_seq = $2"
            )))
            .bind(code)
            .bind(seq)
            .execute(&mut *$tx)
            .await?;
        }
        insert_rows!(
            $tx,
            format!(
                "INSERT INTO {timeline_table} \
                 (project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry)"
            ),
            "ON CONFLICT (project_code, project_seq) DO UPDATE SET event_id = excluded.event_id, \
             fact_type = excluded.fact_type, occurred_at = excluded.occurred_at, \
             recorded_at = excluded.recorded_at, entry = excluded.entry",
            7,
            &timeline,
            |query, row| query
                .bind(row.0)
                .bind(row.1.project_seq as i64)
                .bind(&row.1.event_id)
                .bind(&row.1.fact_type)
                .bind(row.1.occurred_at)
                .bind(row.1.recorded_at)
                .bind(&row.1.entry)
        );
        let summaries: Vec<(&str, &ProjectRow)> = $rendered.iter().map(|(code, $rows)| (*code, $summary)).collect();
        for (_, summary) in &summaries {
            to_i64(summary.head_seq)?;
        }
        insert_rows!(
            $tx,
            format!(
                "INSERT INTO {projects_table} \
                 (project_code, name, region_code, project_type, stage, head_seq, last_event_at, summary)"
            ),
            "ON CONFLICT (project_code) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, \
             project_type = excluded.project_type, stage = excluded.stage, head_seq = excluded.head_seq, \
             last_event_at = excluded.last_event_at, summary = excluded.summary, parked_since = NULL",
            8,
            &summaries,
            |query, row| query
                .bind(row.0)
                .bind(&row.1.name)
                .bind(&row.1.region_code)
                .bind(&row.1.project_type)
                .bind(&row.1.stage)
                .bind(row.1.head_seq as i64)
                .bind(row.1.last_event_at)
                .bind(&row.1.summary)
        );
    }};
}

/// One project's events for [`Store::project_batch`].
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
    use std::collections::BTreeMap;
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

impl Store {
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
    /// as [`Store::project_events`] would, with every table written by
    /// multi-row statements. Head rows are locked in project-code order, so
    /// concurrent batches cannot deadlock. The outcomes follow `batch`.
    pub async fn project_batch<F>(&self, batch: &[ProjectEvents], render: F) -> Result<Vec<Projected>, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        use std::collections::BTreeMap;
        let mut codes: Vec<&str> = batch.iter().map(|project| project.project_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != batch.len() {
            return Err(StoreError::InvalidEvent("a batch names a project twice".to_owned()));
        }
        // Only PostgreSQL has row locks; SQLite's transaction holds the write lock.
        let lock = if self.backend() == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
        let outcomes = in_transaction!(self, |tx| {
            insert_rows!(
                tx,
                "INSERT INTO projector_heads (project_code, projected_seq, position)",
                "ON CONFLICT (project_code) DO NOTHING",
                3,
                &codes,
                |query, code| query.bind(*code).bind(0_i64).bind(0_i64)
            );
            let heads: BTreeMap<String, i64> = for_codes!(
                tx,
                "SELECT project_code, projected_seq FROM projector_heads WHERE project_code IN ({}) \
                 ORDER BY project_code{lock}",
                &codes,
                fetch_all as (String, i64)
            )
            .into_iter()
            .collect();
            let mut stored: BTreeMap<String, Vec<Kept>> = BTreeMap::new();
            for (code, seq, position, bytes) in for_codes!(
                tx,
                "SELECT project_code, project_seq, position, envelope FROM projector_events \
                 WHERE project_code IN ({}) ORDER BY project_code, project_seq",
                &codes,
                fetch_all as (String, i64, i64, Vec<u8>)
            ) {
                stored.entry(code).or_default().push((seq, position, bytes));
            }

            let mut plans = Vec::with_capacity(batch.len());
            let mut rendered: Vec<(&str, ProjectViewRows)> = Vec::new();
            let mut ahead: Vec<(&str, &ProjectViewRows)> = Vec::new();
            let mut parked: Vec<(&str, Unrenderable)> = Vec::new();
            for project in batch {
                let head = heads.get(&project.project_code).copied().unwrap_or_default();
                let (mut plan, use_ahead) =
                    plan(project, head, stored.remove(&project.project_code).unwrap_or_default())?;
                if let Some(events) = plan.render.take() {
                    match render(&events) {
                        Ok(rows) => rendered.push((plan.code, rows)),
                        Err(failure) => {
                            plan.outcome = Projected::Parked { head: head.max(0) as u64 };
                            parked.push((plan.code, failure));
                        }
                    }
                } else if let (true, Some(rows)) = (use_ahead, &project.rendered) {
                    ahead.push((plan.code, rows));
                }
                plans.push(plan);
            }
            let views: Vec<(&str, &ProjectViewRows)> =
                rendered.iter().map(|(code, rows)| (*code, rows)).chain(ahead).collect();
            let advanced: Vec<&str> = views.iter().map(|(code, _)| *code).collect();

            let keep: Vec<(&str, &Kept)> =
                plans.iter().flat_map(|plan| plan.keep.iter().map(|kept| (plan.code, kept))).collect();
            insert_rows!(
                tx,
                "INSERT INTO projector_events (project_code, project_seq, position, envelope)",
                "ON CONFLICT (project_code, project_seq) DO NOTHING",
                4,
                &keep,
                |query, row| query.bind(row.0).bind(row.1.0).bind(row.1.1).bind(&row.1.2)
            );
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
                for_codes!(tx, "DELETE FROM projector_parked WHERE project_code IN ({})", &advanced, execute);
                let public: Vec<(&str, &[TimelineRow])> =
                    views.iter().map(|(code, rows)| (*code, rows.public_timeline.as_slice())).collect();
                crate::public::record_public_changes(&mut *tx, &public).await?;
                replace_view_rows!(tx, View::Public, &advanced, &views, |rows| (
                    rows.public_timeline,
                    &rows.public_project
                ));
                replace_view_rows!(tx, View::Full, &advanced, &views, |rows| (rows.full_timeline, &rows.full_project));
                let supervision: Vec<(&str, &crate::SupervisionRows)> =
                    views.iter().map(|(code, rows)| (*code, &rows.supervision)).collect();
                crate::supervision::write_supervision_rows!(tx, &supervision);
                let moved: Vec<(&str, i64, i64)> = plans
                    .iter()
                    .filter_map(|plan| match plan.outcome {
                        Projected::Advanced { head } => Some((plan.code, head as i64, plan.position)),
                        _ => None,
                    })
                    .collect();
                insert_rows!(
                    tx,
                    "INSERT INTO projector_heads (project_code, projected_seq, position)",
                    "ON CONFLICT (project_code) DO UPDATE SET projected_seq = excluded.projected_seq, \
                     position = excluded.position",
                    3,
                    &moved,
                    |query, row| query.bind(row.0).bind(row.1).bind(row.2)
                );
            }
            plans.iter().map(|plan| plan.outcome).collect::<Vec<_>>()
        });
        Ok(outcomes)
    }
}
