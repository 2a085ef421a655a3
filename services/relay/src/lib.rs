//! The relay: publishes the transactional outbox to Apache Kafka.
//!
//! Ingestion services commit each event with an `outbox` row in one
//! transaction; the relay publishes those rows after commit, one topic per
//! domain, key = project code, value = the protobuf envelope, CloudEvents
//! headers in binary mode. It is shaped by three rules:
//!
//! * **One publisher.** Only the holder of [`RelayLeadership`] publishes (a
//!   PostgreSQL advisory lock; trivially held on SQLite); other instances
//!   stand by and take over when the leader's session ends; a leader that
//!   cannot confirm its lock before sending a batch steps down. Why its
//!   reads of the outbox (`published_at IS NULL ORDER BY position`, then on
//!   after a cursor while batches are in flight) neither skip a row that
//!   commits late nor reorder a project is argued in `gongkai_store`'s
//!   outbox module.
//! * **Mark after acknowledgement.** Batches are read and sent with an
//!   idempotent producer as a pipeline: the next batch is read and sent
//!   while earlier ones wait for Kafka (up to [`RelayConfig::max_in_flight`]
//!   rows), and rows are marked published, as ranges of positions, only once
//!   Kafka acknowledged them (`acks=all`). On a failed delivery nothing more
//!   is sent, only the rows acknowledged before the failed one are marked,
//!   the producer is rebuilt and publishing resumes at the first unmarked
//!   row. Rows never leave the outbox unpublished-and-lost; the price is
//!   possible duplicates, which consumers drop by `(project, seq)`.
//! * **A refused event parks its project, not the relay.** When Kafka
//!   refuses an event for good (larger than the topic accepts, an invalid
//!   record), the acknowledged prefix is marked and the event's project is
//!   parked in the store (see `gongkai_store`'s outbox module): its rows are
//!   held, in order, while every other project keeps flowing (a later event
//!   of the same project already in flight may reach Kafka first;
//!   consumers, keyed by `(project, seq)`, wait for the gap). The
//!   `gongkai.relay.parked` gauge counts parked streams;
//!   `gongkai relay retry CODE` releases one.
//! * **Outages are waited out.** Kafka or the database being down is not an
//!   error of [`Relay::run`]: it retries with capped exponential backoff while
//!   the backlog ([`Outbox::outbox_backlog`], the metric to watch) grows. Only
//!   a configuration librdkafka refuses ends the run with an error.
//!
//! When telemetry is exported, each event that was appended in a traced
//! submission is published in a `relay.publish` span, a child of the append
//! span whose context the outbox row kept; the message's `traceparent`
//! header names that span, so the projector's fold joins the same trace. The
//! backlog is reported as the `gongkai.relay.backlog` gauge.
//!
//! The publishing pipeline is in `pipeline`; the message and span of one
//! outbox row in `publish`.

mod pipeline;
mod publish;

use std::sync::Arc;
use std::time::Duration;

use backon::{Backoff, BackoffBuilder, ExponentialBuilder};
use gongkai_bus::kafka::{self, EventProducer, ProducerSettings, PublishError};
use gongkai_bus::{KafkaConfig, report};
use gongkai_store::{Outbox, RelayLeadership, StoreError};
use rdkafka::error::KafkaError;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::pipeline::StreamEnd;

