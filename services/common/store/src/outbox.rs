//! The transactional outbox, as the relay reads it, and relay leadership.
//!
//! [`EventStore::append`](crate::EventStore::append) writes each event's
//! `outbox` row in the event's own transaction; the relay publishes rows
//! after commit and then stamps `published_at`. This module is the relay's
//! side, its role [`Outbox`]: [`Outbox::read_for_relay`],
//! [`Outbox::mark_published`], [`Outbox::outbox_backlog`],
//! [`Outbox::republish_all`] and [`Outbox::try_lead_relay`] (whose lock is
//! in `crate::dialect`).
//!
//! # Why the relay's reads never skip a row
//!
//! The relay keeps no cursor between runs. A run starts reading
//! `published_at IS NULL ORDER BY position` from the first unpublished row,
//! marks rows only after Kafka acknowledged them, and only one relay (the
//! holder of [`RelayLeadership`]) does so at a time. Within a run it reads
//! ahead: the next batch is read while earlier ones are in flight (sent,
//! not yet marked), after a cursor ([`OutboxCursor`]) past every row read or
//! in flight.
//!
//! * **A row that commits late is not skipped.** On PostgreSQL a `BIGSERIAL`
//!   position is taken at insert but becomes visible at commit, so position
//!   `p` can appear after a read already passed it. A bare cursor
//!   (`position > last`) would skip `p` forever. So every read is followed
//!   by a check behind the cursor: the unpublished rows at or below it,
//!   written by transactions from the horizon on (the snapshot `xmin` taken
//!   by the check before, on the index `events_transaction`), that are
//!   neither in flight nor just read. If there is one, the read leaves out
//!   its rows of that row's project (only they could overtake it) and is
//!   [`OutboxRead::behind`]: the next read goes on from just before the first
//!   row not sent, `p` or a row of its project the read left out (which can
//!   lie before `p`: `p` committed after the read's snapshot, whatever its
//!   position), leaving out the rows in flight, so it returns the project's
//!   rows in position order. The check finds every such `p`, written
//!   by a transaction `T` that the read passing `p` did not see: the first
//!   check that sees `T` committed uses the horizon of the check before it,
//!   taken while `T` was still running, so `T` is not older than it. And it
//!   finds `p` in time: a later event of `p`'s project is inserted only
//!   after `T` committed (see below), so the first read that returns it is
//!   followed by a check that sees `T` committed, before that read's rows
//!   are sent. On SQLite writers are serialized, so rows become visible in
//!   position order and none turns up behind a read.
//! * **Per-project order holds.** Append advances the project's `streams` row
//!   with `UPDATE … WHERE last_seq = n` (seq `n + 1`) and holds that row lock
//!   until commit, so seq `n + 1` can only insert its event (and take its
//!   position) after seq `n` committed: within a project, position increases
//!   with `project_seq`, and a read that sees seq `n + 1` also sees seq `n`,
//!   which is published, in flight (sent before), or unpublished and earlier
//!   in the same position-ordered batch (a read from the start leaves out
//!   only rows in flight; a read after the cursor is checked as above). The
//!   relay sends batches in the order read, keyed by project code (one
//!   partition per project), so Kafka gets a project's events in
//!   `project_seq` order. When a delivery fails it marks only the rows
//!   acknowledged before the failed one, nothing sent after it, and starts
//!   again at the first unmarked row, possibly re-sending duplicates, which
//!   consumers drop by `(project, seq)`.
//! * **Marks cover only acknowledged rows.** [`Outbox::mark_published`]
//!   stamps runs of consecutive positions (`position BETWEEN first AND
//!   last`), each made of positions Kafka acknowledged, so a row between two
//!   runs (not acknowledged, or committed late) is never marked.
//! * **One reader.** Two relays publishing the same rows would interleave
//!   their copies. On PostgreSQL the leader holds a session-level advisory
//!   lock ([`RELAY_LOCK_KEY`]) on a dedicated connection: a standby's
//!   `pg_try_advisory_lock` fails until the leader releases it or its
//!   connection drops (process death, network loss), at which point the
//!   server releases the lock and a standby takes over. The leader checks its
//!   connection ([`RelayLeadership::check`]) before every batch it sends and
//!   steps down when it is gone. What remains is a window of at most the
//!   batches in flight when the leader's connection dropped; they can be
//!   re-sent by the new leader (duplicates, never loss). The lock connection
//!   asks the server for TCP keepalives of about 25 s, so a leader that
//!   vanished without closing its socket is noticed too. Session-level locks
//!   need a session: connect the relay to PostgreSQL directly or through a
//!   session-mode pooler, never a transaction-mode one. On SQLite the store
//!   is embedded in one process, which runs one relay, so leadership is
//!   trivially held.
//!
//! # A record Kafka refuses for good parks its project's stream only
//!
//! When Kafka refuses an event for good (larger than the topic accepts, an
//! invalid record), retrying it forever would stop every project behind it.
//! The relay instead parks the event's project ([`Outbox::park_relay_stream`]):
//! a `relay_parked` row says why, and the project's unpublished rows are
//! marked `held`, which the reads skip. Rows of a parked project that arrive
//! later are held as they are read, so the project's events are never
//! published out of order; every other project keeps flowing.
//! [`Outbox::release_relay_stream`] undoes it once the cause is fixed. The
//! released rows are behind the relay's cursor: the first read that sees
//! the stream released leaves out its rows, and the next starts from the
//! first unpublished row.

