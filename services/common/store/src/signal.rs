//! Telling the site at once that the public view changed.
//!
//! The public change feed (`public`) is the source of truth; this signal
//! only says "read it now" so that a follower need not poll it often. The
//! fold raises it after a transaction that appended to the feed commits:
//! in-process through a `watch` channel every role of one [`Store`](crate::Store)
//! shares (the embedded default runs projector and site in one process), and
//! on PostgreSQL also with `NOTIFY` inside that transaction, which the
//! database delivers at commit to every listening site process. A lost
//! notification costs only latency: followers still read the feed on a
//! slow timer.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::watch;

/// The PostgreSQL channel the fold notifies after it appended to the public
/// change feed.
pub(crate) const PUBLIC_CHANGES_CHANNEL: &str = "gongkai_public_changes";

/// The in-process side of the signal, shared by the roles of one store.
#[derive(Debug, Clone)]
pub(crate) struct PublicChanges(Arc<watch::Sender<u64>>);

impl Default for PublicChanges {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl PublicChanges {
    /// Wakes every waiter of this process.
    pub(crate) fn raise(&self) {
        self.0.send_modify(|count| *count = count.wrapping_add(1));
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Waits for the public view to change; from
/// [`PublicReader::public_changes_signal`](crate::PublicReader::public_changes_signal).
#[derive(Debug)]
pub struct ChangeSignal {
    local: watch::Receiver<u64>,
    listener: Option<PgListener>,
}

impl ChangeSignal {
    pub(crate) async fn new(local: watch::Receiver<u64>, postgres: Option<&PgPool>) -> Self {
        let listener = match postgres {
            Some(pool) => match listen(pool).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "Cannot LISTEN for public changes; following the feed by timer only.");
                    None
                }
            },
            None => None,
        };
        Self { local, listener }
    }

    /// Returns once the public view may have changed since the last return:
    /// a fold in this process or (on PostgreSQL) in any process committed
    /// public changes. A broken database listener also returns, after a
    /// pause, so that the caller reads the feed; sqlx reconnects it on the
    /// next call. Never returns when nothing changes.
    pub async fn changed(&mut self) {
        match &mut self.listener {
            // NOTIFY reaches this process too; the local signal would only
            // say the same thing twice.
            Some(listener) => {
                if let Err(error) = listener.recv().await {
                    tracing::debug!(%error, "Public change listener lost its connection; reconnecting.");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            None => {
                if self.local.changed().await.is_err() {
                    // The store is gone: nothing will change any more.
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let own = PgPoolOptions::new().max_connections(1).connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(PUBLIC_CHANGES_CHANNEL).await?;
    Ok(listener)
}
