//! Publishing events to Apache Kafka: an idempotent producer that sends a
//! batch and waits for every delivery report, the CloudEvents binary-mode
//! headers, and creation of the domain topics. (Reading them is
//! [`crate::log`]'s.)
//!
//! Nothing here knows about the outbox: the caller (the relay) turns stored
//! events into [`EventMessage`]s, decides what an acknowledged batch means
//! and when to retry. The producer only reports exactly which prefix of a
//! batch Kafka acknowledged ([`PublishError::acknowledged`]) and whether the
//! failure is worth retrying ([`PublishError::is_retryable`]).

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio_util::sync::CancellationToken;

use crate::{KafkaConfig, report};

/// CloudEvents (binary content mode) and trace-context header names.
pub mod header {
    /// CloudEvents `id`: the event id.
    pub const ID: &str = "ce_id";
    /// CloudEvents `type`, e.g. `gongkai.v1.TenderAnnounced`.
    pub const TYPE: &str = "ce_type";
    /// CloudEvents `source`: the submitting trading center.
    pub const SOURCE: &str = "ce_source";
    /// CloudEvents `subject`: the project code.
    pub const SUBJECT: &str = "ce_subject";
    /// CloudEvents `time` (RFC 3339): the business time of the fact.
    pub const TIME: &str = "ce_time";
    /// CloudEvents `specversion`.
    pub const SPECVERSION: &str = "ce_specversion";
    /// Media type of the value.
    pub const CONTENT_TYPE: &str = "content-type";
    /// W3C trace context.
    pub const TRACEPARENT: &str = "traceparent";
}

/// The CloudEvents version the headers follow.
pub const CLOUDEVENTS_SPECVERSION: &str = "1.0";

/// The media type of every value: a protobuf `gongkai.v1.EventEnvelope`.
pub const CONTENT_TYPE: &str = "application/protobuf";

/// One event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage {
    /// The full topic name.
    pub topic: String,
    /// The message key: the project code, so each project stays in one
    /// partition and in order.
    pub key: String,
    /// The value: the encoded envelope.
    pub payload: Vec<u8>,
    /// CloudEvents `id`.
    pub id: String,
    /// CloudEvents `type`.
    pub event_type: String,
    /// CloudEvents `source`.
    pub source: String,
    /// CloudEvents `subject`.
    pub subject: String,
    /// CloudEvents `time` (RFC 3339), when known.
    pub time: Option<String>,
    /// W3C `traceparent`, when known.
    pub traceparent: Option<String>,
}

impl EventMessage {
    /// The headers of the message: CloudEvents binary mode plus
    /// `traceparent` when known.
    pub fn headers(&self) -> OwnedHeaders {
        let mut headers = OwnedHeaders::new_with_capacity(9)
            .insert(Header { key: header::ID, value: Some(self.id.as_str()) })
            .insert(Header { key: header::TYPE, value: Some(self.event_type.as_str()) })
            .insert(Header { key: header::SOURCE, value: Some(self.source.as_str()) })
            .insert(Header { key: header::SUBJECT, value: Some(self.subject.as_str()) })
            .insert(Header { key: header::SPECVERSION, value: Some(CLOUDEVENTS_SPECVERSION) })
            .insert(Header { key: header::CONTENT_TYPE, value: Some(CONTENT_TYPE) });
        if let Some(time) = &self.time {
            headers = headers.insert(Header { key: header::TIME, value: Some(time.as_str()) });
        }
        if let Some(traceparent) = &self.traceparent {
            headers = headers.insert(Header { key: header::TRACEPARENT, value: Some(traceparent.as_str()) });
        }
        headers
    }
}

/// The `traceparent` header of a received message, when it carries one.
pub fn traceparent<M: rdkafka::Message>(message: &M) -> Option<&str> {
    use rdkafka::message::Headers as _;
    let headers = message.headers()?;
    let value = headers.iter().find(|h| h.key == header::TRACEPARENT)?.value?;
    std::str::from_utf8(value).ok()
}

