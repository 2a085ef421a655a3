//! Reading the log: one interface over Kafka and over the event store.
//!
//! A [`LogReader`] follows the log. [`LogReader::next_batch`] waits until
//! something arrives and hands over what is there, up to a bound;
//! [`LogReader::commit`], called once the caller has durably folded that
//! batch, moves the reader past it. What was read but not committed is read
//! again after a restart (on Kafka, by whichever group member owns the
//! partition next): delivery is at least once, so a reader's caller must be
//! idempotent (the projector is, by `(project, seq)`).
//!
//! A [`LogReplay`] reads the whole log from its beginning up to where it
//! ends when the replay opens, in batches of the same [`Batch`] type, and
//! knows in advance about how much that is ([`LogReplay::total`]): the
//! projector's rebuild. It commits nothing: the live reader's position is
//! left alone.
//!
//! Where the events come from is a [`LogSource`]:
//!
//! - **The event store** (`embedded`): the reader follows positions after
//!   the highest one the views hold (on SQLite positions become visible in
//!   commit order, so the cursor never skips), woken by appends in the same
//!   process or a poll; trace contexts come from the outbox rows. The replay
//!   reads in `(project, seq)` order, whole projects per batch.
//! - **Kafka**: the reader is a member of a consumer group over the domain
//!   topics (created first if missing); offsets are stored on commit and
//!   committed by librdkafka on a timer, on revocation and at close. The
//!   replay assigns every partition from its beginning up to the watermarks.
//!   A record that is not an event envelope is skipped loudly: a poison
//!   record never stops a reader.

mod kafka;
mod store;

use std::sync::Arc;
use std::time::Duration;

use gongkai_proto::v1::EventEnvelope;
use gongkai_store::EventLog;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use self::kafka::{KafkaReader, KafkaReplay};
pub use self::store::{StoreReader, StoreReplay};
use crate::{BusError, KafkaConfig};

/// Events read from the log, in the order read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The events; records that hold none are not among them.
    pub events: Vec<EventEnvelope>,
    /// The W3C trace contexts of the submissions that appended the events,
    /// where known (the relay's `traceparent` headers on Kafka; the outbox
    /// rows, read only while telemetry is exported, from the store). Always
    /// empty in a replay.
    pub traceparents: Vec<String>,
}

/// Where a reader reads the log, and how.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// The event store itself, the `embedded` log.
    Store {
        /// How long to wait when there is nothing new.
        poll: Duration,
        /// Woken by the ingestion services in the same process after each
        /// append, so an event is read at once rather than at the next poll.
        appended: Option<Arc<Notify>>,
    },
    /// The domain topics of an Apache Kafka cluster.
    Kafka(KafkaSource),
}

/// A consumer group over the domain topics of a Kafka cluster.
#[derive(Debug, Clone)]
pub struct KafkaSource {
    /// The cluster.
    pub kafka: KafkaConfig,
    /// Consumer group; readers of one group split the partitions.
    pub group_id: String,
    /// Prefix of the topic names (empty in production; tests isolate with it).
    pub topic_prefix: String,
    /// Partitions of each topic if the reader is the first to create it.
    pub partitions: i32,
}

impl KafkaSource {
    /// The topic names this source reads.
    pub fn topics(&self) -> Vec<String> {
        crate::topics(&self.topic_prefix)
    }
}

/// Follows the log: next batch, commit. See the [module docs](self).
#[derive(Debug)]
pub enum LogReader {
    /// The event store read in position order.
    Store(StoreReader),
    /// A member of a Kafka consumer group.
    Kafka(KafkaReader),
}

impl LogReader {
    /// A reader of `source` where folding stopped: after position `from` of
    /// the event store `log` (the last the views hold), or on Kafka where the
    /// group's committed offsets say (`from` is not used). On Kafka the domain
    /// topics are created first when missing, retrying until that succeeds;
    /// `None` when `shutdown` comes first.
    pub async fn open(
        source: &LogSource,
        log: &EventLog,
        from: u64,
        shutdown: &CancellationToken,
    ) -> Result<Option<Self>, BusError> {
        Ok(match source {
            LogSource::Store { poll, appended } => {
                Some(LogReader::Store(StoreReader::open(log, from, *poll, appended.clone())))
            }
            LogSource::Kafka(kafka) => KafkaReader::open(kafka, shutdown).await?.map(LogReader::Kafka),
        })
    }

    /// Waits until the log holds something past the last batch and returns
    /// what it holds, up to a bound (500 events from the store, 1,000 records
    /// from Kafka; a Kafka batch whose records were all undecodable is
    /// empty, and still to be committed). `None` on `shutdown`.
    pub async fn next_batch(&mut self, shutdown: &CancellationToken) -> Result<Option<Batch>, BusError> {
        match self {
            LogReader::Store(reader) => reader.next_batch(shutdown).await,
            LogReader::Kafka(reader) => reader.next_batch(shutdown).await,
        }
    }

    /// Whether the reader has its share of the log, as it changes: at once
    /// on the event store; on Kafka once the group has assigned this member
    /// partitions (heard while [`Self::next_batch`] waits), which takes a
    /// moment after it joins and is never the case for a member the group
    /// has no partition for. Facts appended before then are read late, not
    /// lost: this is what tells a readiness probe the reader is live.
    pub fn live(&self) -> tokio::sync::watch::Receiver<bool> {
        match self {
            LogReader::Store(_) => tokio::sync::watch::channel(true).1,
            LogReader::Kafka(reader) => reader.assigned(),
        }
    }

    /// Moves past the last batch: call it once that batch's effects are
    /// durable. Without it the batch is read again after a restart.
    pub fn commit(&mut self) -> Result<(), BusError> {
        match self {
            LogReader::Store(reader) => {
                reader.commit();
                Ok(())
            }
            LogReader::Kafka(reader) => reader.commit(),
        }
    }

    /// Stops reading: the drain at shutdown. On Kafka, the offsets
    /// committed here since the last timer commit reach the group before
    /// the reader leaves it.
    pub fn close(self) {
        match self {
            LogReader::Store(_) => {}
            LogReader::Kafka(reader) => reader.close(),
        }
    }
}

/// Reads the whole log once, for a rebuild. See the [module docs](self).
#[derive(Debug)]
pub enum LogReplay {
    /// The event store in `(project, seq)` order.
    Store(StoreReplay),
    /// Every partition of the domain topics from its beginning.
    Kafka(KafkaReplay),
}

impl LogReplay {
    /// A replay of `source` from its beginning up to where it ends now.
    pub async fn open(source: &LogSource, log: &EventLog) -> Result<Self, BusError> {
        Ok(match source {
            LogSource::Store { .. } => LogReplay::Store(StoreReplay::open(log, store::REPLAY_BATCH).await?),
            LogSource::Kafka(kafka) => LogReplay::Kafka(KafkaReplay::open(kafka)?),
        })
    }

    /// About how many events the replay reads: the highest store position
    /// (positions may have gaps), or the records between the watermarks of
    /// the Kafka partitions (records that hold no event included).
    pub fn total(&self) -> u64 {
        match self {
            LogReplay::Store(replay) => replay.total(),
            LogReplay::Kafka(replay) => replay.total(),
        }
    }

    /// The next events of the log, up to 20,000; `None` once the end the
    /// replay opened with is reached. From the store a batch holds whole
    /// projects, unless one project alone fills it.
    pub async fn next_batch(&mut self) -> Result<Option<Batch>, BusError> {
        match self {
            LogReplay::Store(replay) => replay.next_batch().await,
            LogReplay::Kafka(replay) => replay.next_batch().await,
        }
    }
}
