//! The store a projector bench runs on: `GONGKAI_BENCH_STORAGE` (a
//! `postgres://` URL of an empty database), or a SQLite file in a temp dir.

use gongkai_store::{Backend, PoolOptions, Store};

/// The bench's store, migrated; its backend's name; and the temp dir that
/// holds the SQLite file (dropping it deletes the file).
pub(crate) async fn open() -> (Store, &'static str, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = std::env::var("GONGKAI_BENCH_STORAGE")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::connect(&storage, &PoolOptions::default()).await.expect("store");
    store.migrate().await.expect("migrations");
    let name = match store.backend() {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    (store, name, dir)
}
