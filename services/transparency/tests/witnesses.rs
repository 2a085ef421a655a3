//! The log's side of the witness protocol on both stores, against a real
//! witness over loopback: the latest checkpoint is cosigned and the
//! cosignature stored in its note; a grown log is cosigned from the size the
//! witness holds, and from the size a 409 gives when the log's record of it
//! is wrong; a witness that is down, answers garbage or a cosignature by
//! another key costs its cosignature and nothing else; a log whose history
//! was rewritten is refused.

use std::num::NonZeroUsize;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use gongkai_ingest::Ingestor;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::{PoolOptions, Store, TransparencyLog};
use gongkai_testkit::store::Backend;
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::cosignature::Cosigner;
use gongkai_tlog::note::{Note, NoteSignature, Signer, Verifier};
use gongkai_transparency::{TransparencyError, WitnessEndpoint, Witnesses, Writer, sign};
use gongkai_witness::{ServerLimits, WitnessServer, WitnessSettings};
use tokio::net::TcpListener;

fn signer() -> Signer {
    Signer::from_seed("gongkai.test/log", &[3; 32]).expect("a valid key name")
}

fn cosigner() -> Cosigner {
    Cosigner::from_seed("witness.test/w1", &[4; 32]).expect("a valid key name")
}

/// Records the lifecycle of project `code`.
async fn record(store: &Store, code: &str) {
    let ingestor = Ingestor::new(store.events());
    let principal = gongkai_grpc::auth::Principal {
        id: "center-harbin".into(),
        role: gongkai_grpc::auth::Role::Submitter,
        regions: vec!["2301".into()],
    };
    for request in ppp_lifecycle(code, code).requests {
        let (domain, submission) = gongkai_testkit::submission(request);
        ingestor.submit(&principal, domain, submission).await.expect("accepted");
    }
}

async fn fresh(backend: Backend) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = backend.fresh_url(dir.path()).await;
    let store = Store::connect(&url, &PoolOptions::default()).await.expect("connects");
    store.migrate().await.expect("migrates");
    (dir, store)
}

