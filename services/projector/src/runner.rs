//! The projector's loop: events from the log into the read model.
//!
//! One loop over the bus's [`LogReader`], whatever the log: Apache Kafka (a
//! consumer group over the five domain topics) or, embedded, the event store
//! itself read in position order. Each batch is folded in one transaction
//! and committed to the reader only after that transaction committed. Every
//! event goes through [`Projections::project_batch`], idempotent by
//! `(project, seq)` and indifferent to arrival order, so Kafka's
//! at-least-once delivery and any interleaving of topics give the same views.
//! A rebuild ([`rebuild`]) reads the whole log through the bus's
//! [`LogReplay`] instead.
//!
//! A project that cannot be rendered, because [`render()`] refuses it or
//! because rendering panics (a bug, or with `overflow-checks` an arithmetic
//! slip), is parked by the store and the batch goes on: one hostile event
//! never stops the projector. Parked projects are rendered again at start-up
//! (so an upgrade that fixes the cause heals them) and on demand
//! ([`retry`], `gongkai projector retry CODE`); `gongkai.projector.parked`
//! counts them.

use std::time::Duration;

use gongkai_bus::{LogReader, LogReplay, LogSource};
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{EventLog, ProjectEvents, Projected, Projections, Unrenderable};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::{render, rows};

/// Failures of the projector.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    /// The read model could not be written or read.
    #[error("read model store failed")]
    Store(#[from] gongkai_store::StoreError),
    /// The log could not be read.
    #[error("event log failed")]
    Log(#[from] gongkai_bus::BusError),
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

/// Runs the projector on `source` until `shutdown` is cancelled, reporting
/// its lag.
pub async fn run(
    store: Projections,
    log: EventLog,
    source: LogSource,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    retry_parked(&store).await?;
    let lag_stop = shutdown.child_token();
    let lag = tokio::spawn(report_lag(store.clone(), lag_stop.clone()));
    // On the embedded log, reading resumes after the last position the views hold.
    let (from, _) = store.projection_positions().await?;
    let result = match LogReader::open(&source, &log, from, &shutdown).await {
        Ok(Some(reader)) => follow(&store, reader, &shutdown).await,
        Ok(None) => Ok(()),
        Err(error) => Err(error.into()),
    };
    lag_stop.cancel();
    // The reporter only logs; how it ended changes nothing.
    let _ = lag.await;
    result
}

/// The loop: folds each batch of `reader` in one transaction, then commits
/// it to the reader, until shutdown; then closes the reader, which drains
/// (on Kafka, what was folded is committed before the process exits).
async fn follow(
    store: &Projections,
    mut reader: LogReader,
    shutdown: &CancellationToken,
) -> Result<(), ProjectorError> {
    while let Some(batch) = reader.next_batch(shutdown).await? {
        if !batch.events.is_empty() {
            // Part of the submissions' traces: a child of the first, linked
            // to the others.
            let span = tracing::info_span!("projector.fold", otel.kind = "consumer", events = batch.events.len());
            gongkai_telemetry::propagation::continue_traces(&span, batch.traceparents.iter().map(String::as_str));
            // One transaction per batch, one rendering per project of it.
            fold_batch(store, batch.events).instrument(span).await?;
        }
        reader.commit()?;
    }
    reader.close();
    Ok(())
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
/// total once and then each event read. The live projector's position (its
/// committed offsets, or the views' own) is left alone: it resumes where it
/// was, and what it sees again is a duplicate.
///
/// The log is read in batches ([`LogReplay`]); each batch's projects are
/// rendered on a blocking thread while the batch before is written in one
/// transaction. A project whose events in the batch are its whole history
/// (from seq 1, gapless) is rendered there, once, from memory; any other is
/// folded like a live one, from everything kept. From the event store every
/// batch holds whole projects in `(project, seq)` order, so nearly every
/// project is of the first kind; from Kafka a project's domains arrive
/// interleaved over partitions and may span batches.
pub async fn rebuild(
    store: &Projections,
    log: &EventLog,
    source: &LogSource,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RebuildStats, ProjectorError> {
    store.reset_views().await?;
    let mut replay = LogReplay::open(source, log).await?;
    progress(Progress::Total(replay.total()));
    let mut stats = RebuildStats::default();
    // One batch is read and rendered while the one before is written. (Two
    // writers on PostgreSQL were no faster on two cores.)
    let (batches, mut rendered) = tokio::sync::mpsc::channel::<(Vec<ProjectEvents>, u64)>(1);
    let read = async {
        while let Some(batch) = replay.next_batch().await? {
            let read = batch.events.len() as u64;
            let projects = tokio::task::spawn_blocking(move || render_whole(by_project(batch.events)))
                .await
                .map_err(|error| ProjectorError::Render(error.to_string()))?;
            if batches.send((projects, read)).await.is_err() {
                // The writer stopped on an error, which it reports.
                break;
            }
        }
        // Closes the channel: the writer ends after the last batch.
        drop(batches);
        Ok::<_, ProjectorError>(())
    };
    let write = async {
        while let Some((batch, read)) = rendered.recv().await {
            store.project_batch(&batch, to_rows).await?;
            stats.events += read;
            progress(Progress::Read(read));
        }
        Ok::<_, ProjectorError>(())
    };
    tokio::try_join!(read, write)?;
    stats.projects = store.projected_projects().await?;
    Ok(stats)
}

/// Renders, ahead of the write, every project of `batch` whose events are
/// its whole history: seq 1 onwards, gapless (put in seq order first; arrival
/// order is kept among repeats, which leave the project to the write).
fn render_whole(mut batch: Vec<ProjectEvents>) -> Vec<ProjectEvents> {
    for project in &mut batch {
        project.events.sort_by_key(|event| event.project_seq);
        let whole = project.events.iter().zip(1..).all(|(event, seq)| event.project_seq == seq);
        if whole {
            // A project that cannot be rendered is tried again, and parked,
            // inside the write transaction.
            project.rendered = to_rows(&project.events).ok();
        }
    }
    batch
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