use std::collections::HashSet;

use chrono::Utc;

mod record;

pub use self::record::OutboxRecord;
use self::record::UnpublishedRow;
use crate::db::{dispatch, in_transaction, to_u64};
use crate::dialect::postgres::RelayLock;
use crate::query::{self, Sql};
use crate::{Outbox, StoreError};

/// The PostgreSQL advisory lock key (session level) that elects the relay
/// leader: the ASCII bytes of `gkrelay` followed by a version byte.
pub const RELAY_LOCK_KEY: i64 = 0x676b_7265_6c61_7901;

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

/// Where the relay's reads of the outbox have got to: what the next
/// [`Outbox::read_for_relay`] goes on from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxCursor {
    /// Every unpublished row up to here was read, is held or is in flight,
    /// unless it turns up behind the cursor later.
    position: i64,
    /// On PostgreSQL, the oldest transaction that may have been running when
    /// the last read was made (its snapshot's `xmin`): rows that turn up
    /// behind the cursor were written by it or a later one. Unused on SQLite.
    horizon: i64,
    /// The parked streams when the last read was made.
    parked: HashSet<String>,
}

/// What one [`Outbox::read_for_relay`] found.
#[derive(Debug)]
pub struct OutboxRead {
    /// Rows to send, in position order (maybe none).
    pub records: Vec<OutboxRecord>,
    /// Where the next read goes on; `None`: from the first unpublished row.
    pub next: Option<OutboxCursor>,
    /// Rows turned up behind the cursor (a late commit, a released stream):
    /// `records` leaves out their projects, and the next read, from before
    /// them, is due at once.
    pub behind: bool,
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
struct ParkedRow {
    project_code: String,
    position: i64,
    reason: String,
    parked_at: chrono::DateTime<Utc>,
}

fn position(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidEvent(format!("position {value} is out of range")))
}

/// `positions` as runs of consecutive values, in order, as `(first, last)`:
/// `[9, 3, 4, 5]` is `[(3, 5), (9, 9)]`. Every value of a run is one of
/// `positions`.
fn runs(positions: &[u64]) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut sorted = positions.iter().map(|&value| position(value)).collect::<Result<Vec<_>, _>>()?;
    sorted.sort_unstable();
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for value in sorted {
        match runs.last_mut() {
            Some((_, last)) if value <= *last + 1 => *last = value.max(*last),
            _ => runs.push((value, value)),
        }
    }
    Ok(runs)
}

