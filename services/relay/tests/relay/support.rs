//! What the relay tests share: hand-built chained events, a relay with a
//! unique topic prefix, and a consumer that reads every partition of the
//! prefixed topics from the beginning. The stores on both backends come from
//! `gongkai_testkit::store`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use gongkai_bus::KafkaConfig;
use gongkai_bus::kafka::{self, header};
use gongkai_domain::hash::{chain_hash, sha256};
use gongkai_domain::kinds::{DOMAINS, body_domain, event_type, topic};
use gongkai_proto::v1::{
    AwardAnnounced, BidsEvaluated, ContractSigned, Domain, EventEnvelope, Fact, ProjectApproved, TenderAnnounced,
    event_envelope, fact,
};
use gongkai_relay::{Relay, RelayConfig, RelayError, RelayState};
use gongkai_store::{AppendOutcome, NewEvent, Store};
use prost::Message as _;
use rdkafka::admin::AdminOptions;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Partitions of the test topics.
pub(crate) const PARTITIONS: i32 = 3;

/// The test Kafka; panics (the test fails, never skips) when it does not
/// answer a metadata request.
pub(crate) async fn kafka() -> KafkaConfig {
    let config = KafkaConfig { bootstrap_servers: gongkai_testkit::kafka_bootstrap_servers() };
    config.probe(Duration::from_secs(15)).await.unwrap_or_else(|error| {
        panic!("Kafka at {} is unreachable ({error:?}); run scripts/infra/up.sh", config.bootstrap_servers)
    });
    config
}

/// A topic prefix no other test uses.
pub(crate) fn unique_prefix() -> String {
    format!("test-{}.", uuid::Uuid::now_v7().simple())
}

/// Relay logs in the test output (shown for failing tests; filter with
/// `RUST_LOG`).
pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("gongkai_relay=debug,gongkai_store=debug"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// A relay configuration for tests: the given prefix, quick retries.
pub(crate) fn relay_config(kafka: KafkaConfig, prefix: &str) -> RelayConfig {
    RelayConfig {
        topic_prefix: prefix.to_owned(),
        partitions: PARTITIONS,
        replication: 1,
        standby_interval: Duration::from_millis(200),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        ..RelayConfig::new(kafka)
    }
}

/// A relay running in its own task.
pub(crate) struct Running {
    pub(crate) shutdown: CancellationToken,
    pub(crate) state: tokio::sync::watch::Receiver<RelayState>,
    pub(crate) waker: std::sync::Arc<tokio::sync::Notify>,
    pub(crate) task: JoinHandle<Result<(), RelayError>>,
}

impl Running {
    pub(crate) fn start(store: &Store, config: RelayConfig) -> Self {
        init_logs();
        let relay = Relay::new(store.outbox(), config);
        let shutdown = CancellationToken::new();
        let state = relay.state();
        let waker = relay.waker();
        let task = tokio::spawn(relay.run(shutdown.clone()));
        Self { shutdown, state, waker, task }
    }

    /// Waits (up to `timeout`) until the relay is in `state`.
    pub(crate) async fn wait_for(&self, state: RelayState, timeout: Duration) {
        let mut watch = self.state.clone();
        tokio::time::timeout(timeout, watch.wait_for(|current| *current == state))
            .await
            .unwrap_or_else(|_| panic!("relay not {state:?} within {timeout:?} (is {:?})", *self.state.borrow()))
            .expect("relay state is observable");
    }

    /// Cancels the relay and expects a clean stop within `timeout`.
    pub(crate) async fn stop(self, timeout: Duration) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(timeout, self.task)
            .await
            .unwrap_or_else(|_| panic!("relay did not stop within {timeout:?}"))
            .expect("relay task did not panic");
        result.expect("relay returns Ok on shutdown");
        assert_eq!(*self.state.borrow(), RelayState::Stopped);
    }
}

