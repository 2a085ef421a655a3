//! The transactional outbox, as the relay reads it, and relay leadership.
//!
//! [`EventStore::append`](crate::EventStore::append) writes each event's
//! `outbox` row in the event's own transaction; the relay publishes rows
//! after commit and then stamps `published_at`. This module is the relay's
//! side, its role [`Outbox`]: [`Outbox::unpublished`],
//! [`Outbox::mark_published`], [`Outbox::outbox_backlog`] and
//! [`Outbox::try_lead_relay`] (whose lock is in `crate::dialect`).
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
//! The relay instead parks the event's project ([`Outbox::park_relay_stream`]):
//! a `relay_parked` row says why, and the project's unpublished rows are
//! marked `held`, which [`Outbox::unpublished`] skips. Rows of a parked project
//! that arrive later are held as they are read, so the project's events are
//! never published out of order; every other project keeps flowing.
//! [`Outbox::release_relay_stream`] undoes it once the cause is fixed.

use chrono::Utc;
use gongkai_proto::v1::EventEnvelope;

use crate::db::{dispatch, in_transaction, to_u64};
use crate::dialect::postgres::RelayLock;
use crate::events::decode_envelope;
use crate::query::{self, Sql};
use crate::{Outbox, StoreError};

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
/// lock; dropping it closes that connection, which releases the lock. On
/// SQLite there is no lock: the one process the store is embedded in runs
/// one relay.
#[derive(Debug)]
pub struct RelayLeadership {
    lock: Option<RelayLock>,
}

impl RelayLeadership {
    pub(crate) fn new(lock: Option<RelayLock>) -> Self {
        Self { lock }
    }

    /// Confirms that leadership is still held: on PostgreSQL, that the
    /// connection holding the lock is alive (a session-level lock lives
    /// exactly as long as its session). An error means the lock may be gone
    /// and another relay may lead: stop publishing.
    pub async fn check(&mut self) -> Result<(), StoreError> {
        match &mut self.lock {
            Some(lock) => lock.check().await,
            None => Ok(()),
        }
    }

