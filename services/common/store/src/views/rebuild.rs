//! Rebuilding the read model from the whole log, beside the live views and
//! at the speed the database loads rows.
//!
//! A rebuild writes every row of every project once, into new tables the
//! live ones know nothing of ([`ViewRebuild`]): on PostgreSQL unindexed
//! copies in a schema of their own, filled by binary `COPY`; on SQLite
//! `rebuild_*` tables filled by prepared inserts (`dialect::*::bulk`).
//! Nothing is read back while loading: a project whose events a batch holds
//! whole (seq 1 onwards, gapless) arrives rendered and its rows are written
//! as they are; any other project's events wait in a staging table. Then
//! [`ViewRebuild::finish`]:
//!
//! 1. indexes the new tables (on PostgreSQL; SQLite builds them at the swap)
//!    and, on PostgreSQL, once the public timeline is indexed, beside the
//!    other tables' builds, compares it with the live one: every entry that is
//!    new or rendered differently, with the live projector's heads at the
//!    time (SQLite, with its one writer, compares in step 3);
//! 2. keeps the waiting events (the first copy of each `(project, seq)`
//!    wins, as in the fold) and renders their projects whole
//!    ([`ViewRebuild::prepare`] is these two steps);
//! 3. in one transaction, which holds off the live projector: takes in what
//!    the live projector kept since the rebuild read the log (its projects
//!    are rendered again, so no event it folded meanwhile is lost), counts
//!    the public promptness from the new `public_disclosures`, appends to
//!    the public change feed what step 1 found, comparing again only the
//!    projects rendered since or whose live head moved since (every entry,
//!    on SQLite), and puts the new tables in place of the old ones, which
//!    are dropped. On PostgreSQL it reads neither timeline whole: the live
//!    projector no longer waits for a comparison of every entry.
//!
//! Until that transaction commits the site and supervision read the old
//! views, whole; a crash before leaves them serving and the new tables
//! behind, dropped by the next rebuild. The rows are those the fold writes
//! for the same events (the projector's tests compare them byte for byte).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;
use prost::Message;

use super::fold::write::{PROJECT_COLUMNS, TIMELINE_COLUMNS, project_values, timeline_values};
use super::fold::{KEPT_EVENT, Unrenderable};
use crate::db::{Db, dispatch, to_i64};
use crate::dialect;
use crate::events::decode_envelope;
use crate::promptness::{
    self, COUNT_COLUMNS, CountTotals, DISCLOSURE_COLUMNS, DisclosureGroup, DisclosureRow, EXPECTED_COLUMNS,
    SCOPE_COLUMNS,
};
use crate::query::{self, Value};
use crate::supervision::{DEADLINE_COLUMNS, SEARCH_COLUMNS, deadline_values, search_values};
use crate::{ProjectViewRows, Projections, StoreError};

/// The tables a rebuild writes and puts in place: the views, the
/// projector's copy of the log and its heads, the projects it parked, the
/// supervisors' index and the public promptness counts. The public change
/// feed is not among them: it is appended to.
pub const REBUILT_TABLES: [&str; 13] = [
    "projector_events",
    "projector_heads",
    "projector_parked",
    "public_timeline",
    "full_timeline",
    "public_projects",
    "full_projects",
    "project_search",
    "project_deadlines",
    "public_disclosures",
    "public_expected",
    "public_promptness",
    "public_promptness_scopes",
];

/// Events of projects no batch held whole, until the indexes are built.
const STAGING: &str = "pending_events";
/// Its columns (`envelope` as in `projector_events`).
const STAGING_COLUMNS: &str = "(project_code TEXT NOT NULL, project_seq BIGINT NOT NULL, \
                       position BIGINT NOT NULL, envelope BYTEA, arrival BIGINT NOT NULL)";

/// The live public timeline's entries that the rebuilt one adds or shows
/// otherwise, found beside the index builds: the change feed's rows, but
/// for the projects in [`TOUCHED`].
const COMPARED: &str = "compared_changes";
/// The live projector's heads when [`COMPARED`] was taken.
const COMPARED_HEADS: &str = "compared_heads";
/// Projects whose public rows may have changed, live or rebuilt, since
/// [`COMPARED`] was taken: compared again in the final transaction.
const TOUCHED: &str = "touched_projects";
/// Every table a rebuild writes and never makes live.
const SCRATCH: [&str; 4] = [STAGING, COMPARED, COMPARED_HEADS, TOUCHED];

