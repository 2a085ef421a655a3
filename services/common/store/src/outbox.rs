//! The transactional outbox, as the relay reads it, and relay leadership.
//!
//! [`Store::append`] writes each event's `outbox` row in the event's own
//! transaction; the relay publishes rows after commit and then stamps
//! `published_at`. This module is the relay's side: [`Store::unpublished`],
//! [`Store::mark_published`], [`Store::outbox_backlog`] and
//! [`Store::try_lead_relay`].
//!
//! # Why a status flag read by one leader never skips a row
//!
//! The relay keeps no cursor. It reads `published_at IS NULL ORDER BY
//! position` and marks rows only after Kafka acknowledged them, and only one
//! relay (the holder of [`RelayLeadership`]) does so at a time.
//!
//! * **A row that commits late is not skipped.** On PostgreSQL a `BIGSERIAL`
//!   position is taken at insert but becomes visible at commit, so position
//!   `p` can appear after `p + 1` was already read and published. A cursor
//!   (`position > last`) would then skip `p` forever; the flag does not: `p`
//!   is still unpublished and the next read returns it. Nothing else ever
//!   sets the flag, so every committed row is returned until it is marked.
//! * **Per-project order holds.** Append advances the project's `streams` row
//!   with `UPDATE … WHERE last_seq = n` (seq `n + 1`) and holds that row lock
//!   until commit, so seq `n + 1` can only insert its event (and take its
//!   position) after seq `n` committed: within a project, position increases
//!   with `project_seq`, and a read that sees seq `n + 1` also sees seq `n`
//!   (unpublished, hence earlier in the same position-ordered batch, or
//!   already published by an earlier batch). The relay sends a batch in
//!   position order, keyed by project code (one partition per project), and
//!   reads the next batch only after the previous one was acknowledged and
//!   marked. When a delivery fails it marks the acknowledged prefix only and
//!   starts again at the first unacknowledged row, so a project's events reach
//!   Kafka in `project_seq` order, possibly with re-sent duplicates, which
//!   consumers drop by `(project, seq)`.
//! * **One reader.** Two relays publishing the same rows would interleave
//!   their copies. On PostgreSQL the leader holds a session-level advisory
//!   lock ([`RELAY_LOCK_KEY`]) on a dedicated connection: a standby's
//!   `pg_try_advisory_lock` fails until the leader releases it or its
//!   connection drops (process death, network loss), at which point the
//!   server releases the lock and a standby takes over. The leader checks its
//!   connection ([`RelayLeadership::check`]) before every batch and steps
//!   down when it is gone. What remains is a window of at most the batch in
//!   flight when the leader's connection dropped; it can be re-sent by the new
//!   leader (duplicates, never loss). The lock connection asks the server
//!   for TCP keepalives of about 25 s, so a leader that vanished without
//!   closing its socket is noticed too. Session-level locks need a session:
//!   connect the relay to PostgreSQL directly or through a session-mode
//!   pooler, never a transaction-mode one. On SQLite the store is embedded
//!   in one process, which runs one relay, so leadership is trivially held.
//!
//! # A record Kafka refuses for good parks its project's stream only
//!
//! When Kafka refuses an event for good (larger than the topic accepts, an
//! invalid record), retrying it forever would stop every project behind it.
//! The relay instead parks the event's project ([`Store::park_relay_stream`]):
//! a `relay_parked` row says why, and the project's unpublished rows are
//! marked `held`, which [`Store::unpublished`] skips. Rows of a parked project
//! that arrive later are held as they are read, so the project's events are
//! never published out of order; every other project keeps flowing.
//! [`Store::release_relay_stream`] undoes it once the cause is fixed.

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};

use crate::sql::{fetch_all_with, in_transaction};
use crate::{Store, StoreError};

/// The PostgreSQL advisory lock key (session level) that elects the relay
/// leader: the ASCII bytes of `gkrelay` followed by a version byte.
pub const RELAY_LOCK_KEY: i64 = 0x676b_7265_6c61_7901;

