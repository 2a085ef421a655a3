//! The Kafka log: a consumer group over the domain topics, and a replay of
//! every partition from its beginning.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::FutureExt as _;
use gongkai_proto::v1::EventEnvelope;
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientContext, Message as _, Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Batch, KafkaSource};
use crate::BusError;

/// Records a [`KafkaReader`] batch holds at most.
const BATCH: usize = 1000;

/// Events a [`KafkaReplay`] batch holds at most.
const REPLAY_BATCH: usize = 20_000;

/// A topic's partition.
type Partition = (String, i32);

/// Hears the group's rebalances: whether this member holds partitions.
struct GroupMember {
    assigned: watch::Sender<bool>,
}

impl ClientContext for GroupMember {}

impl ConsumerContext for GroupMember {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        // With the cooperative protocol a rebalance names only what moved;
        // the assignment is the whole of what this member reads now.
        let holds = consumer.assignment().map(|assignment| assignment.count() > 0).unwrap_or(false);
        self.assigned.send_replace(holds);
    }
}

/// A member of a consumer group over the domain topics.
pub struct KafkaReader {
    consumer: StreamConsumer<GroupMember>,
    /// Whether the group has given this member partitions.
    assigned: watch::Receiver<bool>,
    /// The last offset of each partition in the last batch, stored by
    /// [`Self::commit`].
    read: BTreeMap<Partition, i64>,
}

impl std::fmt::Debug for KafkaReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaReader").field("read", &self.read).finish_non_exhaustive()
    }
}

impl KafkaReader {
    /// Joins `source`'s group once the topics exist; `None` on shutdown
    /// before that.
    pub(super) async fn open(source: &KafkaSource, shutdown: &CancellationToken) -> Result<Option<Self>, BusError> {
        // Subscribing to a topic that does not exist yet would leave the
        // consumer idle until its next metadata refresh; whoever starts
        // first creates them.
        let topics = source.topics();
        let retry = std::iter::repeat(Duration::from_secs(1));
        if !crate::kafka::ensure_topics_until(&source.kafka, &topics, source.partitions, -1, retry, shutdown).await? {
            return Ok(None);
        }
        let (assigned, assigned_rx) = watch::channel(false);
        let consumer: StreamConsumer<GroupMember> = source
            .kafka
            .client_config()
            .set("group.id", &source.group_id)
            .set("client.id", "gongkai-projector")
            .set("auto.offset.reset", "earliest")
            // Offsets are stored by hand once the reader's caller has folded
            // them ([`Self::commit`]); the timer then commits only those.
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("session.timeout.ms", "10000")
            .set("partition.assignment.strategy", "cooperative-sticky")
            // How long the broker holds a fetch that finds nothing new. Data
            // arriving should end the wait at once, but the first fetches
            // after an assignment were measured waiting it out (500 ms by
            // default: the ack → public tail of a fresh start). An idle
            // member now asks 20 times a second, which costs the broker
            // next to nothing.
            .set("fetch.wait.max.ms", "50")
            .create_with_context(GroupMember { assigned })?;
        consumer.subscribe(&topics.iter().map(String::as_str).collect::<Vec<_>>())?;
        tracing::info!(group = %source.group_id, "Projector consuming the domain topics.");
        Ok(Some(Self { consumer, assigned: assigned_rx, read: BTreeMap::new() }))
    }

    /// Whether the group has given this member partitions, as it changes
    /// (rebalances are heard while [`Self::next_batch`] waits).
    pub(super) fn assigned(&self) -> watch::Receiver<bool> {
        self.assigned.clone()
    }

