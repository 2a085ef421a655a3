//! The one rewrite of recorded events: moving each project's hash chain to
//! the current scheme (`gongkai_domain::rechain`, `gongkai chains migrate`).
//!
//! Events are immutable, and triggers refuse any UPDATE or DELETE of them,
//! except in [`ChainMigration::rewrite_chain`]: it lifts the trigger inside
//! its own transaction only (`crate::dialect`), and in that transaction
//!
//! 1. moves the `streams` head from the old head to the new one, by
//!    compare-and-set on the old head and the event count: a writer that
//!    appended since the chain was read makes it fail, so nothing it wrote
//!    is overwritten;
//! 2. records the project in `migrated_chains` (old head, new head, event
//!    count, when), once: a project already recorded is refused;
//! 3. rewrites each event's `envelope`, `prev_hash` and `hash` by event id,
//!    project and seq, every one of the project's events or none; positions,
//!    seqs, ids and every other column stay.
//!
//! Any refusal rolls all of it back. The outbox is left alone: what the
//! relay published before holds the old envelopes (see docs/domain.md,
//! "Moving chains to the current scheme", and [`Outbox::republish_all`]).
//!
//! [`Outbox::republish_all`]: crate::Outbox::republish_all

use chrono::{DateTime, Utc};
use gongkai_proto::v1::EventEnvelope;
use prost::Message;

use crate::db::{dispatch, in_transaction, to_i64, to_u64};
use crate::query;
use crate::{ChainMigration, StoreError};

/// One project's whole chain, rewritten, for [`ChainMigration::rewrite_chain`].
#[derive(Debug, Clone, Copy)]
pub struct ChainRewrite<'a> {
    /// The project.
    pub project_code: &'a str,
    /// Its head hash when its events were read: the stored head must still be it.
    pub old_head: [u8; 32],
    /// Every event of the project, in project_seq order from 1, as it is to
    /// be stored (`position` is not written).
    pub events: &'a [EventEnvelope],
}

/// A project whose chain was rewritten, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratedChain {
    /// The project.
    pub project_code: String,
    /// Its head before the rewrite.
    pub old_head: [u8; 32],
    /// Its head after.
    pub new_head: [u8; 32],
    /// How many events were rewritten (all of the project's at the time).
    pub event_count: u64,
    /// When.
    pub migrated_at: DateTime<Utc>,
}

/// One event's new columns, checked.
struct Rewritten {
    event_id: uuid::Uuid,
    project_seq: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    envelope: Vec<u8>,
}

fn invalid(project_code: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::InvalidEvent(format!("chain of {project_code}: {reason}"))
}

fn hash_bytes(project_code: &str, seq: u64, field: &str, text: &str) -> Result<Vec<u8>, StoreError> {
    hex::decode(text)
        .ok()
        .filter(|bytes| bytes.len() == 32 && hex::encode(bytes) == text)
        .ok_or_else(|| invalid(project_code, format!("{field} of seq {seq} is not 64 lowercase hex characters")))
}

/// Checks that `rewrite.events` is the project's whole chain, gapless and
/// linked, and converts each event to its columns.
fn columns(rewrite: &ChainRewrite<'_>) -> Result<Vec<Rewritten>, StoreError> {
    let code = rewrite.project_code;
    if rewrite.events.is_empty() {
        return Err(invalid(code, "no events"));
    }
    let mut rows: Vec<Rewritten> = Vec::with_capacity(rewrite.events.len());
    for (event, seq) in rewrite.events.iter().zip(1_u64..) {
        if event.subject != code {
            return Err(invalid(code, format!("seq {seq} belongs to {}", event.subject)));
        }
        if event.project_seq != seq {
            return Err(invalid(code, format!("seq {} is not {seq}", event.project_seq)));
        }
        let event_id = uuid::Uuid::parse_str(&event.event_id)
            .ok()
            .filter(|id| id.hyphenated().to_string() == event.event_id)
            .ok_or_else(|| invalid(code, format!("event_id of seq {seq} is not a canonical UUID")))?;
        let prev_hash = match rows.last() {
            None if event.prev_hash.is_empty() => Vec::new(),
            None => return Err(invalid(code, "prev_hash of seq 1 is not empty")),
            Some(previous) => {
                let prev_hash = hash_bytes(code, seq, "prev_hash", &event.prev_hash)?;
                if prev_hash != previous.hash {
                    return Err(invalid(code, format!("seq {seq} is not chained to seq {}", seq - 1)));
                }
                prev_hash
            }
        };
        rows.push(Rewritten {
            event_id,
            project_seq: to_i64(seq)?,
            prev_hash,
            hash: hash_bytes(code, seq, "hash", &event.hash)?,
            // The column is the truth for the position: stored without it.
            envelope: EventEnvelope { position: 0, ..event.clone() }.encode_to_vec(),
        });
    }
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct MigratedRow {
    project_code: String,
    old_head: Vec<u8>,
    new_head: Vec<u8>,
    event_count: i64,
    migrated_at: DateTime<Utc>,
}

fn head(project_code: &str, bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt(format!("a migrated head of {project_code} is not 32 bytes")))
}