/// An outbox row that is not yet published, with its event.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    /// Global position of the event (and of the outbox row).
    pub position: u64,
    /// The Kafka topic recorded with the event, e.g. `gongkai.tenders.v1`.
    pub topic: String,
    /// The project code: the envelope's `subject`, the Kafka key.
    pub project_code: String,
    /// The envelope as stored, with `position` filled in. Its `event_id`,
    /// `type`, `source`, `subject` and `occurred_at` are the CloudEvents
    /// attributes the relay puts in the message headers.
    pub envelope: EventEnvelope,
    /// W3C trace context of the span that appended the event, when the
    /// submission was traced; the relay continues that trace.
    pub traceparent: Option<String>,
}

/// A project whose stream the relay parked, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayParked {
    /// The project.
    pub project_code: String,
    /// The position of the event Kafka refused.
    pub position: u64,
    /// Why Kafka refused it.
    pub reason: String,
    /// When the stream was parked.
    pub parked_at: chrono::DateTime<Utc>,
}

/// Proof that this process is the one relay allowed to publish the outbox.
///
/// On PostgreSQL it owns the dedicated connection that holds the advisory
/// lock; dropping it closes that connection, which releases the lock.
#[derive(Debug)]
pub struct RelayLeadership {
    inner: Lease,
}

#[derive(Debug)]
enum Lease {
    Postgres(PgConnection),
    Sqlite,
}

impl RelayLeadership {
    /// Confirms that leadership is still held: on PostgreSQL, that the
    /// connection holding the lock is alive (a session-level lock lives
    /// exactly as long as its session). An error means the lock may be gone
    /// and another relay may lead: stop publishing.
    pub async fn check(&mut self) -> Result<(), StoreError> {
        match &mut self.inner {
            Lease::Postgres(conn) => {
                sqlx::query("SELECT 1").execute(&mut *conn).await?;
                Ok(())
            }
            Lease::Sqlite => Ok(()),
        }
    }

    /// Gives leadership up so that a standby can take over at once.
    pub async fn release(self) -> Result<(), StoreError> {
        match self.inner {
            Lease::Postgres(mut conn) => {
                let unlocked: Result<bool, sqlx::Error> =
                    sqlx::query_scalar("SELECT pg_advisory_unlock($1)").bind(RELAY_LOCK_KEY).fetch_one(&mut conn).await;
                // Closing the session releases the lock whether or not the
                // unlock went through.
                let closed = conn.close().await;
                unlocked?;
                closed?;
                Ok(())
            }
            Lease::Sqlite => Ok(()),
        }
    }
}

