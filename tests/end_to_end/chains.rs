//! `gongkai chains migrate` on a store written before commitment seeds:
//! real lifecycles, recorded by a running gongkai and then stored the way
//! they were hashed before (no seeds, legacy hashes), one of them tampered
//! with after hashing. The binary moves the intact chains, refuses the
//! tampered one (exit status 1), migrates nothing the second time, and after
//! `gongkai projector rebuild` the public timelines verify from their
//! `public_event` bytes alone, up to the new heads. On Kafka, the procedure
//! of docs/domain.md: the topics that hold the old envelopes are deleted
//! and filled again (`gongkai relay republish`) before the rebuild, which
//! otherwise keeps the old envelope of each event.

use std::process::Output;
use std::time::{Duration, Instant};

use gongkai_domain::hash::{Hash, legacy_chain_hash, verify_chain, verify_public_chain};
use gongkai_proto::v1 as pb;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::{PoolOptions, Store, StreamEvent, View};
use prost::Message;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;

use crate::projection::{KafkaLog, timeline};
use crate::support::{Embedded, gongkai_binary, start_gongkai};

const PROJECTS: [&str; 3] = ["2024-230113-77-01-000301", "2024-230113-77-01-000302", "2024-230113-77-01-000303"];
/// The one tampered with: its second event's business time moved a day
/// earlier after it was hashed.
const TAMPERED: &str = PROJECTS[1];

/// `stream` as it was stored before commitment seeds: no seed, legacy hashes.
fn the_old_way(stream: &[pb::EventEnvelope]) -> Vec<pb::EventEnvelope> {
    let mut prev: Option<Hash> = None;
    stream
        .iter()
        .map(|event| {
            let mut old = pb::EventEnvelope {
                commitment_seed: Vec::new(),
                prev_hash: prev.map(hex::encode).unwrap_or_default(),
                position: 0,
                ..event.clone()
            };
            let hash = legacy_chain_hash(prev.as_ref(), &old);
            old.hash = hex::encode(hash);
            prev = Some(hash);
            old
        })
        .collect()
}

/// Runs the binary with `args` on the store at `storage`.
async fn gongkai(args: &[&str], storage: &str) -> Output {
    gongkai_with(args, storage, &[]).await
}

/// Runs the binary with `args` on the store at `storage`, with `env`.
async fn gongkai_with(args: &[&str], storage: &str, env: &[(&str, &str)]) -> Output {
    tokio::process::Command::new(gongkai_binary())
        .args(args)
        .env("GONGKAI_STORAGE__URL", storage)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("gongkai runs")
}

/// The streams of real lifecycles of `codes`, recorded by a running
/// gongkai (with seeds, under the current scheme), which then stops.
async fn record_lifecycles(codes: &[&str]) -> Vec<Vec<pb::EventEnvelope>> {
    let Embedded { _dir, gongkai: running, clients, store } = Embedded::start().await;
    for code in codes {
        for request in ppp_lifecycle(code, code).requests {
            clients.send(request).await.expect("accepted");
        }
    }
    assert!(running.terminate(Duration::from_secs(20)).await.success());
    let mut recorded = Vec::new();
    for code in codes {
        recorded.push(store.events().load_stream(code).await.expect("stream"));
    }
    store.close().await;
    recorded
}

/// Appends `streams` to `store` as they are (the bulk loader checks the
/// links, not the hashes).
async fn store_as_they_are(store: &Store, streams: &[Vec<pb::EventEnvelope>]) {
    for stream in streams {
        let events: Vec<StreamEvent<'_>> = stream
            .iter()
            .map(|envelope| StreamEvent {
                envelope,
                region_code: "230113",
                request_digest: gongkai_domain::hash::sha256(envelope.request_id.as_bytes()),
                topic: gongkai_domain::kinds::topic(envelope.domain()),
            })
            .collect();
        store.events().append_streams(&events).await.expect("stored");
    }
}

/// Every stream of `codes`, as stored.
async fn streams(store: &Store, codes: &[&str]) -> Vec<Vec<pb::EventEnvelope>> {
    let mut streams = Vec::new();
    for code in codes {
        streams.push(store.events().load_stream(code).await.expect("stream"));
    }
    streams
}