/// The columns of `projector_events`.
const EVENT_COLUMNS: &str = "project_code, project_seq, position, envelope";
/// The columns of a change feed row a rebuild appends.
const FEED_COLUMNS: &str = "project_code, project_seq, event_id, change, fact_type, recorded_at";
/// The columns of [`STAGING`] a batch writes (all of them).
const STAGED_COLUMNS: &str = "project_code, project_seq, position, envelope, arrival";
/// The columns of `projector_heads`.
const HEAD_COLUMNS: &str = "project_code, projected_seq, position";
/// The columns of `projector_parked`.
const PARKED_COLUMNS: &str = "project_code, event_id, project_seq, reason, parked_at";

/// The feed's columns of each entry of the rebuilt public timeline
/// `timeline` (`t`) beside the live one's (`l`), for a `WHERE` to follow.
fn feed_of(timeline: &str) -> String {
    format!(
        "t.project_code, t.project_seq, t.event_id, \
         CASE WHEN l.entry IS NULL THEN 'published' ELSE 'updated' END AS change, t.fact_type, t.recorded_at \
         FROM {timeline} t LEFT JOIN public_timeline l \
         ON l.project_code = t.project_code AND l.project_seq = t.project_seq"
    )
}

/// How many projects are rendered again per statement batch.
const RENDER_AGAIN_CHUNK: usize = 500;

/// Where a rebuild reads the log, which decides how the new
/// `projector_events` keeps each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildFrom {
    /// This store's own `events` table: each kept event names its position
    /// and holds no envelope, which the fold reads from the log (a copy of
    /// every envelope was a fifth of a rebuild's bytes).
    ThisStore,
    /// Another log (Kafka): the envelopes are kept, as the live fold keeps
    /// what it consumes.
    Elsewhere,
}

/// One project's part of a batch for [`ViewRebuild::load`].
#[derive(Debug, Clone, Default)]
pub struct RebuiltProject {
    /// The project.
    pub project_code: String,
    /// Its events in the batch, in seq order, positions filled.
    pub events: Vec<EventEnvelope>,
    /// Its rows (or why it cannot be rendered) when `events` are its whole
    /// history, seq 1 onwards and gapless; `None` otherwise: the events
    /// wait, and the project is rendered whole at the end.
    pub rendered: Option<Result<ProjectViewRows, Unrenderable>>,
}

/// A read model being built beside the live one; see the module docs.
#[derive(Debug)]
pub struct ViewRebuild {
    store: Projections,
    from: RebuildFrom,
    /// Projects written whole: a later batch naming one again makes it wait.
    whole: HashSet<String>,
    /// Projects with waiting events.
    pending: BTreeSet<String>,
    /// Arrival order of waiting events.
    arrival: i64,
    /// The connections batches are loaded on, from the first to the last.
    loader: Option<Loader>,
    /// Rows loaded into each table so far: the most are indexed first.
    loaded: BTreeMap<&'static str, u64>,
    /// Whether [`ViewRebuild::prepare`] ran.
    prepared: bool,
}

/// The connections a rebuild loads every batch on, SQLite's with its
/// loading settings set once (its page cache that holds the B-trees being
/// filled: set and dropped per batch, its pages were freed and faulted in
/// again each time). Closed at the end, settings and all.
#[derive(Debug)]
enum Loader {
    /// [`COPY_CONNECTIONS`] connections (fewer in a pool of fewer than
    /// three), each copying its share of every batch on a task of its own,
    /// at the same time as the others and while the next batch is encoded.
    /// A pool of one lends its connection batch by batch.
    Postgres(Vec<dialect::postgres::bulk::Copier>),
    /// SQLite has one writer at a time.
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
}

/// How many connections copy a batch on PostgreSQL: one server process
/// parses and stores rows on each core.
const COPY_CONNECTIONS: usize = 2;