/// After a read that found rows behind its cursor (`late` ones, or those of
/// `released` streams): the projects whose rows in this read must wait,
/// since they could overtake those, and where the next read goes on (`None`:
/// from the first unpublished row). `found` holds the position and project
/// of each row the read found.
///
/// The next read starts before the first row not sent: the late rows, and
/// the rows of their projects this read found and leaves out, which can lie
/// before them (a late row is one that committed after the read's snapshot,
/// whatever its position). Released rows are anywhere behind the cursor.
fn behind_the_cursor<'a>(
    found: &[(i64, &str)],
    late: &'a [(i64, String)],
    released: &'a HashSet<String>,
) -> (HashSet<&'a str>, Option<i64>) {
    let waiting: HashSet<&str> =
        late.iter().map(|(_, project)| project.as_str()).chain(released.iter().map(String::as_str)).collect();
    let first_not_sent = late
        .iter()
        .map(|&(position, _)| position)
        .chain(found.iter().filter(|(_, project)| waiting.contains(project)).map(|&(position, _)| position))
        .min();
    let next = match first_not_sent {
        Some(first) if released.is_empty() => Some(first - 1),
        _ => None,
    };
    (waiting, next)
}

/// The relay's read of unpublished rows that are not held: after position
/// `cursor`, or from the first unpublished row on when there is none,
/// without the rows in the runs `in_flight` (those after the cursor: a
/// cursor moved back before late rows can have rows in flight after it).
fn relay_read(limit: u32, cursor: Option<i64>, in_flight: &[(i64, i64)]) -> Sql<'static> {
    let mut query = Sql::new(
        "SELECT o.position, o.topic, e.envelope, o.traceparent \
         FROM (SELECT position, topic, traceparent FROM outbox WHERE published_at IS NULL AND NOT held AND ",
    );
    match cursor {
        Some(cursor) => query.push("position > ").bind(cursor),
        None => query.push("position >= (SELECT MIN(position) FROM outbox WHERE published_at IS NULL)"),
    };
    for &(first, last) in in_flight.iter().filter(|&&(_, last)| last > cursor.unwrap_or(i64::MIN)) {
        query.push(" AND position NOT BETWEEN ").bind(first).push(" AND ").bind(last);
    }
    query.push(" ORDER BY position LIMIT ").bind(i64::from(limit));
    query.push(") o JOIN events e ON e.position = o.position ORDER BY o.position");
    query
}