/// A body of the given domain.
fn body(domain: Domain, seq: u64) -> event_envelope::Body {
    let kind = match domain {
        Domain::Projects | Domain::Unspecified => fact::Kind::ProjectApproved(ProjectApproved {
            project_name: format!("哈尔滨市某某道路工程 {seq}"),
            total_investment_fen: 10_000_000_000,
            ..Default::default()
        }),
        Domain::Tenders => fact::Kind::TenderAnnounced(TenderAnnounced::default()),
        Domain::Review => fact::Kind::BidsEvaluated(BidsEvaluated::default()),
        Domain::Awards => fact::Kind::AwardAnnounced(AwardAnnounced::default()),
        Domain::Contracts => fact::Kind::ContractSigned(ContractSigned::default()),
    };
    event_envelope::Body::Fact(Fact { kind: Some(kind) })
}

/// The domain of a project's event `seq`: the five domains in turn.
pub(crate) fn domain_for(seq: u64) -> Domain {
    DOMAINS[((seq - 1) % DOMAINS.len() as u64) as usize]
}

/// The project code of test project `n`.
pub(crate) fn project(n: u32) -> String {
    format!("2017-230113-48-01-{n:06}")
}

/// The event `seq` of `project`, chained to `prev`.
pub(crate) fn new_event(project: &str, seq: u64, prev: Option<[u8; 32]>) -> NewEvent {
    let body = body(domain_for(seq), seq);
    let domain = body_domain(&body).expect("a fact has a domain");
    let request_id = format!("{project}-req-{seq}");
    let mut envelope = EventEnvelope {
        event_id: uuid::Uuid::now_v7().hyphenated().to_string(),
        r#type: event_type(&body),
        source: "center-harbin".to_owned(),
        subject: project.to_owned(),
        project_seq: seq,
        position: 0,
        occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000 + seq as i64, nanos: 500_000_000 }),
        recorded_at: Some(prost_types::Timestamp { seconds: 1_700_000_100 + seq as i64, nanos: 0 }),
        request_id: request_id.clone(),
        prev_hash: prev.map(hex::encode).unwrap_or_default(),
        hash: String::new(),
        flags: Vec::new(),
        domain: domain as i32,
        commitment_seed: vec![7; 32],
        body: Some(body),
    };
    envelope.hash = hex::encode(chain_hash(prev.as_ref(), &envelope));
    NewEvent {
        envelope,
        region_code: "230113".to_owned(),
        request_digest: sha256(request_id.as_bytes()),
        topic: topic(domain).to_owned(),
        traceparent: Some(traceparent_of(seq)),
    }
}

/// The trace context recorded with event `seq` (a stand-in for the append
/// span's): an untraced relay passes it on as it is.
pub(crate) fn traceparent_of(seq: u64) -> String {
    format!("00-{:032x}-{:016x}-01", 0x5eed_0000 + seq, 0xa99e_0000 + seq)
}

pub(crate) fn hash_of(event: &NewEvent) -> [u8; 32] {
    hex::decode(&event.envelope.hash).unwrap().try_into().unwrap()
}

/// Appends events `from..=to` of `project` (the stream must be at
/// `from - 1`) and returns them with positions set.
pub(crate) async fn append_range(store: &Store, project: &str, from: u64, to: u64) -> Vec<EventEnvelope> {
    let mut prev = match store.events().stream_head(project).await.expect("stream head") {
        Some((last, head)) => {
            assert_eq!(last, from - 1, "stream of {project} is at {last}");
            Some(head)
        }
        None => None,
    };
    let mut stored = Vec::new();
    for seq in from..=to {
        let event = new_event(project, seq, prev);
        let position = match store.events().append(&event).await.expect("append") {
            AppendOutcome::Appended { position } => position,
            other => panic!("expected Appended, got {other:?}"),
        };
        prev = Some(hash_of(&event));
        stored.push(EventEnvelope { position, ..event.envelope });
    }
    stored
}