impl Loader {
    async fn open(db: &Db) -> Result<Self, StoreError> {
        Ok(match db {
            Db::Postgres(pool) => {
                // One connection of the pool stays for reading the log.
                let spare = usize::try_from(db.max_connections().saturating_sub(1)).unwrap_or(1);
                let count = spare.clamp(1, COPY_CONNECTIONS);
                let mut connections = Vec::with_capacity(count);
                for _ in 0..count {
                    connections.push(dialect::postgres::bulk::Copier::start(pool.acquire().await?));
                }
                Loader::Postgres(connections)
            }
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::raw_sql(dialect::sqlite::bulk::LOADING).execute(&mut *conn).await?;
                Loader::Sqlite(conn)
            }
        })
    }

    async fn close(self) -> Result<(), StoreError> {
        match self {
            Loader::Postgres(copiers) => {
                // Each waits for the batches handed to it.
                for copier in copiers {
                    if let Some(conn) = copier.finish().await? {
                        conn.close().await?;
                    }
                }
            }
            Loader::Sqlite(conn) => conn.close().await?,
        }
        Ok(())
    }
}

/// Renders the projects `$codes` again from every event the new tables
/// keep of them, replacing their rows there, inside `$tx`. A macro so that
/// its body is written once for both backends' transactions.
macro_rules! render_again {
    ($tx:expr, $dialect:ident, $codes:expr, $render:expr) => {{
        let tx = $tx;
        let codes: &[&str] = $codes;
        let shadow = $dialect::bulk::shadow;
        let select = format!("SELECT {KEPT_EVENT} FROM {} e WHERE e.project_code IN (", shadow("projector_events"));
        let mut kept: BTreeMap<String, Vec<EventEnvelope>> = BTreeMap::new();
        for statement in query::in_list(&select, codes, ") ORDER BY e.project_code, e.project_seq") {
            for (code, _seq, position, envelope) in
                statement.fetch_all::<(String, i64, i64, Vec<u8>), _>(&mut **tx).await?
            {
                kept.entry(code).or_default().push(decode_envelope(position, &envelope)?);
            }
        }
        for table in REBUILT_TABLES
            .iter()
            .filter(|table| !matches!(**table, "projector_events" | "public_promptness" | "public_promptness_scopes"))
        {
            let delete = format!("DELETE FROM {} WHERE project_code IN (", shadow(table));
            for statement in query::in_list(&delete, codes, ")") {
                statement.execute(&mut **tx).await?;
            }
        }
        let projects: Vec<(String, Vec<EventEnvelope>)> = kept
            .into_iter()
            .map(|(project_code, mut events)| {
                // The longest gapless prefix from seq 1, as the fold would show.
                let gapless = events.iter().zip(1..).take_while(|(event, seq)| event.project_seq == *seq).count();
                events.truncate(gapless);
                (project_code, events)
            })
            .collect();
        let outcomes: Vec<Option<Outcome<'_>>> = projects
            .iter()
            .map(|(_, events)| {
                (!events.is_empty()).then(|| Outcome::of(Cow::Owned(($render)(events)), events, $render))
            })
            .collect();
        let disclosures = disclosures(projects.iter().map(|(code, _)| code.as_str()).zip(&outcomes))?;
        let now = Utc::now();
        let mut tables = Tables::default();
        for (((code, events), outcome), disclosures) in projects.iter().zip(&outcomes).zip(&disclosures) {
            match outcome {
                Some(outcome) => tables.project(code, events, outcome, disclosures, now)?,
                None => tables.head(code, 0, 0),
            }
        }
        write_tables!(&mut **tx, $dialect, tables, shadow);
    }};
}

/// Writes every table of `$tables` (a [`Tables`]) on `$conn` by the
/// dialect's bulk insert, each into the table `$into` names.
macro_rules! write_tables {
    ($conn:expr, $dialect:ident, $tables:expr, $into:expr) => {{
        let conn = $conn;
        for rows in $tables.each() {
            let table = $into(rows.table);
            $dialect::bulk::insert(&mut *conn, &table, rows.columns, rows.width, rows.values).await?;
        }
    }};
}

impl Projections {
    /// Starts a rebuild of the log read `from` there: drops what an earlier
    /// one left and creates the empty tables it builds.
    pub async fn rebuild_beside(&self, from: RebuildFrom) -> Result<ViewRebuild, StoreError> {
        dispatch!(&self.db, |pool, dialect| {
            let mut conn = pool.acquire().await?;
            dialect::bulk::create(&mut conn, &REBUILT_TABLES, STAGING, STAGING_COLUMNS).await?;
        });
        Ok(ViewRebuild {
            store: self.clone(),
            from,
            whole: HashSet::new(),
            pending: BTreeSet::new(),
            arrival: 0,
            loader: None,
            loaded: BTreeMap::new(),
            prepared: false,
        })
    }
}

