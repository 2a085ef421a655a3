//! Witnesses through the real binary, on both shapes: a `gongkai witness
//! serve` process cosigns the checkpoints of a gongkai configured with it,
//! the site serves the cosignatures, and `gongkai verify --witness KEY`
//! checks them. Then the operator rewrites one event in the database and
//! covers their tracks as well as they can: the project's chain recomputed
//! (the immutability trigger lifted, as the tables' owner can), the
//! transparency log emptied so that the writer logs the rewritten events
//! afresh and signs them with the log's own key, the views rebuilt (on
//! Kafka, the topics deleted and filled again first). A verifier with no
//! history finds nothing wrong with that record; but the witness refuses to
//! cosign the new tree, so `gongkai verify --witness KEY` fails, and so does
//! `gongkai verify` with the state file it kept from before.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gongkai_domain::hash::chain_hash;
use gongkai_proto::v1 as pb;
use gongkai_testkit::GongkaiProcess;
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::cosignature::Cosigner;
use gongkai_tlog::note::KeyType;
use prost::Message as _;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::chains::{relay_until_published, topic_names};
use crate::ingestion::{Backend, Ingestion, log_signer};
use crate::projection::KafkaLog;
use crate::support::{channel, gongkai_binary, health, http_get, start_gongkai};
use crate::transparency::{checkpoint_of, record};

/// The witness's key (a fixed seed: the tests check signatures, not secrecy).
fn witness_key() -> Cosigner {
    Cosigner::from_seed("witness.test/w1", &[17; 32]).expect("a valid key name")
}

/// `gongkai witness serve` of the test log, keeping its state in `state`.
async fn start_witness(state: &Path) -> GongkaiProcess {
    let log = log_signer().verifier().vkey();
    let state = state.to_str().expect("a UTF-8 path");
    let args = ["witness", "serve", "--listen", "127.0.0.1:0", "--log", &log, "--state", state];
    let key = witness_key().signer_key();
    start_gongkai(&args, &[("GONGKAI_WITNESS__SIGNING_KEY", key.as_str())]).await
}

