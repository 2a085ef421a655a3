//! The `embedded` log: the event store itself, read in position order.

use std::sync::Arc;
use std::time::Duration;

use gongkai_store::EventLog;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Batch;
use crate::BusError;

/// Events a [`StoreReader`] batch holds at most.
const BATCH: u32 = 500;

/// Events a [`StoreReplay`] batch holds at most.
pub(super) const REPLAY_BATCH: u32 = 20_000;

/// Follows the event store in position order.
#[derive(Debug)]
pub struct StoreReader {
    log: EventLog,
    poll: Duration,
    appended: Arc<Notify>,
    /// The last position committed.
    cursor: u64,
    /// The last position of the last batch, committed by [`Self::commit`].
    read: u64,
}

impl StoreReader {
    /// A reader of the positions after `from`.
    pub(super) fn open(log: &EventLog, from: u64, poll: Duration, appended: Option<Arc<Notify>>) -> Self {
        tracing::info!(cursor = from, "Projector following the embedded log.");
        Self { log: log.clone(), poll, appended: appended.unwrap_or_default(), cursor: from, read: from }
    }

    pub(super) async fn next_batch(&mut self, shutdown: &CancellationToken) -> Result<Option<Batch>, BusError> {
        while !shutdown.is_cancelled() {
            let events = self.log.events_after(self.cursor, BATCH).await?;
            let Some(last) = events.last().map(|event| event.position) else {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = self.appended.notified() => continue,
                    () = tokio::time::sleep(self.poll) => continue,
                }
            };
            let traceparents = self.trace_contexts(last).await;
            self.read = last;
            return Ok(Some(Batch { events, traceparents }));
        }
        Ok(None)
    }

    /// The submissions' trace contexts, kept in the outbox rows of the
    /// positions after the cursor up to `last`; read only while telemetry is
    /// exported, and a failure to read them only costs the traces.
    async fn trace_contexts(&self, last: u64) -> Vec<String> {
        if !gongkai_telemetry::exporting() {
            return Vec::new();
        }
        self.log.trace_contexts(self.cursor, last).await.unwrap_or_else(|error| {
            tracing::debug!(%error, "Cannot read the trace contexts of a batch.");
            Vec::new()
        })
    }

    pub(super) fn commit(&mut self) {
        self.cursor = self.read;
    }
}

/// Reads the event store up to the position that was its last when the
/// replay opened, in `(project, seq)` order, so that each project's events
/// arrive together.
#[derive(Debug)]
pub struct StoreReplay {
    log: EventLog,
    batch: u32,
    end: u64,
    /// The last event read: project code and seq.
    after: Option<(String, u64)>,
    done: bool,
}

impl StoreReplay {
    /// A replay in batches of at most `batch` events.
    pub(super) async fn open(log: &EventLog, batch: u32) -> Result<Self, BusError> {
        let end = log.end_position().await?;
        Ok(Self { log: log.clone(), batch: batch.max(1), end, after: None, done: false })
    }

    pub(super) fn total(&self) -> u64 {
        self.end
    }