/// Producer tuning; the defaults favour throughput with bounded latency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSettings {
    /// `client.id`, visible in broker logs and quotas.
    pub client_id: String,
    /// `linger.ms`: how long to wait for a batch to fill.
    pub linger: Duration,
    /// `batch.size` in bytes per partition batch.
    pub batch_bytes: u32,
    /// `message.timeout.ms`: how long librdkafka retries one message
    /// (internally, in order) before reporting it failed. This bounds how
    /// long one [`EventProducer::publish`] can take during an outage.
    pub message_timeout: Duration,
    /// `compression.type`.
    pub compression: String,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            client_id: "gongkai-relay".to_owned(),
            linger: Duration::from_millis(5),
            batch_bytes: 1024 * 1024,
            message_timeout: Duration::from_secs(20),
            compression: "lz4".to_owned(),
        }
    }
}

/// A batch was not fully acknowledged.
#[derive(Debug, thiserror::Error)]
#[error("Kafka acknowledged {acknowledged} of {total} events of the batch")]
pub struct PublishError {
    /// How many events at the start of the batch Kafka acknowledged (all
    /// events before the first failed one). Later events may have been
    /// delivered too; re-sending them makes duplicates, never loss.
    pub acknowledged: usize,
    /// The size of the batch.
    pub total: usize,
    /// Why the first unacknowledged event failed.
    #[source]
    pub cause: KafkaError,
}

impl PublishError {
    /// Whether the failure is expected to clear by itself (broker down,
    /// leader moving, queue full, timeouts), as opposed to one an operator
    /// must fix (authorization, a message too large, a bad configuration).
    pub fn is_retryable(&self) -> bool {
        is_retryable(&self.cause)
    }

    /// Whether Kafka refused the first unacknowledged event itself, for good
    /// (too large, an invalid record), rather than the cluster failing:
    /// sending it again can never succeed, and other events can.
    pub fn refuses_the_event(&self) -> bool {
        use RDKafkaErrorCode as Code;
        matches!(
            self.cause.rdkafka_error_code(),
            Some(Code::MessageSizeTooLarge | Code::InvalidMessageSize | Code::InvalidRecord | Code::BadMessage)
        )
    }
}

/// Classifies a Kafka error: retryable errors are transient (the cluster or
/// the network is unavailable, a leader is moving, the local queue is full,
/// the idempotent producer must be rebuilt); anything else is terminal and
/// needs an operator.
pub fn is_retryable(error: &KafkaError) -> bool {
    match error {
        KafkaError::Canceled => true,
        KafkaError::AdminOp(code) => is_retryable_code(*code),
        other => other.rdkafka_error_code().is_some_and(is_retryable_code),
    }
}

/// The error codes [`is_retryable`] treats as transient.
pub fn is_retryable_code(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as Code;
    matches!(
        code,
        Code::QueueFull
            | Code::MessageTimedOut
            | Code::AllBrokersDown
            | Code::BrokerTransportFailure
            | Code::Resolve
            | Code::OperationTimedOut
            | Code::TimedOutQueue
            | Code::RequestTimedOut
            | Code::LeaderNotAvailable
            | Code::NotLeaderForPartition
            | Code::BrokerNotAvailable
            | Code::ReplicaNotAvailable
            | Code::NetworkException
            | Code::NotEnoughReplicas
            | Code::NotEnoughReplicasAfterAppend
            | Code::UnknownTopicOrPartition
            | Code::UnknownTopic
            | Code::UnknownPartition
            | Code::NotController
            | Code::KafkaStorageError
            | Code::FencedLeaderEpoch
            | Code::UnknownLeaderEpoch
            | Code::PreferredLeaderNotAvailable
            | Code::EligibleLeadersNotAvailable
            | Code::ThrottlingQuotaExceeded
            | Code::CoordinatorLoadInProgress
            | Code::Retry
            | Code::PurgeQueue
            | Code::PurgeInflight
            // The idempotent producer lost its sequence state; a new
            // producer (which the caller makes) starts afresh.
            | Code::Fatal
            | Code::OutOfOrderSequenceNumber
            | Code::InvalidProducerEpoch
            | Code::UnknownProducerId
    )
}