/// Appends every event of `store` and signs the tree; its size. On a
/// PostgreSQL cluster shared with other tests, the commit-safe feed can lag
/// behind transactions of other databases: the writer keeps reading until
/// it holds every event.
async fn append_and_sign(store: &Store, log: &TransparencyLog) -> u64 {
    let mut writer = Writer::open(log).await.expect("opens");
    let events = store.events().event_counts().await.expect("counts").events;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while writer.size() < events {
        if writer.append_next(log).await.expect("appends") == 0 {
            assert!(std::time::Instant::now() < deadline, "the feed never showed all {events} events");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    sign(log, writer.size(), &writer.root(), &signer()).await.expect("signs");
    writer.size()
}

/// A witness of the test log on loopback, until the test ends; its URL.
async fn witness(dir: &std::path::Path) -> String {
    let server = WitnessServer::open(WitnessSettings {
        cosigner: cosigner(),
        logs: vec![signer().verifier()],
        state_file: dir.join("witness.json"),
        limits: server_limits(),
        body_timeout: Duration::from_secs(5),
    })
    .expect("the witness opens");
    serve(|listener| server.serve(listener, std::future::pending())).await
}

fn server_limits() -> ServerLimits {
    ServerLimits {
        header_read_timeout: Some(Duration::from_secs(5)),
        idle_timeout: Some(Duration::from_secs(5)),
        max_connections: NonZeroUsize::new(16).expect("not zero"),
    }
}

/// Serves what `run` makes of a loopback listener; the URL.
async fn serve<F, T>(run: impl FnOnce(TcpListener) -> F) -> String
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(run(listener));
    url
}

/// A "witness" that answers every request with `status` and `body`.
async fn fake_witness(status: u16, body: String) -> String {
    let status = axum::http::StatusCode::from_u16(status).expect("a status");
    let router = Router::new().route("/add-checkpoint", post(move || async move { (status, body) }));
    serve(|listener| async move { axum::serve(listener, router).await }).await
}

fn endpoint(url: &str, key: Verifier) -> WitnessEndpoint {
    WitnessEndpoint { url: url.to_owned(), key }
}

/// The stored latest checkpoint opened with the log's and `witnesses`'
/// keys: how many signatures verified.
async fn verified(log: &TransparencyLog, witnesses: &[Verifier]) -> usize {
    let latest = log.latest_checkpoint().await.expect("reads").expect("a checkpoint");
    let mut known = vec![signer().verifier()];
    known.extend_from_slice(witnesses);
    Checkpoint::open(latest.note.as_bytes(), &known).expect("a valid note").verified.len()
}

async fn checkpoints_are_cosigned_and_a_failing_witness_costs_only_its_cosignature(backend: Backend) {
    let (dir, store) = fresh(backend).await;
    let log = store.transparency_log();
    let key = cosigner().verifier();
    let url = witness(dir.path()).await;
    // A port nothing listens on.
    let down = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        format!("http://{}", listener.local_addr().expect("an address"))
    };
    let stranger = Cosigner::from_seed("witness.test/w2", &[5; 32]).expect("a key");
    let witnesses =
        Witnesses::new(vec![endpoint(&url, key.clone()), endpoint(&down, stranger.verifier())]).expect("witnesses");

    // Nothing signed yet: nothing to ask.
    assert!(witnesses.submit_latest(&log).await.expect("asks").is_empty());
    record(&store, "2024-230113-77-01-000071").await;
    let size = append_and_sign(&store, &log).await;
    let outcomes = witnesses.submit_latest(&log).await.expect("asks");
    assert_eq!(outcomes[0].witness, key.vkey());
    assert_eq!(outcomes[0].result.as_ref().ok(), Some(&size));
    assert!(matches!(outcomes[1].result, Err(TransparencyError::WitnessUnreachable { .. })), "{outcomes:?}");
    assert_eq!(verified(&log, std::slice::from_ref(&key)).await, 2, "the note carries the cosignature");
    assert_eq!(log.witness_size(&key.vkey()).await.expect("reads"), Some(size));
    assert_eq!(log.witness_size(&stranger.verifier().vkey()).await.expect("reads"), None);
    // Asked again, the witness that cosigned is not asked twice.
    let again = witnesses.submit_latest(&log).await.expect("asks");
    assert!(again[0].result.is_ok() && again[1].result.is_err());

    // Grown: cosigned from the size the witness holds.
    record(&store, "2024-230113-77-01-000072").await;
    let grown = append_and_sign(&store, &log).await;
    assert!(grown > size);
    assert!(witnesses.submit_latest(&log).await.expect("asks")[0].result.is_ok());
    assert_eq!(verified(&log, std::slice::from_ref(&key)).await, 2);
    assert_eq!(log.witness_size(&key.vkey()).await.expect("reads"), Some(grown));

    // The log's record of the witness is wrong: its 409 says the size, and
    // the second request, from that size, is cosigned.
    log.record_witness_size(&key.vkey(), 3).await.expect("records");
    record(&store, "2024-230113-77-01-000073").await;
    let third = append_and_sign(&store, &log).await;
    let outcomes = Witnesses::new(vec![endpoint(&url, key.clone())]).expect("a witness").submit_latest(&log).await;
    assert_eq!(outcomes.expect("asks")[0].result.as_ref().ok(), Some(&third));
    assert_eq!(log.witness_size(&key.vkey()).await.expect("reads"), Some(third));

    // Answers that are no valid cosignature by the witness's key are not
    // stored: garbage, another key's cosignature, a 409 without a size.
    record(&store, "2024-230113-77-01-000074").await;
    let fourth = append_and_sign(&store, &log).await;
    let note = log.latest_checkpoint().await.expect("reads").expect("a checkpoint").note;
    let checkpoint = Checkpoint::parse(Note::parse(note.as_bytes()).expect("a note").text()).expect("a checkpoint");
    assert_eq!(checkpoint.size(), fourth);
    let by_another_key = stranger.cosign(&checkpoint, 1_800_000_000).expect("cosigns").line();
    // Signed by another key, but under the witness's name and key ID.
    let other = Cosigner::from_seed("witness.test/w1", &[6; 32]).expect("a key");
    let forged = other.cosign(&checkpoint, 1_800_000_000).expect("cosigns");
    let impostor = NoteSignature::new(key.name(), key.key_id(), forged.signature().to_vec()).expect("a line");
    for (status, body) in [
        (200, "garbage\n".to_owned()),
        (200, by_another_key),
        (200, impostor.line()),
        (409, "not a size".to_owned()),
        (500, "x".repeat(100_000)),
    ] {
        let url = fake_witness(status, body.clone()).await;
        let outcomes = Witnesses::new(vec![endpoint(&url, key.clone())]).expect("a witness").submit_latest(&log).await;
        let result = &outcomes.expect("asks")[0].result;
        assert!(
            matches!(result, Err(TransparencyError::WitnessAnswer { .. } | TransparencyError::WitnessRefused { .. })),
            "{status} {:?}: {result:?}",
            body.chars().take(40).collect::<String>()
        );
        assert_eq!(log.latest_checkpoint().await.expect("reads").expect("a checkpoint").note, note, "unchanged");
    }
    assert!(Witnesses::new(vec![endpoint(&url, signer().verifier())]).is_err(), "a log key is no witness key");
}