    pub(super) async fn next_batch(&mut self) -> Result<Option<Batch>, BusError> {
        if self.done {
            return Ok(None);
        }
        let after = self.after.as_ref().map(|(code, seq)| (code.as_str(), *seq));
        let mut events = self.log.events_by_project(after, self.end, self.batch).await?;
        // A full batch may stop inside its last project: that project is
        // read again, whole, with the next batch (unless it fills the batch
        // alone, when it is read in parts like any live project).
        if events.len() == self.batch as usize
            && let Some(last) = events.last().map(|event| event.subject.clone())
            && let Some(before) = events.iter().rposition(|event| event.subject != last)
        {
            events.truncate(before + 1);
        }
        let Some(last) = events.last() else {
            self.done = true;
            return Ok(None);
        };
        self.after = Some((last.subject.clone(), last.project_seq));
        Ok(Some(Batch { events, traceparents: Vec::new() }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::ops::Range;

    use gongkai_store::Store;
    use gongkai_testkit::on_both_stores;

    use super::*;
    use crate::{LogReader, LogReplay, LogSource};

    /// Appends submissions `requests` of lawful lifecycle `n`, one event each.
    async fn submit(store: &Store, n: usize, requests: Range<usize>) {
        let ingestor = gongkai_ingest::Ingestor::new(store.events());
        let principal = gongkai_grpc::auth::Principal {
            id: "test".into(),
            role: gongkai_grpc::auth::Role::Submitter,
            regions: vec!["23".into()],
        };
        let code = format!("2024-230113-77-01-{n:06}");
        let lifecycle = gongkai_scenarios::ppp_lifecycle(&code, &code).requests;
        for request in lifecycle.into_iter().skip(requests.start).take(requests.len()) {
            let (domain, submission) = gongkai_testkit::submission(request);
            ingestor.submit(&principal, domain, submission).await.expect("accepted");
        }
    }

    fn source() -> LogSource {
        LogSource::Store { poll: Duration::from_millis(20), appended: None }
    }

    /// The events of each project in each batch of `replay`, in code order.
    async fn batches(mut replay: LogReplay) -> Vec<Vec<usize>> {
        let mut seen = Vec::new();
        while let Some(batch) = replay.next_batch().await.unwrap() {
            let mut projects: BTreeMap<String, usize> = BTreeMap::new();
            for event in &batch.events {
                *projects.entry(event.subject.clone()).or_default() += 1;
            }
            seen.push(projects.into_values().collect());
        }
        seen
    }

    on_both_stores!(store: a_reader_hands_out_what_follows_its_cursor_and_moves_on_commit, a_replay_reads_whole_projects_up_to_its_end);

    async fn a_reader_hands_out_what_follows_its_cursor_and_moves_on_commit(store: &Store) {
        submit(store, 1, 0..3).await;
        let shutdown = CancellationToken::new();
        let mut reader = LogReader::open(&source(), &store.log(), 0, &shutdown).await.unwrap().expect("opened");
        let batch = reader.next_batch(&shutdown).await.unwrap().expect("a batch");
        let seqs: Vec<u64> = batch.events.iter().map(|event| event.project_seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        // Not committed: read again.
        assert_eq!(reader.next_batch(&shutdown).await.unwrap().as_ref(), Some(&batch));
        reader.commit().unwrap();
        submit(store, 2, 0..2).await;
        let next = reader.next_batch(&shutdown).await.unwrap().expect("a batch");
        assert_eq!(next.events.len(), 2);
        assert!(next.events.iter().all(|event| event.position > batch.events[2].position));
        reader.commit().unwrap();
        // Nothing new: it waits, until shutdown.
        let waiting = tokio::time::timeout(Duration::from_millis(100), reader.next_batch(&shutdown)).await;
        assert!(waiting.is_err(), "nothing to hand over: {waiting:?}");
        shutdown.cancel();
        assert_eq!(reader.next_batch(&shutdown).await.unwrap(), None);
        reader.close();
    }

    async fn a_replay_reads_whole_projects_up_to_its_end(store: &Store) {
        // Projects of 5, 7 and 5 events, appended interleaved.
        for (n, requests) in [(1, 0..3), (2, 0..7), (3, 0..5), (1, 3..5)] {
            submit(store, n, requests).await;
        }
        let replay = LogReplay::open(&source(), &store.log()).await.unwrap();
        assert_eq!(replay.total(), 17);
        submit(store, 4, 0..2).await;
        assert_eq!(batches(replay).await, [vec![5, 7, 5]], "what was appended after the start is left out");
        // A full batch that stops inside a project leaves that project,
        // whole, to the next; a project larger than a batch is split.
        let small = |size| async move { LogReplay::Store(StoreReplay::open(&store.log(), size).await.unwrap()) };
        assert_eq!(batches(small(10).await).await, [vec![5], vec![7], vec![5, 2]]);
        assert_eq!(batches(small(6).await).await, [vec![5], vec![6], vec![1], vec![5], vec![2]]);
    }
}
