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
//! multi-row statements: a rebuild folds a chunk of the log at a time this
//! way, with each project rendered ahead of the transaction when the chunk
//! holds its whole history.
//!
//! [`Projections::project_batch_remembering`] is the live projector's: the
//! same, with a [`Memory`] of what the fold rendered and wrote before, so
//! that a project it remembers at its locked head costs the fold only its new
//! events: no read of its kept events (but those waiting beyond the head),
//! feed rows or timeline entries; a renderer that carries its
//! rendering over the new events; and only the rows that changed written
//! (see `views::memory`). The result is the same bytes in every table.
//!
//! What the transaction decides for each project is planned in `plan`; the
//! rows of each side of the read model are written by `write`; the public
//! promptness counts are kept by difference in the same transaction
//! (`crate::promptness`).

mod plan;
pub(super) mod write;

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;
use sqlx::{Connection, Database, Executor, FromRow};

use super::View;
use super::memory::{Forgetful, Memory, Remembered, Renderer, Stateless, ViewChanges};
use crate::db::{in_transaction, to_i64};
use crate::query::{self, Bind};
use crate::{ProjectViewRows, Projections, StoreError, SupervisionRows, promptness, public, supervision};
use plan::{Decided, Plan, Rows};
use write::{EntryRow, ViewWrites, entries};

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

/// The columns of an event kept in `projector_events` (aliased `e`) as read
/// back: project, seq, position, envelope. A copy a rebuild made from this
/// store's own log keeps no envelope: it is the log's, at its position.
pub(crate) const KEPT_EVENT: &str = "e.project_code, e.project_seq, e.position, \
     COALESCE(e.envelope, (SELECT l.envelope FROM events l WHERE l.position = e.position)) AS envelope";

/// An event kept in `projector_events`, as read back.
#[derive(sqlx::FromRow)]
struct KeptRow {
    project_code: String,
    project_seq: i64,
    position: i64,
    /// `None` only if the log lost the event a reference names.
    envelope: Option<Vec<u8>>,
}