/// The hash of the last event of the public chain of `code`, if the
/// chain verifies from the public timeline's `public_event` bytes.
async fn public_head(store: &Store, code: &str) -> Option<String> {
    let public = timeline(store, View::Public, code).await;
    let chain = verify_public_chain(public.iter().map(|entry| entry.public_event.as_slice())).ok()?;
    chain.hashes.last().map(hex::encode)
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn chains_migrate_moves_legacy_chains_refuses_a_tampered_one_and_the_rebuilt_timelines_verify() {
    // Real lifecycles, recorded by a running gongkai; then every writer stops.
    let recorded = record_lifecycles(&PROJECTS).await;

    // The same events in a new store, as they were stored before seeds.
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = gongkai_testkit::fresh_sqlite_url(dir.path());
    assert!(gongkai(&["migrate"], &storage).await.status.success());
    let store = Store::connect(&storage, &PoolOptions::default()).await.expect("store");
    let mut old: Vec<Vec<pb::EventEnvelope>> = recorded.iter().map(|stream| the_old_way(stream)).collect();
    let tampered = &mut old[1][1];
    let occurred = tampered.occurred_at.as_mut().expect("a business time");
    occurred.seconds -= 86_400;
    store_as_they_are(&store, &old).await;
    let stored_old = streams(&store, &PROJECTS).await;
    // The views as they were, with the old public events.
    assert!(gongkai(&["projector", "rebuild"], &storage).await.status.success());
    assert_eq!(public_head(&store, PROJECTS[0]).await, None, "the legacy hashes cannot be checked publicly");
    let fed_before = store.public().public_changes_head().await.expect("feed head");

    // The migration: two projects move, the tampered one is refused.
    let first = gongkai(&["chains", "migrate"], &storage).await;
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "a refused project fails the run: {stderr}");
    assert!(stderr.contains("1 project(s) refused"), "{stderr}");
    let said = lines(&first);
    println!("{}", said.join("\n"));
    let events = (old[0].len() + old[2].len()) as u64;
    assert_eq!(said.len(), 4, "{said:?}");
    assert!(said[0].starts_with(&format!("{}\tmigrated\t{} events\thead ", PROJECTS[0], old[0].len())));
    assert!(said[1].starts_with(&format!("{TAMPERED}\trefused\tseq 2 ")), "{}", said[1]);
    assert!(said[1].contains("HASH_MISMATCH"), "{}", said[1]);
    assert!(said[2].starts_with(&format!("{}\tmigrated\t{} events\thead ", PROJECTS[2], old[2].len())));
    assert_eq!(
        said[3],
        format!(
            "Migrated 2 projects ({events} events); 0 already on the current scheme; 1 refused; 0 changed meanwhile."
        )
    );

    let records = store.chain_migration().migrated_chains().await.expect("records");
    assert_eq!(records.iter().map(|r| r.project_code.as_str()).collect::<Vec<_>>(), [PROJECTS[0], PROJECTS[2]]);
    let mut new_heads = Vec::new();
    for (record, before) in records.iter().zip([&stored_old[0], &stored_old[2]]) {
        let after = store.events().load_stream(&record.project_code).await.expect("stream");
        assert_eq!(verify_chain(&after), None, "{} verifies", record.project_code);
        assert!(after.iter().all(|event| event.commitment_seed.len() == 32), "seeded");
        let kept = |e: &pb::EventEnvelope| {
            (e.event_id.clone(), e.project_seq, e.position, e.body.clone(), e.flags.clone(), e.request_id.clone())
        };
        assert_eq!(after.iter().map(kept).collect::<Vec<_>>(), before.iter().map(kept).collect::<Vec<_>>());
        let old_head = before.last().map(|e| e.hash.clone()).unwrap_or_default();
        let new_head = after.last().map(|e| e.hash.clone()).unwrap_or_default();
        assert_eq!(hex::encode(record.old_head), old_head);
        assert_eq!(hex::encode(record.new_head), new_head);
        assert!(said.iter().any(|line| line.ends_with(&format!("head {old_head} -> {new_head}"))));
        new_heads.push(new_head);
    }
    assert_eq!(store.events().load_stream(TAMPERED).await.expect("stream"), stored_old[1], "left as it was");

    // A second run migrates nothing.
    let second = gongkai(&["chains", "migrate"], &storage).await;
    assert_eq!(second.status.code(), Some(1), "the tampered project is still refused");
    let said = lines(&second);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].starts_with(&format!("{TAMPERED}\trefused\t")));
    assert_eq!(
        said[1],
        "Migrated 0 projects (0 events); 2 already on the current scheme; 1 refused; 0 changed meanwhile."
    );
    assert_eq!(store.chain_migration().migrated_chains().await.expect("records"), records);

    // The views carry hashes and public events: rebuilt, they verify.
    let rebuilt = gongkai(&["projector", "rebuild"], &storage).await;
    assert!(rebuilt.status.success(), "rebuild: {}", String::from_utf8_lossy(&rebuilt.stderr));
    for (code, new_head) in [PROJECTS[0], PROJECTS[2]].into_iter().zip(&new_heads) {
        let public = timeline(&store, View::Public, code).await;
        assert_eq!(public.len(), old[if code == PROJECTS[0] { 0 } else { 2 }].len());
        assert_eq!(public_head(&store, code).await.as_ref(), Some(new_head), "{code} verifies up to the new head");
        for view in [View::Public, View::Full] {
            let summary = store.supervision().project_summary(view, code).await.expect("reads").expect("a summary");
            let summary = pb::ProjectSummary::decode(summary.as_slice()).expect("decodes");
            assert_eq!(&summary.chain_head_hash, new_head, "{view:?} summary shows the new head");
        }
    }
    // Followers of the public change feed get every rewritten entry again.
    let changes = store.public().public_changes_after(Some(fed_before), 1_000).await.expect("feed");
    assert_eq!(changes.len() as u64, events, "one change per rewritten entry, none for the refused project");
    for change in &changes {
        assert_eq!(change.change, "updated");
        assert_ne!(change.project_code, TAMPERED);
        let entry = pb::TimelineEntry::decode(change.entry.as_deref().expect("an entry")).expect("decodes");
        let timeline = timeline(&store, View::Public, &change.project_code).await;
        let current = &timeline[entry.project_seq as usize - 1];
        assert_eq!(entry.public_event, current.public_event, "the feed carries the new public event");
    }
    store.close().await;
}

