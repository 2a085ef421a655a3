//! The projector's loop: events from the log into the read model.
//!
//! Two sources, one fold: Apache Kafka (a consumer group over the five domain
//! topics) or, embedded, the event store itself read in position order (on
//! SQLite positions become visible in commit order, so a cursor never skips).
//! Every event goes through [`Projections::project_event`], idempotent by
//! `(project, seq)` and indifferent to arrival order, so Kafka's at-least-once
//! delivery and any interleaving of topics give the same views. Kafka offsets
//! are stored only after the event's transaction committed and are committed
//! on a timer, on revocation and at shutdown.
//!
//! A project that cannot be rendered, because [`render()`] refuses it or
//! because rendering panics (a bug, or with `overflow-checks` an arithmetic
//! slip), is parked by the store and the batch goes on: one hostile event
//! never stops the projector. Parked projects are rendered again at start-up
//! (so an upgrade that fixes the cause heals them) and on demand
//! ([`retry`], `gongkai projector retry CODE`); `gongkai.projector.parked`
//! counts them.

use std::time::Duration;

use futures_util::FutureExt as _;
use gongkai_domain::kinds::{DOMAINS, topic};
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{EventLog, ProjectEvents, Projected, Projections, Unrenderable};
use prost::Message as _;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message as _};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::{render, rows};

/// Where the projector reads events from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The event store itself, polled in position order (`gongkai dev`).
    Embedded {
        /// How long to wait when there is nothing new.
        poll: Duration,
        /// Woken by the ingestion services in the same process after each
        /// append, so an event is projected at once rather than at the next poll.
        appended: Option<std::sync::Arc<tokio::sync::Notify>>,
    },
    /// The domain topics of an Apache Kafka cluster.
    Kafka(KafkaSource),
}

/// A Kafka consumer group over the domain topics.
#[derive(Debug, Clone)]
pub struct KafkaSource {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub bootstrap_servers: String,
    /// Consumer group; instances of one group split the partitions.
    pub group_id: String,
    /// Prefix of the topic names (empty in production; tests isolate with it).
    pub topic_prefix: String,
    /// Partitions of each topic if the projector is the first to create it.
    pub partitions: i32,
}

impl KafkaSource {
    /// The topic names this source reads.
    pub fn topics(&self) -> Vec<String> {
        DOMAINS.iter().map(|domain| format!("{}{}", self.topic_prefix, topic(*domain))).collect()
    }
}

/// Failures of the projector.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    /// The read model could not be written or read.
    #[error("read model store failed")]
    Store(#[from] gongkai_store::StoreError),
    /// The Kafka consumer failed.
    #[error("Kafka consumer failed")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The rendering thread of a rebuild stopped (it cannot panic: panics
    /// park their project).
    #[error("rendering thread failed: {0}")]
    Render(String),
}

/// Folds one event into the read model.
pub async fn project(store: &Projections, event: &EventEnvelope) -> Result<Projected, ProjectorError> {
    Ok(store.project_event(event, to_rows).await?)
}

/// Renders the parked projects among `codes` again from everything kept;
/// the outcomes follow `codes` (`Advanced` once a project renders, `Parked`
/// while it still cannot, `Duplicate` when it was not parked).
pub async fn retry(store: &Projections, codes: &[String]) -> Result<Vec<Projected>, ProjectorError> {
    let batch: Vec<ProjectEvents> =
        codes.iter().map(|code| ProjectEvents { project_code: code.clone(), ..ProjectEvents::default() }).collect();
    Ok(store.project_batch(&batch, to_rows).await?)
}

/// Renders every parked project again (at start-up: a new version may have
/// fixed what parked them) and says how many stay parked.
async fn retry_parked(store: &Projections) -> Result<usize, ProjectorError> {
    let parked: Vec<String> = store.parked_projects().await?.into_iter().map(|p| p.project_code).collect();
    if parked.is_empty() {
        return Ok(0);
    }
    let outcomes = retry(store, &parked).await?;
    let still = outcomes.iter().filter(|outcome| matches!(outcome, Projected::Parked { .. })).count();
    tracing::info!(parked = parked.len(), healed = parked.len() - still, "Parked projects rendered again.");
    Ok(still)
}

/// Runs the projector until `shutdown` is cancelled, reporting its lag:
/// it writes the read model through `store` and, on the embedded source,
/// reads the event store through `log`.
pub async fn run(
    store: Projections,
    log: EventLog,
    source: Source,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    retry_parked(&store).await?;
    let lag_stop = shutdown.child_token();
    let lag = tokio::spawn(report_lag(store.clone(), lag_stop.clone()));
    let result = match source {
        Source::Embedded { poll, appended } => run_embedded(store, log, poll, appended, shutdown).await,
        Source::Kafka(kafka) => run_kafka(store, kafka, shutdown).await,
    };
    lag_stop.cancel();
    // The reporter only logs; how it ended changes nothing.
    let _ = lag.await;
    result
}