/// Begins appending `event` (seq 1 of a new project) by hand in a transaction
/// that stays open: its position is taken, but the row becomes visible only
/// when the transaction commits.
pub(crate) async fn begin_late_append(
    pool: &sqlx::PgPool,
    event: &NewEvent,
) -> (sqlx::Transaction<'static, sqlx::Postgres>, i64) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO streams (project_code, region_code, last_seq, head_hash) VALUES ($1, $2, 1, $3)")
        .bind(&event.envelope.subject)
        .bind(&event.region_code)
        .bind(hash_of(event).to_vec())
        .execute(&mut *tx)
        .await
        .unwrap();
    let occurred = event.envelope.occurred_at.as_ref().unwrap();
    let recorded = event.envelope.recorded_at.as_ref().unwrap();
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id, \
         request_digest, occurred_at, recorded_at, prev_hash, hash, envelope) \
         VALUES ($1, $2, 1, $3, 'projects', $4, $5, $6, $7, $8, ''::bytea, $9, $10) RETURNING position",
    )
    .bind(uuid::Uuid::parse_str(&event.envelope.event_id).unwrap())
    .bind(&event.envelope.subject)
    .bind(&event.envelope.r#type)
    .bind(&event.envelope.source)
    .bind(&event.envelope.request_id)
    .bind(event.request_digest.to_vec())
    .bind(chrono::DateTime::from_timestamp(occurred.seconds, occurred.nanos as u32).unwrap())
    .bind(chrono::DateTime::from_timestamp(recorded.seconds, recorded.nanos as u32).unwrap())
    .bind(hash_of(event).to_vec())
    .bind(event.envelope.encode_to_vec())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO outbox (position, topic, traceparent) VALUES ($1, $2, $3)")
        .bind(position)
        .bind(&event.topic)
        .bind(&event.traceparent)
        .execute(&mut *tx)
        .await
        .unwrap();
    (tx, position)
}

/// Waits (up to `timeout`) until the outbox has no unpublished row.
pub(crate) async fn wait_drained(store: &Store, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let backlog = store.outbox().outbox_backlog().await.expect("backlog");
        if backlog == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "outbox still holds {backlog} unpublished rows after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One consumed message.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) key: String,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) envelope: EventEnvelope,
}

