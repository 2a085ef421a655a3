//! The transparency log's tables (`tlog_leaves`, `tlog_hashes`,
//! `tlog_checkpoints`, `tlog_witnesses`): the log appends one leaf per event
//! in the commit-safe order of the change feed (see `supervision::feed`),
//! with the tree hashes that leaf completes, records every checkpoint it
//! signs (and adds its witnesses' cosignatures to it), and keeps the size
//! each witness holds.
//! The Merkle arithmetic is the caller's (`gongkai-tlog`); this module only
//! keeps what it computed, and refuses what would contradict it: a leaf
//! index or a checkpoint size taken twice. The site reads the log to serve
//! it, and supervisors read it for proofs (an event's leaf, the stored
//! hashes, the checkpoints).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gongkai_proto::v1::EventEnvelope;

use crate::db::{Db, dispatch, in_transaction, to_i64};
use crate::events::decode_envelope;
use crate::query;
use crate::supervision::FeedCursor;
use crate::{PublicReader, StoreError, SupervisionReader, TransparencyLog};

/// A 32-byte hash.
pub type Hash32 = [u8; 32];

/// A leaf the log appends: the event it stands for and its chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLeaf {
    /// The event's store position.
    pub position: u64,
    /// The change-feed cursor just after the event.
    pub cursor: FeedCursor,
    /// The event's project.
    pub project_code: String,
    /// The event's seq in its project.
    pub project_seq: u64,
    /// The event's chain hash: the leaf's data.
    pub event_hash: Hash32,
}

/// A leaf as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeafRow {
    /// Its index in the tree.
    pub leaf_index: i64,
    /// The event's project.
    pub project_code: String,
    /// The event's seq in its project.
    pub project_seq: i64,
    /// The event's chain hash.
    pub event_hash: Vec<u8>,
}

/// A signed checkpoint as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size it signs.
    pub tree_size: u64,
    /// The root of that tree.
    pub root_hash: Hash32,
    /// The signed note.
    pub note: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    tree_size: i64,
    root_hash: Vec<u8>,
    note: String,
    signed_at: DateTime<Utc>,
}

impl CheckpointRow {
    fn decode(self) -> Result<StoredCheckpoint, StoreError> {
        Ok(StoredCheckpoint {
            tree_size: u64::try_from(self.tree_size).map_err(|_| corrupt("a negative tree size"))?,
            root_hash: hash32(&self.root_hash)?,
            note: self.note,
            signed_at: self.signed_at,
        })
    }
}

/// Where the log holds a record: its leaf, and the first checkpoint signed
/// over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRecord {
    /// The record's leaf index.
    pub leaf_index: u64,
    /// The smallest checkpoint whose tree holds the leaf; `None` while the
    /// leaf waits for one. Checkpoints are recorded once per size and never
    /// removed, so once found it is the same on every later read.
    pub checkpoint: Option<StoredCheckpoint>,
}

#[derive(sqlx::FromRow)]
struct LoggedRecordRow {
    leaf_index: i64,
    tree_size: Option<i64>,
    root_hash: Option<Vec<u8>>,
    note: Option<String>,
    signed_at: Option<DateTime<Utc>>,
}

impl LoggedRecordRow {
    fn decode(self) -> Result<LoggedRecord, StoreError> {
        let leaf_index = u64::try_from(self.leaf_index).map_err(|_| corrupt("a negative leaf index"))?;
        let checkpoint = match (self.tree_size, self.root_hash, self.note, self.signed_at) {
            (Some(tree_size), Some(root_hash), Some(note), Some(signed_at)) => {
                Some(CheckpointRow { tree_size, root_hash, note, signed_at }.decode()?)
            }
            _ => None,
        };
        Ok(LoggedRecord { leaf_index, checkpoint })
    }
}

/// Which event: by its id, or by its project and seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKey<'a> {
    /// The event's id.
    Id(uuid::Uuid),
    /// The event `project_seq` of `project_code`.
    Seq {
        /// The project.
        project_code: &'a str,
        /// The event's seq in it.
        project_seq: u64,
    },
}

/// An event and where the transparency log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// The event, with its position.
    pub event: EventEnvelope,
    /// Its leaf, once the log appended it: the leaf index and the chain hash
    /// recorded as the leaf's data.
    pub leaf: Option<(u64, Hash32)>,
}

#[derive(sqlx::FromRow)]
struct LoggedEventRow {
    position: i64,
    envelope: Vec<u8>,
    leaf_index: Option<i64>,
    event_hash: Option<Vec<u8>>,
}

