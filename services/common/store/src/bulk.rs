//! Appending whole streams at once, for loading large logs (benchmarks of the
//! projector's rebuild, imports) where [`Store::append`]'s transaction per
//! event would take hours.
//!
//! It writes the same rows to the same tables as [`Store::append`] (`streams`,
//! `events`, `outbox`, `compliance_flags`) under the same constraints, with
//! multi-row statements in one transaction. What `append` decides per event
//! it checks for the whole stream up front: every project is new (its
//! `streams` row is inserted, so a taken code fails the call and writes
//! nothing), its events run gapless from seq 1 and each `prev_hash` is the
//! previous event's `hash`.

use gongkai_domain::vocabulary::domain_label;
use gongkai_proto::v1::{Domain, EventEnvelope};
use prost::Message;

use crate::events::timestamp;
use crate::sql::insert_rows;
use crate::{Store, StoreError};

/// One event of a new stream for [`Store::append_streams`].
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

/// Inserts the rows of `$columns` in `$tx`, the event id bound by `$id`.
macro_rules! append_columns {
    ($tx:ident, $columns:expr, |$event:ident| $id:expr) => {{
        let columns: &[Columns<'_>] = $columns;
        let heads: Vec<&Columns<'_>> = columns
            .iter()
            .enumerate()
            .filter(|(at, c)| {
                columns.get(at + 1).is_none_or(|next| next.event.envelope.subject != c.event.envelope.subject)
            })
            .map(|(_, c)| c)
            .collect();
        insert_rows!(
            $tx,
            "INSERT INTO streams (project_code, region_code, last_seq, head_hash)",
            "",
            4,
            &heads,
            |query, c| {
                query
                    .bind(&c.event.envelope.subject)
                    .bind(c.event.region_code)
                    .bind(c.event.envelope.project_seq as i64)
                    .bind(&c.hash)
            }
        );
        let mut positions: Vec<i64> = Vec::with_capacity(columns.len());
        for part in columns.chunks(crate::sql::MAX_PARAMS / 13) {
            let sql = format!(
                "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id, \
                 request_digest, occurred_at, recorded_at, prev_hash, hash, envelope) VALUES {} RETURNING position",
                crate::sql::placeholders(&*$tx, part.len(), 13)
            );
            let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
            for $event in part {
                let envelope = $event.event.envelope;
                query = query
                    .bind($id)
                    .bind(&envelope.subject)
                    .bind(envelope.project_seq as i64)
                    .bind(&envelope.r#type)
                    .bind(&$event.domain)
                    .bind(&envelope.source)
                    .bind(&envelope.request_id)
                    .bind(&$event.event.request_digest[..])
                    .bind($event.occurred_at)
                    .bind($event.recorded_at)
                    .bind(&$event.prev_hash)
                    .bind(&$event.hash)
                    .bind(&$event.envelope);
            }
            let returned = query.fetch_all(&mut *$tx).await?;
            // Positions are assigned in VALUES order: ascending, like the rows.
            let mut returned: Vec<i64> = returned.into_iter().map(|(position,)| position).collect();
            returned.sort_unstable();
            positions.extend(returned);
        }
        let outbox: Vec<(i64, &str)> = positions.iter().zip(columns).map(|(p, c)| (*p, c.event.topic)).collect();
        insert_rows!($tx, "INSERT INTO outbox (position, topic)", "", 2, &outbox, |query, row| query
            .bind(row.0)
            .bind(row.1));
        let flags: Vec<(&Columns<'_>, &gongkai_proto::v1::ComplianceFlag)> =
            columns.iter().flat_map(|c| c.event.envelope.flags.iter().map(move |flag| (c, flag))).collect();
        insert_rows!(
            $tx,
            "INSERT INTO compliance_flags (event_id, project_code, rule, flag, raised_at)",
            "",
            5,
            &flags,
            |query, row| {
                let $event = row.0;
                query
                    .bind($id)
                    .bind(&$event.event.envelope.subject)
                    .bind(&row.1.rule)
                    .bind(row.1.encode_to_vec())
                    .bind($event.recorded_at)
            }
        );
    }};
}

impl Store {
    /// Appends new streams whole, in one transaction; see the module docs.
    /// `events` holds each stream's events in seq order, one stream after
    /// the other.
    pub async fn append_streams(&self, events: &[StreamEvent<'_>]) -> Result<(), StoreError> {
        let columns = columns(events)?;
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                append_columns!(tx, &columns, |c| c.event_id);
                tx.commit().await?;
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                append_columns!(tx, &columns, |c| c.event_id.hyphenated().to_string());
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