/// Measures, every two seconds, how many store positions the views are
/// behind the event store: the `gongkai.projector.lag` gauge (exported over
/// OTLP when configured) and a log line while it is not zero.
async fn report_lag(store: Projections, shutdown: CancellationToken) {
    let lag = gongkai_telemetry::metrics::Gauge::new(
        "gongkai.projector.lag",
        "Store positions not yet folded into the views",
    );
    let parked = gongkai_telemetry::metrics::Gauge::new(
        "gongkai.projector.parked",
        "Projects the projector could not render, waiting with their last good views",
    );
    let mut every = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match store.projection_positions().await {
            Ok((projected, stored)) => {
                let behind = stored.saturating_sub(projected);
                lag.set(behind);
                if behind > 0 {
                    tracing::info!(lag = behind, "Projector behind the event store.");
                }
            }
            Err(error) => tracing::warn!(%error, "Cannot measure the projector lag."),
        }
        match store.parked_projects().await {
            Ok(projects) => {
                parked.set(projects.len() as u64);
                if let Some(first) = projects.first() {
                    tracing::warn!(
                        parked = projects.len(),
                        project = %first.project_code,
                        event = %first.event_id,
                        reason = %first.reason,
                        "Projects parked: their timelines wait for a fix (gongkai projector retry CODE)."
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "Cannot count the parked projects."),
        }
    }
}

async fn run_embedded(
    store: Projections,
    log: EventLog,
    poll: Duration,
    appended: Option<std::sync::Arc<tokio::sync::Notify>>,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    let appended = appended.unwrap_or_default();
    let (mut cursor, _) = store.projection_positions().await?;
    tracing::info!(cursor, "Projector following the embedded log.");
    while !shutdown.is_cancelled() {
        let events = log.events_after(cursor, 500).await?;
        if events.is_empty() {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = appended.notified() => continue,
                () = tokio::time::sleep(poll) => continue,
            }
        }
        let last = events.last().map_or(cursor, |last| last.position);
        let span = tracing::info_span!("projector.fold", otel.kind = "consumer", events = events.len());
        if gongkai_telemetry::exporting() {
            // The submissions' contexts are in the outbox rows of the batch.
            match log.trace_contexts(cursor, last).await {
                Ok(contexts) => {
                    gongkai_telemetry::propagation::continue_traces(&span, contexts.iter().map(String::as_str))
                }
                Err(error) => tracing::debug!(%error, "Cannot read the trace contexts of a batch."),
            }
        }
        cursor = last;
        // One transaction per batch, one rendering per project of it.
        fold_batch(&store, events).instrument(span).await?;
    }
    Ok(())
}

/// Events folded in one transaction by the live Kafka projector, at most.
const KAFKA_BATCH: usize = 1000;

fn consumer(kafka: &KafkaSource) -> Result<StreamConsumer, ProjectorError> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("group.id", &kafka.group_id)
        .set("client.id", "gongkai-projector")
        .set("auto.offset.reset", "earliest")
        // Offsets are stored by hand after the read model committed; the
        // timer then commits only those.
        .set("enable.auto.offset.store", "false")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("session.timeout.ms", "10000")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .create()?;
    let topics = kafka.topics();
    consumer.subscribe(&topics.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(consumer)
}

