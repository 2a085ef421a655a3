//! What this process knows of the projects it writes: each one's decided
//! state and stream head, kept between submissions so that deciding needs
//! no read of the store.
//!
//! # Why a cached state may be trusted
//!
//! An entry is the fold of a project's events up to its head (`last_seq`
//! and the head hash): loaded whole from the store, then advanced only by
//! the appends of this process that committed. It may be stale, since
//! another process (or a restore) can append to the project meanwhile, but
//! never wrong about the history up to its head, because that history never
//! changes. So:
//!
//! * **An acceptance** is proved current by the append itself: it chains to
//!   the cached head, and the store's compare-and-set on `streams`
//!   (`last_seq`, `head_hash`) succeeds only when that is still the head.
//!   On a conflict the submit path drops the entry, reloads and decides
//!   again.
//! * **A refusal** (a rule, or a region) writes nothing, so nothing proves
//!   it: before refusing from a cached entry, the submit path reads the
//!   stream head and decides again from a fresh load when it moved.
//!
//! # Bounds and sharing
//!
//! At most [`CAPACITY`] projects are kept (least recently used go first);
//! a project's entry is taken out of its slot while a submission decides
//! and appends, and put back only when it is known current. A submission
//! cancelled halfway therefore leaves no entry, and the next one loads.
//! The slot's lock also makes the submissions of one project in this
//! process take turns instead of racing each other for the next seq.

use std::sync::Arc;

use gongkai_domain::ProjectState;
use gongkai_domain::hash::Hash;
use moka::policy::EvictionPolicy;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How many projects the cache keeps. A project's state grows with its
/// history (tens of kilobytes for a full lifecycle of 29 events, measured as
/// the process's growth while it fills), so this bounds the cache to some
/// tens of megabytes; more projects than this written at once only cost
/// reloads.
pub(crate) const CAPACITY: u64 = 1_024;

/// A project as decided so far: its state and the hash of its last event.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// The fold of the project's events up to its head.
    pub(crate) state: ProjectState,
    /// The hash of the event at `state.last_seq()`; none for a new project.
    pub(crate) head: Option<Hash>,
}

/// A project's slot: its entry, when this process holds a current one.
pub(crate) type Slot = OwnedMutexGuard<Option<Known>>;

/// The bounded map from project code to slot.
pub(crate) struct Projects {
    slots: moka::sync::Cache<String, Arc<Mutex<Option<Known>>>>,
}

impl std::fmt::Debug for Projects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projects").field("entries", &self.slots.entry_count()).finish()
    }
}

impl Projects {
    /// A cache of at most `capacity` projects.
    pub(crate) fn new(capacity: u64) -> Self {
        // Least recently used goes first: a project is written in bursts, and
        // a finished one (often written many times) must not keep its place
        // from the new ones, as a frequency-based policy would have it.
        let slots = moka::sync::Cache::builder().max_capacity(capacity).eviction_policy(EvictionPolicy::lru()).build();
        Self { slots }
    }

    /// The slot of `project_code`, locked: the other submissions of the
    /// project in this process wait until it is dropped.
    pub(crate) async fn lock(&self, project_code: &str) -> Slot {
        let slot = self.slots.get_with_by_ref(project_code, || Arc::new(Mutex::new(None)));
        slot.lock_owned().await
    }
}
