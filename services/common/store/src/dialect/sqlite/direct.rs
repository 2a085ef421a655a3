//! SQLite through the connection's own handle, for the two reads and
//! writes of many rows where sqlx costs more than SQLite: the rebuild's
//! inserts and its read of the log. Through sqlx every row's values are
//! copied into owned arguments or rows and passed to and from the
//! connection's worker thread one message at a time; here a prepared
//! statement is bound from borrowed values and stepped in place.

use sqlx::sqlite::SqliteConnection;

use crate::StoreError;

/// Runs `work` on `conn`'s SQLite handle, lent to rusqlite, inside whatever
/// transaction `conn` is in. It blocks: on a multi-threaded runtime the
/// worker hands its other tasks on first.
pub(crate) async fn on_handle<R>(
    conn: &mut SqliteConnection,
    work: impl FnOnce(&rusqlite::Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle().as_ptr();
    // SAFETY: `lock_handle` keeps sqlx's worker off this connection while
    // `handle` lives, which outlives `direct`; `from_handle` borrows the
    // connection (it is not closed when `direct` drops); sqlx and rusqlite
    // link the one libsqlite3-sys (Cargo refuses two), and both use
    // SQLite's thread-safe build.
    #[allow(unsafe_code)]
    let direct = unsafe { rusqlite::Connection::from_handle(raw) }?;
    let result = blocking(|| work(&direct));
    std::mem::drop(direct);
    std::mem::drop(handle);
    result
}

/// Runs `work`, which blocks, telling a multi-threaded runtime first.
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|runtime| runtime.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
