//! Moving chains recorded under the legacy hash scheme to the current one,
//! on both backends: projects written the old way (no seeds, legacy hashes),
//! one of them tampered with after hashing, go through the migration as
//! `gongkai chains migrate` runs it (`ChainMigration` and
//! `gongkai_domain::rechain`). Intact chains are rewritten in place and
//! recorded; the tampered one is refused and left as it was; a second run
//! changes nothing; a writer that appended meanwhile is not overwritten;
//! events stay immutable to everyone else; the outbox can be published again.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use gongkai_domain::commitment::SEED_LEN;
use gongkai_domain::hash::{Hash, legacy_chain_hash, verify_chain};
use gongkai_domain::rechain::{RechainError, rechain, recorded_chain_break};
use gongkai_proto::v1::{
    BidsEvaluated, BrokenLink, BrokenLinkKind, ComplianceFlag, Domain, EventEnvelope, Fact, Person, event_envelope,
    fact,
};
use gongkai_store::{AppendOutcome, ChainRewrite, NewEvent, Pool, Store, StoreError, StreamEvent};
use prost::Message;
use sha2::{Digest, Sha256};

const ALPHA: &str = "2017-230113-48-01-000001";
const BRAVO: &str = "2017-230113-48-01-000002";
const TAMPERED: &str = "2017-230113-48-01-000003";
const DELTA: &str = "2017-230113-48-01-000004";
const SOURCE: &str = "center-harbin";
const TOPIC: &str = "gongkai.review.v1";
const REGION: &str = "230113";

/// Event `seq` of `project`, with confidential parts (the request id, a
/// committee member's ID number, a flag on every second event).
fn envelope(project: &str, seq: u64) -> EventEnvelope {
    EventEnvelope {
        event_id: uuid::Uuid::now_v7().hyphenated().to_string(),
        r#type: "gongkai.v1.BidsEvaluated".to_owned(),
        source: SOURCE.to_owned(),
        subject: project.to_owned(),
        project_seq: seq,
        occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000 + seq as i64, nanos: 0 }),
        recorded_at: Some(prost_types::Timestamp { seconds: 1_700_000_100 + seq as i64, nanos: 5_000 }),
        request_id: format!("{project}-request-{seq}"),
        flags: if seq.is_multiple_of(2) {
            vec![ComplianceFlag { rule: "GK-NEAR-CEILING".to_owned(), ..Default::default() }]
        } else {
            Vec::new()
        },
        domain: Domain::Review as i32,
        body: Some(event_envelope::Body::Fact(Fact {
            kind: Some(fact::Kind::BidsEvaluated(BidsEvaluated {
                tender_code: format!("T{seq}"),
                committee_members: vec![Person {
                    name: "评标专家甲".to_owned(),
                    id_number: "230103198001011234".to_owned(),
                    ..Default::default()
                }],
                ..Default::default()
            })),
        })),
        ..Default::default()
    }
}

/// `events` chained after `prev` the way events were hashed before
/// commitment seeds: no seed, legacy hashes.
fn chain_legacy(prev: Option<Hash>, events: Vec<EventEnvelope>) -> Vec<EventEnvelope> {
    let mut prev = prev;
    events
        .into_iter()
        .map(|mut event| {
            event.prev_hash = prev.map(hex::encode).unwrap_or_default();
            let hash = legacy_chain_hash(prev.as_ref(), &event);
            event.hash = hex::encode(hash);
            prev = Some(hash);
            event
        })
        .collect()
}

fn legacy_project(project: &str, n: u64) -> Vec<EventEnvelope> {
    chain_legacy(None, (1..=n).map(|seq| envelope(project, seq)).collect())
}

fn hash_of(event: &EventEnvelope) -> Hash {
    hex::decode(&event.hash).expect("hex").try_into().expect("32 bytes")
}

fn new_event(envelope: &EventEnvelope) -> NewEvent {
    NewEvent {
        envelope: envelope.clone(),
        region_code: REGION.to_owned(),
        request_digest: Sha256::digest(envelope.request_id.as_bytes()).into(),
        topic: TOPIC.to_owned(),
        traceparent: None,
    }
}

async fn append_one_by_one(store: &Store, events: &[EventEnvelope]) {
    for event in events {
        let outcome = store.events().append(&new_event(event)).await.expect("append");
        assert!(matches!(outcome, AppendOutcome::Appended { .. }), "appended: {outcome:?}");
    }
}

async fn append_whole(store: &Store, events: &[EventEnvelope]) {
    let stream: Vec<StreamEvent<'_>> = events
        .iter()
        .map(|envelope| StreamEvent {
            envelope,
            region_code: REGION,
            request_digest: Sha256::digest(envelope.request_id.as_bytes()).into(),
            topic: TOPIC,
        })
        .collect();
    store.events().append_streams(&stream).await.expect("bulk append");
}