impl ViewRebuild {
    /// Writes a batch of projects into the new tables (see
    /// [`RebuiltProject`]); a project may come in any number of batches.
    pub async fn load<F>(&mut self, projects: &[RebuiltProject], render: F) -> Result<(), StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        let mut outcomes: Vec<Option<Outcome<'_>>> = Vec::with_capacity(projects.len());
        for project in projects {
            let code = project.project_code.as_str();
            outcomes.push(match &project.rendered {
                Some(rendered) if self.whole.insert(code.to_owned()) => {
                    Some(Outcome::of(Cow::Borrowed(rendered), &project.events, &render))
                }
                _ => {
                    self.pending.insert(code.to_owned());
                    None
                }
            });
        }
        let codes = projects.iter().map(|project| project.project_code.as_str());
        let disclosures = disclosures(codes.zip(&outcomes))?;
        let now = Utc::now();
        // A pool of one connection cannot lend it for the whole rebuild:
        // the log is read on it too. The loader is then this batch's alone.
        let mut this_batch: Option<Loader> = None;
        let loader = match &mut self.loader {
            Some(loader) => loader,
            held if self.store.db.max_connections() > 1 => held.insert(Loader::open(&self.store.db).await?),
            _ => this_batch.insert(Loader::open(&self.store.db).await?),
        };
        // In project order: each table's rows then come in the order of its
        // primary key (batches follow each other in that order from this
        // store's log), which its index build and the feed's comparison
        // with the live view read fastest.
        let mut order: Vec<usize> = (0..projects.len()).collect();
        order.sort_by(|a, b| projects[*a].project_code.cmp(&projects[*b].project_code));
        let mut tables = Tables::default();
        for at in order {
            let (project, outcome, disclosures) = (&projects[at], &outcomes[at], &disclosures[at]);
            let code = project.project_code.as_str();
            match outcome {
                Some(outcome) => {
                    tables.keep(code, &project.events, self.from)?;
                    tables.project(code, &project.events, outcome, disclosures, now)?;
                }
                None => {
                    for event in &project.events {
                        self.arrival += 1;
                        tables.wait(code, event, self.arrival, self.from)?;
                    }
                }
            }
        }
        for rows in tables.each() {
            *self.loaded.entry(rows.table).or_default() += (rows.values.len() / rows.width.max(1)) as u64;
        }
        match loader {
            Loader::Postgres(copiers) => {
                use dialect::postgres::bulk::{Copy, shadow};
                // Encoded here, copied by the connections' tasks: each
                // table whole on one connection (no two extend a table at
                // once), the largest first, each to the one given the
                // fewest bytes so far.
                let mut copies = Vec::new();
                for rows in tables.each() {
                    copies.extend(Copy::encode(&shadow(rows.table), rows.columns, rows.width, rows.values)?);
                }
                copies.sort_by_key(|copy| std::cmp::Reverse(copy.len()));
                let mut shares: Vec<(usize, Vec<Copy>)> = copiers.iter().map(|_| (0, Vec::new())).collect();
                for copy in copies {
                    if let Some((bytes, share)) = shares.iter_mut().min_by_key(|(bytes, _)| *bytes) {
                        *bytes += copy.len();
                        share.push(copy);
                    }
                }
                for (copier, (_, share)) in copiers.iter_mut().zip(shares) {
                    copier.copy(share).await?;
                }
            }
            Loader::Sqlite(conn) => {
                use dialect::sqlite as dialect;
                let mut tx = sqlx::Connection::begin(&mut **conn).await?;
                write_tables!(&mut *tx, dialect, tables, dialect::bulk::shadow);
                tx.commit().await?;
            }
        }
        if let Some(loader) = this_batch {
            loader.close().await?;
        }
        Ok(())
    }

    /// Indexes the new tables, compares the public timeline with the live
    /// one for the change feed and renders the projects whose events
    /// waited: all of [`ViewRebuild::finish`] but its final transaction,
    /// which it runs first when not run before. The live projector may go
    /// on meanwhile.
    pub async fn prepare<F>(&mut self, render: &F) -> Result<(), StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        if self.prepared {
            return Ok(());
        }
        if let Some(loader) = self.loader.take() {
            loader.close().await?;
        }
        let loaded: Vec<(&str, u64)> =
            REBUILT_TABLES.iter().map(|table| (*table, self.loaded.get(table).copied().unwrap_or(0))).collect();
        let pending: Vec<&str> = self.pending.iter().map(String::as_str).collect();
        dispatch!(&self.store.db, |pool, dialect| {
            let shadow = dialect::bulk::shadow;
            // The comparison for the feed follows the public timeline's
            // index, beside the other tables' builds (where the store builds
            // indexes at once; else the final transaction compares). The
            // heads first: a fold that commits between the two statements
            // is then compared again at the end.
            let compare = match dialect::bulk::COMPARE_BESIDE_INDEXES {
                false => Vec::new(),
                true => vec![
                    format!(
                        "CREATE TABLE {heads} AS SELECT {HEAD_COLUMNS} FROM projector_heads",
                        heads = shadow(COMPARED_HEADS)
                    ),
                    dialect::bulk::COMPARE_IN_KEY_ORDER.to_owned(),
                    format!(
                        "CREATE TABLE {compared} AS SELECT {feed} WHERE l.entry IS NULL OR l.entry <> t.entry",
                        compared = shadow(COMPARED),
                        feed = feed_of(&shadow("public_timeline")),
                    ),
                    // Read in key order at the end without a sort, however
                    // many (named in the table's schema, dropped with it).
                    format!("CREATE INDEX {COMPARED}_key ON {} (project_code, project_seq)", shadow(COMPARED)),
                    format!("ANALYZE {}", shadow(COMPARED)),
                ],
            };
            let started = std::time::Instant::now();
            dialect::bulk::index(pool, &loaded, ("public_timeline", &compare)).await?;
            tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                compared = dialect::bulk::COMPARE_BESIDE_INDEXES,
                "Rebuild: the new tables are indexed."
            );
            let mut conn = pool.acquire().await?;
            let keep = format!(
                "INSERT INTO {events} ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM {staging} WHERE TRUE \
                 ORDER BY arrival ON CONFLICT (project_code, project_seq) DO NOTHING",
                events = shadow("projector_events"),
                staging = shadow(STAGING),
            );
            sqlx::query(sqlx::AssertSqlSafe(keep)).execute(&mut *conn).await?;
            // Back to the pool before the transactions below take one.
            drop(conn);
            for chunk in pending.chunks(RENDER_AGAIN_CHUNK) {
                let mut tx = dialect::begin(pool).await?;
                render_again!(&mut tx, dialect, chunk, render);
                tx.commit().await?;
            }
        });
        self.prepared = true;
        Ok(())
    }

    /// Puts the new views in place (see the module docs), after
    /// [`ViewRebuild::prepare`]. `render` is the projector's: a project's
    /// gapless events from seq 1 into its rows.
    pub async fn finish<F>(mut self, render: F) -> Result<(), StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        self.prepare(&render).await?;
        let tables = &REBUILT_TABLES;
        // Rendered since the comparison: compared again.
        let pending: Vec<&str> = self.pending.iter().map(String::as_str).collect();
        let published = dispatch!(&self.store.db, |pool, dialect| {
            let shadow = dialect::bulk::shadow;
            // The last transaction: readers of the old tables delay only its
            // final statement, which the dialect's swap tries again on its own.
            let started = std::time::Instant::now();
            let mut tx = dialect::begin(pool).await?;
            sqlx::query(dialect::bulk::HOLD_LIVE_FOLD).execute(&mut *tx).await?;
            // What the live projector kept since the rebuild read the log.
            let missing = format!(
                "FROM projector_events l WHERE NOT EXISTS (SELECT 1 FROM {events} s \
                 WHERE s.project_code = l.project_code AND s.project_seq = l.project_seq)",
                events = shadow("projector_events"),
            );
            let late: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT DISTINCT l.project_code {missing}")))
                    .fetch_all(&mut *tx)
                    .await?;
            if !late.is_empty() {
                let copy = format!(
                    "INSERT INTO {events} ({EVENT_COLUMNS}) SELECT l.project_code, l.project_seq, l.position, \
                     l.envelope {missing}",
                    events = shadow("projector_events"),
                );
                sqlx::query(sqlx::AssertSqlSafe(copy)).execute(&mut *tx).await?;
                let late: Vec<&str> = late.iter().map(String::as_str).collect();
                for chunk in late.chunks(RENDER_AGAIN_CHUNK) {
                    render_again!(&mut tx, dialect, chunk, &render);
                }
            }
            // A project still parked keeps the time it was first parked.
            let parked = shadow("projector_parked");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {parked} SET parked_at = (SELECT l.parked_at FROM projector_parked l \
                 WHERE l.project_code = {parked}.project_code) \
                 WHERE project_code IN (SELECT project_code FROM projector_parked)"
            )))
            .execute(&mut *tx)
            .await?;
            // Its views, shown as far as it renders, say since when it waits.
            for projects in [shadow("public_projects"), shadow("full_projects")] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {projects} SET parked_since = (SELECT p.parked_at FROM {parked} p \
                     WHERE p.project_code = {projects}.project_code) \
                     WHERE project_code IN (SELECT project_code FROM {parked})"
                )))
                .execute(&mut *tx)
                .await?;
            }
            let groups: Vec<DisclosureGroup> =
                sqlx::query_as(sqlx::AssertSqlSafe(promptness::disclosure_groups(&shadow("public_disclosures"))))
                    .fetch_all(&mut *tx)
                    .await?;
            let mut totals = CountTotals::default();
            for group in &groups {
                totals.add_group(group);
            }
            for rows in [
                TableRows::of("public_promptness", COUNT_COLUMNS, &totals.counts()),
                TableRows::of("public_promptness_scopes", SCOPE_COLUMNS, &totals.scopes()),
            ] {
                dialect::bulk::insert(&mut tx, &shadow(rows.table), rows.columns, rows.width, rows.values).await?;
            }
            let changed = "(l.entry IS NULL OR l.entry <> t.entry)";
            let compare_here = |only: &str| {
                format!(
                    "INSERT INTO public_changes ({FEED_COLUMNS}) SELECT {feed} WHERE {only}{changed} \
                     ORDER BY t.project_code, t.project_seq",
                    feed = feed_of(&shadow("public_timeline")),
                )
            };
            let feeds = if dialect::bulk::COMPARE_BESIDE_INDEXES {
                // Compared again: the projects the live projector advanced
                // since the comparison (their head moved), and those
                // rendered here since (late, or waiting for the indexes).
                let (touched, heads) = (shadow(TOUCHED), shadow(COMPARED_HEADS));
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "CREATE TABLE {touched} AS \
                     SELECT project_code FROM (SELECT {HEAD_COLUMNS} FROM projector_heads \
                     EXCEPT SELECT {HEAD_COLUMNS} FROM {heads}) moved \
                     UNION SELECT project_code FROM (SELECT {HEAD_COLUMNS} FROM {heads} \
                     EXCEPT SELECT {HEAD_COLUMNS} FROM projector_heads) gone"
                )))
                .execute(&mut *tx)
                .await?;
                let again: BTreeSet<&str> = late.iter().map(String::as_str).chain(pending.iter().copied()).collect();
                let again: Vec<Value<'_>> = again.into_iter().map(Value::from).collect();
                dialect::bulk::insert(&mut tx, &touched, "project_code", 1, &again).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("ANALYZE {touched}"))).execute(&mut *tx).await?;
                // What the comparison found, but for those projects, in key
                // order; then those projects compared again.
                let compared = shadow(COMPARED);
                let touched_by = format!("project_code IN (SELECT project_code FROM {touched})");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DELETE FROM {compared} WHERE {touched_by}")))
                    .execute(&mut *tx)
                    .await?;
                let found = format!(
                    "INSERT INTO public_changes ({FEED_COLUMNS}) SELECT {FEED_COLUMNS} FROM {compared} \
                     ORDER BY project_code, project_seq"
                );
                vec![found, compare_here(&format!("t.{touched_by} AND "))]
            } else {
                vec![compare_here("")]
            };
            let mut published = false;
            for feed in feeds {
                published |= sqlx::query(sqlx::AssertSqlSafe(feed)).execute(&mut *tx).await?.rows_affected() > 0;
            }
            dialect::bulk::swap(&mut tx, tables, &SCRATCH).await?;
            if let (true, Some(notify)) = (published, dialect::NOTIFY_PUBLIC_CHANGES) {
                sqlx::query(notify).bind(crate::signal::PUBLIC_CHANGES_CHANNEL).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                late = late.len(),
                "Rebuild: the new views are in place."
            );
            published
        });
        if published {
            self.store.changes.raise();
        }
        Ok(())
    }

    /// Gives up: drops the new tables; the live views never changed.
    pub async fn abandon(mut self) -> Result<(), StoreError> {
        if let Some(loader) = self.loader.take() {
            loader.close().await?;
        }
        dispatch!(&self.store.db, |pool, dialect| {
            let mut conn = pool.acquire().await?;
            dialect::bulk::drop(&mut conn).await?;
        });
        Ok(())
    }
}

