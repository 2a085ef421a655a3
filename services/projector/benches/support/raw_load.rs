//! What the rebuild bench compares the rebuild with, and what it samples
//! during it.
//!
//! The raw load: the rows the rebuild wrote, every table it writes, loaded
//! again by the database's fastest path into empty tables of the same
//! definition and the same indexes, built before the load as a live table
//! has them. On PostgreSQL the rows are taken out with `COPY … TO STDOUT
//! (FORMAT binary)` and loaded with `COPY … FROM STDIN (FORMAT binary)`, so
//! the timed part is the server parsing and storing them; on SQLite, which
//! has no `COPY`, with `INSERT INTO … SELECT *` in one transaction (the
//! rows are read once before, so the source pages are in the cache).
//!
//! The readers: while the rebuild runs, the public reader (the site's) and
//! the supervision reader read a project's summary and timeline over and
//! over; each read's time is kept, and any failure.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use gongkai_store::{Pool, REBUILT_TABLES, Store, View};

/// Every table a rebuild writes: those it puts in place, and the feed it
/// appends to.
fn tables() -> impl Iterator<Item = &'static str> {
    REBUILT_TABLES.into_iter().chain(["public_changes"])
}

/// Seconds, rows and (on PostgreSQL, as copied) bytes of the raw load of
/// every table the rebuild wrote.
pub(crate) struct RawLoad {
    pub(crate) seconds: f64,
    pub(crate) rows: u64,
    pub(crate) bytes: u64,
}

/// Loads the rows of every rebuilt table again into empty copies with the
/// same indexes, timing only the load (see the module docs).
pub(crate) async fn raw_load(store: &Store) -> RawLoad {
    match store.pool() {
        Pool::Postgres(pool) => {
            let mut conn = pool.acquire().await.expect("a connection");
            sqlx::raw_sql("DROP SCHEMA IF EXISTS raw_load CASCADE; CREATE SCHEMA raw_load")
                .execute(&mut *conn)
                .await
                .expect("schema");
            let mut load = RawLoad { seconds: 0.0, rows: 0, bytes: 0 };
            for table in tables() {
                let create = format!("CREATE TABLE raw_load.{table} (LIKE {table} INCLUDING ALL)");
                sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut *conn).await.expect("copy of the table");
                let out = format!("COPY {table} TO STDOUT (FORMAT binary)");
                let chunks: Vec<_> =
                    conn.copy_out_raw(&out).await.expect("copy out").try_collect().await.expect("rows out");
                let data: Vec<u8> = chunks.concat();
                let started = Instant::now();
                let mut copy = conn
                    .copy_in_raw(&format!("COPY raw_load.{table} FROM STDIN (FORMAT binary)"))
                    .await
                    .expect("copy in");
                copy.send(data.as_slice()).await.expect("rows in");
                load.rows += copy.finish().await.expect("copied");
                load.seconds += started.elapsed().as_secs_f64();
                load.bytes += data.len() as u64;
            }
            sqlx::raw_sql("DROP SCHEMA raw_load CASCADE").execute(&mut *conn).await.expect("dropped");
            load
        }
        Pool::Sqlite(pool) => {
            let mut conn = pool.acquire().await.expect("a connection");
            // The page cache the rebuild loads with (see the store's bulk writes).
            sqlx::raw_sql("PRAGMA cache_size = -262144").execute(&mut *conn).await.expect("cache");
            let mut load = RawLoad { seconds: 0.0, rows: 0, bytes: 0 };
            for table in tables() {
                let definitions: Vec<(String, String)> = sqlx::query_as(
                    "SELECT type, sql FROM sqlite_master WHERE tbl_name = $1 AND sql IS NOT NULL ORDER BY type DESC",
                )
                .bind(table)
                .fetch_all(&mut *conn)
                .await
                .expect("definitions");
                for (kind, sql) in definitions {
                    // The table, then its indexes, under names of their own.
                    let sql = sql.replace(&format!("\"{table}\""), table).replacen(table, &format!("raw_{table}"), 1);
                    let sql = if kind == "index" {
                        sql.replacen("INDEX ", "INDEX raw_", 1).replacen(
                            &format!(" ON {table}"),
                            &format!(" ON raw_{table}"),
                            1,
                        )
                    } else {
                        sql
                    };
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await.expect("copy of the table");
                }
                let started = Instant::now();
                let mut tx = sqlx::Connection::begin(&mut *conn).await.expect("transaction");
                let copied = sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO raw_{table} SELECT * FROM {table}")))
                    .execute(&mut *tx)
                    .await
                    .expect("rows in");
                tx.commit().await.expect("committed");
                load.seconds += started.elapsed().as_secs_f64();
                load.rows += copied.rows_affected();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE raw_{table}")))
                    .execute(&mut *conn)
                    .await
                    .expect("dropped");
            }
            sqlx::raw_sql("PRAGMA cache_size = -2000").execute(&mut *conn).await.expect("cache");
            load
        }
    }
}

/// What the readers saw during the rebuild.
#[derive(Debug, Default)]
pub(crate) struct Sampled {
    pub(crate) reads: u64,
    pub(crate) failures: u64,
    /// Read times, milliseconds, sorted.
    pub(crate) millis: Vec<f64>,
}

impl Sampled {
    pub(crate) fn percentile(&self, p: f64) -> f64 {
        if self.millis.is_empty() {
            return 0.0;
        }
        let at = ((self.millis.len() as f64 - 1.0) * p).round() as usize;
        self.millis[at]
    }
}

/// Reads `project`'s public summary and timeline (the site's reads) and its
/// full timeline (supervision's) until `stop`, one round every 20 ms.
pub(crate) async fn sample_readers(store: Store, project: String, stop: tokio::sync::watch::Receiver<bool>) -> Sampled {
    let mut sampled = Sampled::default();
    let public = store.public();
    let supervision = store.supervision();
    while !*stop.borrow() {
        let started = Instant::now();
        let summary = public.public_project(&project).await;
        let public_timeline = public.public_timeline(&project).await;
        let full_timeline = supervision.timeline(View::Full, &project).await;
        sampled.millis.push(started.elapsed().as_secs_f64() * 1000.0);
        sampled.reads += 1;
        let answered = matches!(summary, Ok(Some(_)))
            && public_timeline.is_ok_and(|rows| !rows.is_empty())
            && full_timeline.is_ok_and(|rows| !rows.is_empty());
        if !answered {
            sampled.failures += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sampled.millis.sort_by(f64::total_cmp);
    sampled
}
