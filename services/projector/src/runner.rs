//! The projector's loop: events from the log into the read model.
//!
//! One loop over the bus's [`LogReader`], whatever the log: Apache Kafka (a
//! consumer group over the five domain topics) or, embedded, the event store
//! itself read in position order. Each batch is folded in one transaction
//! and committed to the reader only after that transaction committed. Every
//! event goes through [`Projections::project_batch_remembering`], idempotent
//! by `(project, seq)` and indifferent to arrival order, so Kafka's
//! at-least-once delivery and any interleaving of topics give the same views.
//! The loop's [`Folder`] remembers the projects it folded (their [`Carried`]
//! renderings, within a memory budget), so a project's next event costs the
//! event and not the project's history. A rebuild ([`rebuild`]) reads the
//! whole log through the bus's [`LogReplay`] instead, and renders each
//! project once, whole.
//!
//! A project that cannot be rendered, because [`render()`] refuses it or
//! because rendering panics (a bug, or with `overflow-checks` an arithmetic
//! slip), is parked by the store and the batch goes on: one hostile event
//! never stops the projector. Parked projects are rendered again at start-up
//! (so an upgrade that fixes the cause heals them) and on demand
//! ([`retry`], `gongkai projector retry CODE`); `gongkai.projector.parked`
//! counts them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gongkai_bus::{LogReader, LogReplay, LogSource};
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{
    EventLog, Memory, ProjectEvents, ProjectViewRows, Projected, Projections, RebuildFrom, RebuiltProject, Remembered,
    Renderer, Unrenderable, ViewChanges, ViewRebuild,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::{Carried, CarryError, rows};

/// Failures of the projector.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    /// The read model could not be written or read.
    #[error("read model store failed")]
    Store(#[from] gongkai_store::StoreError),
    /// The log could not be read.
    #[error("event log failed")]
    Log(#[from] gongkai_bus::BusError),
    /// A rendering thread or the reading task of a rebuild stopped
    /// (rendering cannot panic: panics park their project).
    #[error("a stage of the rebuild failed: {0}")]
    Stage(String),
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

/// How many bytes (roughly) of projects' renderings the live projector
/// remembers by default: see [`Folder`].
pub const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;

/// How a live projector runs beyond where it reads.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How many bytes (roughly) of projects' renderings it remembers (see
    /// [`Folder`]).
    pub memory_bytes: u64,
    /// Told whether the projector is live: parked projects retried and the
    /// reader holding its share of the log (see [`LogReader::live`]). A
    /// readiness probe, and a benchmark that should not time start-up.
    pub live: Option<watch::Sender<bool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { memory_bytes: DEFAULT_MEMORY_BYTES, live: None }
    }
}

/// Runs the projector on `source` until `shutdown` is cancelled, reporting
/// its lag.
pub async fn run(
    store: Projections,
    log: EventLog,
    source: LogSource,
    shutdown: CancellationToken,
    options: RunOptions,
) -> Result<(), ProjectorError> {
    retry_parked(&store).await?;
    let lag_stop = shutdown.child_token();
    let lag = tokio::spawn(report_lag(store.clone(), lag_stop.clone()));
    // On the embedded log, reading resumes after the last position the views hold.
    let (from, _) = store.projection_positions().await?;
    let result = match LogReader::open(&source, &log, from, &shutdown).await {
        Ok(Some(reader)) => {
            if let Some(live) = options.live {
                tokio::spawn(pass_on(reader.live(), live, lag_stop.clone()));
            }
            follow(&store, reader, &shutdown, options.memory_bytes).await
        }
        Ok(None) => Ok(()),
        Err(error) => Err(error.into()),
    };
    lag_stop.cancel();
    // The reporter only logs; how it ended changes nothing.
    let _ = lag.await;
    result
}

/// Passes on every change of `from` to `to` until `stop`; `to` hears
/// `false` at the end.
async fn pass_on(mut from: watch::Receiver<bool>, to: watch::Sender<bool>, stop: CancellationToken) {
    loop {
        to.send_replace(*from.borrow_and_update());
        tokio::select! {
            () = stop.cancelled() => break,
            changed = from.changed() => if changed.is_err() { stop.cancelled().await; break },
        }
    }
    to.send_replace(false);
}

/// The loop: folds each batch of `reader` in one transaction, then commits
/// it to the reader, until shutdown; then closes the reader, which drains
/// (on Kafka, what was folded is committed before the process exits).
async fn follow(
    store: &Projections,
    mut reader: LogReader,
    shutdown: &CancellationToken,
    memory_bytes: u64,
) -> Result<(), ProjectorError> {
    let mut folder = Folder::with_memory(store.clone(), memory_bytes);
    while let Some(batch) = reader.next_batch(shutdown).await? {
        if !batch.events.is_empty() {
            // Part of the submissions' traces: a child of the first, linked
            // to the others.
            let span = tracing::info_span!("projector.fold", otel.kind = "consumer", events = batch.events.len());
            gongkai_telemetry::propagation::continue_traces(&span, batch.traceparents.iter().map(String::as_str));
            // One transaction per batch, one rendering per project of it.
            folder.fold(batch.events).instrument(span).await?;
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

/// Builds the read model again from the whole log, from its beginning to
/// where it ends when the rebuild starts, beside the live views, and puts
/// it in their place at the end (`gongkai_store::ViewRebuild`): the site
/// and supervision read the old views until then, and a rebuild that fails
/// leaves them as they were. `progress` hears the total once and then each
/// event read. The live projector may go on meanwhile: what it folds is
/// taken into the new views before they go live, and its position (its
/// committed offsets, or the views' own) is left alone.
///
/// The log is read in batches ([`LogReplay`]) while the batch before is
/// rendered, on a blocking thread, and the one before that is written. A
/// project whose events in the batch are its whole history (from seq 1,
/// gapless) is rendered there, once, from memory; any other waits and is
/// rendered whole at the end. From the event store every batch holds whole
/// projects; from Kafka a project's domains arrive interleaved over
/// partitions and may span batches.
pub async fn rebuild(
    store: &Projections,
    log: &EventLog,
    source: &LogSource,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RebuildStats, ProjectorError> {
    // Read from the store's own log, the rebuilt copy of each event names
    // it there instead of holding its envelope again.
    let from = match source {
        LogSource::Store { .. } => RebuildFrom::ThisStore,
        LogSource::Kafka(_) => RebuildFrom::Elsewhere,
    };
    let mut build = store.rebuild_beside(from).await?;
    let mut stats = RebuildStats::default();
    let started = Instant::now();
    match load(&mut build, log, source, progress, &mut stats).await {
        Ok(()) => {
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(events = stats.events, seconds, "Rebuild: the log is read, rendered and loaded.");
            build.finish(to_rows).await?;
        }
        Err(error) => {
            if let Err(cleanup) = build.abandon().await {
                tracing::warn!(error = %cleanup, "Could not drop the tables of a failed rebuild; the next one will.");
            }
            return Err(error);
        }
    }
    stats.projects = store.projected_projects().await?;
    Ok(stats)
}

/// Reads the whole log into `build`.
async fn load(
    build: &mut ViewRebuild,
    log: &EventLog,
    source: &LogSource,
    progress: &(dyn Fn(Progress) + Sync),
    stats: &mut RebuildStats,
) -> Result<(), ProjectorError> {
    let mut replay = LogReplay::open(source, log).await?;
    progress(Progress::Total(replay.total()));
    // Three stages, each on the batch after the next one's: the log is read
    // while the batch before is rendered (on a blocking thread) and the one
    // before that is written.
    let render_threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    // Each stage's busy time, logged at the end: the slowest sets the pace.
    let (mut rendering, mut writing) = (Duration::ZERO, Duration::ZERO);
    let (read_tx, mut read_rx) = tokio::sync::mpsc::channel::<Vec<EventEnvelope>>(1);
    let (rendered_tx, mut rendered_rx) = tokio::sync::mpsc::channel::<(Vec<RebuiltProject>, u64)>(1);
    // A task of its own: reading the embedded log blocks its thread (see
    // the store's SQLite reads), and must not hold up the writes.
    let reader = tokio::spawn(async move {
        let mut reading = Duration::ZERO;
        loop {
            let started = Instant::now();
            let Some(batch) = replay.next_batch().await? else { break };
            reading += started.elapsed();
            if read_tx.send(batch.events).await.is_err() {
                // A later stage stopped on an error, which it reports.
                break;
            }
        }
        // Dropping the sender closes the channel: the later stages end
        // after the last batch.
        Ok::<_, ProjectorError>(reading)
    });
    // Stops the reader when the rebuild stops early.
    let reader = tokio_util::task::AbortOnDropHandle::new(reader);
    let render = async {
        while let Some(events) = read_rx.recv().await {
            let read = events.len() as u64;
            let started = Instant::now();
            // Projects render independently: a share of the batch on each
            // core, on the blocking pool's threads (which stay, and keep
            // their allocator's pages, from one batch to the next).
            let rendering_threads: Vec<_> = split_by_project(events, render_threads)
                .into_iter()
                .map(|share| tokio::task::spawn_blocking(move || render_whole(share)))
                .collect();
            let mut projects = Vec::new();
            for thread in rendering_threads {
                projects.extend(thread.await.map_err(|error| ProjectorError::Stage(error.to_string()))?);
            }
            rendering += started.elapsed();
            if rendered_tx.send((projects, read)).await.is_err() {
                break;
            }
        }
        drop(rendered_tx);
        Ok::<_, ProjectorError>(())
    };
    let write = async {
        while let Some((batch, read)) = rendered_rx.recv().await {
            let started = Instant::now();
            build.load(&batch, to_rows).await?;
            writing += started.elapsed();
            stats.events += read;
            progress(Progress::Read(read));
        }
        Ok::<_, ProjectorError>(())
    };
    tokio::try_join!(render, write)?;
    let reading = reader.await.map_err(|error| ProjectorError::Stage(error.to_string()))??;
    tracing::info!(
        reading = reading.as_secs_f64(),
        rendering = rendering.as_secs_f64(),
        writing = writing.as_secs_f64(),
        "Rebuild: seconds each stage was busy."
    );
    Ok(())
}

/// A batch's events by project, for [`ViewRebuild::load`]: each project
/// rendered when they are its whole history, seq 1 onwards and gapless (put
/// in seq order first; a repeat leaves the project to the end of the
/// rebuild).
pub fn render_whole(events: Vec<EventEnvelope>) -> Vec<RebuiltProject> {
    by_project(events).into_iter().map(render_project).collect()
}

/// `events` in `parts` groups, each project's events in one of them, in
/// their order: a batch's share for each of the rebuild's render threads.
fn split_by_project(events: Vec<EventEnvelope>, parts: usize) -> Vec<Vec<EventEnvelope>> {
    let parts = parts.max(1);
    let mut groups: Vec<Vec<EventEnvelope>> = (0..parts).map(|_| Vec::with_capacity(events.len() / parts)).collect();
    for event in events {
        // `DefaultHasher::new()` is keyed the same in every run.
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&event.subject, &mut hasher);
        let at = (std::hash::Hasher::finish(&hasher) % parts as u64) as usize;
        groups[at].push(event);
    }
    groups
}

/// One project of a batch for [`render_whole`].
fn render_project(project: ProjectEvents) -> RebuiltProject {
    let mut events = project.events;
    events.sort_by_key(|event| event.project_seq);
    let whole = events.iter().zip(1..).all(|(event, seq)| event.project_seq == seq);
    let rendered = whole.then(|| to_rows(&events));
    RebuiltProject { project_code: project.project_code, events, rendered }
}

/// A project's rows rendered from its gapless events, or why it cannot be:
/// [`render()`]'s refusal, or a panic while rendering, caught here so that it
/// parks one project instead of stopping the projector.
pub fn to_rows(events: &[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable> {
    caught(events, || rows::to_rows(events).map_err(CarryError::from)).inspect_err(|failure| parking(events, failure))
}

/// Runs `render` over `events` (a project's, in seq order), turning its
/// refusal or its panic into an [`Unrenderable`] pinned on the event at
/// fault (the last when it cannot tell).
fn caught<T>(events: &[EventEnvelope], render: impl FnOnce() -> Result<T, CarryError>) -> Result<T, Unrenderable> {
    let head = events.last();
    let failure = |event_id: &str, reason: String| {
        let project_seq = events.iter().find(|event| event.event_id == event_id).map_or(0, |event| event.project_seq);
        Unrenderable { event_id: event_id.to_owned(), project_seq, reason }
    };
    let head_id = head.map_or("", |event| event.event_id.as_str());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(render)) {
        Ok(Ok(rendered)) => Ok(rendered),
        Ok(Err(CarryError::Refused(refusal))) => Err(failure(refusal.event_id(), refusal.to_string())),
        Ok(Err(other)) => Err(failure(head_id, other.to_string())),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(failure(head_id, format!("rendering panicked: {message}")))
        }
    }
}

/// Says that the project of `events` is parked, and why.
fn parking(events: &[EventEnvelope], failure: &Unrenderable) {
    tracing::error!(
        project = events.last().map_or("", |event| event.subject.as_str()),
        event = %failure.event_id,
        reason = %failure.reason,
        "Project parked: it cannot be rendered; every other project goes on."
    );
}

/// The projector's [`Renderer`] for the live fold: a project is rendered
/// whole into a [`Carried`] rendering, which later folds carry over the
/// project's new events (see `carry`). Refusals and panics are caught as in
/// [`to_rows`]; one while carrying only makes the store render the project
/// whole again.
#[derive(Debug, Clone, Copy, Default)]
struct Views;

impl Renderer for Views {
    type Memo = Carried;

    fn render(&self, events: &[EventEnvelope]) -> Result<(ProjectViewRows, Carried), Unrenderable> {
        caught(events, || Carried::start(events).map_err(CarryError::from))
            .inspect_err(|failure| parking(events, failure))
    }

    fn advance(&self, memo: &mut Carried, events: &[EventEnvelope]) -> Result<ViewChanges, Unrenderable> {
        caught(events, || memo.advance(events))
    }
}

/// What the live fold remembers: the projects' [`Carried`] renderings, in a
/// cache bounded by their weight in bytes, the least recently folded project
/// forgotten first. (Recency, not frequency: a project's events come in a
/// burst over its lifecycle and then stop, so a finished project that was
/// folded often must still give way to a new one; with TinyLFU admission the
/// finished ones kept the new ones out and throughput halved.) A project not
/// remembered is read and rendered whole, and remembered from then on.
struct FoldMemory {
    cache: moka::sync::Cache<String, Slot>,
}

/// One project's remembered rendering and its weight; empty while a fold
/// has it out.
type Slot = Arc<(u32, Mutex<Option<Remembered<Carried>>>)>;

impl std::fmt::Debug for FoldMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoldMemory")
            .field("projects", &self.cache.entry_count())
            .field("bytes", &self.cache.weighted_size())
            .finish()
    }
}

impl FoldMemory {
    fn new(bytes: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(bytes)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .weigher(|code: &String, slot: &Slot| slot.0.saturating_add(u32::try_from(code.len()).unwrap_or(u32::MAX)))
            .build();
        Self { cache }
    }
}

impl Memory<Carried> for FoldMemory {
    fn take(&mut self, project_code: &str) -> Option<Remembered<Carried>> {
        // A read (not a removal), so that the cache counts the project as used.
        let slot = self.cache.get(project_code)?;
        slot.1.lock().ok()?.take()
    }

    fn keep(&mut self, project_code: &str, remembered: Remembered<Carried>) {
        if self.cache.policy().max_capacity() == Some(0) {
            return;
        }
        // The memo, and what every project costs beside its events (its
        // maps and state, the supervision rows, the cache's entry): about
        // 12 KB, measured as RSS over 100,000 projects of 4 events.
        let weight = u32::try_from(remembered.memo.weight() + 12 * 1024).unwrap_or(u32::MAX);
        self.cache.insert(project_code.to_owned(), Arc::new((weight, Mutex::new(Some(remembered)))));
    }
}

/// The live fold: each batch of the log in one transaction, with what it
/// remembers of the projects it folded before, so that a project's new
/// event costs the event and not the project's history (`views::memory` in
/// the store, `carry` here).
#[derive(Debug)]
pub struct Folder {
    store: Projections,
    memory: FoldMemory,
}

impl Folder {
    /// A fold into `store` that remembers [`DEFAULT_MEMORY_BYTES`].
    pub fn new(store: Projections) -> Self {
        Self::with_memory(store, DEFAULT_MEMORY_BYTES)
    }

    /// A fold into `store` that remembers at most `bytes` (roughly) of
    /// projects' renderings; 0 remembers nothing.
    pub fn with_memory(store: Projections, bytes: u64) -> Self {
        Self { store, memory: FoldMemory::new(bytes) }
    }

    /// Folds `events` in one transaction, grouped by project: one rendering
    /// per project, whatever the number of its events in the batch.
    pub async fn fold(&mut self, events: Vec<EventEnvelope>) -> Result<Vec<Projected>, ProjectorError> {
        let outcomes = self.store.project_batch_remembering(&by_project(events), &Views, &mut self.memory).await?;
        self.memory.cache.run_pending_tasks();
        Ok(outcomes)
    }

    /// How many projects it remembers, and their weight in bytes (roughly).
    pub fn remembered(&self) -> (u64, u64) {
        (self.memory.cache.entry_count(), self.memory.cache.weighted_size())
    }
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

/// Progress of a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// How many events the rebuild will read (an upper bound for Kafka).
    Total(u64),
    /// This many more were read.
    Read(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_splits_by_project_keeping_each_projects_events_together_and_in_order() {
        let events: Vec<EventEnvelope> = (0..60)
            .map(|n| EventEnvelope {
                subject: format!("2024-230113-77-01-{:06}", n % 7),
                project_seq: n / 7 + 1,
                ..EventEnvelope::default()
            })
            .collect();
        let groups = split_by_project(events.clone(), 2);
        assert_eq!(groups.len(), 2);
        assert!(groups.iter().all(|group| !group.is_empty()), "both threads get work");
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), events.len());
        for group in &groups {
            for project in group.iter().map(|event| &event.subject) {
                let here: Vec<u64> =
                    group.iter().filter(|event| &event.subject == project).map(|event| event.project_seq).collect();
                let all: Vec<u64> =
                    events.iter().filter(|event| &event.subject == project).map(|event| event.project_seq).collect();
                assert_eq!(here, all, "{project} whole and in order in one group");
            }
        }
        assert_eq!(split_by_project(events.clone(), 0).concat(), events);
    }
}