impl LoggedEventRow {
    fn decode(self) -> Result<LoggedEvent, StoreError> {
        let event = decode_envelope(self.position, &self.envelope)?;
        let leaf = match (self.leaf_index, self.event_hash) {
            (Some(index), Some(hash)) => {
                Some((u64::try_from(index).map_err(|_| corrupt("a negative leaf index"))?, hash32(&hash)?))
            }
            _ => None,
        };
        Ok(LoggedEvent { event, leaf })
    }
}

/// What the log has appended so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogHead {
    /// Leaves appended.
    pub size: u64,
    /// The change-feed cursor after the last leaf.
    pub cursor: FeedCursor,
}

const LATEST_CHECKPOINT: &str =
    "SELECT tree_size, root_hash, note, signed_at FROM tlog_checkpoints ORDER BY tree_size DESC LIMIT 1";

impl TransparencyLog {
    /// How many leaves the log holds and the feed cursor after the last one.
    pub async fn head(&self) -> Result<LogHead, StoreError> {
        let query = "SELECT leaf_index, transaction_id, event_position FROM tlog_leaves \
                     ORDER BY leaf_index DESC LIMIT 1";
        let row: Option<(i64, i64, i64)> =
            dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_optional(pool).await?);
        Ok(row.map_or_else(LogHead::default, |(index, transaction_id, position)| LogHead {
            size: u64::try_from(index).unwrap_or(0) + 1,
            cursor: FeedCursor { transaction_id, position },
        }))
    }

    /// Up to `limit` events after `cursor`, in the change feed's commit-safe
    /// order, each with the cursor just after it.
    pub async fn events_after(
        &self,
        cursor: FeedCursor,
        limit: u32,
    ) -> Result<Vec<(EventEnvelope, FeedCursor)>, StoreError> {
        let limit = i64::from(limit);
        let rows = dispatch!(&self.db, |pool, dialect| dialect::feed_after(pool, cursor, limit).await?);
        rows.into_iter()
            .map(|row| {
                let cursor = FeedCursor { transaction_id: row.transaction_id, position: row.position };
                Ok((decode_envelope(row.position, &row.envelope)?, cursor))
            })
            .collect()
    }

    /// The stored hashes at `indexes` (those present).
    pub async fn stored_hashes(&self, indexes: &[u64]) -> Result<BTreeMap<u64, Hash32>, StoreError> {
        stored_hashes(&self.db, indexes).await
    }

    /// Appends `leaves` at indexes `first_index..` with the tree hashes they
    /// complete, in one transaction. Refused (nothing written) when another
    /// writer took one of those indexes or appended one of those events.
    pub async fn append(
        &self,
        first_index: u64,
        leaves: &[NewLeaf],
        hashes: &[(u64, Hash32)],
    ) -> Result<(), StoreError> {
        let first = to_i64(first_index)?;
        let leaves = leaves
            .iter()
            .enumerate()
            .map(|(offset, leaf)| {
                let index = first.checked_add(offset as i64).ok_or_else(|| corrupt("a leaf index past i64"))?;
                Ok((index, to_i64(leaf.position)?, leaf, to_i64(leaf.project_seq)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let hashes =
            hashes.iter().map(|(index, hash)| Ok((to_i64(*index)?, hash))).collect::<Result<Vec<_>, StoreError>>()?;
        // Multi-row statements: a round trip per row would cost ingestion
        // more than the log is worth.
        let leaf_rows = query::insert(
            "INSERT INTO tlog_leaves (leaf_index, event_position, transaction_id, project_code, project_seq, event_hash)",
            "",
            &leaves,
            |(index, position, leaf, seq)| {
                [
                    (*index).into(),
                    (*position).into(),
                    leaf.cursor.transaction_id.into(),
                    leaf.project_code.as_str().into(),
                    (*seq).into(),
                    leaf.event_hash.as_slice().into(),
                ]
            },
        );
        let hash_rows = query::insert("INSERT INTO tlog_hashes (stored_index, hash)", "", &hashes, |(index, hash)| {
            [(*index).into(), hash.as_slice().into()]
        });
        in_transaction!(&self.db, |tx| {
            for statement in leaf_rows.iter().chain(&hash_rows) {
                statement.execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Empties the log (leaves, tree hashes, checkpoints) in one
    /// transaction: only for the one-time move of chains to the current
    /// hash scheme, whose old hashes the leaves were. Whether it held any.
    pub async fn clear_for_chain_migration(&self) -> Result<bool, StoreError> {
        let held = in_transaction!(&self.db, |tx| {
            let leaves = sqlx::query("DELETE FROM tlog_leaves").execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM tlog_hashes").execute(&mut *tx).await?;
            sqlx::query("DELETE FROM tlog_checkpoints").execute(&mut *tx).await?;
            leaves
        });
        Ok(held > 0)
    }

    /// The checkpoint signed for `tree_size`, if any.
    pub async fn checkpoint(&self, tree_size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        checkpoint(&self.db, tree_size).await
    }

    /// The largest checkpoint signed so far.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        latest_checkpoint(&self.db).await
    }

    /// Replaces the note of the checkpoint of `tree_size` and `root_hash`,
    /// if it is still `old_note`, by `new_note`: the same checkpoint with
    /// witnesses' cosignatures added. `Ok(false)`, nothing written, when the
    /// note changed meanwhile (re-read it and add to that) or no such
    /// checkpoint is recorded. The caller keeps the text; this only swaps.
    pub async fn replace_note(
        &self,
        tree_size: u64,
        root_hash: &Hash32,
        old_note: &str,
        new_note: &str,
    ) -> Result<bool, StoreError> {
        let size = to_i64(tree_size)?;
        let replaced = dispatch!(&self.db, |pool| sqlx::query(
            "UPDATE tlog_checkpoints SET note = $1 WHERE tree_size = $2 AND root_hash = $3 AND note = $4",
        )
        .bind(new_note)
        .bind(size)
        .bind(root_hash.as_slice())
        .bind(old_note)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(replaced == 1)
    }

    /// The size of the latest tree `witness` (its cosignature vkey) is
    /// known to hold; `None` before it was first asked.
    pub async fn witness_size(&self, witness: &str) -> Result<Option<u64>, StoreError> {
        let query = "SELECT tree_size FROM tlog_witnesses WHERE witness = $1";
        let size: Option<i64> =
            dispatch!(&self.db, |pool| sqlx::query_scalar(query).bind(witness).fetch_optional(pool).await?);
        size.map(|size| u64::try_from(size).map_err(|_| corrupt("a negative witness tree size"))).transpose()
    }

    /// Records that `witness` holds a tree of `tree_size` leaves: it
    /// cosigned a checkpoint of that size, or said so in a 409.
    pub async fn record_witness_size(&self, witness: &str, tree_size: u64) -> Result<(), StoreError> {
        let size = to_i64(tree_size)?;
        dispatch!(&self.db, |pool| sqlx::query(
            "INSERT INTO tlog_witnesses (witness, tree_size, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (witness) DO UPDATE SET tree_size = excluded.tree_size, updated_at = excluded.updated_at",
        )
        .bind(witness)
        .bind(size)
        .bind(Utc::now())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Records a signed checkpoint. `Ok(false)`, nothing written, when one of
    /// that size is recorded already (the caller compares the roots).
    pub async fn record_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        let size = to_i64(checkpoint.tree_size)?;
        let inserted = dispatch!(&self.db, |pool| sqlx::query(
            "INSERT INTO tlog_checkpoints (tree_size, root_hash, note, signed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tree_size) DO NOTHING",
        )
        .bind(size)
        .bind(checkpoint.root_hash.as_slice())
        .bind(&checkpoint.note)
        .bind(checkpoint.signed_at)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(inserted == 1)
    }
}

impl PublicReader {
    /// The largest checkpoint the log signed, as served.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        latest_checkpoint(&self.db).await
    }

    /// The stored tree hashes at `indexes` (those present): what tiles are
    /// made of.
    pub async fn tlog_hashes(&self, indexes: &[u64]) -> Result<BTreeMap<u64, Hash32>, StoreError> {
        stored_hashes(&self.db, indexes).await
    }

    /// The size of the largest checkpoint the log signed; `None` before the
    /// first. Cheaper than [`PublicReader::latest_checkpoint`]: no note.
    pub async fn latest_checkpoint_size(&self) -> Result<Option<u64>, StoreError> {
        let query = "SELECT MAX(tree_size) FROM tlog_checkpoints";
        let size: Option<i64> = dispatch!(&self.db, |pool| sqlx::query_scalar(query).fetch_one(pool).await?);
        size.map(|size| u64::try_from(size).map_err(|_| corrupt("a negative tree size"))).transpose()
    }

    /// Where the log holds event `project_seq` of `project_code`, in one
    /// read; `None` before it is logged.
    pub async fn logged_record(
        &self,
        project_code: &str,
        project_seq: u64,
    ) -> Result<Option<LoggedRecord>, StoreError> {
        let query = "SELECT l.leaf_index, c.tree_size, c.root_hash, c.note, c.signed_at FROM tlog_leaves l \
                     LEFT JOIN tlog_checkpoints c ON c.tree_size = \
                     (SELECT MIN(tree_size) FROM tlog_checkpoints WHERE tree_size > l.leaf_index) \
                     WHERE l.project_code = $1 AND l.project_seq = $2";
        let seq = to_i64(project_seq)?;
        let row: Option<LoggedRecordRow> =
            dispatch!(&self.db, |pool| sqlx::query_as(query).bind(project_code).bind(seq).fetch_optional(pool).await?);
        row.map(LoggedRecordRow::decode).transpose()
    }

    /// The leaves at indexes `from..to`, in order: what entry bundles hold.
    pub async fn tlog_leaves(&self, from: u64, to: u64) -> Result<Vec<LeafRow>, StoreError> {
        let query = "SELECT leaf_index, project_code, project_seq, event_hash FROM tlog_leaves \
                     WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index";
        let (from, to) = (to_i64(from)?, to_i64(to)?);
        Ok(dispatch!(&self.db, |pool| sqlx::query_as(query).bind(from).bind(to).fetch_all(pool).await?))
    }
}

/// An event with its leaf, if any; completed by a `WHERE` on the event.
macro_rules! logged_event_select {
    () => {
        "SELECT e.position, e.envelope, l.leaf_index, l.event_hash FROM events e \
         LEFT JOIN tlog_leaves l ON l.event_position = e.position"
    };
}

impl SupervisionReader {
    /// The largest checkpoint the log signed, as the site serves it.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        latest_checkpoint(&self.db).await
    }

    /// The checkpoint signed for `tree_size`, if any.
    pub async fn checkpoint(&self, tree_size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        checkpoint(&self.db, tree_size).await
    }

    /// The stored tree hashes at `indexes` (those present): what proofs
    /// are computed from.
    pub async fn tlog_hashes(&self, indexes: &[u64]) -> Result<BTreeMap<u64, Hash32>, StoreError> {
        stored_hashes(&self.db, indexes).await
    }

    /// The event `key` names, with its leaf once logged; `None` for an
    /// unknown event.
    pub async fn logged_event(&self, key: EventKey<'_>) -> Result<Option<LoggedEvent>, StoreError> {
        let row: Option<LoggedEventRow> = match key {
            EventKey::Id(id) => {
                let query = concat!(logged_event_select!(), " WHERE e.event_id = $1");
                dispatch!(&self.db, |pool, dialect| sqlx::query_as(query)
                    .bind(dialect::event_id(id))
                    .fetch_optional(pool)
                    .await?)
            }
            EventKey::Seq { project_code, project_seq } => {
                // A seq past the database's integers names no event.
                let Ok(seq) = i64::try_from(project_seq) else { return Ok(None) };
                let query = concat!(logged_event_select!(), " WHERE e.project_code = $1 AND e.project_seq = $2");
                dispatch!(&self.db, |pool| sqlx::query_as(query)
                    .bind(project_code)
                    .bind(seq)
                    .fetch_optional(pool)
                    .await?)
            }
        };
        row.map(LoggedEventRow::decode).transpose()
    }
}

async fn checkpoint(db: &Db, tree_size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
    let query = "SELECT tree_size, root_hash, note, signed_at FROM tlog_checkpoints WHERE tree_size = $1";
    let size = to_i64(tree_size)?;
    let row: Option<CheckpointRow> =
        dispatch!(db, |pool| sqlx::query_as(query).bind(size).fetch_optional(pool).await?);
    row.map(CheckpointRow::decode).transpose()
}

async fn latest_checkpoint(db: &Db) -> Result<Option<StoredCheckpoint>, StoreError> {
    let row: Option<CheckpointRow> =
        dispatch!(db, |pool| sqlx::query_as(LATEST_CHECKPOINT).fetch_optional(pool).await?);
    row.map(CheckpointRow::decode).transpose()
}

async fn stored_hashes(db: &Db, indexes: &[u64]) -> Result<BTreeMap<u64, Hash32>, StoreError> {
    let mut found = BTreeMap::new();
    let indexes = indexes.iter().map(|index| to_i64(*index)).collect::<Result<Vec<i64>, _>>()?;
    let head = "SELECT stored_index, hash FROM tlog_hashes WHERE stored_index IN (";
    for statement in crate::query::in_list(head, &indexes, ")") {
        let rows: Vec<(i64, Vec<u8>)> = dispatch!(db, |pool| statement.fetch_all(pool).await?);
        for (index, hash) in rows {
            found.insert(u64::try_from(index).map_err(|_| corrupt("a negative stored index"))?, hash32(&hash)?);
        }
    }
    Ok(found)
}

fn hash32(bytes: &[u8]) -> Result<Hash32, StoreError> {
    bytes.try_into().map_err(|_| corrupt("a tree hash that is not 32 bytes"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("the transparency log holds {what}"))
}
