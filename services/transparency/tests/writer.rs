//! The log writer on both stores: it appends every event once, in the
//! change feed's order, signs each grown tree once, restarts where the
//! stored log ends, and refuses to sign a second history of a size it
//! signed (a stored tree hash or checkpoint rewritten behind its back).

use gongkai_ingest::Ingestor;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::{PoolOptions, Store, StoredCheckpoint};
use gongkai_testkit::store::Backend;
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::merkle::{self, leaf_hash, root_from_leaves};
use gongkai_tlog::note::Signer;
use gongkai_transparency::{TransparencyError, Writer, sign};

fn signer() -> Signer {
    Signer::from_seed("gongkai.test/log", &[3; 32]).expect("a valid key name")
}

/// Appends until `writer` holds every event of `store`. On a PostgreSQL
/// cluster shared with other tests, the commit-safe feed can lag behind
/// transactions of other databases, so an empty read is not the end.
async fn catch_up(writer: &mut Writer, store: &Store) {
    let log = store.transparency_log();
    let events = store.events().event_counts().await.expect("counts").events;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while writer.size() < events {
        if writer.append_next(&log).await.expect("appends") == 0 {
            assert!(std::time::Instant::now() < deadline, "the feed never showed all {events} events");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// Records the lifecycle of project `code`; its event hashes in order.
async fn record(store: &Store, code: &str) -> Vec<[u8; 32]> {
    let ingestor = Ingestor::new(store.events());
    let principal = gongkai_grpc::auth::Principal {
        id: "center-harbin".into(),
        role: gongkai_grpc::auth::Role::Submitter,
        regions: vec!["2301".into()],
    };
    let mut hashes = Vec::new();
    for request in ppp_lifecycle(code, code).requests {
        let (domain, submission) = gongkai_testkit::submission(request);
        let receipt = ingestor.submit(&principal, domain, submission).await.expect("accepted");
        hashes.push(hex::decode(&receipt.hash).expect("hex").try_into().expect("32 bytes"));
    }
    hashes
}

/// A migrated store on a new database, its URL, and the directory that
/// holds it (none on PostgreSQL) to keep while it is used.
async fn fresh(backend: Backend) -> (tempfile::TempDir, String, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = backend.fresh_url(dir.path()).await;
    let store = Store::connect(&url, &PoolOptions::default()).await.expect("connects");
    store.migrate().await.expect("migrates");
    (dir, url, store)
}

const FIRST: &str = "2024-230113-77-01-000061";
const SECOND: &str = "2024-230113-77-01-000062";

async fn every_event_is_logged_once_and_each_size_signed_once(backend: Backend) {
    let (_dir, _url, store) = fresh(backend).await;
    let store = &store;
    let log = store.transparency_log();
    let mut events = record(store, FIRST).await;
    let mut writer = Writer::open(&log).await.expect("an empty log opens");
    catch_up(&mut writer, store).await;
    assert_eq!(writer.size(), events.len() as u64);
    let leaves: Vec<_> = events.iter().map(|hash| leaf_hash(hash)).collect();
    assert_eq!(writer.root(), root_from_leaves(&leaves), "the leaves are the event hashes, in order");

    // Logged, not yet in a checkpoint.
    let public = store.public();
    let first = events.len() as u64;
    let waiting = public.logged_record(FIRST, first).await.expect("reads").expect("logged");
    assert_eq!((waiting.leaf_index, waiting.checkpoint), (first - 1, None));
    assert_eq!(public.latest_checkpoint_size().await.expect("reads"), None);
    assert_eq!(public.logged_record(FIRST, first + 1).await.expect("reads"), None, "no such event");

    let signed = sign(&log, writer.size(), &writer.root(), &signer()).await.expect("signs").expect("a new size");
    let opened = Checkpoint::open(signed.note.as_bytes(), &[signer().verifier()]).expect("a valid note");
    assert_eq!((opened.checkpoint.size(), *opened.checkpoint.root()), (writer.size(), writer.root()));
    // Signing the same size again records nothing new.
    assert!(sign(&log, writer.size(), &writer.root(), &signer()).await.expect("signs").is_none());

    // A restart continues where the stored log ends, with nothing twice.
    events.extend(record(store, SECOND).await);
    let mut restarted = Writer::open(&log).await.expect("reopens");
    assert_eq!(restarted.size(), signed.tree_size);
    catch_up(&mut restarted, store).await;
    let leaves: Vec<_> = events.iter().map(|hash| leaf_hash(hash)).collect();
    assert_eq!((restarted.size(), restarted.root()), (events.len() as u64, root_from_leaves(&leaves)));
    // A second writer over the same log appends nothing more.
    let mut other = Writer::open(&log).await.expect("opens");
    assert_eq!(other.append_next(&log).await.expect("reads"), 0);
    assert_eq!(other.size(), restarted.size());

    // A record names the first checkpoint over it, however far the log grew.
    let grown = sign(&log, restarted.size(), &restarted.root(), &signer()).await.expect("signs").expect("a new size");
    assert_eq!(public.latest_checkpoint_size().await.expect("reads"), Some(grown.tree_size));
    // (Stored times lose precision on PostgreSQL: compare the tree heads.)
    let head = |checkpoint: &StoredCheckpoint| (checkpoint.tree_size, checkpoint.root_hash, checkpoint.note.clone());
    let included = public.logged_record(FIRST, first).await.expect("reads").expect("logged");
    assert_eq!((included.leaf_index, included.checkpoint.as_ref().map(head)), (first - 1, Some(head(&signed))));
    let second = public.logged_record(SECOND, 1).await.expect("reads").expect("logged");
    assert_eq!((second.leaf_index, second.checkpoint.as_ref().map(head)), (first, Some(head(&grown))));
}

async fn a_rewritten_log_is_never_signed_again(backend: Backend) {
    let (_dir, url, store) = fresh(backend).await;
    let store = &store;
    let log = store.transparency_log();
    record(store, "2024-230113-77-01-000063").await;
    let mut writer = Writer::open(&log).await.expect("opens");
    catch_up(&mut writer, store).await;
    let (size, root) = (writer.size(), writer.root());
    sign(&log, size, &root, &signer()).await.expect("signs").expect("a new size");

    // Another tree of a size already signed: refused, whatever signs it.
    let mut other_root = root;
    other_root[0] ^= 1;
    let refused = sign(&log, size, &other_root, &signer()).await;
    assert!(matches!(refused, Ok(None)), "the latest size is signed already");
    let fork =
        StoredCheckpoint { tree_size: size, root_hash: other_root, note: String::new(), signed_at: chrono::Utc::now() };
    assert!(!log.record_checkpoint(&fork).await.expect("records"), "one checkpoint per size");

    // A stored tree hash rewritten: the writer will not open, nor sign more.
    let index = merkle::tree_hash_indexes(size).expect("indexes")[0];
    let mut stored = log.stored_hashes(&[index]).await.expect("reads")[&index];
    stored[0] ^= 1;
    rewrite_hash(&url, index, &stored).await;
    assert!(matches!(Writer::open(&log).await, Err(TransparencyError::Rewritten { size: s }) if s == size));
    assert!(matches!(
        sign(&log, size + 1, &root, &signer()).await,
        Err(TransparencyError::Rewritten { size: s }) if s == size
    ));
}

/// The operator's hand in the database: one stored tree hash replaced.
async fn rewrite_hash(url: &str, index: u64, hash: &[u8; 32]) {
    let query = "UPDATE tlog_hashes SET hash = $1 WHERE stored_index = $2";
    let index = i64::try_from(index).expect("a small index");
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connects");
        sqlx::query(query).bind(hash.as_slice()).bind(index).execute(&pool).await.expect("rewrites");
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connects");
        sqlx::query(query).bind(hash.as_slice()).bind(index).execute(&pool).await.expect("rewrites");
    }
}

gongkai_testkit::on_both_stores!(
    #[tokio::test]
    every_event_is_logged_once_and_each_size_signed_once,
    a_rewritten_log_is_never_signed_again,
);
