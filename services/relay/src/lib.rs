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
//!   cannot confirm its lock before a batch steps down. Why a single
//!   reader of `published_at IS NULL ORDER BY position` neither skips a row
//!   that commits late nor reorders a project is argued in
//!   `gongkai_store`'s outbox module.
//! * **Mark after acknowledgement.** A batch is read, sent with an idempotent
//!   producer, and rows are marked published only once Kafka acknowledged
//!   them (`acks=all`). On a failed delivery only the acknowledged prefix is
//!   marked; the producer is rebuilt and publishing resumes at the first
//!   unacknowledged row. Rows never leave the outbox unpublished-and-lost;
//!   the price is possible duplicates, which consumers drop by
//!   `(project, seq)`.
//! * **A refused event parks its project, not the relay.** When Kafka
//!   refuses an event for good (larger than the topic accepts, an invalid
//!   record), the acknowledged prefix is marked and the event's project is
//!   parked in the store (see `gongkai_store`'s outbox module): its rows are
//!   held, in order, while every other project keeps flowing (a later event
//!   of the same project already in flight in that batch may reach Kafka
//!   first; consumers, keyed by `(project, seq)`, wait for the gap). The
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

use std::sync::Arc;
use std::time::Duration;

use backon::{Backoff, BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, SecondsFormat};
use gongkai_bus::kafka::{self, EventMessage, EventProducer, ProducerSettings, PublishError};
use gongkai_bus::{KafkaConfig, report};
use gongkai_store::{Outbox, OutboxRecord, RelayLeadership, StoreError};
use prost::Message;
use rdkafka::error::KafkaError;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

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
    /// Outbox rows read and published per batch.
    pub batch_size: u32,
    /// How often an idle leader looks for new rows (a [`Relay::waker`]
    /// poke looks at once).
    pub poll_interval: Duration,
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
    /// Defaults for `kafka`: empty prefix, batches of 1000, 50 ms idle poll,
    /// 1 s standby retry, backoff 100 ms doubling to 10 s, topics created with
    /// 3 partitions and the broker's replication factor.
    pub fn new(kafka: KafkaConfig) -> Self {
        Self {
            kafka,
            topic_prefix: String::new(),
            batch_size: 1000,
            poll_interval: Duration::from_millis(50),
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

/// How one batch went.
enum BatchOutcome {
    /// Every row was acknowledged and marked.
    Published,
    /// Kafka did not acknowledge every row: rebuild the producer and retry
    /// from the first unacknowledged row after a pause.
    DeliveryFailed,
    /// Kafka acknowledged every row but marking them failed: they will be
    /// sent again (duplicates) after a pause.
    MarkFailed,
    /// Kafka refused one row for good: its project was parked; go on at once
    /// with a fresh producer.
    Parked,
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
            let batch = match self.outbox.unpublished(self.config.batch_size).await {
                Ok(batch) => batch,
                Err(error) => {
                    warn!(error = %report(&error), "Could not read the outbox; retrying.");
                    if !self.back_off(shutdown, &mut backoff).await {
                        break Ok(());
                    }
                    continue;
                }
            };
            if batch.is_empty() {
                backoff = self.config.backoff();
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                }
                continue;
            }
            // Publish only while still the one leader. A check that hangs
            // (the database unreachable) counts as lost: by the time the
            // server drops the session, this relay must have stopped.
            match tokio::time::timeout(self.config.leadership_timeout, leadership.check()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => break Err(RelayError::LeadershipLost(Some(error))),
                Err(_) => break Err(RelayError::LeadershipLost(None)),
            }
            let current = match &producer {
                Some(current) => current,
                None => match EventProducer::new(&self.config.kafka, &self.config.producer) {
                    Ok(created) => producer.insert(created),
                    Err(error) => break Err(RelayError::KafkaClient(error)),
                },
            };
            match self.publish_batch(current, &batch).await {
                BatchOutcome::Published => backoff = self.config.backoff(),
                BatchOutcome::DeliveryFailed => {
                    // Every delivery report is in, so nothing is in flight:
                    // a fresh producer starts a fresh idempotence session.
                    producer = None;
                    if !self.back_off(shutdown, &mut backoff).await {
                        break Ok(());
                    }
                }
                BatchOutcome::MarkFailed => {
                    if !self.back_off(shutdown, &mut backoff).await {
                        break Ok(());
                    }
                }
                BatchOutcome::Parked => {
                    producer = None;
                    backoff = self.config.backoff();
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

    /// Sends one batch and marks what Kafka acknowledged.
    async fn publish_batch(&self, producer: &EventProducer, batch: &[OutboxRecord]) -> BatchOutcome {
        // The spans of traced events (by index in the batch) end once Kafka
        // has answered for the whole batch.
        let mut spans: Vec<(usize, tracing::Span)> = Vec::new();
        let messages: Vec<EventMessage> = batch
            .iter()
            .enumerate()
            .map(|(index, record)| {
                let traceparent = record.traceparent.as_deref().map(|appended| match publish_span(record, appended) {
                    Some((span, traceparent)) => {
                        spans.push((index, span));
                        traceparent
                    }
                    // Not exporting here: pass the submission's context on.
                    None => appended.to_owned(),
                });
                self.message(record, traceparent)
            })
            .collect();
        let published = producer.publish(&messages).await;
        let acknowledged = match &published {
            Ok(()) => batch.len(),
            Err(error) => error.acknowledged,
        };
        for (_, span) in spans.iter().filter(|(index, _)| *index >= acknowledged) {
            span.record("otel.status_code", "ERROR");
        }
        drop(spans);
        let positions: Vec<u64> = batch[..acknowledged].iter().map(|record| record.position).collect();
        let marked = self.outbox.mark_published(&positions).await;
        match (published, marked) {
            (Ok(()), Ok(_)) => {
                debug!(
                    count = positions.len(),
                    first = positions.first().copied(),
                    last = positions.last().copied(),
                    "Published a batch."
                );
                BatchOutcome::Published
            }
            (Ok(()), Err(error)) => {
                warn!(
                    error = %report(&error),
                    count = positions.len(),
                    "Kafka acknowledged a batch but marking it published failed; it will be sent again."
                );
                BatchOutcome::MarkFailed
            }
            (Err(error), Ok(_)) if error.refuses_the_event() => {
                let refused = &batch[acknowledged];
                let reason = report(&error.cause);
                match self.outbox.park_relay_stream(&refused.project_code, refused.position, &reason).await {
                    Ok(()) => {
                        error!(
                            project = %refused.project_code,
                            position = refused.position,
                            %reason,
                            "Kafka refused an event for good; its project's stream is parked, every other goes on."
                        );
                        BatchOutcome::Parked
                    }
                    Err(park_error) => {
                        warn!(error = %report(&park_error), "Parking a refused stream failed; retrying.");
                        BatchOutcome::DeliveryFailed
                    }
                }
            }
            (Err(error), marked) => {
                if let Err(mark_error) = marked {
                    warn!(error = %report(&mark_error), "Marking the acknowledged part of a failed batch failed.");
                }
                let position = batch[acknowledged].position;
                let error = RelayError::Publish(error);
                if matches!(&error, RelayError::Publish(publish) if publish.is_retryable()) {
                    warn!(error = %report(&error), acknowledged, position, "Kafka is unavailable; retrying from the first unacknowledged event.");
                } else {
                    error!(error = %report(&error), acknowledged, position, "Kafka refused an event; retrying from the first unacknowledged event.");
                }
                BatchOutcome::DeliveryFailed
            }
        }
    }

    /// The Kafka message of an outbox row, with `traceparent` as its trace
    /// context header.
    fn message(&self, record: &OutboxRecord, traceparent: Option<String>) -> EventMessage {
        let envelope = &record.envelope;
        EventMessage {
            topic: format!("{}{}", self.config.topic_prefix, record.topic),
            key: record.project_code.clone(),
            payload: envelope.encode_to_vec(),
            id: envelope.event_id.clone(),
            event_type: envelope.r#type.clone(),
            source: envelope.source.clone(),
            subject: envelope.subject.clone(),
            time: envelope.occurred_at.as_ref().and_then(|time| {
                let nanos = u32::try_from(time.nanos).ok()?;
                DateTime::from_timestamp(time.seconds, nanos)
                    .map(|time| time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }),
            traceparent,
        }
    }
}

/// The `relay.publish` span of one traced event, a child of the append that
/// wrote it (`appended`), and the `traceparent` that names it; `None` when
/// nothing is exported.
fn publish_span(record: &OutboxRecord, appended: &str) -> Option<(tracing::Span, String)> {
    if !gongkai_telemetry::exporting() {
        return None;
    }
    let span = tracing::info_span!(
        parent: None,
        "relay.publish",
        otel.kind = "producer",
        otel.status_code = tracing::field::Empty,
        messaging.system = "kafka",
        messaging.destination.name = record.topic.as_str(),
        project = record.project_code.as_str(),
        position = record.position,
    );
    gongkai_telemetry::propagation::continue_trace(&span, appended);
    let traceparent = gongkai_telemetry::propagation::traceparent(&span)?;
    Some((span, traceparent))
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