impl ChainMigration {
    /// Up to `limit` project codes after `after` (from the first when
    /// `None`), in code order: every project with a stream, page by page.
    pub async fn project_codes(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, StoreError> {
        let query = "SELECT project_code FROM streams WHERE project_code > $1 ORDER BY project_code LIMIT $2";
        let after = after.unwrap_or_default();
        Ok(dispatch!(&self.db, |pool| sqlx::query_scalar(query)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?))
    }

    /// The project's events, ordered by `project_seq`, with `position`
    /// filled in; empty for an unknown project.
    pub async fn load_stream(&self, project_code: &str) -> Result<Vec<EventEnvelope>, StoreError> {
        crate::events::load_stream(&self.db, project_code).await
    }

    /// Rewrites one project's chain and records it, in one transaction (see
    /// the module docs).
    ///
    /// Fails with [`StoreError::InvalidEvent`] before touching the database
    /// when `rewrite.events` is not a whole, linked chain of the project,
    /// and with [`StoreError::RewriteRefused`], writing nothing, when the
    /// stored head is not `old_head` at `events.len()` events (a writer
    /// appended since), when a stored event is not among those given, or
    /// when the project was rewritten before.
    pub async fn rewrite_chain(&self, rewrite: &ChainRewrite<'_>) -> Result<(), StoreError> {
        let rows = columns(rewrite)?;
        let code = rewrite.project_code;
        let refused = |reason| StoreError::RewriteRefused { project_code: code.to_owned(), reason };
        let count = to_i64(rows.len() as u64)?;
        let new_head = rows.last().map(|last| last.hash.clone()).unwrap_or_default();
        in_transaction!(&self.db, |tx, dialect| {
            // First, so that writers in flight finish before the head is read.
            let suspended = dialect::suspend_immutability(&mut tx).await?;
            let moved = sqlx::query(
                "UPDATE streams SET head_hash = $1 WHERE project_code = $2 AND last_seq = $3 AND head_hash = $4",
            )
            .bind(new_head.as_slice())
            .bind(code)
            .bind(count)
            .bind(rewrite.old_head.as_slice())
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(refused("its stream is no longer at the head it was read at"));
            }
            let recorded = sqlx::query(
                "INSERT INTO migrated_chains (project_code, old_head, new_head, event_count, migrated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_code) DO NOTHING",
            )
            .bind(code)
            .bind(rewrite.old_head.as_slice())
            .bind(new_head.as_slice())
            .bind(count)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;
            if recorded.rows_affected() != 1 {
                return Err(refused("it was rewritten before"));
            }
            let ids: Vec<_> = rows.iter().map(|row| dialect::event_id(row.event_id)).collect();
            let values: Vec<(&Rewritten, _)> = rows.iter().zip(ids).collect();
            let mut rewritten = 0;
            for statement in query::insert(
                "WITH rewritten (event_id, project_code, project_seq, prev_hash, hash, envelope) AS (",
                ") UPDATE events SET prev_hash = rewritten.prev_hash, hash = rewritten.hash, \
                 envelope = rewritten.envelope FROM rewritten WHERE events.event_id = rewritten.event_id \
                 AND events.project_code = rewritten.project_code AND events.project_seq = rewritten.project_seq",
                &values,
                |(row, id)| {
                    [
                        id.into(),
                        code.into(),
                        row.project_seq.into(),
                        (&row.prev_hash).into(),
                        (&row.hash).into(),
                        (&row.envelope).into(),
                    ]
                },
            ) {
                rewritten += statement.execute(&mut *tx).await?.rows_affected();
            }
            if rewritten != rows.len() as u64 {
                return Err(refused("its stored events are not the ones given"));
            }
            dialect::restore_immutability(&mut tx, suspended).await?;
        });
        Ok(())
    }

    /// Every project whose chain was rewritten, in code order.
    pub async fn migrated_chains(&self) -> Result<Vec<MigratedChain>, StoreError> {
        let query = "SELECT project_code, old_head, new_head, event_count, migrated_at FROM migrated_chains \
                     ORDER BY project_code";
        let rows: Vec<MigratedRow> = dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?);
        rows.into_iter()
            .map(|row| {
                Ok(MigratedChain {
                    old_head: head(&row.project_code, row.old_head)?,
                    new_head: head(&row.project_code, row.new_head)?,
                    event_count: to_u64(row.event_count)?,
                    migrated_at: row.migrated_at,
                    project_code: row.project_code,
                })
            })
            .collect()
    }
}
