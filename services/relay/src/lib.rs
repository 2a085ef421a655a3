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

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use backon::{Backoff, BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, SecondsFormat};
use gongkai_bus::kafka::{self, EventMessage, EventProducer, ProducerSettings, PublishError};
use gongkai_bus::{KafkaConfig, report};
use gongkai_store::{Outbox, OutboxCursor, OutboxRead, OutboxRecord, RelayLeadership, StoreError};
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
    /// Outbox rows read and sent per batch.
    pub batch_size: u32,
    /// Most rows sent and not yet marked published: the relay reads and
    /// sends the next batch while earlier ones are in flight, up to this.
    pub max_in_flight: u32,
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
    /// Defaults for `kafka`: empty prefix, batches of 2000 with up to 10,000
    /// rows in flight, 50 ms idle poll, 1 s standby retry, backoff 100 ms
    /// doubling to 10 s, topics created with 3 partitions and the broker's
    /// replication factor.
    pub fn new(kafka: KafkaConfig) -> Self {
        Self {
            kafka,
            topic_prefix: String::new(),
            batch_size: 2000,
            max_in_flight: 10_000,
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

/// Why [`Relay::stream`] ended. Nothing it sent is still in flight then,
/// unless leadership was lost.
enum StreamEnd {
    /// Shutdown was asked for; the batches in flight were finished.
    Shutdown,
    /// Leadership could not be confirmed: publishing stopped at once.
    LeadershipLost(Option<StoreError>),
    /// Reading the outbox failed: retry after a pause.
    ReadFailed,
    /// Kafka did not acknowledge every row: rebuild the producer and retry
    /// from the first unmarked row after a pause.
    DeliveryFailed,
    /// Kafka acknowledged rows but marking them failed: they will be sent
    /// again (duplicates) after a pause.
    MarkFailed,
    /// Kafka refused one row for good: its project was parked; go on at once
    /// with a fresh producer.
    Parked,
}

/// A future the relay keeps across the turns of its loop.
type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A batch handed to the producer, waiting for Kafka's answer.
struct InFlight {
    /// The rows' positions, in the order sent.
    positions: Vec<u64>,
    /// The messages, kept for the project of a row Kafka refuses.
    messages: Vec<EventMessage>,
    /// The `relay.publish` spans of traced rows, by index in the batch.
    spans: Vec<(usize, tracing::Span)>,
    /// Kafka's answer for the whole batch.
    answer: Pending<'static, Result<(), PublishError>>,
}

/// Acknowledged rows being marked published.
struct Marking<'a> {
    positions: Vec<u64>,
    mark: Pending<'a, Result<u64, StoreError>>,
}

/// The first row Kafka did not acknowledge, and why.
struct Failure {
    project_code: String,
    position: u64,
    /// Rows acknowledged before it since the stream started.
    acknowledged: usize,
    error: PublishError,
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

    /// Publishes the outbox through `producer` until shutdown or a failure,
    /// as a pipeline: the next batch is read and sent while earlier ones are
    /// in flight (up to [`RelayConfig::max_in_flight`] rows), each only once
    /// leadership was confirmed for it, and Kafka's answers are taken in the
    /// order the batches were sent. The rows of acknowledged batches are
    /// marked published (as position ranges) while the pipeline goes on; the
    /// batches acknowledged during one mark are marked together by the next.
    /// A read leaves out every row sent and not yet marked, so each row is
    /// read once, and rows behind those in flight (a late commit, a released
    /// stream) are read first (see `gongkai_store`'s outbox module).
    ///
    /// When Kafka does not acknowledge a row, nothing more is read or sent:
    /// the batches still in flight are waited for, the rows acknowledged
    /// before the failed one are marked and those after it are not (they are
    /// sent again, possibly as duplicates), and the stream ends so that a
    /// fresh producer resumes at the first unmarked row. `progressed` is set
    /// when a read found nothing to publish or a mark went through.
    async fn stream(
        &self,
        producer: &EventProducer,
        leadership: &mut RelayLeadership,
        shutdown: &CancellationToken,
        progressed: &mut bool,
    ) -> StreamEnd {
        let limit = self.config.batch_size.max(1);
        let max_in_flight = self.config.max_in_flight.max(limit) as usize;
        // Sent, oldest first, waiting for Kafka's answer.
        let mut window: VecDeque<InFlight> = VecDeque::new();
        // Acknowledged rows waiting for the next mark, and the mark running.
        let mut acknowledged: Vec<u64> = Vec::new();
        let mut marking: Option<Marking<'_>> = None;
        let mut reading: Option<Pending<'_, Result<OutboxRead, StoreError>>> = None;
        // Where the next read goes on; `None`: from the first unpublished row.
        let mut cursor: Option<OutboxCursor> = None;
        // Read as soon as there is room, rather than when poked, polled or a
        // mark went through: the last read filled its batch.
        let mut read_now = true;
        // Once set, nothing more is read; what is in flight is finished.
        let mut stop: Option<StreamEnd> = None;
        let mut failure: Option<Failure> = None;
        let mut marks_failed = false;
        loop {
            let unmarked = window.iter().map(|batch| batch.positions.len()).sum::<usize>()
                + acknowledged.len()
                + marking.as_ref().map_or(0, |marking| marking.positions.len());
            if stop.is_none() && reading.is_none() && read_now && unmarked + limit as usize <= max_in_flight {
                let except: Vec<u64> = window
                    .iter()
                    .flat_map(|batch| batch.positions.iter().copied())
                    .chain(acknowledged.iter().copied())
                    .chain(marking.iter().flat_map(|marking| marking.positions.iter().copied()))
                    .collect();
                let after = cursor.clone();
                reading =
                    Some(Box::pin(async move { self.outbox.read_for_relay(after.as_ref(), limit, &except).await }));
            }
            if marking.is_none() && !acknowledged.is_empty() && !marks_failed {
                let positions = std::mem::take(&mut acknowledged);
                let marked = positions.clone();
                marking = Some(Marking {
                    positions,
                    mark: Box::pin(async move { self.outbox.mark_published(&marked).await }),
                });
            }
            if stop.is_some() && window.is_empty() && marking.is_none() && (acknowledged.is_empty() || marks_failed) {
                break;
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled(), if stop.is_none() => {
                    stop = Some(StreamEnd::Shutdown);
                    reading = None;
                }
                marked = async { marking.as_mut().expect("a mark runs").mark.as_mut().await },
                    if marking.is_some() => {
                    let Marking { positions, .. } = marking.take().expect("a mark ran");
                    match marked {
                        Ok(_) => {
                            *progressed = true;
                            read_now = true;
                            debug!(count = positions.len(), first = positions.first(), last = positions.last(), "Published rows.");
                        }
                        Err(error) => {
                            warn!(
                                error = %report(&error),
                                count = positions.len(),
                                "Kafka acknowledged rows but marking them published failed; they will be sent again."
                            );
                            marks_failed = true;
                            stop.get_or_insert(StreamEnd::MarkFailed);
                            reading = None;
                        }
                    }
                }
                answer = async { window.front_mut().expect("a batch is in flight").answer.as_mut().await },
                    if !window.is_empty() => {
                    let batch = window.pop_front().expect("a batch was in flight");
                    let count = answer.as_ref().map_or_else(|error| error.acknowledged, |()| batch.positions.len());
                    for (_, span) in batch.spans.iter().filter(|(index, _)| *index >= count) {
                        span.record("otel.status_code", "ERROR");
                    }
                    // Nothing behind a failed row is marked: it is all sent again.
                    if failure.is_none() {
                        acknowledged.extend_from_slice(&batch.positions[..count]);
                        if let Err(error) = answer {
                            failure = Some(Failure {
                                project_code: batch.messages[count].key.clone(),
                                position: batch.positions[count],
                                acknowledged: count,
                                error,
                            });
                            stop.get_or_insert(StreamEnd::DeliveryFailed);
                            reading = None;
                        }
                    }
                }
                read = async { reading.as_mut().expect("a read runs").as_mut().await }, if reading.is_some() => {
                    reading = None;
                    let OutboxRead { records, next, behind } = match read {
                        Ok(read) => read,
                        Err(error) => {
                            warn!(error = %report(&error), "Could not read the outbox; retrying.");
                            stop.get_or_insert(StreamEnd::ReadFailed);
                            continue;
                        }
                    };
                    if behind {
                        debug!("Rows turned up behind those read; reading them next.");
                    }
                    cursor = next;
                    read_now = behind || records.len() >= limit as usize;
                    if records.is_empty() {
                        *progressed = true;
                        continue;
                    }
                    // Publish only while still the one leader. A check that
                    // hangs (the database unreachable) counts as lost: by the
                    // time the server drops the session, this relay must have
                    // stopped.
                    match tokio::time::timeout(self.config.leadership_timeout, leadership.check()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => return StreamEnd::LeadershipLost(Some(error)),
                        Err(_) => return StreamEnd::LeadershipLost(None),
                    }
                    let (batch, whole) = self.send(producer, records).await;
                    window.push_back(batch);
                    if !whole {
                        // Its answer names the row refused; nothing may overtake it.
                        stop.get_or_insert(StreamEnd::DeliveryFailed);
                    }
                }
                () = async {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                    }
                }, if stop.is_none() && reading.is_none() && !read_now => {
                    read_now = true;
                }
            }
        }
        match failure {
            Some(failure) => self.failed(failure).await,
            None => stop.unwrap_or(StreamEnd::Shutdown),
        }
    }

    /// Deals with a row Kafka did not acknowledge, once nothing is in flight
    /// and the rows before it are marked: one refused for good parks its
    /// project ([`StreamEnd::Parked`]); anything else is retried
    /// ([`StreamEnd::DeliveryFailed`]).
    async fn failed(&self, failure: Failure) -> StreamEnd {
        let Failure { project_code, position, acknowledged, error } = failure;
        if error.refuses_the_event() {
            let reason = report(&error.cause);
            return match self.outbox.park_relay_stream(&project_code, position, &reason).await {
                Ok(()) => {
                    error!(
                        project = %project_code,
                        position,
                        %reason,
                        "Kafka refused an event for good; its project's stream is parked, every other goes on."
                    );
                    StreamEnd::Parked
                }
                Err(park_error) => {
                    warn!(error = %report(&park_error), "Parking a refused stream failed; retrying.");
                    StreamEnd::DeliveryFailed
                }
            };
        }
        let error = RelayError::Publish(error);
        if matches!(&error, RelayError::Publish(publish) if publish.is_retryable()) {
            warn!(error = %report(&error), acknowledged, position, "Kafka is unavailable; retrying from the first unacknowledged event.");
        } else {
            error!(error = %report(&error), acknowledged, position, "Kafka refused an event; retrying from the first unacknowledged event.");
        }
        StreamEnd::DeliveryFailed
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

    /// Hands `batch` to the producer; `false` when the producer refused part
    /// of it (its answer then names the first row not taken).
    async fn send(&self, producer: &EventProducer, batch: Vec<OutboxRecord>) -> (InFlight, bool) {
        // The spans of traced events (by index in the batch) end once Kafka
        // has answered for the whole batch.
        let mut spans: Vec<(usize, tracing::Span)> = Vec::new();
        let positions: Vec<u64> = batch.iter().map(|record| record.position).collect();
        let messages: Vec<EventMessage> = batch
            .into_iter()
            .enumerate()
            .map(|(index, record)| {
                let traceparent = record.traceparent.as_deref().map(|appended| match publish_span(&record, appended) {
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
        let sent = producer.send(&messages).await;
        let whole = sent.is_whole();
        (InFlight { positions, messages, spans, answer: Box::pin(sent.acknowledged()) }, whole)
    }

    /// The Kafka message of an outbox row, with `traceparent` as its trace
    /// context header.
    fn message(&self, record: OutboxRecord, traceparent: Option<String>) -> EventMessage {
        let time = record.occurred_at.as_ref().and_then(|time| {
            let nanos = u32::try_from(time.nanos).ok()?;
            DateTime::from_timestamp(time.seconds, nanos).map(|time| time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        });
        let topic = if self.config.topic_prefix.is_empty() {
            record.topic
        } else {
            format!("{}{}", self.config.topic_prefix, record.topic)
        };
        EventMessage {
            topic,
            subject: record.project_code.clone(),
            key: record.project_code,
            payload: record.envelope,
            id: record.event_id,
            event_type: record.event_type,
            source: record.source,
            time,
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