/// `positions` as one JSON array: SQLite has no array parameters, so a list
/// travels as JSON (numbers only, produced here) and is unnested with
/// `json_each`.
fn json_list(positions: &[i64]) -> String {
    format!("[{}]", positions.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

fn position_of(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative outbox position {value}")))
}

fn record(position: i64, topic: String, bytes: &[u8], traceparent: Option<String>) -> Result<OutboxRecord, StoreError> {
    use prost::Message;
    let mut envelope = EventEnvelope::decode(bytes)
        .map_err(|error| StoreError::Corrupt(format!("envelope at position {position}: {error}")))?;
    let position = position_of(position)?;
    envelope.position = position;
    Ok(OutboxRecord { position, topic, project_code: envelope.subject.clone(), envelope, traceparent })
}

impl Store {
    /// Up to `limit` unpublished outbox rows with their events, in position
    /// order (see the module docs for why this order is safe to publish in).
    ///
    /// The batch is chosen first, on the partial index `outbox_unpublished`,
    /// and only then joined to `events`: a join under the `LIMIT` lets
    /// PostgreSQL pick a merge join that walks `events` from position 1 on
    /// every call, which grows with the store instead of with the batch.
    pub async fn unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        let limit = i64::from(limit);
        let rows: Vec<(i64, String, Vec<u8>, Option<String>)> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT o.position, o.topic, e.envelope, o.traceparent \
                     FROM (SELECT position, topic, traceparent FROM outbox WHERE published_at IS NULL AND NOT held ORDER BY position LIMIT $1) o \
                     JOIN events e ON e.position = o.position ORDER BY o.position",
                )
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT o.position, o.topic, e.envelope, o.traceparent \
                     FROM (SELECT position, topic, traceparent FROM outbox WHERE published_at IS NULL AND NOT held ORDER BY position LIMIT ?1) o \
                     JOIN events e ON e.position = o.position ORDER BY o.position",
                )
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        let records = rows
            .into_iter()
            .map(|(position, topic, envelope, traceparent)| record(position, topic, &envelope, traceparent))
            .collect::<Result<Vec<_>, _>>()?;
        // Rows of a parked stream that arrived since it was parked are held
        // now, before anything could publish them out of order.
        let parked: std::collections::HashSet<String> =
            self.relay_parked().await?.into_iter().map(|parked| parked.project_code).collect();
        if parked.is_empty() {
            return Ok(records);
        }
        let (held, publishable): (Vec<_>, Vec<_>) =
            records.into_iter().partition(|record| parked.contains(&record.project_code));
        if held.is_empty() {
            return Ok(publishable);
        }
        let held: Vec<i64> = held.iter().map(|record| record.position as i64).collect();
        match self {
            Store::Postgres(pool) => {
                sqlx::query("UPDATE outbox SET held = TRUE WHERE position = ANY($1)").bind(&held).execute(pool).await?;
            }
            Store::Sqlite(pool) => {
                sqlx::query("UPDATE outbox SET held = TRUE WHERE position IN (SELECT value FROM json_each($1))")
                    .bind(json_list(&held))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(publishable)
    }

    /// Parks `project_code`'s stream because Kafka refused its event at
    /// `position` for good (see the module docs): its unpublished rows are
    /// held until [`Store::release_relay_stream`].
    pub async fn park_relay_stream(&self, project_code: &str, position: u64, reason: &str) -> Result<(), StoreError> {
        let position = i64::try_from(position)
            .map_err(|_| StoreError::InvalidEvent(format!("position {position} is out of range")))?;
        let now = Utc::now();
        let park = "INSERT INTO relay_parked (project_code, position, reason, parked_at) VALUES ($1, $2, $3, $4) \
                    ON CONFLICT (project_code) DO NOTHING";
        let hold = "UPDATE outbox SET held = TRUE WHERE published_at IS NULL \
                    AND position IN (SELECT position FROM events WHERE project_code = $1)";
        in_transaction!(self, |tx| {
            sqlx::query(park).bind(project_code).bind(position).bind(reason).bind(now).execute(&mut *tx).await?;
            sqlx::query(hold).bind(project_code).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Releases a parked stream: its rows are published again, from the
    /// refused one on. Returns whether it was parked.
    pub async fn release_relay_stream(&self, project_code: &str) -> Result<bool, StoreError> {
        let unpark = "DELETE FROM relay_parked WHERE project_code = $1";
        let release = "UPDATE outbox SET held = FALSE WHERE published_at IS NULL \
                       AND position IN (SELECT position FROM events WHERE project_code = $1)";
        let removed = in_transaction!(self, |tx| {
            let removed = sqlx::query(unpark).bind(project_code).execute(&mut *tx).await?.rows_affected();
            sqlx::query(release).bind(project_code).execute(&mut *tx).await?;
            removed
        });
        Ok(removed > 0)
    }

    /// Every stream the relay parked, by project code.
    pub async fn relay_parked(&self) -> Result<Vec<RelayParked>, StoreError> {
        type Row = (String, i64, String, chrono::DateTime<Utc>);
        let query = "SELECT project_code, position, reason, parked_at FROM relay_parked ORDER BY project_code";
        let rows: Vec<Row> = fetch_all_with!(self, query.to_owned(), Vec::<String>::new(), query_as);
        rows.into_iter()
            .map(|(project_code, position, reason, parked_at)| {
                Ok(RelayParked { project_code, position: position_of(position)?, reason, parked_at })
            })
            .collect()
    }

    /// Stamps `published_at` on the outbox rows at `positions`; rows already
    /// stamped keep their first time. Returns how many rows it stamped.
    pub async fn mark_published(&self, positions: &[u64]) -> Result<u64, StoreError> {
        if positions.is_empty() {
            return Ok(0);
        }
        let positions: Vec<i64> = positions
            .iter()
            .map(|&position| {
                i64::try_from(position)
                    .map_err(|_| StoreError::InvalidEvent(format!("position {position} is out of range")))
            })
            .collect::<Result<_, _>>()?;
        let now = Utc::now();
        let done = match self {
            Store::Postgres(pool) => {
                sqlx::query("UPDATE outbox SET published_at = $1 WHERE position = ANY($2) AND published_at IS NULL")
                    .bind(now)
                    .bind(&positions)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
            Store::Sqlite(pool) => sqlx::query(
                "UPDATE outbox SET published_at = ?1 \
                     WHERE position IN (SELECT value FROM json_each(?2)) AND published_at IS NULL",
            )
            .bind(now)
            .bind(json_list(&positions))
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(done)
    }

    /// The trace contexts recorded with the outbox rows at positions after
    /// `after` up to `up_to`, in position order: how the embedded projector,
    /// which reads the store rather than Kafka, joins the submissions' traces.
    pub async fn trace_contexts(&self, after: u64, up_to: u64) -> Result<Vec<String>, StoreError> {
        let (after, up_to) = (i64::try_from(after).unwrap_or(i64::MAX), i64::try_from(up_to).unwrap_or(i64::MAX));
        Ok(match self {
            Store::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT traceparent FROM outbox WHERE position > $1 AND position <= $2 \
                     AND traceparent IS NOT NULL ORDER BY position",
                )
                .bind(after)
                .bind(up_to)
                .fetch_all(pool)
                .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT traceparent FROM outbox WHERE position > ?1 AND position <= ?2 \
                     AND traceparent IS NOT NULL ORDER BY position",
                )
                .bind(after)
                .bind(up_to)
                .fetch_all(pool)
                .await?
            }
        })
    }

    /// How many outbox rows wait to be published: the relay backlog metric.
    pub async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        const QUERY: &str = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
        let count: i64 = match self {
            Store::Postgres(pool) => sqlx::query_scalar(QUERY).fetch_one(pool).await?,
            Store::Sqlite(pool) => sqlx::query_scalar(QUERY).fetch_one(pool).await?,
        };
        position_of(count)
    }

    /// Tries once to become the relay leader; `None` while another relay
    /// leads. On PostgreSQL this opens a dedicated connection (outside the
    /// pool, so the lock's lifetime is the lease's) and takes the
    /// session-level advisory lock [`RELAY_LOCK_KEY`] on it; on SQLite it
    /// always succeeds.
    pub async fn try_lead_relay(&self) -> Result<Option<RelayLeadership>, StoreError> {
        match self {
            Store::Postgres(pool) => {
                let options = pool.connect_options().as_ref().clone().application_name("gongkai-relay");
                let mut conn = options.connect().await?;
                // Let the server notice a leader that vanished without
                // closing its socket (power loss, partition) in about 25 s
                // instead of the OS default of hours, so a standby can take
                // over. Ignored on Unix sockets.
                sqlx::query(
                    "SELECT set_config('tcp_keepalives_idle', '10', false), \
                     set_config('tcp_keepalives_interval', '5', false), \
                     set_config('tcp_keepalives_count', '3', false)",
                )
                .execute(&mut conn)
                .await?;
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(RELAY_LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                if locked {
                    Ok(Some(RelayLeadership { inner: Lease::Postgres(conn) }))
                } else {
                    if let Err(error) = conn.close().await {
                        tracing::debug!(%error, "Closing the standby's lock connection failed.");
                    }
                    Ok(None)
                }
            }
            Store::Sqlite(_) => Ok(Some(RelayLeadership { inner: Lease::Sqlite })),
        }
    }
}