/// Writes the projects the old way: ALPHA one append at a time, BRAVO and
/// TAMPERED as whole streams, TAMPERED with its second event changed after
/// it was hashed.
async fn write_the_old_way(store: &Store) {
    append_one_by_one(store, &legacy_project(ALPHA, 4)).await;
    let mut tampered = legacy_project(TAMPERED, 3);
    if let Some(event_envelope::Body::Fact(Fact { kind: Some(fact::Kind::BidsEvaluated(evaluation)) })) =
        &mut tampered[1].body
    {
        evaluation.tender_code = "T-altered".to_owned();
    }
    append_whole(store, &legacy_project(BRAVO, 3)).await;
    append_whole(store, &tampered).await;
}

/// Seeds drawn so far, in this test process.
static DRAWN: AtomicU64 = AtomicU64::new(0);

/// Fresh seeds, each distinct from every other: SHA-256 of a counter.
fn seeds() -> impl FnMut() -> Result<[u8; SEED_LEN], Infallible> {
    || Ok(Sha256::digest(DRAWN.fetch_add(1, Ordering::Relaxed).to_be_bytes()).into())
}

/// What one run of the migration did.
#[derive(Debug, Default)]
struct Run {
    migrated: Vec<String>,
    refused: Vec<(String, BrokenLink)>,
    current: usize,
}

/// The migration as `gongkai chains migrate` runs it, two projects a page.
async fn migrate(store: &Store) -> Run {
    let chains = store.chain_migration();
    let mut run = Run::default();
    let mut after: Option<String> = None;
    loop {
        let page = chains.project_codes(after.as_deref(), 2).await.expect("codes");
        let Some(last) = page.last().cloned() else { break };
        for code in page {
            let events = chains.load_stream(&code).await.expect("stream");
            match rechain(&events, seeds()) {
                Err(RechainError::Broken(link)) => run.refused.push((code, link)),
                Err(RechainError::Seed(never)) => match never {},
                Ok(moved) if !moved.changed => run.current += 1,
                Ok(moved) => {
                    let old_head = moved.old_head.expect("a head");
                    let rewrite = ChainRewrite { project_code: &code, old_head, events: &moved.events };
                    chains.rewrite_chain(&rewrite).await.expect("rewritten");
                    run.migrated.push(code);
                }
            }
        }
        after = Some(last);
    }
    run
}

/// An envelope with what the migration changes cleared.
fn unhashed(event: &EventEnvelope) -> EventEnvelope {
    EventEnvelope { hash: String::new(), prev_hash: String::new(), commitment_seed: Vec::new(), ..event.clone() }
}

async fn intact_chains_move_and_a_tampered_one_is_refused(store: &Store) {
    write_the_old_way(store).await;
    let before: Vec<Vec<EventEnvelope>> = {
        let mut streams = Vec::new();
        for code in [ALPHA, BRAVO, TAMPERED] {
            streams.push(store.events().load_stream(code).await.expect("stream"));
        }
        streams
    };
    let counts = store.events().event_counts().await.expect("counts");
    assert!(before.iter().all(|stream| verify_chain(stream).is_some()), "the old scheme fails the current check");

    let run = migrate(store).await;
    assert_eq!(run.migrated, [ALPHA, BRAVO]);
    assert_eq!(run.current, 0);
    let [(code, link)] = run.refused.as_slice() else { panic!("one refused: {:?}", run.refused) };
    assert_eq!(code, TAMPERED);
    assert_eq!((link.project_seq, link.kind()), (2, BrokenLinkKind::HashMismatch));

    let records = store.chain_migration().migrated_chains().await.expect("records");
    assert_eq!(records.len(), 2);
    for (record, old) in records.iter().zip(&before) {
        let after = store.events().load_stream(&record.project_code).await.expect("stream");
        assert_eq!(verify_chain(&after), None, "{} verifies under the current scheme", record.project_code);
        assert!(after.iter().all(|event| event.commitment_seed.len() == SEED_LEN), "every event has a seed");
        assert_eq!(
            after.iter().map(unhashed).collect::<Vec<_>>(),
            old.iter().map(unhashed).collect::<Vec<_>>(),
            "ids, seqs, positions, bodies and flags kept"
        );
        let new_head = hash_of(after.last().expect("events"));
        assert_eq!(record.old_head, hash_of(old.last().expect("events")));
        assert_eq!(record.new_head, new_head);
        assert_ne!(record.old_head, record.new_head);
        assert_eq!(record.event_count, old.len() as u64);
        let head = store.events().stream_head(&record.project_code).await.expect("head");
        assert_eq!(head, Some((old.len() as u64, new_head)), "the stream continues from the new head");
    }
    assert_eq!(store.events().load_stream(TAMPERED).await.expect("stream"), before[2], "left as it was");
    assert_eq!(store.events().event_counts().await.expect("counts"), counts, "no row added or removed");

    // A second run changes nothing.
    let moved = records;
    let again = migrate(store).await;
    assert!(again.migrated.is_empty());
    assert_eq!((again.current, again.refused.len()), (2, 1));
    assert_eq!(store.chain_migration().migrated_chains().await.expect("records"), moved);

    // The next event chains onto the new head, under the current scheme.
    let alpha = store.events().load_stream(ALPHA).await.expect("stream");
    let prev = hash_of(alpha.last().expect("events"));
    let mut next = EventEnvelope {
        prev_hash: hex::encode(prev),
        commitment_seed: vec![9; SEED_LEN],
        ..envelope(ALPHA, alpha.len() as u64 + 1)
    };
    next.hash = hex::encode(gongkai_domain::hash::chain_hash(Some(&prev), &next));
    append_one_by_one(store, std::slice::from_ref(&next)).await;
    assert_eq!(verify_chain(&store.events().load_stream(ALPHA).await.expect("stream")), None);
}

