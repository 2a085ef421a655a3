//! The event store: appending an event to a project's stream and reading it back.
//!
//! # What [`EventStore::append`] guarantees
//!
//! One append (1) advances the project's `streams` row from
//! `project_seq - 1` to `project_seq` (or creates it for `project_seq` 1),
//! (2) inserts the `events` row, (3) its `outbox` row and (4) one
//! `compliance_flags` row per flag of the envelope. Either all of it commits or
//! nothing does.
//!
//! * **Per-project order.** The conditional update of the `streams` row is the
//!   optimistic-concurrency check: of two writers proposing the same
//!   `project_seq`, exactly one advances the head; the other gets
//!   [`AppendOutcome::Conflict`] and must reload and decide again. The row lock
//!   taken by that update is held until commit, so a project's events commit
//!   one after the other, gapless from 1, each chained to the head it saw
//!   (`prev_hash` must equal the stored head hash, or the append fails with
//!   [`StoreError::ChainMismatch`]). Within one project, `position` therefore
//!   increases with `project_seq` and in commit order.
//! * **Global position.** `position` is unique and assigned increasing at
//!   insert. On SQLite, writers are serialized (`BEGIN IMMEDIATE`), so
//!   positions also become visible in order. On PostgreSQL they need not:
//!   appends to *different* projects run concurrently and a smaller `BIGSERIAL`
//!   can commit after a larger one. Readers that follow `position` (the outbox
//!   relay, the change feed) must not assume that a row they have not yet seen
//!   has a larger position than one they have; see KAFKA.md "The outbox
//!   without gaps".
//! * **Idempotency.** `(source, request_id)` is unique; a second append with a
//!   taken key gets [`AppendOutcome::DuplicateRequest`] and writes nothing. The
//!   caller looks the first one up with [`EventStore::find_request`] and compares
//!   `request_digest` to tell a retry from a reused key.
//!
//! # Group commit
//!
//! [`EventStore::append_all`] writes many appends in one transaction and
//! commits once, which is what lets ingestion outrun a transaction per
//! event: the database syncs its log once for all of them, and each step is
//! one multi-row statement for the whole batch instead of one per event.
//! Each append still gets its own outcome, as if it had been alone:
//!
//! * The batch is written in rounds: round `k` holds the `k`-th append of
//!   each project, so a round names a project once and a project's appends
//!   go in the order given, each against the head the previous round left.
//! * A round is one savepoint. Its compare-and-set of the stream heads
//!   (`INSERT … ON CONFLICT DO NOTHING RETURNING` for new streams, `UPDATE …
//!   FROM (VALUES …) RETURNING` for the others) says which appends advanced
//!   their head; the others are refused (conflict, or chain mismatch) and
//!   write nothing, since their head did not move.
//! * The events of the appends that advanced go in with `ON CONFLICT DO
//!   NOTHING`: a row whose request key (or seq, or event id) is taken is
//!   skipped, not an error that would abort the transaction. When any was
//!   skipped, the store looks which key is taken (below), rolls the round
//!   back to its savepoint and writes it again without those appends.
//! * A statement that fails for another reason rolls the round back and
//!   writes its appends again one at a time, so the failure is one append's
//!   own. Only a failure of the transaction itself (the connection, the
//!   commit) fails the whole batch; then nothing is known to be recorded.
//! * Rounds lock their heads in project-code order. Two batches of separate
//!   processes can still deadlock on PostgreSQL; the append PostgreSQL
//!   aborts to break it is a conflict, decided again by its caller.
//!
//! * On SQLite the batch's transaction takes the write lock by trying again
//!   every half millisecond rather than in SQLite's busy handler, which
//!   sleeps up to 100 ms at a time and so, next to another writer (the
//!   embedded projector), leaves the lock idle most of the time it waits
//!   (`begin_append` in `crate::dialect::sqlite`). The commit is as durable
//!   as any other: WAL with `synchronous = FULL`.
//!
//! Nothing is answered before the commit: the outcomes are returned after it.
//! The rounds are written by the `batch` submodule.
//!
//! # How refusals are classified
//!
//! Never by error message text. A stream that is missing or not at
//! `project_seq - 1` shows up as a head that did not move. A taken key shows
//! up as an `events` row that `ON CONFLICT DO NOTHING` skipped; the store then
//! looks, in the same transaction, which key is taken: the request (duplicate
//! request), else the project's seq (conflict), else only the event id is
//! left (a caller's bug, [`StoreError::InvalidEvent`]). The row it looks for
//! is visible: on PostgreSQL `ON CONFLICT` waits for the transaction that
//! wrote it and skips only once that one committed (each statement of a READ
//! COMMITTED transaction sees every earlier commit), and SQLite's writers are
//! serialized. A taken request key wins over a taken seq, so a retry is
//! always told it is one.
//!
//! # Storage format
//!
//! `envelope` holds the protobuf encoding of the envelope with `position`
//! cleared (the column is the truth for it); `prev_hash` and `hash` hold the
//! raw bytes the hex fields spell; `event_id` is a `UUID` on PostgreSQL and
//! its canonical text on SQLite. Timestamps are bound as
//! `chrono::DateTime<Utc>`: `TIMESTAMPTZ` on PostgreSQL (microseconds), sqlx's
//! RFC 3339 text (`…+00:00`, fraction only when non-zero) on SQLite.