/// The events kept for `codes` that `select` (ending in `IN (`) finds, per
/// project in seq order.
async fn kept_events<C>(conn: &mut C, select: &str, codes: &[&str]) -> Result<BTreeMap<String, Vec<Kept>>, StoreError>
where
    C: Connection<Database: Bind>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'r> KeptRow: FromRow<'r, <C::Database as Database>::Row>,
{
    let mut kept: BTreeMap<String, Vec<Kept>> = BTreeMap::new();
    for statement in query::in_list(select, codes, ") ORDER BY e.project_code, e.project_seq") {
        for row in statement.fetch_all::<KeptRow, _>(&mut *conn).await? {
            let envelope = row.envelope.ok_or_else(|| {
                StoreError::Corrupt(format!("the log has no event at position {} the projector kept", row.position))
            })?;
            kept.entry(row.project_code).or_default().push((row.project_seq, row.position, envelope));
        }
    }
    Ok(kept)
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
        self.project_batch_remembering(batch, &Stateless(render), &mut Forgetful).await
    }

    /// [`Projections::project_batch`] with a [`Memory`]: a project it
    /// remembers at its current head is carried over its new events by
    /// `renderer` instead of being read and rendered whole (see
    /// `views::memory`), and every project whose views advance is remembered
    /// after the transaction commits.
    pub async fn project_batch_remembering<R>(
        &self,
        batch: &[ProjectEvents],
        renderer: &R,
        memory: &mut (dyn Memory<R::Memo> + Send),
    ) -> Result<Vec<Projected>, StoreError>
    where
        R: Renderer,
    {
        let mut codes: Vec<&str> = batch.iter().map(|project| project.project_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != batch.len() {
            return Err(StoreError::InvalidEvent("a batch names a project twice".to_owned()));
        }
        // Whether the public change feed grew: its followers are told after commit.
        let mut published = false;
        let (outcomes, remember) = in_transaction!(&self.db, |tx, dialect| {
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
            let head_of = |code: &str| heads.get(code).copied().unwrap_or_default();

            // What is remembered holds only if the head did not move since
            // (the head rows are locked now).
            let mut remembered: HashMap<&str, Remembered<R::Memo>> = HashMap::new();
            for project in batch {
                let code = project.project_code.as_str();
                if let Some(memo) = memory.take(code)
                    && memo.head == head_of(code)
                    && memo.head > 0
                {
                    remembered.insert(code, memo);
                }
            }
            let (carried, whole): (Vec<&str>, Vec<&str>) =
                codes.iter().partition(|code| remembered.contains_key(*code));
            let beyond_head = format!(
                "SELECT {KEPT_EVENT} FROM projector_events e \
                 JOIN projector_heads h ON h.project_code = e.project_code \
                 WHERE e.project_seq > h.projected_seq AND e.project_code IN ("
            );
            let mut beyond = kept_events(&mut *tx, &beyond_head, &carried).await?;
            let all = format!("SELECT {KEPT_EVENT} FROM projector_events e WHERE e.project_code IN (");
            let all = all.as_str();
            let mut stored = kept_events(&mut *tx, all, &whole).await?;

            let mut decided = Decided::new(batch.len());
            let mut again: Vec<usize> = Vec::new();
            for (at, project) in batch.iter().enumerate() {
                let code = project.project_code.as_str();
                let head = head_of(code);
                match remembered.remove(code) {
                    Some(memo) => {
                        let beyond = beyond.remove(code).unwrap_or_default();
                        if !decided.carried(at, project, head, beyond, memo, renderer)? {
                            again.push(at);
                        }
                    }
                    None => {
                        let stored = stored.remove(code).unwrap_or_default();
                        decided.whole(at, project, head, stored, renderer)?;
                    }
                }
            }
            if !again.is_empty() {
                // Remembered, but the memo could not be carried: whole, from everything kept.
                let codes: Vec<&str> = again.iter().map(|&at| batch[at].project_code.as_str()).collect();
                let mut stored = kept_events(&mut *tx, all, &codes).await?;
                for at in again {
                    let project = &batch[at];
                    let code = project.project_code.as_str();
                    let stored = stored.remove(code).unwrap_or_default();
                    decided.whole(at, project, head_of(code), stored, renderer)?;
                }
            }
            let Decided { plans, advances, parked, unmoved } = decided;
            let plans: Vec<Plan<'_>> = plans.into_iter().flatten().collect();

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
            if !advances.is_empty() {
                let advanced: Vec<&str> = advances.iter().map(|advance| advance.code).collect();
                let unpark = "DELETE FROM projector_parked WHERE project_code IN (";
                for statement in query::in_list(unpark, &advanced, ")") {
                    statement.execute(&mut *tx).await?;
                }
                let mut whole: Vec<(&str, &ProjectViewRows)> = Vec::new();
                let mut changed: Vec<(&str, i64, &ViewChanges, &SupervisionRows)> = Vec::new();
                for advance in &advances {
                    match &advance.rows {
                        Rows::Whole(rows) => whole.push((advance.code, rows.as_ref())),
                        Rows::Changed(changes) => {
                            let before = advance.before.as_ref().unwrap_or(&changes.0.supervision);
                            changed.push((advance.code, advance.head, changes, before));
                        }
                    }
                }
                let whole_codes: Vec<&str> = whole.iter().map(|(code, _)| *code).collect();

                let changes: Vec<(&str, &ViewChanges)> =
                    changed.iter().map(|&(code, _, changes, _)| (code, changes)).collect();
                let views = [View::Public, View::Full];
                let mut existing: [Vec<EntryRow>; 2] = Default::default();
                for (view, existing) in views.into_iter().zip(&mut existing) {
                    for statement in entries(view, &whole_codes) {
                        existing.extend(statement.fetch_all::<EntryRow, _>(&mut *tx).await?);
                    }
                }
                let mut feed = Vec::new();
                for (view, existing) in views.into_iter().zip(&existing) {
                    let writes = ViewWrites::of(view, existing, &whole, &changes)?;
                    for statement in writes.statements(view) {
                        statement.execute(&mut *tx).await?;
                    }
                    feed.extend_from_slice(writes.feed());
                }
                // The public change feed: a project rendered whole gains
                // what differs from the entries it had; a remembered one's
                // changed entries differ from them by construction.
                for &(code, head, changes, _) in &changed {
                    for row in &changes.0.public_timeline {
                        let seq = to_i64(row.project_seq)?;
                        feed.push((code, seq, if seq > head { "published" } else { "updated" }, row));
                    }
                }
                published = !feed.is_empty();
                for statement in public::change_statements(&feed) {
                    statement.execute(&mut *tx).await?;
                }
                if let (true, Some(notify)) = (published, dialect::NOTIFY_PUBLIC_CHANGES) {
                    sqlx::query(notify).bind(crate::signal::PUBLIC_CHANGES_CHANNEL).execute(&mut *tx).await?;
                }
                // The public promptness counts, by difference (see `promptness`).
                let counted: Vec<promptness::Advanced<'_>> = whole
                    .iter()
                    .map(|&(code, rows)| promptness::Advanced {
                        code,
                        region_code: &rows.public_project.region_code,
                        timeline: &rows.public_timeline,
                        whole: true,
                        expected: &rows.supervision.deadlines,
                    })
                    .chain(changed.iter().map(|&(code, _, changes, _)| promptness::Advanced {
                        code,
                        region_code: &changes.0.public_project.region_code,
                        timeline: &changes.0.public_timeline,
                        whole: false,
                        expected: &changes.0.supervision.deadlines,
                    }))
                    .collect();
                let counted_codes: Vec<&str> = counted.iter().map(|project| project.code).collect();
                let mut disclosures = Vec::new();
                for statement in promptness::disclosure_rows(&counted_codes) {
                    disclosures.extend(statement.fetch_all(&mut *tx).await?);
                }
                let counts = promptness::CountWrites::of(disclosures, &counted)?;
                for statement in counts.statements().into_iter().chain(promptness::expected_statements(&counted)) {
                    statement.execute(&mut *tx).await?;
                }
                let replaced: Vec<(&str, &SupervisionRows)> =
                    whole.iter().map(|(code, rows)| (*code, &rows.supervision)).collect();
                let advanced_rows: Vec<(&str, &SupervisionRows, &SupervisionRows)> =
                    changed.iter().map(|&(code, _, changes, before)| (code, before, &changes.0.supervision)).collect();
                for statement in supervision::index_statements(&replaced, &advanced_rows) {
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
            let outcomes: Vec<Projected> = plans.iter().map(|plan| plan.outcome).collect();
            // What to remember once this commits.
            let mut remember: Vec<(&str, Remembered<R::Memo>)> = unmoved;
            for advance in advances {
                let Some(memo) = advance.memo else { continue };
                let supervision = match advance.rows {
                    Rows::Whole(rows) => rows.into_owned().supervision,
                    Rows::Changed(changes) => changes.0.supervision,
                };
                remember.push((advance.code, Remembered { head: advance.new_head, supervision, memo }));
            }
            (outcomes, remember)
        });
        for (code, remembered) in remember {
            memory.keep(code, remembered);
        }
        if published {
            self.changes.raise();
        }
        Ok(outcomes)
    }
}
