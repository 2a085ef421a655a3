//! Target `tlog`: the public transparency log's writer. It follows the event
//! store's commit-safe change feed, appends each event's chain hash as the
//! next leaf of one Merkle tree over all events (RFC 6962), stores the tree
//! hashes each leaf completes, and signs a checkpoint (C2SP tlog-checkpoint,
//! Ed25519) of the grown tree at most once per interval.
//!
//! Two promises hold across crashes and restarts:
//! - **one tree per size**: a checkpoint is recorded under its size, once;
//!   before signing, the writer checks that the stored tree still has the
//!   root of the latest recorded checkpoint, and that a size already signed
//!   was signed with the same root. Either mismatch means the stored log was
//!   rewritten: the writer stops signing and says so, rather than sign a
//!   second history;
//! - **no event skipped or taken twice**: leaves are appended with their
//!   feed cursor in one transaction under unique leaf indexes and event
//!   positions, so a second writer (or a restart) can only continue from
//!   where the stored log ends.
//!
//! Beside the writer, a second loop submits each new checkpoint to the
//! configured witnesses ([`witnesses`]) and stores the cosignatures they
//! return in the checkpoint's note. It never holds the writer up: a witness
//! that is down or refuses is logged, counted and asked again at the next
//! checkpoint (or after [`WITNESS_RETRY`] if none comes).

mod witnesses;

use std::time::Duration;

use chrono::Utc;
use gongkai_store::{LogHead, NewLeaf, StoreError, StoredCheckpoint, TransparencyLog};
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::merkle::{self, CompactTree, Hash};
use gongkai_tlog::note::Signer;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use witnesses::{WitnessEndpoint, WitnessOutcome, Witnesses};

/// Events read and appended per transaction.
const BATCH: u32 = 2_000;
/// How long the writer waits when the feed has nothing new.
const IDLE: Duration = Duration::from_millis(100);
/// How long the writer waits after a failure before trying again.
const RETRY: Duration = Duration::from_secs(1);
/// How long a witness that did not cosign the latest checkpoint waits to be
/// asked again when no new checkpoint comes first.
pub const WITNESS_RETRY: Duration = Duration::from_secs(30);