mod batch;

use chrono::{DateTime, Utc};
use gongkai_domain::vocabulary::domain_label;
use gongkai_proto::v1::{Domain, EventEnvelope};
use prost::Message;

use crate::db::{Db, dispatch, to_u64};
use crate::{EventStore, StoreError};
use batch::{Pending, write_batch};

/// An event ready to append.
///
/// The envelope is complete (`event_id`, `type`, `source`, `subject`,
/// `project_seq`, `occurred_at`, `recorded_at`, `request_id`, `prev_hash`,
/// `hash`, `flags`, `domain`, body) except `position`, which the store assigns
/// (any value given is ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The envelope as it will be recorded.
    pub envelope: EventEnvelope,
    /// The project's region (6-digit division code), stored with the stream
    /// when this event opens it (`project_seq` 1); ignored afterwards.
    pub region_code: String,
    /// SHA-256 of the submitted request, to tell a retry from a reused key.
    pub request_digest: [u8; 32],
    /// The Kafka topic the outbox relay publishes the event to.
    pub topic: String,
    /// W3C `traceparent` of the span that appended the event, kept with the
    /// outbox row so the relay continues the submission's trace.
    pub traceparent: Option<String>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The envelope, with `position` filled in.
    pub envelope: EventEnvelope,
    /// SHA-256 of the request that created the event.
    pub request_digest: [u8; 32],
}

/// What [`EventStore::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The event is committed at this global position.
    Appended {
        /// The global position assigned to the event.
        position: u64,
    },
    /// Another writer took this `project_seq` first (or the stream is not at
    /// `project_seq - 1`): reload the stream and decide again. Nothing was
    /// written.
    Conflict,
    /// `(source, request_id)` is already taken, possibly by a concurrent
    /// writer: look it up with [`EventStore::find_request`]. Nothing was written.
    DuplicateRequest,
}

/// Row counts of the event store's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventCounts {
    /// Rows in `events`.
    pub events: u64,
    /// Rows in `streams`.
    pub streams: u64,
    /// Rows in `outbox`.
    pub outbox: u64,
    /// Rows in `compliance_flags`.
    pub compliance_flags: u64,
}

/// The columns of one append, validated and converted from a [`NewEvent`].
pub(crate) struct Row<'a> {
    event_id: uuid::Uuid,
    pub(crate) project_code: &'a str,
    pub(crate) project_seq: i64,
    event_type: &'a str,
    domain: &'static str,
    pub(crate) source: &'a str,
    pub(crate) request_id: &'a str,
    request_digest: &'a [u8],
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    envelope: Vec<u8>,
    region_code: &'a str,
    topic: &'a str,
    traceparent: Option<&'a str>,
    /// `(rule, encoded ComplianceFlag)` per flag.
    flags: Vec<(&'a str, Vec<u8>)>,
}

fn invalid(reason: impl Into<String>) -> StoreError {
    StoreError::InvalidEvent(reason.into())
}

pub(crate) fn timestamp(field: &str, value: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, StoreError> {
    let value = value.ok_or_else(|| invalid(format!("{field} is missing")))?;
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .ok_or_else(|| invalid(format!("{field} is out of range")))
}

fn hash_bytes(field: &str, hex_text: &str) -> Result<Vec<u8>, StoreError> {
    let bytes = hex::decode(hex_text).map_err(|_| invalid(format!("{field} is not hex")))?;
    if bytes.len() != 32 || hex::encode(&bytes) != hex_text {
        return Err(invalid(format!("{field} is not 64 lowercase hex characters")));
    }
    Ok(bytes)
}

/// The `domain` column of a lifecycle domain.
fn domain_column(value: i32) -> Result<&'static str, StoreError> {
    match Domain::try_from(value) {
        Ok(Domain::Unspecified) | Err(_) => Err(invalid(format!("domain {value} is not a lifecycle domain"))),
        Ok(domain) => Ok(domain_label(domain)),
    }
}

