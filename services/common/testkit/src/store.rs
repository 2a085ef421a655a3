//! A fresh, migrated store per test on either backend, and
//! [`on_both_stores!`](crate::on_both_stores) to run one test body on both.
//!
//! Every store is a database no other test uses: a new PostgreSQL database
//! on the test server, or a new SQLite file in a temporary directory that
//! lives as long as the [`FreshStore`].

use std::path::Path;

use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{PoolOptions, ProjectRow, ProjectViewRows, Store, TimelineRow, View};

use crate::{fresh_postgres_database, fresh_sqlite_url};

/// `project_code`'s stored stream, asserted gapless from seq 1 and chained
/// (each event's `prev_hash` is the hash of the one before).
pub async fn assert_gapless_chain(store: &Store, project_code: &str) -> Vec<EventEnvelope> {
    let stream = store.events().load_stream(project_code).await.expect("stream");
    let seqs: Vec<u64> = stream.iter().map(|e| e.project_seq).collect();
    assert_eq!(seqs, (1..=stream.len() as u64).collect::<Vec<_>>(), "{project_code} is gapless");
    for pair in stream.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "{project_code} is chained at seq {}", pair[1].project_seq);
    }
    stream
}

/// The store backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A database on the test PostgreSQL.
    Postgres,
}

impl Backend {
    /// The URL of a new, empty database: a SQLite file inside `dir`, or a
    /// new database on the test PostgreSQL.
    ///
    /// # Panics
    /// When PostgreSQL cannot be reached: the test must fail, not skip.
    pub async fn fresh_url(self, dir: &Path) -> String {
        match self {
            Backend::Sqlite => fresh_sqlite_url(dir),
            Backend::Postgres => fresh_postgres_database().await,
        }
    }
}

/// A migrated store on a new database, with the temporary directory that
/// holds its SQLite file (none on PostgreSQL): keep it as long as the store.
#[derive(Debug)]
pub struct FreshStore {
    /// The store.
    pub store: Store,
    /// The directory of the SQLite file; dropping it deletes the database.
    pub dir: Option<tempfile::TempDir>,
}

/// A migrated store on a new database of `backend`, with default pool options.
///
/// # Panics
/// When the database cannot be created, opened or migrated.
pub async fn fresh(backend: Backend) -> FreshStore {
    fresh_with(backend, &PoolOptions::default()).await
}

/// A migrated store on a new database of `backend`, with `options`.
///
/// # Panics
/// When the database cannot be created, opened or migrated.
pub async fn fresh_with(backend: Backend, options: &PoolOptions) -> FreshStore {
    let (url, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            (fresh_sqlite_url(dir.path()), Some(dir))
        }
        Backend::Postgres => (fresh_postgres_database().await, None),
    };
    let store = Store::connect(&url, options)
        .await
        .unwrap_or_else(|error| panic!("could not open the {backend:?} test store: {error}"));
    store.migrate().await.unwrap_or_else(|error| panic!("could not migrate the {backend:?} test store: {error}"));
    FreshStore { store, dir }
}

/// A migrated store on a new PostgreSQL database.
pub async fn postgres() -> FreshStore {
    fresh(Backend::Postgres).await
}

/// A migrated store in a new SQLite file.
pub async fn sqlite() -> FreshStore {
    fresh(Backend::Sqlite).await
}

/// Every timeline row and summary of `projects`, both views, as raw bytes in
/// a stable order: what a rebuild must give again, byte for byte.
///
/// # Panics
/// When the views cannot be read.
pub async fn views_snapshot(store: &Store, projects: &[String]) -> Vec<Vec<u8>> {
    let mut rows = Vec::new();
    for project in projects {
        for view in [View::Public, View::Full] {
            rows.extend(store.supervision().timeline(view, project).await.expect("timeline"));
            rows.push(store.supervision().project_summary(view, project).await.expect("summary").unwrap_or_default());
        }
    }
    rows
}