/// The largest event gongkai publishes, in bytes: an envelope holds one
/// request of at most `grpc.max_message_bytes` (4 MiB by default) plus the
/// bus's own fields and flags, so twice the default leaves room for both.
/// The topics gongkai creates accept it (`max.message.bytes`), and so does
/// the producer (`message.max.bytes`), with room for the record's headers.
pub const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// [`MAX_EVENT_BYTES`] plus the record batch framing and CloudEvents headers.
const MAX_RECORD_BYTES: usize = MAX_EVENT_BYTES + 64 * 1024;

/// An idempotent Kafka producer (`enable.idempotence=true`, hence
/// `acks=all` and ordered retries within a partition).
///
/// Idempotence removes duplicates only within one producer's life; after a
/// failed batch the caller drops this producer, makes a new one and re-sends
/// from the first unacknowledged event, and consumers drop duplicates by
/// `(project, seq)`.
#[derive(Clone)]
pub struct EventProducer {
    producer: FutureProducer,
    message_timeout: Duration,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer").field("message_timeout", &self.message_timeout).finish_non_exhaustive()
    }
}

impl EventProducer {
    /// Builds the producer; fails only on a configuration librdkafka refuses
    /// (no connection is made until the first send).
    pub fn new(config: &KafkaConfig, settings: &ProducerSettings) -> Result<Self, KafkaError> {
        let producer: FutureProducer = config
            .client_config()
            .set("client.id", &settings.client_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", settings.linger.as_millis().to_string())
            .set("batch.size", settings.batch_bytes.to_string())
            .set("batch.num.messages", "10000")
            .set("message.max.bytes", MAX_RECORD_BYTES.to_string())
            .set("queue.buffering.max.messages", "100000")
            .set("compression.type", &settings.compression)
            .set("message.timeout.ms", settings.message_timeout.as_millis().to_string())
            .create()?;
        Ok(Self { producer, message_timeout: settings.message_timeout })
    }

    /// Sends `events` in order and waits for the delivery report of every
    /// one of them, including those after a failure (so none is still in
    /// flight when this returns). `Ok` means Kafka acknowledged them all
    /// (`acks=all`).
    pub async fn publish(&self, events: &[EventMessage]) -> Result<(), PublishError> {
        self.send(events).await.acknowledged().await
    }

    /// Hands `events` to librdkafka in order and returns without waiting for
    /// Kafka: [`Sent::acknowledged`] waits for the delivery reports. Events
    /// sent by a later call queue behind these, so a caller can send the
    /// next batch while this one is in flight; per partition, Kafka gets them
    /// in the order sent. When librdkafka refuses one (its queue full for
    /// longer than the message timeout), the rest are not handed over and
    /// [`Sent::is_whole`] is false: send nothing more before the reports are
    /// in, or later events would overtake the refused one.
    pub async fn send(&self, events: &[EventMessage]) -> Sent {
        let total = events.len();
        let mut pending = Vec::with_capacity(total);
        let mut refused = None;
        for event in events {
            match self.enqueue(event).await {
                Ok(delivery) => pending.push(delivery),
                Err(error) => {
                    refused = Some(error);
                    break;
                }
            }
        }
        Sent { pending, refused, total }
    }

    /// Hands one event to librdkafka, waiting while its local queue is full
    /// (for at most the message timeout).
    async fn enqueue(&self, event: &EventMessage) -> Result<DeliveryFuture, KafkaError> {
        let deadline = Instant::now() + self.message_timeout;
        let mut record =
            FutureRecord::to(&event.topic).key(event.key.as_str()).payload(&event.payload).headers(event.headers());
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if Instant::now() < deadline =>
                {
                    record = returned;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// Waits up to `timeout` for every queued message to be delivered.
    pub async fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        let producer = self.producer.clone();
        match tokio::task::spawn_blocking(move || producer.flush(timeout)).await {
            Ok(result) => result,
            Err(_) => Err(KafkaError::Canceled),
        }
    }
}

/// Events handed to the producer by [`EventProducer::send`], in flight.
#[must_use = "the delivery reports say what Kafka acknowledged"]
pub struct Sent {
    pending: Vec<DeliveryFuture>,
    refused: Option<KafkaError>,
    total: usize,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("enqueued", &self.pending.len())
            .field("refused", &self.refused)
            .field("total", &self.total)
            .finish()
    }
}

impl Sent {
    /// Whether librdkafka took every event of the batch.
    pub fn is_whole(&self) -> bool {
        self.refused.is_none()
    }

