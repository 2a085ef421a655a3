//! The public record checked as anyone can, through the real binary on both
//! shapes: `gongkai verify`, given only the site's URL, recomputes every
//! chain, opens every reveal and checks the signed log; it passes on an
//! honest deployment, again after it grew (consistent with the checkpoint it
//! saw), and fails on a tampered public row, a rewritten leaf and a forged
//! checkpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use gongkai_scenarios::ppp_lifecycle;
use gongkai_testkit::store::Backend;
use gongkai_tlog::checkpoint::Checkpoint;

use crate::ingestion::{Ingestion, log_signer};
use crate::projection::{KafkaLog, wait_for_public_seq};
use crate::support::{gongkai_binary, http_get};

/// `gongkai verify` against `site` with state file `state`: (success, output).
async fn verify(site: &str, state: &Path) -> (bool, String) {
    let output = tokio::process::Command::new(gongkai_binary())
        .args(["verify", "--site", site, "--state"])
        .arg(state)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("gongkai verify runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Waits until the site's checkpoint covers `size` leaves.
pub(crate) async fn checkpoint_of(site: &str, size: u64) -> Checkpoint {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, note) = http_get(&format!("{site}/log/checkpoint")).await;
        if status == 200 {
            let opened = Checkpoint::open(note.as_bytes(), &[log_signer().verifier()]).expect("signed by the log key");
            if opened.checkpoint.size() >= size {
                return opened.checkpoint;
            }
        }
        assert!(Instant::now() < deadline, "no checkpoint of {size} leaves: {status} {note}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits a whole lifecycle and waits until it is public and logged.
pub(crate) async fn record(gongkai: &Ingestion, site: &str, code: &str, prefix: &str, logged_before: u64) -> u64 {
    let lifecycle = ppp_lifecycle(code, prefix);
    let receipts = gongkai.submit_all(lifecycle.requests).await;
    let head = receipts.last().expect("receipts").project_seq;
    wait_for_public_seq(&gongkai.store, code, head, Duration::from_secs(60)).await;
    let size = logged_before + head;
    checkpoint_of(site, size).await;
    size
}

async fn anyone_can_verify_the_record_and_tampering_shows(gongkai: Ingestion) {
    let site = gongkai.process.endpoint("site").trim_end_matches('/').to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("verify.json");

    // The log's key is published; an honest record verifies.
    let (status, key) = http_get(&format!("{site}/log/key")).await;
    assert_eq!((status, key.trim()), (200, log_signer().verifier().vkey().as_str()));
    let size = record(&gongkai, &site, "2024-230113-77-01-000050", "tl-a", 0).await;
    let (ok, output) = verify(&site, &state).await;
    assert!(ok, "{output}");
    assert!(output.contains("verified: no discrepancy") && output.contains("1 projects"), "{output}");
    assert!(output.contains(&format!("{size} leaves")), "{output}");
    // The project page says where its latest record is in the log, in plain
    // words: its leaf, and the checkpoint that first included it (the last
    // leaf so far, so the checkpoint of `size`).
    let (_, page) = http_get(&format!("{site}/projects/2024-230113-77-01-000050")).await;
    let included = format!("是公开透明日志的第 {size} 条，已包含在共 {size} 条记录的日志检查点中");
    assert!(page.contains(&included), "{page}");
    assert!(page.contains("gongkai verify --site") && page.contains(r#"href="/log/checkpoint""#), "{page}");

    // Grown: consistent with the checkpoint seen before.
    let grown = record(&gongkai, &site, "2024-230113-77-01-000051", "tl-b", size).await;
    let (ok, output) = verify(&site, &state).await;
    assert!(ok, "{output}");
    assert!(output.contains(&format!("consistent with the checkpoint of {size} leaves seen before")), "{output}");
    assert!(output.contains(&format!("{grown} leaves")), "{output}");

    // A public row rewritten behind the chain's back.
    let rows = sqlx_rows(&gongkai.storage).await;
    let (code, seq, entry) = rows.first().cloned().expect("a public entry");
    let mut tampered = entry.clone();
    tampered_public_event(&mut tampered);
    set_entry(&gongkai.storage, &code, seq, &tampered).await;
    let (ok, output) = verify(&site, &state).await;
    assert!(!ok && output.contains("DISCREPANCY") && output.contains(&code), "{output}");
    set_entry(&gongkai.storage, &code, seq, &entry).await;
    let (ok, output) = verify(&site, &state).await;
    assert!(ok, "restored: {output}");

    // A leaf of the log rewritten.
    let original_leaf = leaf(&gongkai.storage, 3).await;
    set_leaf(&gongkai.storage, 3, &[0x42; 32]).await;
    let (ok, output) = verify(&site, &state).await;
    assert!(!ok, "{output}");
    assert!(output.contains("leaf 3") && output.contains("do not have the checkpoint's root"), "{output}");
    set_leaf(&gongkai.storage, 3, &original_leaf).await;

    // A forged checkpoint, signed with the log's own key, of another tree of
    // the size seen before: the verifier's state catches the fork.
    let forged = Checkpoint::new(log_signer().name(), grown, [7; 32]).expect("a checkpoint");
    let note = String::from_utf8(forged.sign(&log_signer()).expect("signed").to_bytes()).expect("UTF-8");
    replace_checkpoints(&gongkai.storage, grown, &note).await;
    let (ok, output) = verify(&site, &state).await;
    assert!(!ok && output.contains("do not have the checkpoint's root"), "{output}");
}

/// Runs `$body` with `$pool` a pool of its own over `$storage`, PostgreSQL or
/// SQLite (the operator's hand in the database, beside the running process).
macro_rules! on_pool {
    ($storage:expr, |$pool:ident| $body:expr) => {{
        let storage: &str = $storage;
        if storage.starts_with("postgres") {
            let $pool = sqlx::PgPool::connect(storage).await.expect("the operator connects");
            let result = $body.expect("the operator's statement runs");
            $pool.close().await;
            result
        } else {
            let $pool = sqlx::SqlitePool::connect(storage).await.expect("the operator connects");
            let result = $body.expect("the operator's statement runs");
            $pool.close().await;
            result
        }
    }};
}

/// Every public timeline row: (project code, seq, entry bytes).
async fn sqlx_rows(storage: &str) -> Vec<(String, i64, Vec<u8>)> {
    let query = "SELECT project_code, project_seq, entry FROM public_timeline ORDER BY project_code, project_seq";
    on_pool!(storage, |pool| sqlx::query_as(query).fetch_all(&pool).await)
}

/// The entry with one byte of its public event changed (its text stays).
fn tampered_public_event(entry: &mut Vec<u8>) {
    use prost::Message as _;
    let mut decoded = gongkai_proto::v1::TimelineEntry::decode(entry.as_slice()).expect("an entry");
    let last = decoded.public_event.len() - 1;
    decoded.public_event[last] ^= 1;
    *entry = decoded.encode_to_vec();
}

async fn set_entry(storage: &str, code: &str, seq: i64, entry: &[u8]) {
    let query = "UPDATE public_timeline SET entry = $1 WHERE project_code = $2 AND project_seq = $3";
    on_pool!(storage, |pool| sqlx::query(query).bind(entry).bind(code).bind(seq).execute(&pool).await.map(drop));
}

async fn leaf(storage: &str, index: i64) -> Vec<u8> {
    let query = "SELECT event_hash FROM tlog_leaves WHERE leaf_index = $1";
    on_pool!(storage, |pool| sqlx::query_scalar(query).bind(index).fetch_one(&pool).await)
}

async fn set_leaf(storage: &str, index: i64, hash: &[u8]) {
    let query = "UPDATE tlog_leaves SET event_hash = $1 WHERE leaf_index = $2";
    on_pool!(storage, |pool| sqlx::query(query).bind(hash).bind(index).execute(&pool).await.map(drop));
}

async fn replace_checkpoints(storage: &str, size: u64, note: &str) {
    let size = i64::try_from(size).expect("a small log");
    let delete = "DELETE FROM tlog_checkpoints WHERE tree_size >= $1";
    let insert = "INSERT INTO tlog_checkpoints (tree_size, root_hash, note, signed_at) VALUES ($1, $2, $3, $4)";
    // In one transaction, so the running writer cannot sign that size again
    // in between.
    on_pool!(storage, |pool| async {
        let mut tx = pool.begin().await?;
        sqlx::query(delete).bind(size).execute(&mut *tx).await?;
        sqlx::query(insert)
            .bind(size)
            .bind(vec![7_u8; 32])
            .bind(note)
            .bind(chrono::Utc::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
    .await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_anyone_can_verify_the_record_and_tampering_shows() {
    let env = [("GONGKAI_SITE__LISTEN", "127.0.0.1:0")];
    anyone_can_verify_the_record_and_tampering_shows(Ingestion::start_with(Backend::Sqlite, "all", &env).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_kafka_anyone_can_verify_the_record_and_tampering_shows() {
    let log = KafkaLog::isolated();
    let mut env = log.env().to_vec();
    env.push(("GONGKAI_SITE__LISTEN", "127.0.0.1:0"));
    let gongkai = Ingestion::start_with(Backend::Postgres, "all", &env).await;
    anyone_can_verify_the_record_and_tampering_shows(gongkai).await;
}