/// A bare envelope of `project_code`'s event `seq` (at log position `seq`),
/// for store tests that fold events without facts.
pub fn bare_event(project_code: &str, seq: u64) -> EventEnvelope {
    EventEnvelope {
        event_id: format!("{project_code}/{seq}"),
        subject: project_code.to_owned(),
        project_seq: seq,
        position: seq,
        ..EventEnvelope::default()
    }
}

/// Stand-in rows for a store test that folds `events` without the real
/// renderer: one entry per event in both timelines, its bytes the event id,
/// and `summary` as both summaries (to tell who rendered them). Like the
/// real renderer's, an event's entry is the same each time it is rendered.
pub fn one_entry_per_event(events: &[EventEnvelope], summary: &str) -> ProjectViewRows {
    let at = |e: &EventEnvelope| gongkai_domain::clock::utc_or_epoch(e.recorded_at.as_ref());
    let timeline: Vec<TimelineRow> = events
        .iter()
        .map(|e| TimelineRow {
            project_seq: e.project_seq,
            event_id: e.event_id.clone(),
            fact_type: "gongkai.v1.ProjectApproved".to_owned(),
            occurred_at: at(e),
            recorded_at: at(e),
            entry: e.event_id.as_bytes().to_vec(),
            promptness: None,
        })
        .collect();
    let project = ProjectRow {
        name: "测试项目".to_owned(),
        region_code: "230113".to_owned(),
        project_type: "ppp".to_owned(),
        stage: "approval".to_owned(),
        head_seq: events.last().map_or(0, |last| last.project_seq),
        last_event_at: chrono::Utc::now(),
        approved_investment_fen: 0,
        contract_value_fen: 0,
        summary: summary.as_bytes().to_vec(),
    };
    ProjectViewRows {
        public_timeline: timeline.clone(),
        full_timeline: timeline,
        public_project: project.clone(),
        full_project: project,
        supervision: Default::default(),
    }
}

/// Instantiates each generic test body once per store backend, as
/// `sqlite::<name>` and `postgres::<name>`.
///
/// - `on_both_stores!(a, b)`: each body is `async fn a(backend: Backend)`
///   and starts what it needs on that backend.
/// - `on_both_stores!(store: a, b)`: each body is `async fn a(store: &Store)`
///   and gets a [`fresh`] store, closed when the body returns.
///
/// Either form takes the test attribute first, for another runtime:
/// `on_both_stores!(store: #[tokio::test(flavor = "multi_thread")] a, b)`;
/// the default is `#[tokio::test]`.
#[macro_export]
macro_rules! on_both_stores {
    (store: #[$test:meta] $($name:ident),+ $(,)?) => {
        $crate::on_both_stores!(@modules #[$test] store $($name),+);
    };
    (store: $($name:ident),+ $(,)?) => {
        $crate::on_both_stores!(store: #[tokio::test] $($name),+);
    };
    (#[$test:meta] $($name:ident),+ $(,)?) => {
        $crate::on_both_stores!(@modules #[$test] backend $($name),+);
    };
    ($($name:ident),+ $(,)?) => {
        $crate::on_both_stores!(#[tokio::test] $($name),+);
    };
    (@modules #[$test:meta] $takes:ident $($name:ident),+) => {
        mod sqlite {
            $($crate::on_both_stores!(@test #[$test] $takes Sqlite $name);)+
        }
        mod postgres {
            $($crate::on_both_stores!(@test #[$test] $takes Postgres $name);)+
        }
    };
    (@test #[$test:meta] backend $backend:ident $name:ident) => {
        #[$test]
        async fn $name() {
            super::$name($crate::store::Backend::$backend).await
        }
    };
    (@test #[$test:meta] store $backend:ident $name:ident) => {
        #[$test]
        async fn $name() {
            let fresh = $crate::store::fresh($crate::store::Backend::$backend).await;
            super::$name(&fresh.store).await;
            fresh.store.close().await;
        }
    };
}