async fn run_kafka(store: Projections, kafka: KafkaSource, shutdown: CancellationToken) -> Result<(), ProjectorError> {
    // Subscribing to a topic that does not exist yet would leave the consumer
    // idle until its next metadata refresh; whoever starts first creates them.
    let cluster = gongkai_bus::KafkaConfig { bootstrap_servers: kafka.bootstrap_servers.clone() };
    let admin = gongkai_bus::kafka::admin_client(&cluster)?;
    while let Err(error) = gongkai_bus::kafka::ensure_topics(&admin, &kafka.topics(), kafka.partitions, -1).await {
        tracing::warn!(%error, "Cannot make sure the topics exist yet; retrying.");
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    let consumer = consumer(&kafka)?;
    tracing::info!(group = %kafka.group_id, "Projector consuming the domain topics.");
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => break,
            message = consumer.recv() => message,
        };
        let first = match first {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "Kafka consumer error; retrying.");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        // Whatever else the consumer already holds joins the batch: under load
        // one transaction folds many events, when idle a batch is one event
        // and nothing waits for company.
        let mut messages = vec![first];
        while messages.len() < KAFKA_BATCH {
            match consumer.recv().now_or_never() {
                Some(Ok(message)) => messages.push(message),
                Some(Err(error)) => {
                    tracing::warn!(%error, "Kafka consumer error; folding what arrived.");
                    break;
                }
                None => break,
            }
        }
        let mut events = Vec::with_capacity(messages.len());
        let mut traceparents = Vec::new();
        for message in &messages {
            match message.payload().map(EventEnvelope::decode) {
                Some(Ok(event)) => {
                    traceparents.extend(gongkai_bus::kafka::traceparent(message));
                    events.push(event);
                }
                // A value that is not an envelope can never be projected;
                // skipping it (loudly) keeps the partition moving.
                Some(Err(error)) => tracing::error!(
                    topic = message.topic(),
                    partition = message.partition(),
                    offset = message.offset(),
                    %error,
                    "Undecodable event skipped."
                ),
                None => tracing::error!(topic = message.topic(), offset = message.offset(), "Empty message skipped."),
            }
        }
        if !events.is_empty() {
            // Part of the submissions' traces when the relay sent them: a
            // child of the first, linked to the others.
            let span = tracing::info_span!("projector.fold", otel.kind = "consumer", events = events.len());
            gongkai_telemetry::propagation::continue_traces(&span, traceparents);
            fold_batch(&store, events).instrument(span).await?;
        }
        // Offsets only after the batch's transaction committed.
        for message in &messages {
            consumer.store_offset_from_message(message)?;
        }
    }
    // Drain: what was projected is committed before the process exits.
    if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing stored since the last commit is not a failure.
        tracing::debug!(%error, "Final offset commit.");
    }
    Ok(())
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RebuildStats {
    /// Events read from the log.
    pub events: u64,
    /// Projects whose views were rebuilt.
    pub projects: u64,
}

/// Empties the read model and folds the whole log into it again, from its
/// beginning to where it ends when the rebuild starts. `progress` hears the
/// total once (when known) and then each event read. The live projector's
/// committed offsets are left alone: it resumes where it was, and what it
/// sees again is a duplicate.
///
/// From the event store the log is read in `(project, seq)` order, so each
/// project arrives whole and is rendered once, from memory; one chunk is
/// rendered (on a blocking thread) while the previous one is written in one
/// transaction. From Kafka events arrive in partition order and are folded
/// a chunk at a time, each project of a chunk rendered from everything kept.
pub async fn rebuild(
    store: &Projections,
    log: &EventLog,
    source: &Source,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RebuildStats, ProjectorError> {
    store.reset_views().await?;
    let mut stats = RebuildStats::default();
    match source {
        Source::Embedded { .. } => {
            let end = log.end_position().await?;
            progress(Progress::Total(end));
            // One chunk is read and rendered while the one before is written.
            // (Two writers on PostgreSQL were no faster on two cores.)
            let (chunks, mut rendered) = tokio::sync::mpsc::channel::<Vec<ProjectEvents>>(1);
            let read = read_by_project(log, end, chunks);
            let write = async {
                while let Some(batch) = rendered.recv().await {
                    let read = batch.iter().map(|project| project.events.len() as u64).sum();
                    store.project_batch(&batch, to_rows).await?;
                    stats.events += read;
                    progress(Progress::Read(read));
                }
                Ok::<_, ProjectorError>(())
            };
            tokio::try_join!(read, write)?;
        }
        Source::Kafka(kafka) => {
            let mut chunk: Vec<EventEnvelope> = Vec::with_capacity(REBUILD_CHUNK);
            let (consumer, mut remaining) = replay_consumer(kafka)?;
            progress(Progress::Total(remaining.values().map(|(low, high)| (high - low).max(0) as u64).sum()));
            while !remaining.is_empty() {
                let message = consumer.recv().await?;
                let key = (message.topic().to_owned(), message.partition());
                if let Some(event) = message.payload().and_then(|payload| EventEnvelope::decode(payload).ok()) {
                    chunk.push(event);
                }
                if remaining.get(&key).is_some_and(|(_, end)| message.offset() + 1 >= *end) {
                    remaining.remove(&key);
                }
                if chunk.len() >= REBUILD_CHUNK || remaining.is_empty() {
                    let read = chunk.len() as u64;
                    fold_batch(store, std::mem::take(&mut chunk)).await?;
                    stats.events += read;
                    progress(Progress::Read(read));
                }
            }
        }
    }
    stats.projects = store.projected_projects().await?;
    Ok(stats)
}

/// Events read per rebuild step, and so folded per transaction.
const REBUILD_CHUNK: usize = 20_000;

/// Reads the event store up to position `end` a chunk at a time in
/// `(project, seq)` order, renders every project whose history the chunk
/// holds from seq 1, and sends each chunk on.
async fn read_by_project(
    log: &EventLog,
    end: u64,
    chunks: tokio::sync::mpsc::Sender<Vec<ProjectEvents>>,
) -> Result<(), ProjectorError> {
    let mut after: Option<(String, u64)> = None;
    loop {
        let events = log
            .events_by_project(after.as_ref().map(|(code, seq)| (code.as_str(), *seq)), end, REBUILD_CHUNK as u32)
            .await?;
        let full = events.len() == REBUILD_CHUNK;
        let mut batch = by_project(events);
        // A full chunk may stop inside its last project: that project is
        // read again, whole, with the next chunk (unless it fills the chunk
        // alone, when it is folded in parts like any live project).
        if full && batch.len() > 1 {
            batch.pop();
        }
        let Some(last) = batch.last().and_then(|project| project.events.last()) else { break };
        after = Some((last.subject.clone(), last.project_seq));
        let batch = tokio::task::spawn_blocking(move || {
            let mut batch = batch;
            for project in &mut batch {
                let whole = project.events.iter().zip(1..).all(|(event, seq)| event.project_seq == seq);
                if whole {
                    // A project that cannot be rendered is tried again, and
                    // parked, inside the write transaction.
                    project.rendered = to_rows(&project.events).ok();
                }
            }
            batch
        })
        .await
        .map_err(|error| ProjectorError::Render(error.to_string()))?;
        if chunks.send(batch).await.is_err() {
            // The writer stopped on an error, which it reports.
            break;
        }
    }
    Ok(())
}

/// A project's rows rendered from its gapless events, or why it cannot be:
/// [`render()`]'s refusal, or a panic while rendering, caught here so that it
/// parks one project instead of stopping the projector.
fn to_rows(events: &[EventEnvelope]) -> Result<gongkai_store::ProjectViewRows, Unrenderable> {
    let head = events.last();
    let failure = |event_id: &str, reason: String| {
        let project_seq = events.iter().find(|event| event.event_id == event_id).map_or(0, |event| event.project_seq);
        Unrenderable { event_id: event_id.to_owned(), project_seq, reason }
    };
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render(events).map(|views| rows::to_rows(events, &views))
    }));
    let result = match rendered {
        Ok(Ok(rows)) => return Ok(rows),
        Ok(Err(refusal)) => failure(refusal.event_id(), refusal.to_string()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            failure(head.map_or("", |event| event.event_id.as_str()), format!("rendering panicked: {message}"))
        }
    };
    tracing::error!(
        project = head.map_or("", |event| event.subject.as_str()),
        event = %result.event_id,
        reason = %result.reason,
        "Project parked: it cannot be rendered; every other project goes on."
    );
    Err(result)
}