async fn a_writer_that_appended_meanwhile_is_not_overwritten(store: &Store) {
    let first = legacy_project(DELTA, 2);
    append_one_by_one(store, &first).await;
    let chains = store.chain_migration();
    let read = chains.load_stream(DELTA).await.expect("stream");
    let moved = rechain(&read, seeds()).expect("intact");
    // A writer appends seq 3 after the chain was read.
    let third = chain_legacy(Some(hash_of(&first[1])), vec![envelope(DELTA, 3)]);
    append_one_by_one(store, &third).await;
    let stored = chains.load_stream(DELTA).await.expect("stream");

    let rewrite = ChainRewrite { project_code: DELTA, old_head: moved.old_head.expect("head"), events: &moved.events };
    let refused = chains.rewrite_chain(&rewrite).await.expect_err("the stream moved");
    assert!(matches!(refused, StoreError::RewriteRefused { ref project_code, .. } if project_code == DELTA));
    assert_eq!(chains.load_stream(DELTA).await.expect("stream"), stored, "nothing written");
    assert!(chains.migrated_chains().await.expect("records").is_empty());

    // Given the seq 3 it did not know of, too, it is still refused.
    let mut longer = moved.events.clone();
    longer.push(EventEnvelope { prev_hash: moved.events[1].hash.clone(), ..stored[2].clone() });
    let rewrite = ChainRewrite { project_code: DELTA, old_head: moved.old_head.expect("head"), events: &longer };
    assert!(matches!(chains.rewrite_chain(&rewrite).await, Err(StoreError::RewriteRefused { .. })));

    // Events other than the stored ones (another id) are refused, and the
    // head and the record written before the events are undone.
    let mut foreign = rechain(&stored, seeds()).expect("intact");
    foreign.events[0].event_id = uuid::Uuid::now_v7().hyphenated().to_string();
    let rewrite = ChainRewrite { project_code: DELTA, old_head: hash_of(&stored[2]), events: &foreign.events };
    let refused = chains.rewrite_chain(&rewrite).await.expect_err("not the stored events");
    assert!(matches!(refused, StoreError::RewriteRefused { reason, .. } if reason.contains("not the ones")));
    assert_eq!(chains.load_stream(DELTA).await.expect("stream"), stored);
    assert_eq!(store.events().stream_head(DELTA).await.expect("head"), Some((3, hash_of(&stored[2]))));
    assert!(chains.migrated_chains().await.expect("records").is_empty());

    // Read again, it moves.
    let run = migrate(store).await;
    assert_eq!(run.migrated, [DELTA]);
    let after = chains.load_stream(DELTA).await.expect("stream");
    assert_eq!(verify_chain(&after), None);
    assert_eq!(after.len(), 3);

    // A chain is rewritten once: another rewrite of it is refused, and
    // undone whole (the stream head too).
    let reseeded: Vec<EventEnvelope> =
        after.iter().map(|event| EventEnvelope { commitment_seed: Vec::new(), ..event.clone() }).collect();
    let reseeded = chain_legacy(None, reseeded);
    let other = rechain(&reseeded, seeds()).expect("intact").events;
    assert_ne!(other.last().map(|e| &e.hash), after.last().map(|e| &e.hash));
    let rewrite = ChainRewrite { project_code: DELTA, old_head: hash_of(&after[2]), events: &other };
    let refused = chains.rewrite_chain(&rewrite).await.expect_err("rewritten before");
    assert!(matches!(refused, StoreError::RewriteRefused { reason, .. } if reason.contains("before")));
    assert_eq!(chains.load_stream(DELTA).await.expect("stream"), after);
    assert_eq!(store.events().stream_head(DELTA).await.expect("head"), Some((3, hash_of(&after[2]))));

    // A chain that is not whole and linked is refused before the database.
    let rewrite = ChainRewrite { project_code: DELTA, old_head: hash_of(&after[2]), events: &other[1..] };
    assert!(matches!(chains.rewrite_chain(&rewrite).await, Err(StoreError::InvalidEvent(_))));
    let rewrite = ChainRewrite { project_code: ALPHA, old_head: hash_of(&after[2]), events: &other };
    assert!(matches!(chains.rewrite_chain(&rewrite).await, Err(StoreError::InvalidEvent(_))));
    let rewrite = ChainRewrite { project_code: DELTA, old_head: hash_of(&after[2]), events: &[] };
    assert!(matches!(chains.rewrite_chain(&rewrite).await, Err(StoreError::InvalidEvent(_))));
}