/// Failures of the log writer.
#[derive(Debug, thiserror::Error)]
pub enum TransparencyError {
    /// The store failed.
    #[error("store failed")]
    Store(#[from] StoreError),
    /// The Merkle arithmetic or the signature refused its input.
    #[error("transparency log")]
    Tlog(#[from] gongkai_tlog::Error),
    /// An event's stored hash is not 32 bytes of hex.
    #[error("event at position {position} has a malformed hash")]
    MalformedHash {
        /// The event's store position.
        position: u64,
    },
    /// The stored tree no longer has the root a recorded checkpoint signed:
    /// the log was rewritten, and the writer will not sign a second history.
    #[error("the stored tree of size {size} has another root than the checkpoint signed for it")]
    Rewritten {
        /// The checkpoint's tree size.
        size: u64,
    },
    /// A configured witness key is not a cosignature key.
    #[error("{0} is not a witness's cosignature key")]
    NotAWitnessKey(String),
    /// The HTTP client for the witnesses could not be built.
    #[error("could not build the HTTP client for the witnesses")]
    HttpClient(#[source] reqwest::Error),
    /// A witness could not be reached, or the exchange broke off.
    #[error("witness {witness} could not be reached")]
    WitnessUnreachable {
        /// The witness's key name.
        witness: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// A witness refused the checkpoint.
    #[error("witness {witness} refused the checkpoint with HTTP {status}: {reason}")]
    WitnessRefused {
        /// The witness's key name.
        witness: String,
        /// Its HTTP status.
        status: u16,
        /// The start of its answer.
        reason: String,
    },
    /// A witness answered what the protocol does not allow, or a
    /// cosignature that does not verify.
    #[error("witness {witness} answered {reason}")]
    WitnessAnswer {
        /// The witness's key name.
        witness: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// A witness holds a larger tree of this log than the latest checkpoint.
    #[error(
        "witness {witness} holds a tree of {witness_size} leaves, larger than the checkpoint of {size}: the log lost \
         leaves or started again"
    )]
    WitnessAhead {
        /// The witness's key name.
        witness: String,
        /// The size it holds.
        witness_size: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The checkpoint's note kept changing while cosignatures were added.
    #[error("the note of the checkpoint of size {size} kept changing; its cosignatures are added next time")]
    NoteChanged {
        /// The checkpoint's tree size.
        size: u64,
    },
}

/// How the writer signs, and whom it asks to cosign.
#[derive(Debug)]
pub struct LogSettings {
    /// The checkpoint signer; its key name is the log's origin.
    pub signer: Signer,
    /// The shortest time between two checkpoints of a growing log.
    pub checkpoint_interval: Duration,
    /// The witnesses each new checkpoint is submitted to.
    pub witnesses: Vec<WitnessEndpoint>,
}

/// What [`run`] says about itself while it runs.
#[derive(Debug)]
pub struct Health {
    /// Whether the writer appends and signs.
    pub writing: watch::Sender<bool>,
    /// Whether every witness cosigned the latest checkpoint (at the last
    /// try); true with no witness.
    pub witnessed: watch::Sender<bool>,
}

/// Runs the log writer until `shutdown`: appends new events and signs
/// checkpoints, saying in `health.writing` whether it does, and submits
/// each new checkpoint to the witnesses, saying in `health.witnessed`
/// whether they all cosigned it. A store failure is retried; a rewritten
/// log stops the writer for good (it says so in the log and in
/// `health.writing`, and the process goes on serving everything else).
pub async fn run(log: TransparencyLog, settings: LogSettings, shutdown: CancellationToken, health: Health) {
    let (signed, signed_rx) = watch::channel(0_u64);
    let witnesses = witness(log.clone(), settings.witnesses.clone(), shutdown.clone(), health.witnessed, signed_rx);
    tokio::join!(write(log, &settings, &shutdown, health.writing, signed), witnesses);
}

/// The writer's loop; the size of each checkpoint it signs goes to `signed`.
async fn write(
    log: TransparencyLog,
    settings: &LogSettings,
    shutdown: &CancellationToken,
    live: watch::Sender<bool>,
    signed: watch::Sender<u64>,
) {
    let mut writer = None;
    let mut last_signed = tokio::time::Instant::now() - settings.checkpoint_interval;
    while !shutdown.is_cancelled() {
        let step = async {
            let writer = match &mut writer {
                Some(writer) => writer,
                None => writer.insert(Writer::open(&log).await?),
            };
            let appended = writer.append_next(&log).await?;
            if last_signed.elapsed() >= settings.checkpoint_interval
                && let Some(checkpoint) = sign(&log, writer.tree.size(), &writer.tree.root(), &settings.signer).await?
            {
                last_signed = tokio::time::Instant::now();
                signed.send_replace(checkpoint.tree_size);
            }
            Ok::<usize, TransparencyError>(appended)
        };
        let outcome = step.await;
        live.send_replace(outcome.is_ok());
        match outcome {
            Ok(appended) if appended as u32 >= BATCH => continue,
            Ok(_) => pause(shutdown, IDLE).await,
            Err(error @ TransparencyError::Rewritten { .. }) => {
                tracing::error!(%error, "The transparency log was rewritten; no further checkpoint is signed.");
                shutdown.cancelled().await;
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error, source = ?std::error::Error::source(&error), "Transparency log writer failed; trying again.");
                // Re-read the stored log: another writer may have moved it.
                writer = None;
                pause(shutdown, RETRY).await;
            }
        }
    }
}

/// The witnessing loop: the latest checkpoint to every witness that has not
/// cosigned it, at start, after each new checkpoint, and every
/// [`WITNESS_RETRY`] while one has not.
async fn witness(
    log: TransparencyLog,
    endpoints: Vec<WitnessEndpoint>,
    shutdown: CancellationToken,
    witnessed: watch::Sender<bool>,
    mut signed: watch::Receiver<u64>,
) {
    if endpoints.is_empty() {
        witnessed.send_replace(true);
        return;
    }
    let witnesses = match Witnesses::new(endpoints) {
        Ok(witnesses) => witnesses,
        Err(error) => {
            tracing::error!(%error, "The witnesses cannot be asked; checkpoints go uncosigned.");
            return;
        }
    };
    loop {
        let all = match witnesses.submit_latest(&log).await {
            Ok(outcomes) => outcomes.iter().all(|outcome| outcome.result.is_ok()),
            Err(error) => {
                tracing::warn!(%error, source = ?std::error::Error::source(&error), "Could not submit the latest checkpoint to the witnesses.");
                false
            }
        };
        witnessed.send_replace(all);
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = signed.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(WITNESS_RETRY), if !all => {}
        }
    }
}

async fn pause(shutdown: &CancellationToken, duration: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(duration) => {}
    }
}

/// The stored log as the writer holds it: where the feed stands and the
/// tree's compact form.
#[derive(Debug)]
pub struct Writer {
    head: LogHead,
    tree: CompactTree,
}

impl Writer {
    /// The writer of the stored log, checked against its latest checkpoint.
    pub async fn open(log: &TransparencyLog) -> Result<Self, TransparencyError> {
        let head = log.head().await?;
        let tree =
            CompactTree::from_stored(head.size, &log.stored_hashes(&merkle::tree_hash_indexes(head.size)?).await?)?;
        if let Some(latest) = log.latest_checkpoint().await? {
            check_root(log, latest.tree_size, &latest.root_hash).await?;
        }
        Ok(Self { head, tree })
    }