impl<'a> Row<'a> {
    fn new(event: &'a NewEvent) -> Result<Self, StoreError> {
        let envelope = &event.envelope;
        let event_id = uuid::Uuid::parse_str(&envelope.event_id).map_err(|_| invalid("event_id is not a UUID"))?;
        if event_id.hyphenated().to_string() != envelope.event_id {
            return Err(invalid("event_id is not in canonical lowercase form"));
        }
        let project_seq = i64::try_from(envelope.project_seq)
            .ok()
            .filter(|seq| *seq > 0)
            .ok_or_else(|| invalid("project_seq is out of range"))?;
        let prev_hash = if project_seq == 1 {
            let region = event.region_code.as_bytes();
            if region.len() != 6 || !region.iter().all(u8::is_ascii_digit) {
                return Err(invalid("region_code is not 6 digits"));
            }
            if !envelope.prev_hash.is_empty() {
                return Err(invalid("prev_hash must be empty for project_seq 1"));
            }
            Vec::new()
        } else {
            hash_bytes("prev_hash", &envelope.prev_hash)?
        };
        // The column is the truth for the position: the envelope is stored without it.
        let stored = if envelope.position == 0 {
            envelope.encode_to_vec()
        } else {
            EventEnvelope { position: 0, ..envelope.clone() }.encode_to_vec()
        };
        Ok(Row {
            event_id,
            project_code: &envelope.subject,
            project_seq,
            event_type: &envelope.r#type,
            domain: domain_column(envelope.domain)?,
            source: &envelope.source,
            request_id: &envelope.request_id,
            request_digest: &event.request_digest,
            occurred_at: timestamp("occurred_at", envelope.occurred_at.as_ref())?,
            recorded_at: timestamp("recorded_at", envelope.recorded_at.as_ref())?,
            prev_hash,
            hash: hash_bytes("hash", &envelope.hash)?,
            envelope: stored,
            region_code: &event.region_code,
            topic: &event.topic,
            traceparent: event.traceparent.as_deref(),
            flags: envelope.flags.iter().map(|flag| (flag.rule.as_str(), flag.encode_to_vec())).collect(),
        })
    }
}

pub(crate) fn decode_envelope(position: i64, bytes: &[u8]) -> Result<EventEnvelope, StoreError> {
    let mut envelope = EventEnvelope::decode(bytes)
        .map_err(|error| StoreError::Corrupt(format!("envelope at position {position}: {error}")))?;
    envelope.position =
        u64::try_from(position).map_err(|_| StoreError::Corrupt(format!("negative position {position}")))?;
    Ok(envelope)
}

fn digest_array(position: i64, bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt(format!("request_digest at position {position} is not 32 bytes")))
}

/// An event as the readers of the log read it.
#[derive(sqlx::FromRow)]
pub(crate) struct EnvelopeRow {
    position: i64,
    envelope: Vec<u8>,
}