/// Reads every partition of the prefixed domain topics from the beginning
/// until at least `expected` messages arrived, then for `quiet` more to
/// catch duplicates. Panics when `expected` do not arrive within a minute.
pub(crate) async fn consume(kafka: &KafkaConfig, prefix: &str, expected: usize, quiet: Duration) -> Vec<Received> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("group.id", gongkai_testkit::unique_name("relay-test"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for name in gongkai_bus::topics(prefix) {
        for partition in 0..PARTITIONS {
            assignment.add_partition_offset(&name, partition, Offset::Beginning).expect("partition offset");
        }
    }
    consumer.assign(&assignment).expect("assign");
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut quiet_until: Option<Instant> = None;
    loop {
        let until = quiet_until.unwrap_or(deadline);
        let now = Instant::now();
        if now >= until {
            break;
        }
        match tokio::time::timeout(until - now, consumer.recv()).await {
            Err(_) => break,
            Ok(message) => {
                let message = message.expect("consume");
                let headers = message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| {
                                (h.key.to_owned(), String::from_utf8(h.value.unwrap_or_default().to_vec()).unwrap())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                received.push(Received {
                    topic: message.topic().to_owned(),
                    partition: message.partition(),
                    key: String::from_utf8(message.key().expect("key").to_vec()).expect("UTF-8 key"),
                    headers,
                    envelope: EventEnvelope::decode(message.payload().expect("value")).expect("envelope"),
                });
                if received.len() >= expected && quiet_until.is_none() {
                    quiet_until = Some(Instant::now() + quiet);
                }
            }
        }
    }
    assert!(received.len() >= expected, "only {} of {expected} messages arrived", received.len());
    received
}

/// Checks what arrived against what was appended: each event on its
/// domain's topic, keyed by project code, with CloudEvents headers and the
/// envelope (position set) as value; `exactly_once` or at least once; and
/// for each project and topic, no event before all its predecessors.
pub(crate) fn assert_delivered(received: &[Received], expected: &[EventEnvelope], prefix: &str, exactly_once: bool) {
    let by_id: HashMap<&str, &EventEnvelope> = expected.iter().map(|e| (e.event_id.as_str(), e)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for message in received {
        let event = by_id
            .get(message.envelope.event_id.as_str())
            .unwrap_or_else(|| panic!("unexpected event {:?}", message.envelope.event_id));
        *counts.entry(event.event_id.as_str()).or_default() += 1;
        assert_eq!(&message.envelope, *event, "value is the stored envelope with its position");
        assert_ne!(message.envelope.position, 0);
        let domain = Domain::try_from(event.domain).unwrap();
        assert_eq!(message.topic, format!("{prefix}{}", topic(domain)));
        assert_eq!(message.key, event.subject);
        let header = |name: &str| message.headers.get(name).map(String::as_str);
        assert_eq!(header(header::ID), Some(event.event_id.as_str()));
        assert_eq!(header(header::TYPE), Some(event.r#type.as_str()));
        assert_eq!(header(header::SOURCE), Some(event.source.as_str()));
        assert_eq!(header(header::SUBJECT), Some(event.subject.as_str()));
        let occurred = event.occurred_at.as_ref().unwrap();
        let time = chrono::DateTime::from_timestamp(occurred.seconds, occurred.nanos as u32)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        assert_eq!(header(header::TIME), Some(time.as_str()));
        assert_eq!(header(header::SPECVERSION), Some(kafka::CLOUDEVENTS_SPECVERSION));
        assert_eq!(header(header::CONTENT_TYPE), Some(kafka::CONTENT_TYPE));
        let traceparent = traceparent_of(event.project_seq);
        assert_eq!(header(header::TRACEPARENT), Some(traceparent.as_str()), "the append's trace context travels on");
    }
    for event in expected {
        let count = counts.get(event.event_id.as_str()).copied().unwrap_or(0);
        if exactly_once {
            assert_eq!(count, 1, "event {} of {} arrived {count} times", event.project_seq, event.subject);
        } else {
            assert!(count >= 1, "event {} of {} never arrived", event.project_seq, event.subject);
        }
    }
    // Per project and topic (one partition, since the key is the project):
    // an event may arrive only after every earlier event of the project on
    // that topic; re-sent duplicates must not jump ahead either.
    let mut wanted: HashMap<(&str, &str), Vec<u64>> = HashMap::new();
    for event in expected {
        let domain = Domain::try_from(event.domain).unwrap();
        wanted.entry((event.subject.as_str(), topic(domain))).or_default().push(event.project_seq);
    }
    let mut seen: HashMap<(&str, &str), HashSet<u64>> = HashMap::new();
    let mut partitions: HashMap<&str, HashSet<(String, i32)>> = HashMap::new();
    for message in received {
        let event = &message.envelope;
        let domain = Domain::try_from(event.domain).unwrap();
        let key = (event.subject.as_str(), topic(domain));
        let seen = seen.entry(key).or_default();
        let missing: Vec<u64> =
            wanted[&key].iter().copied().filter(|seq| *seq < event.project_seq && !seen.contains(seq)).collect();
        assert!(
            missing.is_empty(),
            "event {} of {} arrived on {} before {missing:?}",
            event.project_seq,
            event.subject,
            message.topic
        );
        seen.insert(event.project_seq);
        partitions.entry(event.subject.as_str()).or_default().insert((message.topic.clone(), message.partition));
    }
    for (project, partitions) in partitions {
        let topics: HashSet<&String> = partitions.iter().map(|(topic, _)| topic).collect();
        assert_eq!(topics.len(), partitions.len(), "{project} is spread over partitions of one topic: {partitions:?}");
    }
}

/// Deletes the prefixed topics (best effort: the shared cluster stays tidy).
pub(crate) async fn drop_topics(kafka: &KafkaConfig, prefix: &str) {
    let admin = kafka::admin_client(kafka).expect("admin client");
    let names = gongkai_bus::topics(prefix);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    if let Err(error) = admin.delete_topics(&names, &options).await {
        eprintln!("could not delete test topics {prefix}*: {error}");
    }
}