/// Failures of the relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// librdkafka refused to build a client from the configuration.
    #[error("could not create the Kafka client")]
    KafkaClient(#[source] KafkaError),
    /// The connection that held relay leadership is gone, so another relay
    /// may lead now.
    #[error("relay leadership was lost or could not be confirmed in time")]
    LeadershipLost(#[source] Option<StoreError>),
    /// Kafka did not acknowledge a whole batch.
    #[error("publishing a batch to Kafka failed")]
    Publish(#[source] PublishError),
}

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The Kafka cluster.
    pub kafka: KafkaConfig,
    /// Put before every topic name; empty in production. Tests use a unique
    /// prefix (`test-<uuid>.`) to share one cluster without colliding.
    pub topic_prefix: String,
    /// Outbox rows read and sent per batch.
    pub batch_size: u32,
    /// Most rows sent and not yet marked published: the relay reads and
    /// sends the next batch while earlier ones are in flight, up to this.
    pub max_in_flight: u32,
    /// How often an idle leader looks for new rows (a [`Relay::waker`]
    /// poke looks at once).
    pub poll_interval: Duration,
    /// How long after a read that did not fill its batch the next read
    /// starts at the earliest, so that a busy outbox is read in batches
    /// rather than one append at a time. Adds at most this to an event's
    /// way to Kafka.
    pub read_linger: Duration,
    /// How often a standby tries to become the leader.
    pub standby_interval: Duration,
    /// First delay after a failure; it doubles per consecutive failure.
    pub backoff_initial: Duration,
    /// Cap of the delay between retries.
    pub backoff_max: Duration,
    /// Create the domain topics (and wait until that succeeds) before
    /// publishing. Off when the topics are managed outside gongkai; a
    /// broker that auto-creates topics would give them its default retention.
    pub create_topics: bool,
    /// Partitions of each created topic.
    pub partitions: i32,
    /// Replicas of each created topic; `-1` takes the broker's
    /// `default.replication.factor`.
    pub replication: i32,
    /// Producer tuning.
    pub producer: ProducerSettings,
    /// How long to wait for queued messages when stopping.
    pub flush_timeout: Duration,
    /// How long taking or confirming leadership may take before it counts
    /// as failed (taking) or lost (confirming).
    pub leadership_timeout: Duration,
}

impl RelayConfig {
    /// Defaults for `kafka`: empty prefix, batches of 2000 with up to 10,000
    /// rows in flight, 50 ms idle poll, reads at least 10 ms apart unless full, 1 s standby retry, backoff 100 ms
    /// doubling to 10 s, topics created with 3 partitions and the broker's
    /// replication factor.
    pub fn new(kafka: KafkaConfig) -> Self {
        Self {
            kafka,
            topic_prefix: String::new(),
            batch_size: 2000,
            max_in_flight: 10_000,
            poll_interval: Duration::from_millis(50),
            read_linger: Duration::from_millis(10),
            standby_interval: Duration::from_secs(1),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            create_topics: true,
            partitions: 3,
            replication: -1,
            producer: ProducerSettings::default(),
            flush_timeout: Duration::from_secs(10),
            leadership_timeout: Duration::from_secs(5),
        }
    }

    /// The five domain topics, with the prefix.
    pub fn topics(&self) -> Vec<String> {
        gongkai_bus::topics(&self.topic_prefix)
    }

    /// The delays between retries of a failing step: `backoff_initial`,
    /// doubling per consecutive failure up to `backoff_max`, without end. A
    /// success starts a fresh one.
    fn backoff(&self) -> impl Backoff + use<> {
        ExponentialBuilder::new()
            .with_min_delay(self.backoff_initial)
            .with_max_delay(self.backoff_max)
            .without_max_times()
            .build()
    }
}

/// What a relay is doing, for readiness and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayState {
    /// Not yet trying to lead.
    Starting,
    /// Another relay leads (or the store cannot be reached); retrying.
    Standby,
    /// This relay holds leadership and publishes.
    Leading,
    /// [`Relay::run`] has returned.
    Stopped,
}

/// Publishes the outbox to Kafka while it holds relay leadership.
#[derive(Debug)]
pub struct Relay {
    outbox: Outbox,
    config: RelayConfig,
    wake: Arc<Notify>,
    state: watch::Sender<RelayState>,
}

/// Sleeps for `delay` unless shutdown comes first; `false` on shutdown.
async fn pause(shutdown: &CancellationToken, delay: Duration) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

impl Relay {
    /// A relay over the `outbox` of a migrated store, with `config`.
    pub fn new(outbox: Outbox, config: RelayConfig) -> Self {
        let (state, _) = watch::channel(RelayState::Starting);
        Self { outbox, config, wake: Arc::new(Notify::new()), state }
    }