    /// Gives leadership up so that a standby can take over at once.
    pub async fn release(self) -> Result<(), StoreError> {
        match self.lock {
            Some(lock) => lock.release().await,
            None => Ok(()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct UnpublishedRow {
    position: i64,
    topic: String,
    envelope: Vec<u8>,
    traceparent: Option<String>,
}

impl UnpublishedRow {
    fn record(self) -> Result<OutboxRecord, StoreError> {
        let envelope = decode_envelope(self.position, &self.envelope)?;
        let project_code = envelope.subject.clone();
        Ok(OutboxRecord {
            position: envelope.position,
            topic: self.topic,
            project_code,
            envelope,
            traceparent: self.traceparent,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ParkedRow {
    project_code: String,
    position: i64,
    reason: String,
    parked_at: chrono::DateTime<Utc>,
}

fn position(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidEvent(format!("position {value} is out of range")))
}

impl Outbox {
    /// Up to `limit` unpublished outbox rows with their events, in position
    /// order (see the module docs for why this order is safe to publish in).
    ///
    /// The batch is chosen first, on the partial index `outbox_unpublished`,
    /// and only then joined to `events`: a join under the `LIMIT` lets
    /// PostgreSQL pick a merge join that walks `events` from position 1 on
    /// every call, which grows with the store instead of with the batch.
    pub async fn unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        let query = "SELECT o.position, o.topic, e.envelope, o.traceparent \
                     FROM (SELECT position, topic, traceparent FROM outbox WHERE published_at IS NULL AND NOT held ORDER BY position LIMIT $1) o \
                     JOIN events e ON e.position = o.position ORDER BY o.position";
        let rows: Vec<UnpublishedRow> =
            dispatch!(&self.db, |pool| sqlx::query_as(query).bind(i64::from(limit)).fetch_all(pool).await?);
        let records = rows.into_iter().map(UnpublishedRow::record).collect::<Result<Vec<_>, _>>()?;
        // Rows of a parked stream that arrived since it was parked are held
        // now, before anything could publish them out of order.
        let parked: std::collections::HashSet<String> =
            self.relay_parked().await?.into_iter().map(|parked| parked.project_code).collect();
        if parked.is_empty() {
            return Ok(records);
        }
        let (held, publishable): (Vec<_>, Vec<_>) =
            records.into_iter().partition(|record| parked.contains(&record.project_code));
        let held: Vec<i64> = held.iter().map(|record| record.position as i64).collect();
        for statement in query::in_list("UPDATE outbox SET held = TRUE WHERE position IN (", &held, ")") {
            dispatch!(&self.db, |pool| statement.execute(pool).await.map(drop)?);
        }
        Ok(publishable)
    }

    /// Parks `project_code`'s stream because Kafka refused its event at
    /// `position` for good (see the module docs): its unpublished rows are
    /// held until [`Outbox::release_relay_stream`].
    pub async fn park_relay_stream(&self, project_code: &str, position: u64, reason: &str) -> Result<(), StoreError> {
        let position = self::position(position)?;
        let now = Utc::now();
        let park = "INSERT INTO relay_parked (project_code, position, reason, parked_at) VALUES ($1, $2, $3, $4) \
                    ON CONFLICT (project_code) DO NOTHING";
        let hold = "UPDATE outbox SET held = TRUE WHERE published_at IS NULL \
                    AND position IN (SELECT position FROM events WHERE project_code = $1)";
        in_transaction!(&self.db, |tx| {
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
        let removed = in_transaction!(&self.db, |tx| {
            let removed = sqlx::query(unpark).bind(project_code).execute(&mut *tx).await?.rows_affected();
            sqlx::query(release).bind(project_code).execute(&mut *tx).await?;
            removed
        });
        Ok(removed > 0)
    }

    /// Every stream the relay parked, by project code.
    pub async fn relay_parked(&self) -> Result<Vec<RelayParked>, StoreError> {
        let query = "SELECT project_code, position, reason, parked_at FROM relay_parked ORDER BY project_code";
        let rows: Vec<ParkedRow> = dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?);
        rows.into_iter()
            .map(|row| {
                let position = to_u64(row.position)?;
                Ok(RelayParked {
                    project_code: row.project_code,
                    position,
                    reason: row.reason,
                    parked_at: row.parked_at,
                })
            })
            .collect()
    }

    /// Stamps `published_at` on the outbox rows at `positions`; rows already
    /// stamped keep their first time. Returns how many rows it stamped.
    pub async fn mark_published(&self, positions: &[u64]) -> Result<u64, StoreError> {
        let positions: Vec<i64> = positions.iter().map(|&value| position(value)).collect::<Result<_, _>>()?;
        let now = Utc::now();
        let mut stamped = 0;
        for part in positions.chunks(query::MAX_PARAMS - 1) {
            let mut statement = Sql::new("UPDATE outbox SET published_at = ");
            statement
                .bind(now)
                .push(" WHERE position IN (")
                .list(part.iter().copied())
                .push(") AND published_at IS NULL");
            stamped += dispatch!(&self.db, |pool| statement.execute(pool).await?.rows_affected());
        }
        Ok(stamped)
    }

    /// How many outbox rows wait to be published: the relay backlog metric.
    pub async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        const QUERY: &str = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
        let count: i64 = dispatch!(&self.db, |pool| sqlx::query_scalar(QUERY).fetch_one(pool).await?);
        to_u64(count)
    }

    /// Tries once to become the relay leader; `None` while another relay
    /// leads. On PostgreSQL this opens a dedicated connection (outside the
    /// pool, so the lock's lifetime is the lease's) and takes the
    /// session-level advisory lock [`RELAY_LOCK_KEY`] on it; on SQLite it
    /// always succeeds.
    pub async fn try_lead_relay(&self) -> Result<Option<RelayLeadership>, StoreError> {
        dispatch!(&self.db, |pool, dialect| dialect::lead_relay(pool).await)
    }
}