    /// The tree's size.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Appends the next events of the feed, at most one batch; how many.
    pub async fn append_next(&mut self, log: &TransparencyLog) -> Result<usize, TransparencyError> {
        let events = log.events_after(self.head.cursor, BATCH).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let mut tree = self.tree.clone();
        let mut leaves = Vec::with_capacity(events.len());
        let mut hashes = Vec::with_capacity(events.len() * 2);
        for (event, cursor) in &events {
            let event_hash: [u8; 32] = hex::decode(&event.hash)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(TransparencyError::MalformedHash { position: event.position })?;
            hashes.extend(tree.append(merkle::leaf_hash(&event_hash))?);
            leaves.push(NewLeaf {
                position: event.position,
                cursor: *cursor,
                project_code: event.subject.clone(),
                project_seq: event.project_seq,
                event_hash,
            });
        }
        log.append(self.head.size, &leaves, &hashes).await?;
        let last = events.last().map(|(_, cursor)| *cursor).unwrap_or(self.head.cursor);
        self.head = LogHead { size: tree.size(), cursor: last };
        self.tree = tree;
        Ok(events.len())
    }
}

/// Signs and records the checkpoint of the tree of `size` leaves and `root`,
/// unless the latest recorded one is of that size already. `Some` with the
/// recorded checkpoint when one was signed now.
pub async fn sign(
    log: &TransparencyLog,
    size: u64,
    root: &Hash,
    signer: &Signer,
) -> Result<Option<StoredCheckpoint>, TransparencyError> {
    let latest = log.latest_checkpoint().await?;
    if latest.as_ref().is_some_and(|latest| latest.tree_size >= size) {
        return Ok(None);
    }
    // The stored tree must still extend what was signed last.
    if let Some(latest) = &latest {
        check_root(log, latest.tree_size, &latest.root_hash).await?;
    }
    let note = Checkpoint::new(signer.name(), size, *root)?.sign(signer)?;
    let checkpoint = StoredCheckpoint {
        tree_size: size,
        root_hash: *root,
        note: String::from_utf8_lossy(&note.to_bytes()).into_owned(),
        signed_at: Utc::now(),
    };
    if log.record_checkpoint(&checkpoint).await? {
        return Ok(Some(checkpoint));
    }
    // Recorded meanwhile (another writer, or before a restart): the same
    // tree, or the log was rewritten.
    match log.checkpoint(size).await? {
        Some(recorded) if recorded.root_hash == *root => Ok(None),
        _ => Err(TransparencyError::Rewritten { size }),
    }
}

/// Checks that the stored tree of `size` leaves has `root`.
async fn check_root(log: &TransparencyLog, size: u64, root: &Hash) -> Result<(), TransparencyError> {
    let stored = log.stored_hashes(&merkle::tree_hash_indexes(size)?).await?;
    match merkle::tree_hash(size, &stored) {
        Ok(computed) if computed == *root => Ok(()),
        _ => Err(TransparencyError::Rewritten { size }),
    }
}