    /// Poke this after appending to publish without waiting for the next
    /// poll.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Follows what the relay is doing.
    pub fn state(&self) -> watch::Receiver<RelayState> {
        self.state.subscribe()
    }

    /// Runs until `shutdown` is cancelled: becomes the leader (standing by
    /// while another relay leads), makes sure the topics exist, then
    /// publishes batches until shutdown. On shutdown it finishes the batch
    /// in flight, flushes the producer, releases leadership and returns
    /// `Ok`. Kafka and database outages are retried, not returned.
    #[tracing::instrument(name = "relay", skip_all)]
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RelayError> {
        let backlog_stop = shutdown.child_token();
        let backlog = gongkai_telemetry::exporting()
            .then(|| tokio::spawn(report_backlog(self.outbox.clone(), backlog_stop.clone())));
        let result = self.run_until(&shutdown).await;
        backlog_stop.cancel();
        if let Some(backlog) = backlog {
            // The reporter only measures; how it ended changes nothing.
            let _ = backlog.await;
        }
        self.state.send_replace(RelayState::Stopped);
        if let Err(error) = &result {
            error!(error = %report(error), "Relay stopped.");
        } else {
            info!("Relay stopped.");
        }
        result
    }

    async fn run_until(&self, shutdown: &CancellationToken) -> Result<(), RelayError> {
        loop {
            self.state.send_replace(RelayState::Standby);
            let Some(mut leadership) = self.acquire(shutdown).await else {
                return Ok(());
            };
            self.state.send_replace(RelayState::Leading);
            info!("Relay leads; publishing the outbox.");
            let outcome = self.lead(&mut leadership, shutdown).await;
            if let Err(error) = leadership.release().await {
                warn!(error = %report(&error), "Releasing relay leadership failed; it ends with its connection.");
            }
            match outcome {
                Ok(()) => return Ok(()),
                Err(error @ RelayError::LeadershipLost(_)) => {
                    warn!(error = %report(&error), "Relay lost its leadership; standing by.");
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Tries to lead until it does (`Some`) or shutdown (`None`).
    async fn acquire(&self, shutdown: &CancellationToken) -> Option<RelayLeadership> {
        let mut backoff = self.config.backoff();
        let mut announced = false;
        loop {
            if shutdown.is_cancelled() {
                return None;
            }
            let attempt = tokio::time::timeout(self.config.leadership_timeout, self.outbox.try_lead_relay()).await;
            let paused = match attempt {
                Ok(Ok(Some(leadership))) => return Some(leadership),
                Ok(Ok(None)) => {
                    if !announced {
                        info!("Another relay leads; standing by.");
                        announced = true;
                    }
                    backoff = self.config.backoff();
                    pause(shutdown, self.config.standby_interval).await
                }
                Ok(Err(error)) => {
                    warn!(error = %report(&error), "Could not reach the event store to elect the relay leader.");
                    self.back_off(shutdown, &mut backoff).await
                }
                Err(_) => {
                    warn!(timeout = ?self.config.leadership_timeout, "The event store did not answer the relay election in time.");
                    self.back_off(shutdown, &mut backoff).await
                }
            };
            if !paused {
                return None;
            }
        }
    }

    /// Publishes while leading; `Ok` on shutdown.
    async fn lead(&self, leadership: &mut RelayLeadership, shutdown: &CancellationToken) -> Result<(), RelayError> {
        if self.config.create_topics && !self.ensure_topics(shutdown).await? {
            return Ok(());
        }
        let mut backoff = self.config.backoff();
        let mut producer: Option<EventProducer> = None;
        let result = loop {
            if shutdown.is_cancelled() {
                break Ok(());
            }
            let current = match &producer {
                Some(current) => current,
                None => match EventProducer::new(&self.config.kafka, &self.config.producer) {
                    Ok(created) => producer.insert(created),
                    Err(error) => break Err(RelayError::KafkaClient(error)),
                },
            };
            let mut progressed = false;
            let end = self.stream(current, leadership, shutdown, &mut progressed).await;
            if progressed {
                backoff = self.config.backoff();
            }
            match end {
                StreamEnd::Shutdown => break Ok(()),
                StreamEnd::LeadershipLost(error) => break Err(RelayError::LeadershipLost(error)),
                StreamEnd::Parked => {
                    producer = None;
                    backoff = self.config.backoff();
                }
                StreamEnd::DeliveryFailed => {
                    // Every delivery report is in, so nothing is in flight:
                    // a fresh producer starts a fresh idempotence session.
                    producer = None;
                    if !self.back_off(shutdown, &mut backoff).await {
                        break Ok(());
                    }
                }
                StreamEnd::ReadFailed | StreamEnd::MarkFailed => {
                    if !self.back_off(shutdown, &mut backoff).await {
                        break Ok(());
                    }
                }
            }
        };
        if let Some(producer) = producer
            && let Err(error) = producer.flush(self.config.flush_timeout).await
        {
            warn!(error = %report(&error), "Flushing the Kafka producer failed.");
        }
        result
    }

    /// Creates the domain topics, retrying with the relay's backoff until it
    /// succeeds (`true`) or shutdown (`false`).
    async fn ensure_topics(&self, shutdown: &CancellationToken) -> Result<bool, RelayError> {
        let config = &self.config;
        let topics = config.topics();
        let (partitions, replication) = (config.partitions, config.replication);
        kafka::ensure_topics_until(&config.kafka, &topics, partitions, replication, config.backoff(), shutdown)
            .await
            .map_err(RelayError::KafkaClient)
    }

    /// Sleeps for `backoff`'s next delay unless shutdown comes first; `false`
    /// on shutdown.
    async fn back_off(&self, shutdown: &CancellationToken, backoff: &mut impl Backoff) -> bool {
        // [`RelayConfig::backoff`] has no limit of times: it runs out only
        // past `usize::MAX` failures, and would then keep its cap.
        pause(shutdown, backoff.next().unwrap_or(self.config.backoff_max)).await
    }
}

/// Measures the outbox backlog every two seconds for the
/// `gongkai.relay.backlog` gauge.
async fn report_backlog(outbox: Outbox, stop: CancellationToken) {
    let gauge =
        gongkai_telemetry::metrics::Gauge::new("gongkai.relay.backlog", "Outbox rows not yet published to Kafka");
    let parked = gongkai_telemetry::metrics::Gauge::new(
        "gongkai.relay.parked",
        "Project streams held because Kafka refused one of their events for good",
    );
    let mut every = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        match outbox.outbox_backlog().await {
            Ok(rows) => gauge.set(rows),
            Err(error) => debug!(error = %report(&error), "Cannot measure the relay backlog."),
        }
        match outbox.relay_parked().await {
            Ok(streams) => parked.set(streams.len() as u64),
            Err(error) => debug!(error = %report(&error), "Cannot count the parked streams."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets() {
        let mut config = RelayConfig::new(KafkaConfig { bootstrap_servers: "127.0.0.1:9".into() });
        config.backoff_initial = Duration::from_millis(100);
        config.backoff_max = Duration::from_millis(500);
        let delays: Vec<u128> = config.backoff().take(5).map(|delay| delay.as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert!(config.backoff().nth(1000).is_some(), "the relay never stops retrying");
        // A success starts a fresh backoff: back to the first delay.
        assert_eq!(config.backoff().next(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn topics_carry_the_prefix() {
        let mut config = RelayConfig::new(KafkaConfig { bootstrap_servers: "127.0.0.1:9".into() });
        assert_eq!(config.topics()[1], "gongkai.tenders.v1");
        config.topic_prefix = "test-x.".into();
        assert_eq!(config.topics().len(), 5);
        assert!(config.topics().iter().all(|topic| topic.starts_with("test-x.gongkai.")));
    }
}
