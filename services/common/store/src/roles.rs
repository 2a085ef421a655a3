//! The roles a [`Store`](crate::Store) hands out: each holds the one
//! database handle and offers only its component's methods, which live in
//! the modules of their concern (named below). A role is a cheap clone.

use crate::StoreError;
use crate::db::Db;
use crate::signal::PublicChanges;

/// The event store as ingestion uses it: append an event to its project's
/// stream (with its outbox row and flags) and read streams and requests
/// back (`events`), or load whole new streams at once (`bulk`).
#[derive(Debug, Clone)]
pub struct EventStore {
    pub(crate) db: Db,
}

/// The outbox as the relay uses it: unpublished rows in position order,
/// marking them published, parking and releasing a project's stream, the
/// backlog, and leadership among relays (`outbox`).
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(crate) db: Db,
}

/// The transparency log as its sequencer and signer use it: events in the
/// change feed's commit-safe order, the leaves and tree hashes appended for
/// them, the checkpoints signed with their witnesses' cosignatures, and the
/// tree size each witness holds (`tlog`).
#[derive(Debug, Clone)]
pub struct TransparencyLog {
    pub(crate) db: Db,
}

/// The event log read straight from the store, for a projector on the
/// embedded log and for rebuilds: events in position order or project by
/// project, where the log ends, and the trace contexts of a stretch of it
/// (`log`).
#[derive(Debug, Clone)]
pub struct EventLog {
    pub(crate) db: Db,
}

/// The read model as the projector writes it: folding events into both
/// views and the supervision index (`views::fold`), emptying it for a
/// rebuild and saying how far it has got (`views::read`, `heads`), and the
/// projects it parked (`views::parked`).
#[derive(Debug, Clone)]
pub struct Projections {
    pub(crate) db: Db,
    pub(crate) changes: PublicChanges,
}

/// The public side of the read model, for the site: public projects,
/// timelines and the public change feed (`public`). It reads the tables a
/// PostgreSQL role granted nothing else can read, and offers no way to name
/// the full view.
#[derive(Debug, Clone)]
pub struct PublicReader {
    /// Where it reads: the store, or a replica of it.
    pub(crate) db: Db,
    pub(crate) changes: PublicChanges,
    /// Where it hears commits (`NOTIFY`): always the primary, since a
    /// standby cannot LISTEN.
    pub(crate) signal: Db,
}

impl PublicReader {
    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }
}

/// What supervisors query: project search, both views of a project and its
/// events, compliance flags and disclosure timings, the commit-safe change
/// feed, parked projects, the transparency log's leaves, hashes and
/// checkpoints (`tlog`), and the audit trail of their own calls, which it
/// writes (`supervision`, `views::read`).
#[derive(Debug, Clone)]
pub struct SupervisionReader {
    /// Where it reads: the store, or a replica of it.
    pub(crate) db: Db,
    /// Where its audit trail is written: always the primary.
    pub(crate) audit: Db,
}

/// The move of the hash chains to the current scheme, and nothing else:
/// list the projects, read a stream, rewrite one project's chain once and
/// record it, list what was rewritten (`chains`). The one role that can
/// change a recorded event.
#[derive(Debug, Clone)]
pub struct ChainMigration {
    pub(crate) db: Db,
}