/// What a rebuild writes of one project: its rows as far as it renders, and
/// why it is parked when it does not render whole.
struct Outcome<'a> {
    rows: Option<Cow<'a, ProjectViewRows>>,
    parked: Option<Unrenderable>,
}

impl<'a> Outcome<'a> {
    /// The outcome of `rendered`, the rendering of `events` (a project's
    /// gapless history): a project that cannot be rendered shows as far as
    /// it can, up to the event before the one at fault, as the live fold
    /// shows it when that event comes alone.
    fn of<F>(rendered: Cow<'a, Result<ProjectViewRows, Unrenderable>>, events: &[EventEnvelope], render: &F) -> Self
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        match rendered {
            Cow::Borrowed(Ok(rows)) => Outcome { rows: Some(Cow::Borrowed(rows)), parked: None },
            Cow::Owned(Ok(rows)) => Outcome { rows: Some(Cow::Owned(rows)), parked: None },
            Cow::Borrowed(Err(failure)) => Self::parked(failure.clone(), events, render),
            Cow::Owned(Err(failure)) => Self::parked(failure, events, render),
        }
    }

    fn parked<F>(failure: Unrenderable, events: &[EventEnvelope], render: &F) -> Self
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        let before = events.iter().take_while(|event| event.project_seq < failure.project_seq).count();
        let rows = (before > 0 && before < events.len()).then(|| render(&events[..before]).ok()).flatten();
        Outcome { rows: rows.map(Cow::Owned), parked: Some(failure) }
    }
}

