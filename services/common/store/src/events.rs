//! The event store: appending an event to a project's stream and reading it back.
//!
//! # What [`EventStore::append`] guarantees
//!
//! One call is one transaction that (1) advances the project's `streams` row
//! from `project_seq - 1` to `project_seq` (or creates it for `project_seq`
//! 1), (2) inserts the `events` row, (3) its `outbox` row and (4) one
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
//! # How refusals are classified
//!
//! Never by error message text. A stream that is missing or not at
//! `project_seq - 1` shows up as zero affected rows. A unique violation from
//! the `events` insert is classified on PostgreSQL by constraint name
//! (`events_request_key` → duplicate request; `events_project_seq_key`,
//! `streams_pkey` → conflict). SQLite reports no constraint name, so after a
//! unique violation the store looks, inside the still-open transaction (which
//! no other writer can touch: it holds the write lock), which key is taken.
//! Both ways are `append_refusal` in `crate::dialect`; the append itself is
//! written once.
//!
//! # Storage format
//!
//! `envelope` holds the protobuf encoding of the envelope with `position`
//! cleared (the column is the truth for it); `prev_hash` and `hash` hold the
//! raw bytes the hex fields spell; `event_id` is a `UUID` on PostgreSQL and
//! its canonical text on SQLite. Timestamps are bound as
//! `chrono::DateTime<Utc>`: `TIMESTAMPTZ` on PostgreSQL (microseconds), sqlx's
//! RFC 3339 text (`…+00:00`, fraction only when non-zero) on SQLite.

use chrono::{DateTime, Utc};
use gongkai_domain::vocabulary::domain_label;
use gongkai_proto::v1::{Domain, EventEnvelope};
use prost::Message;

use crate::db::{Db, dispatch, to_u64};
use crate::{EventStore, StoreError};

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
        let mut stored = envelope.clone();
        stored.position = 0;
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
            envelope: stored.encode_to_vec(),
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

/// Why a conditional head update touched no row: the stream moved on or
/// does not exist (conflict), or it is where the event expects it but its
/// head hash is not the event's `prev_hash` (the caller chained wrongly).
fn head_refusal(row: &Row<'_>, current: Option<StreamRow>) -> Result<AppendOutcome, StoreError> {
    match current {
        Some(stream) if stream.last_seq == row.project_seq - 1 => Err(StoreError::ChainMismatch {
            project_code: row.project_code.to_owned(),
            project_seq: row.project_seq as u64,
        }),
        _ => Ok(AppendOutcome::Conflict),
    }
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
    /// compliance flags, in one transaction (see the module docs).
    ///
    /// Fails with [`StoreError::InvalidEvent`] before touching the database
    /// when the envelope cannot be stored as given, and with
    /// [`StoreError::ChainMismatch`] when the stream is at `project_seq - 1`
    /// but its head hash is not `prev_hash`.
    pub async fn append(&self, event: &NewEvent) -> Result<AppendOutcome, StoreError> {
        let row = Row::new(event)?;
        dispatch!(&self.db, |pool, dialect| {
            let mut tx = dialect::begin(pool).await?;
            let outcome = async {
                // The optimistic-concurrency check: open the stream at seq 1
                // (ON CONFLICT waits for a concurrent opener, then does
                // nothing), or advance it from `project_seq - 1` (under READ
                // COMMITTED a concurrent advance makes this wait for the row
                // lock and re-check the condition on the committed row).
                let head = if row.project_seq == 1 {
                    sqlx::query(
                        "INSERT INTO streams (project_code, region_code, last_seq, head_hash) VALUES ($1, $2, 1, $3) \
                         ON CONFLICT (project_code) DO NOTHING",
                    )
                    .bind(row.project_code)
                    .bind(row.region_code)
                    .bind(&row.hash)
                    .execute(&mut *tx)
                    .await
                } else {
                    sqlx::query(
                        "UPDATE streams SET last_seq = $2, head_hash = $3 \
                         WHERE project_code = $1 AND last_seq = $2 - 1 AND head_hash = $4",
                    )
                    .bind(row.project_code)
                    .bind(row.project_seq)
                    .bind(&row.hash)
                    .bind(&row.prev_hash)
                    .execute(&mut *tx)
                    .await
                };
                match head {
                    Ok(done) if done.rows_affected() == 1 => {}
                    Ok(_) if row.project_seq == 1 => return Ok(AppendOutcome::Conflict),
                    Ok(_) => {
                        let current =
                            sqlx::query_as(STREAM_HEAD).bind(row.project_code).fetch_optional(&mut *tx).await?;
                        return head_refusal(&row, current);
                    }
                    Err(error) if row.project_seq == 1 => return dialect::append_refusal(&mut tx, &row, error).await,
                    Err(error) => return Err(error.into()),
                }
                let event_id = &dialect::event_id(row.event_id);
                let inserted = sqlx::query_scalar(
                    "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id, \
                     request_digest, occurred_at, recorded_at, prev_hash, hash, envelope) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING position",
                )
                .bind(event_id)
                .bind(row.project_code)
                .bind(row.project_seq)
                .bind(row.event_type)
                .bind(row.domain)
                .bind(row.source)
                .bind(row.request_id)
                .bind(row.request_digest)
                .bind(row.occurred_at)
                .bind(row.recorded_at)
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .bind(&row.envelope)
                .fetch_one(&mut *tx)
                .await;
                let position: i64 = match inserted {
                    Ok(position) => position,
                    Err(error) => return dialect::append_refusal(&mut tx, &row, error).await,
                };
                sqlx::query("INSERT INTO outbox (position, topic, traceparent) VALUES ($1, $2, $3)")
                    .bind(position)
                    .bind(row.topic)
                    .bind(row.traceparent)
                    .execute(&mut *tx)
                    .await?;
                for (rule, flag) in &row.flags {
                    sqlx::query(
                        "INSERT INTO compliance_flags (event_id, project_code, rule, flag, raised_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(event_id)
                    .bind(row.project_code)
                    .bind(*rule)
                    .bind(flag)
                    .bind(row.recorded_at)
                    .execute(&mut *tx)
                    .await?;
                }
                Ok(AppendOutcome::Appended { position: to_u64(position)? })
            }
            .await;
            finish(tx, outcome).await
        })
    }
}

/// Commits an append that succeeded and rolls back anything else.
async fn finish<DB: sqlx::Database>(
    tx: sqlx::Transaction<'static, DB>,
    outcome: Result<AppendOutcome, StoreError>,
) -> Result<AppendOutcome, StoreError> {
    match outcome {
        Ok(AppendOutcome::Appended { position }) => {
            tx.commit().await?;
            Ok(AppendOutcome::Appended { position })
        }
        Ok(refused) => {
            tx.rollback().await?;
            Ok(refused)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback after a failed append failed");
            }
            Err(error)
        }
    }
}
