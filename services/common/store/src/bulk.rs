//! Appending whole streams at once, for loading large logs (benchmarks of the
//! projector's rebuild, imports) where [`EventStore::append`]'s transaction per
//! event would take hours.
//!
//! It writes the same rows to the same tables as [`EventStore::append`] (`streams`,
//! `events`, `outbox`, `compliance_flags`) under the same constraints, with
//! multi-row statements in one transaction. What `append` decides per event
//! it checks for the whole stream up front: every project is new (its
//! `streams` row is inserted, so a taken code fails the call and writes
//! nothing), its events run gapless from seq 1 and each `prev_hash` is the
//! previous event's `hash`.

use gongkai_domain::vocabulary::domain_label;
use gongkai_proto::v1::{Domain, EventEnvelope};
use prost::Message;

use crate::db::in_transaction;
use crate::events::timestamp;
use crate::query::{self, Sql, Value};
use crate::{EventStore, StoreError};

/// One event of a new stream for [`EventStore::append_streams`].
#[derive(Debug, Clone, Copy)]
pub struct StreamEvent<'a> {
    /// The envelope as it will be recorded (`position` is assigned).
    pub envelope: &'a EventEnvelope,
    /// The project's 6-digit region, stored with the stream.
    pub region_code: &'a str,
    /// SHA-256 of the request the event records.
    pub request_digest: [u8; 32],
    /// The Kafka topic the outbox relay publishes the event to.
    pub topic: &'a str,
}

/// The columns of one event, checked.
struct Columns<'a> {
    event: StreamEvent<'a>,
    event_id: uuid::Uuid,
    domain: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    occurred_at: chrono::DateTime<chrono::Utc>,
    recorded_at: chrono::DateTime<chrono::Utc>,
    envelope: Vec<u8>,
}

fn invalid(reason: String) -> StoreError {
    StoreError::InvalidEvent(reason)
}

fn hash(field: &str, text: &str) -> Result<Vec<u8>, StoreError> {
    hex::decode(text).ok().filter(|bytes| bytes.len() == 32).ok_or_else(|| invalid(format!("{field} is not 32 bytes")))
}

/// Checks `events` (streams one after the other, each in seq order) and
/// converts them to their columns.
fn columns<'a>(events: &[StreamEvent<'a>]) -> Result<Vec<Columns<'a>>, StoreError> {
    let mut checked: Vec<Columns<'a>> = Vec::with_capacity(events.len());
    for event in events {
        let envelope = event.envelope;
        let previous = checked.last().filter(|previous| previous.event.envelope.subject == envelope.subject);
        let expected_seq = previous.map_or(1, |previous| previous.event.envelope.project_seq + 1);
        if envelope.project_seq != expected_seq {
            return Err(invalid(format!("{} seq {} is not {expected_seq}", envelope.subject, envelope.project_seq)));
        }
        if envelope.prev_hash != previous.map(|previous| previous.event.envelope.hash.as_str()).unwrap_or_default() {
            return Err(invalid(format!("{} seq {} is not chained", envelope.subject, envelope.project_seq)));
        }
        let domain = match Domain::try_from(envelope.domain) {
            Ok(Domain::Unspecified) | Err(_) => {
                return Err(invalid(format!("domain {} is not stored", envelope.domain)));
            }
            Ok(domain) => domain_label(domain).to_owned(),
        };
        let mut stored = envelope.clone();
        stored.position = 0;
        checked.push(Columns {
            event: *event,
            event_id: uuid::Uuid::parse_str(&envelope.event_id).map_err(|_| invalid("event_id".to_owned()))?,
            domain,
            prev_hash: if envelope.prev_hash.is_empty() { Vec::new() } else { hash("prev_hash", &envelope.prev_hash)? },
            hash: hash("hash", &envelope.hash)?,
            occurred_at: timestamp("occurred_at", envelope.occurred_at.as_ref())?,
            recorded_at: timestamp("recorded_at", envelope.recorded_at.as_ref())?,
            envelope: stored.encode_to_vec(),
        });
    }
    Ok(checked)
}

