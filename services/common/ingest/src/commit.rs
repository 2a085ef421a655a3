//! Group commit: the appends of concurrent submissions, written together.
//!
//! Every submission of an [`Ingestor`](crate::Ingestor) hands its event to
//! one committer task and waits for its outcome. The task takes whatever
//! appends are waiting (up to [`MAX_BATCH`]), writes them with
//! [`EventStore::append_all`] (one transaction, one commit; each append's
//! outcome its own) and answers each caller only after the commit, so
//! nothing is acknowledged before it is durable. While one batch commits
//! the next gathers, so no timer is needed: a lone submission is written at
//! once, and under load the batch grows with the number of callers.
//!
//! The task starts with the first append (again after a panic) and ends
//! when the last clone of its [`GroupCommit`] is dropped. An append whose
//! caller went away before its batch began is not written.

use std::sync::{Arc, Mutex};

use gongkai_store::{AppendOutcome, EventStore, NewEvent, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::IngestError;

/// Most appends written in one transaction.
const MAX_BATCH: usize = 256;

/// What a caller is told: its event back with its own outcome, or the
/// failure of the whole batch (shared by every append in it).
type Answer = Result<(NewEvent, Result<AppendOutcome, StoreError>), Arc<StoreError>>;

struct Waiting {
    event: NewEvent,
    answer: oneshot::Sender<Answer>,
}

/// The committer of one event store. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    events: EventStore,
    queue: Arc<Mutex<Option<mpsc::Sender<Waiting>>>>,
}

impl GroupCommit {
    pub(crate) fn new(events: EventStore) -> Self {
        Self { events, queue: Arc::new(Mutex::new(None)) }
    }

    /// Appends `event` with whatever other appends are waiting, and answers
    /// once their transaction has committed (or failed): the append's own
    /// outcome with the event, its own store error, or the batch's.
    pub(crate) async fn append(&self, event: NewEvent) -> Result<(AppendOutcome, NewEvent), IngestError> {
        let queue = {
            let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*queue {
                Some(running) if !running.is_closed() => running.clone(),
                _ => {
                    let (sender, waiting) = mpsc::channel(MAX_BATCH * 4);
                    tokio::spawn(run(self.events.clone(), waiting));
                    queue.insert(sender).clone()
                }
            }
        };
        let (answer, answered) = oneshot::channel();
        queue.send(Waiting { event, answer }).await.map_err(|_| IngestError::CommitterStopped)?;
        match answered.await.map_err(|_| IngestError::CommitterStopped)? {
            Ok((event, Ok(outcome))) => Ok((outcome, event)),
            Ok((_, Err(error))) => Err(error.into()),
            Err(batch) => Err(IngestError::Store(batch)),
        }
    }
}

async fn run(events: EventStore, mut queue: mpsc::Receiver<Waiting>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        waiting.retain(|append| !append.answer.is_closed());
        if waiting.is_empty() {
            continue;
        }
        let (batch, answers): (Vec<NewEvent>, Vec<oneshot::Sender<Answer>>) =
            waiting.drain(..).map(|append| (append.event, append.answer)).unzip();
        let started = std::time::Instant::now();
        let written = events.append_all(&batch).await;
        tracing::trace!(appends = batch.len(), elapsed = ?started.elapsed(), "Wrote a batch of appends.");
        match written {
            Ok(outcomes) => {
                for ((answer, event), outcome) in answers.into_iter().zip(batch).zip(outcomes) {
                    // A caller that went away meanwhile learns nothing; its event stands.
                    let _ = answer.send(Ok((event, outcome)));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for answer in answers {
                    let _ = answer.send(Err(Arc::clone(&error)));
                }
            }
        }
    }
}