    /// Waits for the delivery report of every event handed over, including
    /// those after a failure (so none is still in flight when this returns).
    /// `Ok` means Kafka acknowledged the whole batch (`acks=all`).
    pub async fn acknowledged(self) -> Result<(), PublishError> {
        let Sent { pending, refused, total } = self;
        let enqueued = pending.len();
        let mut first_failure: Option<(usize, KafkaError)> = None;
        for (index, delivery) in pending.into_iter().enumerate() {
            let failure = match delivery.await {
                Ok(Ok(_)) => None,
                Ok(Err((error, _message))) => Some(error),
                Err(_canceled) => Some(KafkaError::Canceled),
            };
            if let Some(error) = failure
                && first_failure.is_none()
            {
                first_failure = Some((index, error));
            }
        }
        match (first_failure, refused) {
            (Some((acknowledged, cause)), _) => Err(PublishError { acknowledged, total, cause }),
            (None, Some(cause)) => Err(PublishError { acknowledged: enqueued, total, cause }),
            (None, None) => Ok(()),
        }
    }
}

/// Failures of [`ensure_topics`].
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The request did not reach the cluster or got no answer.
    #[error("could not ask Kafka to create topics")]
    Request(#[source] KafkaError),
    /// The cluster refused to create a topic.
    #[error("Kafka refused to create topic `{topic}`")]
    Refused {
        /// The topic.
        topic: String,
        /// The broker's error code.
        #[source]
        code: RDKafkaErrorCode,
    },
}

impl TopicError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            TopicError::Request(error) => is_retryable(error),
            TopicError::Refused { code, .. } => is_retryable_code(*code),
        }
    }
}

/// An admin client for `config`'s cluster.
pub fn admin_client(config: &KafkaConfig) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
    config.client_config().create()
}

/// Creates `topics` with `partitions` partitions, `replication` replicas
/// (`-1`: the broker's `default.replication.factor`) and infinite retention
/// (`retention.ms=-1`): the topics are the log of record, not a buffer.
/// Topics that already exist are left as they are. Returns the topics it
/// created. Created topics accept records of [`MAX_EVENT_BYTES`].
pub async fn ensure_topics(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[String],
    partitions: i32,
    replication: i32,
) -> Result<Vec<String>, TopicError> {
    let max_record_bytes = MAX_RECORD_BYTES.to_string();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| {
            NewTopic::new(topic, partitions, TopicReplication::Fixed(replication))
                .set("retention.ms", "-1")
                .set("max.message.bytes", &max_record_bytes)
        })
        .collect();
    let options = AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(10)))
        .operation_timeout(Some(Duration::from_secs(10)));
    let results = admin.create_topics(&new_topics, &options).await.map_err(TopicError::Request)?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(topic) => created.push(topic),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Refused { topic, code }),
        }
    }
    Ok(created)
}