/// The `streams` rows of the streams in `columns`: each at its last event.
fn stream_statements<'a>(columns: &'a [Columns<'a>]) -> Vec<Sql<'a>> {
    let heads: Vec<&Columns<'_>> = columns
        .iter()
        .enumerate()
        .filter(|(at, c)| {
            columns.get(at + 1).is_none_or(|next| next.event.envelope.subject != c.event.envelope.subject)
        })
        .map(|(_, c)| c)
        .collect();
    query::insert("INSERT INTO streams (project_code, region_code, last_seq, head_hash)", "", &heads, |&c| {
        [
            (&c.event.envelope.subject).into(),
            c.event.region_code.into(),
            (c.event.envelope.project_seq as i64).into(),
            (&c.hash).into(),
        ]
    })
}

/// The `events` rows of `columns`, each statement `RETURNING position`,
/// with the event ids `ids` (bound as the dialect binds them).
fn event_statements<'a, Id>(columns: &'a [Columns<'a>], ids: &'a [Id]) -> Vec<Sql<'a>>
where
    &'a Id: Into<Value<'a>>,
{
    let rows: Vec<(&Columns<'_>, &Id)> = columns.iter().zip(ids).collect();
    let head = "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id, \
                request_digest, occurred_at, recorded_at, prev_hash, hash, envelope)";
    query::insert(head, "RETURNING position", &rows, |&(c, id)| {
        let envelope = c.event.envelope;
        [
            id.into(),
            (&envelope.subject).into(),
            (envelope.project_seq as i64).into(),
            (&envelope.r#type).into(),
            (&c.domain).into(),
            (&envelope.source).into(),
            (&envelope.request_id).into(),
            c.event.request_digest.as_slice().into(),
            c.occurred_at.into(),
            c.recorded_at.into(),
            (&c.prev_hash).into(),
            (&c.hash).into(),
            (&c.envelope).into(),
        ]
    })
}

/// The `outbox` rows of `columns` at `positions`, and their
/// `compliance_flags` rows with the event ids `ids`.
fn outbox_and_flag_statements<'a, Id>(columns: &'a [Columns<'a>], ids: &'a [Id], positions: &[i64]) -> Vec<Sql<'a>>
where
    &'a Id: Into<Value<'a>>,
{
    let outbox: Vec<(i64, &str)> = positions.iter().zip(columns).map(|(p, c)| (*p, c.event.topic)).collect();
    let mut statements = query::insert("INSERT INTO outbox (position, topic)", "", &outbox, |&(position, topic)| {
        [position.into(), topic.into()]
    });
    let flags: Vec<(&Columns<'_>, &Id, &gongkai_proto::v1::ComplianceFlag)> = columns
        .iter()
        .zip(ids)
        .flat_map(|(c, id)| c.event.envelope.flags.iter().map(move |flag| (c, id, flag)))
        .collect();
    statements.extend(query::insert(
        "INSERT INTO compliance_flags (event_id, project_code, rule, flag, raised_at)",
        "",
        &flags,
        |&(c, id, flag)| {
            [
                id.into(),
                (&c.event.envelope.subject).into(),
                (&flag.rule).into(),
                flag.encode_to_vec().into(),
                c.recorded_at.into(),
            ]
        },
    ));
    statements
}

impl EventStore {
    /// Appends new streams whole, in one transaction; see the module docs.
    /// `events` holds each stream's events in seq order, one stream after
    /// the other.
    pub async fn append_streams(&self, events: &[StreamEvent<'_>]) -> Result<(), StoreError> {
        let columns = columns(events)?;
        in_transaction!(&self.db, |tx, dialect| {
            for statement in stream_statements(&columns) {
                statement.execute(&mut *tx).await?;
            }
            let ids: Vec<_> = columns.iter().map(|c| dialect::event_id(c.event_id)).collect();
            let mut positions: Vec<i64> = Vec::with_capacity(columns.len());
            for statement in event_statements(&columns, &ids) {
                // Positions are assigned in VALUES order: ascending, like the rows.
                let mut returned: Vec<(i64,)> = statement.fetch_all(&mut *tx).await?;
                returned.sort_unstable();
                positions.extend(returned.into_iter().map(|(position,)| position));
            }
            for statement in outbox_and_flag_statements(&columns, &ids, &positions) {
                statement.execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}