impl Outbox {
    /// Up to `limit` unpublished outbox rows with their events, in position
    /// order (see the module docs for why this order is safe to publish in).
    pub async fn unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        let records = self.fetch_unpublished(&relay_read(limit, None, &[])).await?;
        let parked = self.parked_projects().await?;
        self.hold_parked(records, &parked).await
    }

    /// One read of the relay's pipeline (see the module docs): up to `limit`
    /// unpublished rows that are not held, in position order, after
    /// `cursor` (or from the first unpublished row on when there is none),
    /// leaving out the rows at `in_flight` (sent and not yet marked), and
    /// the cursor of the next read.
    ///
    /// When rows turned up behind the cursor (committed after a read passed
    /// their positions, or of a stream released since the last read), the
    /// read leaves out its rows of their projects, which could overtake
    /// them, and is [`OutboxRead::behind`]: its next read goes on from before
    /// them, at once.
    ///
    /// Every read is chosen first, on the outbox alone, and only then joined
    /// to `events`: a join under the `LIMIT` lets PostgreSQL pick a merge
    /// join that walks `events` from position 1 on every call, which grows
    /// with the store instead of with the batch. A read after a cursor starts
    /// at the cursor; one from the start starts at the first unpublished
    /// position (found on the partial index `outbox_unpublished`), so
    /// neither walks the published rows before it, whichever index the
    /// planner picks. Rows in flight are left out as runs of consecutive
    /// positions, each made of rows in flight, so no row between them is.
    pub async fn read_for_relay(
        &self,
        cursor: Option<&OutboxCursor>,
        limit: u32,
        in_flight: &[u64],
    ) -> Result<OutboxRead, StoreError> {
        let in_flight_runs = runs(in_flight)?;
        let (horizon, query) = match cursor {
            Some(cursor) => (cursor.horizon, relay_read(limit, Some(cursor.position), &in_flight_runs)),
            None => {
                let horizon = dispatch!(&self.db, |pool, dialect| dialect::relay_horizon(pool).await?);
                (horizon, relay_read(limit, None, &in_flight_runs))
            }
        };
        let records = self.fetch_unpublished(&query).await?;
        let parked = self.parked_projects().await?;
        let released: HashSet<String> =
            cursor.map(|cursor| cursor.parked.difference(&parked).cloned().collect()).unwrap_or_default();
        let mut known: HashSet<i64> = in_flight.iter().map(|&position| position as i64).collect();
        known.extend(records.iter().map(|record| record.position as i64));
        let Some(up_to) = known.iter().copied().chain(cursor.map(|cursor| cursor.position)).max() else {
            // Nothing in flight, nothing found: the next read starts from
            // the first unpublished row again.
            return Ok(OutboxRead { records, next: None, behind: false });
        };
        let records = self.hold_parked(records, &parked).await?;
        let (behind, horizon) =
            dispatch!(&self.db, |pool, dialect| dialect::relay_behind(pool, horizon, up_to).await?);
        let late: Vec<(i64, String)> = behind.into_iter().filter(|(position, _)| !known.contains(position)).collect();
        if late.is_empty() && released.is_empty() {
            return Ok(OutboxRead {
                records,
                next: Some(OutboxCursor { position: up_to, horizon, parked }),
                behind: false,
            });
        }
        let found: Vec<(i64, &str)> =
            records.iter().map(|record| (record.position as i64, record.project_code.as_str())).collect();
        let (waiting, next) = behind_the_cursor(&found, &late, &released);
        let next = next.map(|position| OutboxCursor { position, horizon, parked });
        let records = records.into_iter().filter(|record| !waiting.contains(record.project_code.as_str())).collect();
        Ok(OutboxRead { records, next, behind: true })
    }

    /// The rows `query` selects, decoded.
    async fn fetch_unpublished(&self, query: &Sql<'_>) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows: Vec<UnpublishedRow> = dispatch!(&self.db, |pool| query.fetch_all(pool).await?);
        rows.into_iter().map(UnpublishedRow::record).collect()
    }

    /// The projects whose streams are parked.
    async fn parked_projects(&self) -> Result<HashSet<String>, StoreError> {
        let query = "SELECT project_code FROM relay_parked";
        let codes: Vec<String> = dispatch!(&self.db, |pool| sqlx::query_scalar(query).fetch_all(pool).await?);
        Ok(codes.into_iter().collect())
    }

    /// `records` less those of `parked` streams, which arrived since their
    /// stream was parked and are held now, before anything could publish
    /// them out of order.
    ///
    /// The hold runs in one transaction that first locks the streams'
    /// `relay_parked` rows, so a release cannot slip between the read of
    /// `parked` and the hold and leave a released stream's rows held: a
    /// release either commits first (the row is gone and nothing is held;
    /// the next read sees the release and reads those rows again) or waits
    /// for the hold and then clears it.
    async fn hold_parked(
        &self,
        records: Vec<OutboxRecord>,
        parked: &HashSet<String>,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        if parked.is_empty() {
            return Ok(records);
        }
        let (held, publishable): (Vec<_>, Vec<_>) =
            records.into_iter().partition(|record| parked.contains(&record.project_code));
        if held.is_empty() {
            return Ok(publishable);
        }
        let mut projects: Vec<&str> = held.iter().map(|record| record.project_code.as_str()).collect();
        projects.sort_unstable();
        projects.dedup();
        in_transaction!(&self.db, |tx, dialect| {
            let lock = format!(") ORDER BY project_code{}", dialect::FOR_UPDATE);
            let mut still_parked: HashSet<String> = HashSet::new();
            for statement in
                query::in_list("SELECT project_code FROM relay_parked WHERE project_code IN (", &projects, &lock)
            {
                let rows: Vec<(String,)> = statement.fetch_all(&mut *tx).await?;
                still_parked.extend(rows.into_iter().map(|(code,)| code));
            }
            let positions: Vec<i64> = held
                .iter()
                .filter(|record| still_parked.contains(&record.project_code))
                .map(|record| record.position as i64)
                .collect();
            for statement in query::in_list("UPDATE outbox SET held = TRUE WHERE position IN (", &positions, ")") {
                statement.execute(&mut *tx).await?;
            }
        });
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
    /// stamped keep their first time, and held rows are left alone. Returns
    /// how many rows it stamped.
    ///
    /// The positions are marked as runs of consecutive values (`position
    /// BETWEEN first AND last`), a few ranges instead of a list of every
    /// position; each run holds only positions given, so a row between two
    /// runs (one not acknowledged, one that committed late) is never marked.
    pub async fn mark_published(&self, positions: &[u64]) -> Result<u64, StoreError> {
        let runs = runs(positions)?;
        let now = Utc::now();
        let mut stamped = 0;
        for part in runs.chunks((query::MAX_PARAMS - 1) / 2) {
            let mut statement = Sql::new("UPDATE outbox SET published_at = ");
            statement.bind(now).push(" WHERE published_at IS NULL AND NOT held AND (");
            for (at, &(first, last)) in part.iter().enumerate() {
                statement.push(if at == 0 { "position BETWEEN " } else { " OR position BETWEEN " });
                statement.bind(first).push(" AND ").bind(last);
            }
            statement.push(")");
            stamped += dispatch!(&self.db, |pool| statement.execute(pool).await?.rows_affected());
        }
        Ok(stamped)
    }

    /// Marks every published outbox row unpublished, so that the relay
    /// publishes the whole store again, in position order from the first
    /// row: for domain topics that were deleted and must be filled again,
    /// e.g. because they held envelopes that `gongkai chains migrate`
    /// rewrote since. Held rows stay held. Returns how many rows it marked.
    pub async fn republish_all(&self) -> Result<u64, StoreError> {
        const QUERY: &str = "UPDATE outbox SET published_at = NULL WHERE published_at IS NOT NULL";
        Ok(dispatch!(&self.db, |pool| sqlx::query(QUERY).execute(pool).await?.rows_affected()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_row_holds_back_its_project_from_the_first_of_its_rows_found() {
        // The read after cursor 112 found rows of projects A and B; B's row
        // at 133 committed after the read's snapshot.
        let found = [(114, "B"), (115, "A"), (116, "B"), (131, "B"), (134, "A")];
        let late = [(133, "B".to_owned())];
        let none = HashSet::new();
        let (waiting, next) = behind_the_cursor(&found, &late, &none);
        assert_eq!(waiting, HashSet::from(["B"]));
        assert_eq!(next, Some(113), "B's rows from 114 on are read again, not passed by the cursor");
        // A late row before every row found: the next read starts before it.
        let (_, next) = behind_the_cursor(&found, &[(100, "B".to_owned())], &none);
        assert_eq!(next, Some(99));
        // A released stream's rows are anywhere behind: from the start.
        let released = HashSet::from(["C".to_owned()]);
        let (waiting, next) = behind_the_cursor(&found, &late, &released);
        assert_eq!((waiting, next), (HashSet::from(["B", "C"]), None));
    }

    #[test]
    fn runs_hold_only_the_positions_given() {
        assert_eq!(runs(&[]).unwrap(), []);
        assert_eq!(runs(&[9, 3, 4, 5, 4]).unwrap(), [(3, 5), (9, 9)]);
        assert_eq!(runs(&[1, 2, 4, 5, 7]).unwrap(), [(1, 2), (4, 5), (7, 7)]);
        assert!(runs(&[u64::MAX]).is_err());
    }
}