/// The `public_disclosures` rows of each project (code, outcome) with rows.
fn disclosures<'o, 'a: 'o>(
    projects: impl Iterator<Item = (&'o str, &'o Option<Outcome<'a>>)>,
) -> Result<Vec<Vec<DisclosureRow>>, StoreError> {
    projects
        .map(|(code, outcome)| match outcome.as_ref().and_then(|outcome| outcome.rows.as_deref()) {
            Some(rows) => promptness::disclosures_of(code, &rows.public_project.region_code, &rows.public_timeline),
            None => Ok(Vec::new()),
        })
        .collect()
}

/// The rows of a batch, table by table.
#[derive(Default)]
struct Tables<'a> {
    events: Vec<[Value<'a>; 4]>,
    waiting: Vec<[Value<'a>; 5]>,
    heads: Vec<[Value<'a>; 3]>,
    parked: Vec<[Value<'a>; 5]>,
    public_timeline: Vec<[Value<'a>; 7]>,
    full_timeline: Vec<[Value<'a>; 7]>,
    public_projects: Vec<[Value<'a>; 10]>,
    full_projects: Vec<[Value<'a>; 10]>,
    search: Vec<[Value<'a>; 16]>,
    deadlines: Vec<[Value<'a>; 6]>,
    disclosures: Vec<[Value<'a>; 8]>,
    expected: Vec<[Value<'a>; 6]>,
}

/// The projector's copy of an event read `from` there: none when the log
/// is this store's (the fold reads it at its position), else its envelope
/// without position (which has its own column), as the fold keeps it.
fn kept_envelope(event: &EventEnvelope, from: RebuildFrom) -> Value<'static> {
    match from {
        RebuildFrom::ThisStore => Value::MaybeBytes(None),
        RebuildFrom::Elsewhere => {
            let mut stored = event.clone();
            stored.position = 0;
            Value::MaybeBytes(Some(Cow::Owned(stored.encode_to_vec())))
        }
    }
}

/// One table's rows of a [`Tables`], for a bulk insert: `width` values a
/// row, one row after the other.
struct TableRows<'t, 'a> {
    /// The live table's name (the dialect names its rebuild copy).
    table: &'static str,
    columns: &'static str,
    width: usize,
    values: &'t [Value<'a>],
}

impl<'t, 'a> TableRows<'t, 'a> {
    fn of<const N: usize>(table: &'static str, columns: &'static str, rows: &'t [[Value<'a>; N]]) -> Self {
        TableRows { table, columns, width: N, values: rows.as_flattened() }
    }
}

impl<'a> Tables<'a> {
    /// Every table's rows, in the order they are written.
    fn each(&self) -> [TableRows<'_, 'a>; 12] {
        [
            TableRows::of("projector_events", EVENT_COLUMNS, &self.events),
            TableRows::of(STAGING, STAGED_COLUMNS, &self.waiting),
            TableRows::of("projector_heads", HEAD_COLUMNS, &self.heads),
            TableRows::of("projector_parked", PARKED_COLUMNS, &self.parked),
            TableRows::of("public_timeline", TIMELINE_COLUMNS, &self.public_timeline),
            TableRows::of("full_timeline", TIMELINE_COLUMNS, &self.full_timeline),
            TableRows::of("public_projects", PROJECT_COLUMNS, &self.public_projects),
            TableRows::of("full_projects", PROJECT_COLUMNS, &self.full_projects),
            TableRows::of("project_search", SEARCH_COLUMNS, &self.search),
            TableRows::of("project_deadlines", DEADLINE_COLUMNS, &self.deadlines),
            TableRows::of("public_disclosures", DISCLOSURE_COLUMNS, &self.disclosures),
            TableRows::of("public_expected", EXPECTED_COLUMNS, &self.expected),
        ]
    }

    /// Keeps `events` of project `code`, read `from` there.
    fn keep(&mut self, code: &'a str, events: &'a [EventEnvelope], from: RebuildFrom) -> Result<(), StoreError> {
        for event in events {
            let (seq, position) = (to_i64(event.project_seq)?, to_i64(event.position)?);
            self.events.push([code.into(), seq.into(), position.into(), kept_envelope(event, from)]);
        }
        Ok(())
    }

    /// Stages `event` of project `code` to be kept once the indexes are built.
    fn wait(
        &mut self,
        code: &'a str,
        event: &'a EventEnvelope,
        arrival: i64,
        from: RebuildFrom,
    ) -> Result<(), StoreError> {
        let (seq, position) = (to_i64(event.project_seq)?, to_i64(event.position)?);
        self.waiting.push([code.into(), seq.into(), position.into(), kept_envelope(event, from), arrival.into()]);
        Ok(())
    }

    /// The head row of project `code`.
    fn head(&mut self, code: &'a str, seq: i64, position: i64) {
        self.heads.push([code.into(), seq.into(), position.into()]);
    }

    /// The rows of project `code` (whose gapless `events` are given) as far
    /// as `outcome` renders it: its views and supervision rows, and its
    /// parking when it does not render whole.
    fn project(
        &mut self,
        code: &'a str,
        events: &[EventEnvelope],
        outcome: &'a Outcome<'_>,
        disclosures: &'a [DisclosureRow],
        now: chrono::DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(failure) = &outcome.parked {
            let seq = to_i64(failure.project_seq)?;
            self.parked.push([
                code.into(),
                (&failure.event_id).into(),
                seq.into(),
                (&failure.reason).into(),
                now.into(),
            ]);
        }
        let Some(rows) = outcome.rows.as_deref() else {
            self.head(code, 0, 0);
            return Ok(());
        };
        let head = rows.public_project.head_seq;
        let position = events.iter().find(|event| event.project_seq == head).map_or(0, |event| event.position);
        self.head(code, to_i64(head)?, to_i64(position)?);
        for row in &rows.public_timeline {
            to_i64(row.project_seq)?;
            self.public_timeline.push(timeline_values(code, row));
        }
        for row in &rows.full_timeline {
            to_i64(row.project_seq)?;
            self.full_timeline.push(timeline_values(code, row));
        }
        to_i64(rows.full_project.head_seq)?;
        self.public_projects.push(project_values(code, &rows.public_project));
        self.full_projects.push(project_values(code, &rows.full_project));
        self.search.push(search_values(code, &rows.supervision.search));
        // The first of two expectations of the same rule and subject stands.
        let mut owed = HashSet::new();
        for deadline in &rows.supervision.deadlines {
            if owed.insert((&deadline.rule, &deadline.subject)) {
                self.deadlines.push(deadline_values(code, deadline));
                self.expected.push(promptness::expected_values(code, &rows.public_project.region_code, deadline));
            }
        }
        self.disclosures.extend(disclosures.iter().map(DisclosureRow::values));
        Ok(())
    }
}