async fn a_rewritten_history_is_refused(backend: Backend) {
    let (dir, store) = fresh(backend).await;
    let log = store.transparency_log();
    let key = cosigner().verifier();
    let url = witness(dir.path()).await;
    let witnesses = Witnesses::new(vec![endpoint(&url, key.clone())]).expect("a witness");
    record(&store, "2024-230113-77-01-000075").await;
    let size = append_and_sign(&store, &log).await;
    assert!(witnesses.submit_latest(&log).await.expect("asks")[0].result.is_ok());

    // Another history under the same key, larger, that knows (or, its
    // witness table emptied, is told by a 409) what the witness holds.
    let (_other_dir, other) = fresh(backend).await;
    let other_log = other.transparency_log();
    record(&other, "2024-230113-77-01-000076").await;
    record(&other, "2024-230113-77-01-000077").await;
    let forked = append_and_sign(&other, &other_log).await;
    assert!(forked > size);
    for known in [None, Some(size)] {
        if let Some(size) = known {
            other_log.record_witness_size(&key.vkey(), size).await.expect("records");
        }
        let outcomes = witnesses.submit_latest(&other_log).await.expect("asks");
        assert!(
            matches!(outcomes[0].result, Err(TransparencyError::WitnessRefused { status: 422, .. })),
            "{outcomes:?}"
        );
        assert_eq!(verified(&other_log, &[]).await, 1, "only the log's signature");
    }
    // A smaller history than the witness holds cannot even be asked.
    let (_small_dir, small) = fresh(backend).await;
    let small_log = small.transparency_log();
    let mut writer = Writer::open(&small_log).await.expect("opens");
    sign(&small_log, writer.size(), &writer.root(), &signer()).await.expect("signs the empty tree");
    assert_eq!(writer.append_next(&small_log).await.expect("nothing to append"), 0);
    small_log.record_witness_size(&key.vkey(), size).await.expect("records");
    let outcomes = witnesses.submit_latest(&small_log).await.expect("asks");
    assert!(matches!(outcomes[0].result, Err(TransparencyError::WitnessAhead { .. })), "{outcomes:?}");
}

gongkai_testkit::on_both_stores!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    checkpoints_are_cosigned_and_a_failing_witness_costs_only_its_cosignature,
    a_rewritten_history_is_refused,
);