/// The SQL that defines the events' triggers, in name order (SQLite), or
/// their names and whether each is enabled (PostgreSQL).
async fn triggers(store: &Store) -> Vec<String> {
    match store.pool() {
        Pool::Postgres(pool) => sqlx::query_scalar(
            "SELECT tgname::text || ' ' || tgenabled::text FROM pg_trigger \
             WHERE tgrelid = 'events'::regclass AND NOT tgisinternal ORDER BY tgname",
        )
        .fetch_all(pool)
        .await
        .expect("triggers"),
        Pool::Sqlite(pool) => sqlx::query_scalar(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events' ORDER BY name",
        )
        .fetch_all(pool)
        .await
        .expect("triggers"),
    }
}

async fn events_stay_immutable_to_everyone_else(store: &Store) {
    let before = triggers(store).await;
    assert!(!before.is_empty());
    write_the_old_way(store).await;
    // A refused rewrite and a successful one, each in its own transaction.
    let chains = store.chain_migration();
    let moved = rechain(&chains.load_stream(BRAVO).await.expect("stream"), seeds()).expect("intact");
    let stale = ChainRewrite { project_code: BRAVO, old_head: [0; 32], events: &moved.events };
    assert!(chains.rewrite_chain(&stale).await.is_err());
    assert_eq!(migrate(store).await.migrated, [ALPHA, BRAVO]);
    assert_eq!(triggers(store).await, before, "the triggers are back as they were");

    let update = "UPDATE events SET envelope = envelope WHERE project_code = $1";
    let delete = "DELETE FROM events WHERE project_code = $1";
    for statement in [update, delete] {
        let refused = match store.pool() {
            Pool::Postgres(pool) => sqlx::query(statement).bind(ALPHA).execute(pool).await.map(drop),
            Pool::Sqlite(pool) => sqlx::query(statement).bind(ALPHA).execute(pool).await.map(drop),
        };
        let error = refused.expect_err("refused");
        assert!(error.to_string().contains("immutable"), "{statement} is refused by the trigger: {error}");
    }
    assert_eq!(verify_chain(&store.events().load_stream(ALPHA).await.expect("stream")), None);
}

async fn the_outbox_publishes_the_rewritten_envelopes_again(store: &Store) {
    write_the_old_way(store).await;
    let outbox = store.outbox();
    let total = store.events().event_counts().await.expect("counts").outbox;
    let positions: Vec<u64> = outbox.unpublished(100).await.expect("unpublished").iter().map(|r| r.position).collect();
    assert_eq!(positions.len() as u64, total);
    // The relay published all but the last row.
    assert_eq!(outbox.mark_published(&positions[..positions.len() - 1]).await.expect("marked"), total - 1);
    assert_eq!(outbox.outbox_backlog().await.expect("backlog"), 1);

    migrate(store).await;
    assert_eq!(outbox.republish_all().await.expect("republished"), total - 1, "every published row");
    assert_eq!(outbox.outbox_backlog().await.expect("backlog"), total);
    assert_eq!(outbox.republish_all().await.expect("republished"), 0);

    let records = outbox.unpublished(100).await.expect("unpublished");
    assert_eq!(records.iter().map(|r| r.position).collect::<Vec<_>>(), positions, "in position order");
    for code in [ALPHA, BRAVO] {
        let stream = store.events().load_stream(code).await.expect("stream");
        let published: Vec<EventEnvelope> = records
            .iter()
            .filter(|record| record.project_code == code)
            .map(|record| EventEnvelope::decode(record.envelope.as_slice()).expect("an envelope"))
            .collect();
        assert_eq!(published, stream, "{code}: the relay sends the rewritten envelopes");
        assert_eq!(recorded_chain_break(&published), None);
    }
}

gongkai_testkit::on_both_stores!(
    store: intact_chains_move_and_a_tampered_one_is_refused,
    a_writer_that_appended_meanwhile_is_not_overwritten,
    events_stay_immutable_to_everyone_else,
    the_outbox_publishes_the_rewritten_envelopes_again,
);