/// Runs the binary with `args` and `env`: (success, stdout and stderr).
async fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = tokio::process::Command::new(gongkai_binary())
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("gongkai runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// `gongkai verify` of `site` with state file `state`, requiring each of
/// `witnesses`.
async fn verify(site: &str, state: &Path, witnesses: &[&str]) -> (bool, String) {
    let state = state.to_str().expect("a UTF-8 path");
    let mut args = vec!["verify", "--site", site, "--state", state];
    for witness in witnesses {
        args.extend(["--witness", witness]);
    }
    run(&args, &[]).await
}

/// The served checkpoint note, once it covers `size` leaves and carries a
/// valid cosignature by the witness.
async fn cosigned_checkpoint(site: &str, size: u64) -> Checkpoint {
    let known = [log_signer().verifier(), witness_key().verifier()];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, note) = http_get(&format!("{site}/log/checkpoint")).await;
        if status == 200 {
            let opened = Checkpoint::open(note.as_bytes(), &known).expect("a valid note");
            let cosigned = opened.verified.iter().any(|signature| signature.key_type == KeyType::Cosignature);
            if cosigned && opened.checkpoint.size() >= size {
                return opened.checkpoint;
            }
        }
        assert!(Instant::now() < deadline, "no cosigned checkpoint of {size} leaves: {status} {note}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `service` reports `expected` in health.
async fn health_becomes(grpc: &str, service: &str, expected: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while health(channel(grpc).await, service).await != expected {
        assert!(Instant::now() < deadline, "`{service}` is not {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The witness's state file: the size and root it holds for the test log.
fn witness_holds(state: &Path) -> (u64, String) {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(state).expect("the state file")).expect("JSON");
    let head = &json["logs"][log_signer().name()];
    (head["size"].as_u64().expect("a size"), head["root"].as_str().expect("a root").to_owned())
}

const HONEST: [&str; 2] = ["2024-230113-77-01-000081", "2024-230113-77-01-000082"];
const LATER: &str = "2024-230113-77-01-000083";
/// The event the operator rewrites: the third of the first project.
const REWRITTEN_SEQ: i64 = 3;

async fn a_witness_cosigns_the_record_and_catches_a_rewritten_event(backend: Backend, kafka: Option<KafkaLog>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let witness_state = dir.path().join("witness").join("state.json");
    let witness = start_witness(&witness_state).await;
    let vkey = witness_key().verifier().vkey();
    assert_eq!(witness.endpoint("key"), vkey);
    assert_eq!(witness.endpoint("logs"), log_signer().name());
    let witnesses = format!("[{{url = \"{}\", key = \"{vkey}\"}}]", witness.endpoint("witness"));
    let mut env = vec![("GONGKAI_SITE__LISTEN", "127.0.0.1:0"), ("GONGKAI_TLOG__WITNESSES", witnesses.as_str())];
    if let Some(kafka) = &kafka {
        env.extend(kafka.env());
    }
    let gongkai = Ingestion::start_with(backend, "all", &env).await;
    let site = gongkai.process.endpoint("site").trim_end_matches('/').to_owned();

    // An honest record: every checkpoint cosigned, the site serves it so,
    // and the verifier checks the cosignature it is asked for.
    let mut size = 0;
    for (index, code) in HONEST.iter().enumerate() {
        size = record(&gongkai, &site, code, &format!("wt-{index}"), size).await;
    }
    let honest = cosigned_checkpoint(&site, size).await;
    assert_eq!(honest.size(), size);
    assert_eq!(witness_holds(&witness_state), (size, gongkai_tlog::merkle::hash_to_base64(honest.root())));
    health_becomes(gongkai.process.endpoint("grpc"), "gongkai.tlog.witnesses", ServingStatus::Serving).await;
    assert_eq!(gongkai.store.transparency_log().witness_size(&vkey).await.expect("reads"), Some(size));
    let before = dir.path().join("verified-before.json");
    let (ok, output) = verify(&site, &before, &[&vkey]).await;
    assert!(ok, "{output}");
    let who = format!("witness.test/w1+{:08x}", witness_key().key_id());
    assert!(output.contains(&format!("cosignature by witness {who} verified, made 20")), "{output}");
    let (ok, output) = verify(&site, &dir.path().join("unwitnessed.json"), &[]).await;
    assert!(ok && output.contains(&format!("signature by {who} found, not checked")), "{output}");

    // The operator's hand: everything stopped, one event rewritten and its
    // chain recomputed, the log emptied, the views rebuilt.
    let stopped = gongkai.stop().await;
    rewrite_event(&stopped.storage, HONEST[0], REWRITTEN_SEQ).await;
    empty_the_log(&stopped.storage).await;
    let mut log_env: Vec<(&str, &str)> = Vec::new();
    let restarted_group = kafka.as_ref().map(|kafka| format!("{}-after", kafka.group));
    if let (Some(kafka), Some(group)) = (&kafka, &restarted_group) {
        refill_topics(&stopped.store, &stopped.storage, kafka).await;
        log_env.extend([
            ("GONGKAI_LOG__URL", kafka.url.as_str()),
            ("GONGKAI_LOG__TOPIC_PREFIX", kafka.prefix.as_str()),
            // A new group: as deleting the old one's offsets.
            ("GONGKAI_PROJECTOR__GROUP_ID", group.as_str()),
        ]);
    }
    let mut rebuild_env = vec![("GONGKAI_STORAGE__URL", stopped.storage.as_str())];
    rebuild_env.extend(log_env.iter().copied());
    let (ok, output) = run(&["projector", "rebuild"], &rebuild_env).await;
    assert!(ok, "rebuild: {output}");
    let mut env = vec![("GONGKAI_SITE__LISTEN", "127.0.0.1:0"), ("GONGKAI_TLOG__WITNESSES", witnesses.as_str())];
    env.extend(log_env.iter().copied());
    let gongkai = stopped.start("all", &env).await;
    let site = gongkai.process.endpoint("site").trim_end_matches('/').to_owned();

    // The log signed the rewritten history with its own key, at the same size.
    let rewritten = checkpoint_of(&site, size).await;
    assert_eq!(rewritten.size(), size);
    assert_ne!(rewritten.root(), honest.root());
    // The witness was asked (its 409 told the log, whose record of it was
    // emptied, the size it holds) and refused: nothing moved it.
    let log = gongkai.store.transparency_log();
    let deadline = Instant::now() + Duration::from_secs(60);
    while log.witness_size(&vkey).await.expect("reads") != Some(size) {
        assert!(Instant::now() < deadline, "the witness was never asked about the rewritten log");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    health_becomes(gongkai.process.endpoint("grpc"), "gongkai.tlog.witnesses", ServingStatus::NotServing).await;
    assert_eq!(witness_holds(&witness_state), (size, gongkai_tlog::merkle::hash_to_base64(honest.root())));
    let (_, note) = http_get(&format!("{site}/log/checkpoint")).await;
    let opened =
        Checkpoint::open(note.as_bytes(), &[log_signer().verifier(), witness_key().verifier()]).expect("opens");
    assert_eq!(opened.verified.len(), 1, "signed by the log alone: {note}");

    // A verifier with no history finds the cover-up consistent...
    let (ok, output) = verify(&site, &dir.path().join("fresh.json"), &[]).await;
    assert!(ok, "the rewritten record holds together: {output}");
    // ... but not one that requires the witness, nor one that saw the
    // honest checkpoint.
    let (ok, output) = verify(&site, &dir.path().join("fresh-witnessed.json"), &[&vkey]).await;
    assert!(!ok && output.contains(&format!("the checkpoint has no cosignature by witness {who}")), "{output}");
    let (ok, output) = verify(&site, &before, &[]).await;
    assert!(!ok, "{output}");
    assert!(
        output.contains(&format!("the log was rewritten: its first {size} leaves no longer have the root")),
        "{output}"
    );

    // The log goes on growing; the witness goes on refusing it.
    let grown = record(&gongkai, &site, LATER, "wt-later", size).await;
    let (ok, output) = verify(&site, &dir.path().join("grown.json"), &[&vkey]).await;
    assert!(!ok && output.contains("no cosignature by witness"), "{output}");
    assert_eq!(witness_holds(&witness_state).0, size, "the witness never cosigned past the rewrite ({grown} leaves)");
    assert!(gongkai.terminate().await.success());
    assert!(witness.terminate(Duration::from_secs(30)).await.success());
    if let Some(kafka) = kafka {
        delete_topics(&kafka).await;
    }
}

/// The operator rewrites event `seq` of project `code`: its business time
/// moves a day earlier, and every hash of the project's chain from there is
/// recomputed as ingestion computes it, with the stream's head. The
/// immutability trigger is lifted meanwhile, as the tables' owner can.
async fn rewrite_event(storage: &str, code: &str, seq: i64) {
    const READ: &str = "SELECT position, envelope FROM events WHERE project_code = $1 ORDER BY project_seq";
    const UPDATE: &str =
        "UPDATE events SET prev_hash = $1, hash = $2, envelope = $3, occurred_at = $4 WHERE position = $5";
    const HEAD: &str = "UPDATE streams SET head_hash = $1 WHERE project_code = $2";
    if storage.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(storage).await.expect("the operator connects");
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(READ).bind(code).fetch_all(&pool).await.expect("reads");
        let (events, head) = rechained(rows, seq);
        let mut tx = pool.begin().await.expect("begins");
        sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable").execute(&mut *tx).await.expect("lifts");
        for event in &events {
            let query = sqlx::query(UPDATE).bind(&event.prev_hash).bind(&event.hash).bind(&event.envelope);
            query.bind(event.occurred_at).bind(event.position).execute(&mut *tx).await.expect("rewrites");
        }
        sqlx::query(HEAD).bind(head.as_slice()).bind(code).execute(&mut *tx).await.expect("moves the head");
        sqlx::query("ALTER TABLE events ENABLE TRIGGER events_immutable").execute(&mut *tx).await.expect("restores");
        tx.commit().await.expect("commits");
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(storage).await.expect("the operator connects");
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(READ).bind(code).fetch_all(&pool).await.expect("reads");
        let (events, head) = rechained(rows, seq);
        let mut tx = pool.begin().await.expect("begins");
        let trigger: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_update'")
                .fetch_one(&mut *tx)
                .await
                .expect("the trigger");
        sqlx::query("DROP TRIGGER events_no_update").execute(&mut *tx).await.expect("lifts");
        for event in &events {
            let query = sqlx::query(UPDATE).bind(&event.prev_hash).bind(&event.hash).bind(&event.envelope);
            query.bind(event.occurred_at).bind(event.position).execute(&mut *tx).await.expect("rewrites");
        }
        sqlx::query(HEAD).bind(head.as_slice()).bind(code).execute(&mut *tx).await.expect("moves the head");
        sqlx::query(sqlx::AssertSqlSafe(trigger)).execute(&mut *tx).await.expect("restores");
        tx.commit().await.expect("commits");
        pool.close().await;
    }
}

/// An event's columns as the operator rewrites them.
struct Rewritten {
    position: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    envelope: Vec<u8>,
    occurred_at: DateTime<Utc>,
}

/// The project's events from `seq` on, rewritten and chained again; the
/// new head.
fn rechained(rows: Vec<(i64, Vec<u8>)>, seq: i64) -> (Vec<Rewritten>, [u8; 32]) {
    let mut prev: Option<[u8; 32]> = None;
    let mut rewritten = Vec::new();
    for (position, bytes) in rows {
        let mut envelope = pb::EventEnvelope::decode(bytes.as_slice()).expect("an envelope");
        let this_seq = i64::try_from(envelope.project_seq).expect("a small seq");
        let occurred = envelope.occurred_at.as_mut().expect("a business time");
        if this_seq == seq {
            occurred.seconds -= 86_400;
        }
        let occurred_at =
            DateTime::from_timestamp(occurred.seconds, u32::try_from(occurred.nanos).unwrap_or(0)).expect("a time");
        envelope.prev_hash = prev.map(hex::encode).unwrap_or_default();
        let hash = chain_hash(prev.as_ref(), &envelope);
        envelope.hash = hex::encode(hash);
        if this_seq >= seq {
            rewritten.push(Rewritten {
                position,
                prev_hash: prev.map(|prev| prev.to_vec()).unwrap_or_default(),
                hash: hash.to_vec(),
                envelope: envelope.encode_to_vec(),
                occurred_at,
            });
        }
        prev = Some(hash);
    }
    (rewritten, prev.expect("a project with events"))
}

/// The operator empties the transparency log (and its record of the
/// witnesses), so that the writer logs every event afresh.
async fn empty_the_log(storage: &str) {
    const TABLES: [&str; 4] = ["tlog_leaves", "tlog_hashes", "tlog_checkpoints", "tlog_witnesses"];
    if storage.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(storage).await.expect("the operator connects");
        for table in TABLES {
            let delete = sqlx::AssertSqlSafe(format!("DELETE FROM {table}"));
            sqlx::query(delete).execute(&pool).await.expect("empties");
        }
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(storage).await.expect("the operator connects");
        for table in TABLES {
            let delete = sqlx::AssertSqlSafe(format!("DELETE FROM {table}"));
            sqlx::query(delete).execute(&pool).await.expect("empties");
        }
        pool.close().await;
    }
}

fn admin() -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", gongkai_testkit::kafka_bootstrap_servers())
        .create()
        .expect("admin client")
}

/// The topics of `kafka` deleted, and gone.
async fn delete_topics(kafka: &KafkaLog) {
    let admin = admin();
    let topics = gongkai_bus::topics(&kafka.prefix);
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let deleted = admin.delete_topics(&names, &AdminOptions::new()).await.expect("topics deleted");
    assert!(deleted.iter().all(Result::is_ok), "{deleted:?}");
    let started = Instant::now();
    while topic_names(&admin).iter().any(|name| topics.contains(name)) {
        assert!(started.elapsed() < Duration::from_secs(60), "the topics are still there after 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// On Kafka the topics hold the events as recorded: the operator deletes
/// them and lets the relay fill them again from the rewritten store (the
/// procedure of docs/domain.md for rewritten chains).
async fn refill_topics(store: &gongkai_store::Store, storage: &str, kafka: &KafkaLog) {
    delete_topics(kafka).await;
    let (ok, output) = run(&["relay", "republish"], &[("GONGKAI_STORAGE__URL", storage)]).await;
    assert!(ok, "{output}");
    relay_until_published(store, storage, &kafka.env()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_witness_cosigns_the_record_and_catches_a_rewritten_event() {
    a_witness_cosigns_the_record_and_catches_a_rewritten_event(Backend::Sqlite, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_kafka_a_witness_cosigns_the_record_and_catches_a_rewritten_event() {
    a_witness_cosigns_the_record_and_catches_a_rewritten_event(Backend::Postgres, Some(KafkaLog::isolated())).await;
}

#[tokio::test]
async fn witness_keys_are_made_and_a_witness_needs_one() {
    let (ok, output) = run(&["witness", "keygen", "--name", "witness.example.cn/w1"], &[]).await;
    assert!(ok, "{output}");
    let value = |key: &str| {
        let line = output.lines().find(|line| line.starts_with(key)).expect("the key is printed");
        line.split('"').nth(1).expect("quoted").to_owned()
    };
    let cosigner = Cosigner::parse(&value("signing_key = ")).expect("a cosigning key");
    let public = gongkai_tlog::note::Verifier::parse(&value("public_key = ")).expect("a public key");
    assert_eq!((public.key_type(), cosigner.verifier()), (KeyType::Cosignature, public));
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let state = state.to_str().expect("a UTF-8 path");
    let log = log_signer().verifier().vkey();
    let (ok, output) = run(&["witness", "serve", "--log", &log, "--state", state], &[]).await;
    assert!(!ok && output.contains("witness.signing_key"), "{output}");
    let key = cosigner.signer_key();
    let with_key = [("GONGKAI_WITNESS__SIGNING_KEY", key.as_str())];
    let (ok, output) = run(&["witness", "serve", "--state", state, "--listen", "127.0.0.1:0"], &with_key).await;
    assert!(!ok && output.contains("at least one log key"), "{output}");
    let vkey = cosigner.verifier().vkey();
    let (ok, output) = run(&["witness", "serve", "--log", &vkey, "--state", state], &with_key).await;
    assert!(!ok && output.contains("is a witness key"), "{output}");
    // A log configured with a log key as its witness, or a witness it
    // cannot reach over plain HTTP, does not start.
    let storage = gongkai_testkit::fresh_sqlite_url(dir.path());
    let signing_key = log_signer().signer_key();
    for (url, key, refusal) in [
        ("http://127.0.0.1:1", log.as_str(), "not a witness's cosignature key"),
        ("https://witness.example.cn", vkey.as_str(), "must be http://"),
        ("witness.example.cn", vkey.as_str(), "not a URL"),
    ] {
        let witnesses = format!("[{{url = \"{url}\", key = \"{key}\"}}]");
        let env = [
            ("GONGKAI_STORAGE__URL", storage.as_str()),
            ("GONGKAI_TLOG__SIGNING_KEY", signing_key.as_str()),
            ("GONGKAI_TLOG__WITNESSES", witnesses.as_str()),
        ];
        let (ok, output) = run(&["dev", "--grpc-listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"], &env).await;
        assert!(!ok && output.contains(refusal), "{url} {key}: {output}");
    }
}