/// [`ensure_topics`] on `config`'s cluster, tried again after every failure
/// until it succeeds (`true`) or `shutdown` (`false`): whoever starts first,
/// the relay or a projector, creates the topics. The pauses between tries are
/// `delays`, the last one again once they run out. Fails only when librdkafka
/// refuses the admin client's configuration.
pub async fn ensure_topics_until(
    config: &KafkaConfig,
    topics: &[String],
    partitions: i32,
    replication: i32,
    mut delays: impl Iterator<Item = Duration>,
    shutdown: &CancellationToken,
) -> Result<bool, KafkaError> {
    let admin = admin_client(config)?;
    let mut delay = Duration::from_secs(1);
    loop {
        let attempt = tokio::select! {
            () = shutdown.cancelled() => return Ok(false),
            attempt = ensure_topics(&admin, topics, partitions, replication) => attempt,
        };
        match attempt {
            Ok(created) => {
                if !created.is_empty() {
                    tracing::info!(topics = ?created, "Created the domain topics.");
                }
                return Ok(true);
            }
            Err(error) if error.is_retryable() => {
                tracing::warn!(error = %report(&error), "Could not create the domain topics; retrying.");
            }
            Err(error) => {
                tracing::error!(error = %report(&error), "Kafka refuses to create the domain topics; retrying.");
            }
        }
        delay = delays.next().unwrap_or(delay);
        tokio::select! {
            () = shutdown.cancelled() => return Ok(false),
            () = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> EventMessage {
        EventMessage {
            topic: "gongkai.projects.v1".into(),
            key: "2017-230113-48-01-012345".into(),
            payload: vec![1, 2, 3],
            id: "0190a0d6-0000-7000-8000-000000000001".into(),
            event_type: "gongkai.v1.ProjectApproved".into(),
            source: "center-harbin".into(),
            subject: "2017-230113-48-01-012345".into(),
            time: Some("2023-11-14T22:13:20Z".into()),
            traceparent: None,
        }
    }

    #[test]
    fn headers_are_cloudevents_binary_mode() {
        use rdkafka::message::Headers;
        let headers = message().headers();
        let pairs: Vec<(String, String)> =
            headers.iter().map(|h| (h.key.to_owned(), String::from_utf8(h.value.unwrap().to_vec()).unwrap())).collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(get(header::ID), Some("0190a0d6-0000-7000-8000-000000000001"));
        assert_eq!(get(header::TYPE), Some("gongkai.v1.ProjectApproved"));
        assert_eq!(get(header::SOURCE), Some("center-harbin"));
        assert_eq!(get(header::SUBJECT), Some("2017-230113-48-01-012345"));
        assert_eq!(get(header::TIME), Some("2023-11-14T22:13:20Z"));
        assert_eq!(get(header::SPECVERSION), Some("1.0"));
        assert_eq!(get(header::CONTENT_TYPE), Some(CONTENT_TYPE));
        assert_eq!(get(header::TRACEPARENT), None);
        let traced = EventMessage {
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
            ..message()
        };
        assert_eq!(traced.headers().count(), 8);
        let received = rdkafka::message::OwnedMessage::new(
            Some(traced.payload.clone()),
            Some(traced.key.clone().into_bytes()),
            traced.topic.clone(),
            rdkafka::Timestamp::NotAvailable,
            0,
            0,
            Some(traced.headers()),
        );
        assert_eq!(traceparent(&received), traced.traceparent.as_deref());
    }

    #[test]
    fn errors_are_classified() {
        assert!(is_retryable(&KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)));
        assert!(is_retryable(&KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)));
        assert!(is_retryable(&KafkaError::MessageProduction(RDKafkaErrorCode::NotEnoughReplicas)));
        assert!(is_retryable(&KafkaError::Canceled));
        assert!(!is_retryable(&KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)));
        assert!(!is_retryable(&KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed)));
        assert!(!is_retryable(&KafkaError::ClientCreation("bad".into())));
    }

    /// A dead broker: every delivery times out, retryably, and nothing
    /// counts as acknowledged.
    #[tokio::test]
    async fn a_dead_broker_acknowledges_nothing() {
        let config = KafkaConfig { bootstrap_servers: "127.0.0.1:9".into() };
        let settings = ProducerSettings { message_timeout: Duration::from_millis(500), ..Default::default() };
        let producer = EventProducer::new(&config, &settings).unwrap();
        let error = producer.publish(&[message(), message()]).await.unwrap_err();
        assert_eq!((error.acknowledged, error.total), (0, 2));
        assert!(error.is_retryable(), "{error:?}");
    }
}