/// Runs a relay on `storage` until the outbox is published, then stops it.
pub(crate) async fn relay_until_published(store: &Store, storage: &str, env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("GONGKAI_STORAGE__URL", storage));
    env.push(("GONGKAI_GRPC__LISTEN", "127.0.0.1:0"));
    let relay = start_gongkai(&["serve", "--target", "relay"], &env).await;
    let started = Instant::now();
    while store.outbox().outbox_backlog().await.expect("backlog") > 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the relay did not publish the outbox within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(relay.terminate(Duration::from_secs(30)).await.success());
}

/// The topic names the cluster has.
pub(crate) fn topic_names(admin: &AdminClient<DefaultClientContext>) -> Vec<String> {
    let metadata = admin.inner().fetch_metadata(None, Duration::from_secs(10)).expect("metadata");
    metadata.topics().iter().map(|topic| topic.name().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kafka_the_topics_are_filled_again_from_the_rewritten_store_before_the_rebuild() {
    const CODES: [&str; 2] = ["2024-230113-77-01-000311", "2024-230113-77-01-000312"];
    let recorded = record_lifecycles(&CODES).await;
    let storage = gongkai_testkit::fresh_postgres_database().await;
    assert!(gongkai(&["migrate"], &storage).await.status.success());
    let store = Store::connect(&storage, &PoolOptions::default()).await.expect("store");
    let old: Vec<Vec<pb::EventEnvelope>> = recorded.iter().map(|stream| the_old_way(stream)).collect();
    store_as_they_are(&store, &old).await;
    let events: u64 = old.iter().map(|stream| stream.len() as u64).sum();

    // The relay published the old envelopes; then every writer stopped.
    let log = KafkaLog::isolated();
    let env = log.env();
    relay_until_published(&store, &storage, &env).await;
    let migrated = gongkai(&["chains", "migrate"], &storage).await;
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let new_heads: Vec<String> =
        streams(&store, &CODES).await.iter().map(|s| s.last().map(|e| e.hash.clone()).unwrap_or_default()).collect();

    // Publishing the rewritten envelopes onto the same topics is not
    // enough: a replay reads each event's old envelope first and keeps it.
    assert!(gongkai(&["relay", "republish"], &storage).await.status.success());
    relay_until_published(&store, &storage, &env).await;
    let rebuilt = gongkai_with(&["projector", "rebuild"], &storage, &env).await;
    assert!(rebuilt.status.success(), "rebuild: {}", String::from_utf8_lossy(&rebuilt.stderr));
    for code in CODES {
        assert_eq!(public_head(&store, code).await, None, "{code}: the old envelopes won");
    }

    // The procedure: delete the topics, mark the outbox unpublished, let the
    // relay fill them again from the store, rebuild.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", gongkai_testkit::kafka_bootstrap_servers())
        .create()
        .expect("admin client");
    let topics = gongkai_bus::topics(&log.prefix);
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let deleted = admin.delete_topics(&names, &AdminOptions::new()).await.expect("topics deleted");
    assert!(deleted.iter().all(Result::is_ok), "{deleted:?}");
    let started = Instant::now();
    while topic_names(&admin).iter().any(|name| topics.contains(name)) {
        assert!(started.elapsed() < Duration::from_secs(60), "the topics are still there after 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let republished = gongkai(&["relay", "republish"], &storage).await;
    assert!(republished.status.success());
    assert!(String::from_utf8_lossy(&republished.stdout).starts_with(&format!("Marked {events} outbox rows")));
    relay_until_published(&store, &storage, &env).await;
    let rebuilt = gongkai_with(&["projector", "rebuild"], &storage, &env).await;
    assert!(rebuilt.status.success(), "rebuild: {}", String::from_utf8_lossy(&rebuilt.stderr));
    assert!(String::from_utf8_lossy(&rebuilt.stdout).contains(&format!("from {events} events")));
    for (code, new_head) in CODES.into_iter().zip(&new_heads) {
        assert_eq!(public_head(&store, code).await.as_ref(), Some(new_head), "{code} verifies up to the new head");
    }
    store.close().await;
    if let Err(error) = admin.delete_topics(&names, &AdminOptions::new()).await {
        eprintln!("could not delete test topics {}*: {error}", log.prefix);
    }
}