impl EnvelopeRow {
    /// The envelope, with `position` filled in.
    pub(crate) fn decode(&self) -> Result<EventEnvelope, StoreError> {
        decode_envelope(self.position, &self.envelope)
    }
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    position: i64,
    envelope: Vec<u8>,
    request_digest: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct StreamRow {
    last_seq: i64,
    head_hash: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct CountsRow {
    events: i64,
    streams: i64,
    outbox: i64,
    compliance_flags: i64,
}

const STREAM_HEAD: &str = "SELECT last_seq, head_hash FROM streams WHERE project_code = $1";

/// The project's events, ordered by `project_seq`, with `position` filled in.
pub(crate) async fn load_stream(db: &Db, project_code: &str) -> Result<Vec<EventEnvelope>, StoreError> {
    let query = "SELECT position, envelope FROM events WHERE project_code = $1 ORDER BY project_seq";
    let rows: Vec<EnvelopeRow> = dispatch!(db, |pool| sqlx::query_as(query).bind(project_code).fetch_all(pool).await?);
    rows.iter().map(EnvelopeRow::decode).collect()
}

impl EventStore {
    /// The project's events, ordered by `project_seq`, with `position` filled
    /// in; empty for an unknown project.
    pub async fn load_stream(&self, project_code: &str) -> Result<Vec<EventEnvelope>, StoreError> {
        load_stream(&self.db, project_code).await
    }

    /// The event recorded for `(source, request_id)`, if any.
    pub async fn find_request(&self, source: &str, request_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let query = "SELECT position, envelope, request_digest FROM events WHERE source = $1 AND request_id = $2";
        let row: Option<RequestRow> = dispatch!(&self.db, |pool| sqlx::query_as(query)
            .bind(source)
            .bind(request_id)
            .fetch_optional(pool)
            .await?);
        row.map(|row| {
            Ok(StoredEvent {
                envelope: decode_envelope(row.position, &row.envelope)?,
                request_digest: digest_array(row.position, row.request_digest)?,
            })
        })
        .transpose()
    }

    /// The project's last `project_seq` and head hash; `None` for an unknown
    /// project.
    pub async fn stream_head(&self, project_code: &str) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let row: Option<StreamRow> =
            dispatch!(&self.db, |pool| sqlx::query_as(STREAM_HEAD).bind(project_code).fetch_optional(pool).await?);
        row.map(|row| {
            let head = row
                .head_hash
                .try_into()
                .map_err(|_| StoreError::Corrupt(format!("head_hash of stream {project_code} is not 32 bytes")))?;
            Ok((to_u64(row.last_seq)?, head))
        })
        .transpose()
    }

    /// Row counts of `events`, `streams`, `outbox` and `compliance_flags`.
    pub async fn event_counts(&self) -> Result<EventCounts, StoreError> {
        const QUERY: &str = "SELECT (SELECT COUNT(*) FROM events) AS events, (SELECT COUNT(*) FROM streams) AS streams, \
                             (SELECT COUNT(*) FROM outbox) AS outbox, \
                             (SELECT COUNT(*) FROM compliance_flags) AS compliance_flags";
        let counts: CountsRow = dispatch!(&self.db, |pool| sqlx::query_as(QUERY).fetch_one(pool).await?);
        Ok(EventCounts {
            events: to_u64(counts.events)?,
            streams: to_u64(counts.streams)?,
            outbox: to_u64(counts.outbox)?,
            compliance_flags: to_u64(counts.compliance_flags)?,
        })
    }

    /// Appends one event to its project's stream, with its outbox entry and
    /// compliance flags, in one transaction (see the module docs): the same
    /// as [`EventStore::append_all`] of that one event.
    ///
    /// Fails with [`StoreError::InvalidEvent`] before touching the database
    /// when the envelope cannot be stored as given, and with
    /// [`StoreError::ChainMismatch`] when the stream is at `project_seq - 1`
    /// but its head hash is not `prev_hash`.
    pub async fn append(&self, event: &NewEvent) -> Result<AppendOutcome, StoreError> {
        let mut outcomes = self.append_all(std::slice::from_ref(event)).await?;
        // One outcome per event; an empty answer would mean nothing was written.
        outcomes.pop().unwrap_or(Ok(AppendOutcome::Conflict))
    }

    /// Appends each of `events` as [`EventStore::append`] would, all in one
    /// transaction with one commit (see "Group commit" in the module docs),
    /// and answers each with its own outcome, in the order given.
    ///
    /// Each event's outcome is its own: one that conflicts, duplicates a
    /// request, breaks the chain or cannot be stored is refused alone and
    /// the others are still appended. Several events of one project are
    /// appended in the order given, each against the head the previous one
    /// left. The outer error means the transaction itself failed (the
    /// database is unreachable, the commit failed): then none of the events
    /// is known to be recorded.
    pub async fn append_all(&self, events: &[NewEvent]) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
        // The safe default for a slot never written: nothing recorded, decide again.
        let mut outcomes: Vec<Result<AppendOutcome, StoreError>> =
            events.iter().map(|_| Ok(AppendOutcome::Conflict)).collect();
        let mut rows = Vec::with_capacity(events.len());
        for (at, event) in events.iter().enumerate() {
            match Row::new(event) {
                Ok(row) => rows.push((at, row)),
                Err(error) => outcomes[at] = Err(error),
            }
        }
        if rows.is_empty() {
            return Ok(outcomes);
        }
        // One append alone needs no savepoint: its transaction holds nothing else.
        let savepoints = rows.len() > 1;
        dispatch!(&self.db, |pool, dialect| {
            let pending: Vec<Pending<'_>> = rows
                .into_iter()
                .map(|(at, row)| Pending { at, event_id: dialect::event_id(row.event_id).into(), row })
                .collect();
            let mut tx = dialect::begin_append(pool).await?;
            let written = write_batch(&mut *tx, &pending, &mut outcomes, savepoints, dialect::lost_lock_race).await;
            let appended = outcomes.iter().any(|outcome| matches!(outcome, Ok(AppendOutcome::Appended { .. })));
            match written {
                Ok(()) if appended => tx.commit().await?,
                Ok(()) => tx.rollback().await?,
                Err(error) => {
                    if let Err(rollback) = tx.rollback().await {
                        tracing::warn!(error = %rollback, "Rollback after a failed append failed.");
                    }
                    return Err(error);
                }
            }
        });
        Ok(outcomes)
    }
}