    pub(super) async fn next_batch(&mut self, shutdown: &CancellationToken) -> Result<Option<Batch>, BusError> {
        let first = loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return Ok(None),
                received = self.consumer.recv() => received,
            };
            match received {
                Ok(message) => break message,
                Err(error) => {
                    tracing::warn!(%error, "Kafka consumer error; retrying.");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        // Whatever else the consumer already holds joins the batch: under
        // load one batch holds many records, when idle it is one record and
        // nothing waits for company.
        let mut batch = Batch::default();
        take(&first, &mut batch, &mut self.read);
        for _ in 1..BATCH {
            match self.consumer.recv().now_or_never() {
                Some(Ok(message)) => take(&message, &mut batch, &mut self.read),
                Some(Err(error)) => {
                    tracing::warn!(%error, "Kafka consumer error; handing over what arrived.");
                    break;
                }
                None => break,
            }
        }
        Ok(Some(batch))
    }

    /// Stores the offsets of the last batch: the next timer commit, a
    /// revocation or [`Self::close`] commits them to the group.
    pub(super) fn commit(&mut self) -> Result<(), BusError> {
        for ((topic, partition), offset) in std::mem::take(&mut self.read) {
            self.consumer.store_offset(&topic, partition, offset)?;
        }
        Ok(())
    }

    /// Commits the stored offsets before leaving: what was folded is not
    /// read again by the group.
    pub(super) fn close(self) {
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored since the last commit is not a failure.
            tracing::debug!(%error, "Final offset commit.");
        }
    }
}

/// Adds `message` to `batch` (its event and trace context, if it holds an
/// event) and its offset to `read`.
fn take(message: &BorrowedMessage<'_>, batch: &mut Batch, read: &mut BTreeMap<Partition, i64>) {
    if let Some(event) = decode(message) {
        batch.traceparents.extend(crate::kafka::traceparent(message).map(str::to_owned));
        batch.events.push(event);
    }
    read.insert((message.topic().to_owned(), message.partition()), message.offset());
}

/// The event `message` holds. A value that is not an envelope can never be
/// projected: it is skipped, loudly, which keeps its partition moving.
fn decode(message: &BorrowedMessage<'_>) -> Option<EventEnvelope> {
    match message.payload().map(EventEnvelope::decode) {
        Some(Ok(event)) => Some(event),
        Some(Err(error)) => {
            tracing::error!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                %error,
                "Undecodable event skipped."
            );
            None
        }
        None => {
            tracing::error!(topic = message.topic(), offset = message.offset(), "Empty message skipped.");
            None
        }
    }
}

/// Every partition of the domain topics, read from its beginning up to its
/// high watermark when the replay opened.
pub struct KafkaReplay {
    consumer: StreamConsumer,
    /// The (low, high) watermark of each partition not yet read to its end.
    remaining: BTreeMap<Partition, (i64, i64)>,
    total: u64,
}

impl std::fmt::Debug for KafkaReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaReplay").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

impl KafkaReplay {
    /// A consumer assigned every non-empty partition of `source`'s topics
    /// from the beginning.
    pub(super) fn open(source: &KafkaSource) -> Result<Self, BusError> {
        let consumer: StreamConsumer = source
            .kafka
            .client_config()
            // A throwaway group: a replay commits nothing.
            .set("group.id", format!("{}-rebuild", source.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .create()?;
        let timeout = Duration::from_secs(30);
        let mut assignment = TopicPartitionList::new();
        let mut remaining = BTreeMap::new();
        for topic in source.topics() {
            let metadata = consumer.fetch_metadata(Some(&topic), timeout)?;
            for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
                let (low, high) = consumer.fetch_watermarks(&topic, partition.id(), timeout)?;
                if high > low {
                    assignment.add_partition_offset(&topic, partition.id(), Offset::Beginning)?;
                    remaining.insert((topic.clone(), partition.id()), (low, high));
                }
            }
        }
        consumer.assign(&assignment)?;
        let total = remaining.values().map(|(low, high)| (high - low).max(0) as u64).sum();
        Ok(Self { consumer, remaining, total })
    }

    pub(super) fn total(&self) -> u64 {
        self.total
    }

    pub(super) async fn next_batch(&mut self) -> Result<Option<Batch>, BusError> {
        if self.remaining.is_empty() {
            return Ok(None);
        }
        let mut batch = Batch::default();
        while !self.remaining.is_empty() && batch.events.len() < REPLAY_BATCH {
            let message = self.consumer.recv().await?;
            batch.events.extend(decode(&message));
            let partition = (message.topic().to_owned(), message.partition());
            if self.remaining.get(&partition).is_some_and(|(_, end)| message.offset() + 1 >= *end) {
                self.remaining.remove(&partition);
            }
        }
        Ok(Some(batch))
    }
}