/// `events` grouped by project, in the order projects first appear.
fn by_project(events: Vec<EventEnvelope>) -> Vec<ProjectEvents> {
    let mut batch: Vec<ProjectEvents> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for event in events {
        let at = *index.entry(event.subject.clone()).or_insert_with(|| {
            batch.push(ProjectEvents { project_code: event.subject.clone(), ..ProjectEvents::default() });
            batch.len() - 1
        });
        batch[at].events.push(event);
    }
    batch
}

/// Folds `events` in one transaction, grouped by project: one rendering per
/// project, whatever the number of its events in the batch.
async fn fold_batch(store: &Projections, events: Vec<EventEnvelope>) -> Result<(), ProjectorError> {
    store.project_batch(&by_project(events), to_rows).await?;
    Ok(())
}

/// Progress of a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// How many events the rebuild will read (an upper bound for Kafka).
    Total(u64),
    /// This many more were read.
    Read(u64),
}

type PartitionEnds = std::collections::BTreeMap<(String, i32), (i64, i64)>;

/// A consumer assigned every partition of the domain topics from the start,
/// and the (low, high) watermark of each non-empty partition.
fn replay_consumer(kafka: &KafkaSource) -> Result<(StreamConsumer, PartitionEnds), ProjectorError> {
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.bootstrap_servers)
        // A throwaway group: the rebuild commits nothing.
        .set("group.id", format!("{}-rebuild", kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()?;
    let timeout = Duration::from_secs(30);
    let mut assignment = TopicPartitionList::new();
    let mut ends = PartitionEnds::new();
    for topic in kafka.topics() {
        let metadata = consumer.fetch_metadata(Some(&topic), timeout)?;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer.fetch_watermarks(&topic, partition.id(), timeout)?;
            if high > low {
                assignment.add_partition_offset(&topic, partition.id(), Offset::Beginning)?;
                ends.insert((topic.clone(), partition.id()), (low, high));
            }
        }
    }
    consumer.assign(&assignment)?;
    Ok((consumer, ends))
}
