//! The relay against the real Kafka, PostgreSQL and SQLite.
//!
//! Every test body that does not depend on PostgreSQL's advisory locks runs
//! on both backends. Topic names are fixed by the contract, so each test
//! isolates itself with a unique topic prefix (`test-<uuid>.`). A test that
//! cannot reach Kafka or PostgreSQL fails; none skips.

mod support;

use std::time::Duration;

use gongkai_bus::KafkaConfig;
use gongkai_bus::kafka;
use gongkai_domain::kinds::topic;
use gongkai_proto::v1::EventEnvelope;
use gongkai_relay::RelayState;
use gongkai_store::{Backend, OutboxCursor, OutboxRead, Pool};
use gongkai_testkit::store::{FreshStore, postgres, sqlite};
use prost::Message as _;
use rdkafka::admin::{AdminOptions, ResourceSpecifier};

use support::*;

const DRAIN: Duration = Duration::from_secs(60);
const STOP: Duration = Duration::from_secs(30);
const QUIET: Duration = Duration::from_millis(1500);

// ---------------------------------------------------------------------------
// Every event, once, where it belongs.

async fn publishes_every_event_once(harness: FreshStore) {
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let store = &harness.store;

    // Written before the relay starts: three projects through all domains.
    let mut expected = Vec::new();
    for n in 1..=3 {
        expected.extend(append_range(store, &project(n), 1, 7).await);
    }
    assert_eq!(store.outbox().outbox_backlog().await.unwrap(), 21);

    let relay = Running::start(store, relay_config(kafka.clone(), &prefix));
    relay.wait_for(RelayState::Leading, Duration::from_secs(10)).await;
    wait_drained(store, DRAIN).await;

    // Written while it runs, with a poke.
    expected.extend(append_range(store, &project(1), 8, 10).await);
    relay.waker.notify_one();
    wait_drained(store, DRAIN).await;
    relay.stop(STOP).await;

    assert!(store.outbox().unpublished(100).await.unwrap().is_empty(), "every row is marked published");
    let received = consume(&kafka, &prefix, expected.len(), QUIET).await;
    assert_eq!(received.len(), expected.len());
    assert_delivered(&received, &expected, &prefix, true);
    drop_topics(&kafka, &prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publishes_every_event_once_postgres() {
    publishes_every_event_once(postgres().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publishes_every_event_once_sqlite() {
    publishes_every_event_once(sqlite().await).await;
}

/// Small batches, many in flight, while projects append concurrently: every
/// event once, each project in order, whatever commits late.
async fn publishes_in_order_with_many_batches_in_flight(harness: FreshStore) {
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let store = &harness.store;
    let mut config = relay_config(kafka.clone(), &prefix);
    config.batch_size = 3;
    config.max_in_flight = 12;
    let relay = Running::start(store, config);
    relay.wait_for(RelayState::Leading, Duration::from_secs(10)).await;

    let appenders: Vec<_> = (1..=6)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { append_range(&store, &project(n), 1, 15).await })
        })
        .collect();
    let mut expected = Vec::new();
    for task in appenders {
        expected.extend(task.await.unwrap());
    }
    relay.waker.notify_one();
    wait_drained(store, DRAIN).await;
    relay.stop(STOP).await;

    let received = consume(&kafka, &prefix, expected.len(), QUIET).await;
    assert_delivered(&received, &expected, &prefix, true);
    drop_topics(&kafka, &prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publishes_in_order_with_many_batches_in_flight_postgres() {
    publishes_in_order_with_many_batches_in_flight(postgres().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publishes_in_order_with_many_batches_in_flight_sqlite() {
    publishes_in_order_with_many_batches_in_flight(sqlite().await).await;
}

// ---------------------------------------------------------------------------
// The outbox as the store reports it.

async fn outbox_reads_in_position_order(harness: FreshStore) {
    let store = &harness.store;
    let mut expected = append_range(store, &project(1), 1, 3).await;
    expected.extend(append_range(store, &project(2), 1, 2).await);
    expected.extend(append_range(store, &project(1), 4, 4).await);

    let records = store.outbox().unpublished(100).await.unwrap();
    let positions: Vec<u64> = records.iter().map(|r| r.position).collect();
    assert_eq!(positions, expected.iter().map(|e| e.position).collect::<Vec<_>>());
    for (record, event) in records.iter().zip(&expected) {
        assert_eq!(&EventEnvelope::decode(record.envelope.as_slice()).unwrap(), event);
        assert_eq!(record.envelope, event.encode_to_vec(), "the envelope as it is encoded");
        assert_eq!(
            (record.event_id.as_str(), record.event_type.as_str(), record.source.as_str()),
            (event.event_id.as_str(), event.r#type.as_str(), event.source.as_str())
        );
        assert_eq!(record.occurred_at, event.occurred_at);
        assert_eq!(record.project_code, event.subject);
        assert_eq!(record.topic, topic(gongkai_proto::v1::Domain::try_from(event.domain).unwrap()));
    }
    assert_eq!(store.outbox().unpublished(2).await.unwrap(), records[..2]);

    assert_eq!(store.outbox().mark_published(&positions[..2]).await.unwrap(), 2);
    // Marking again keeps the first stamp and counts nothing.
    assert_eq!(store.outbox().mark_published(&positions[..3]).await.unwrap(), 1);
    assert_eq!(store.outbox().mark_published(&[]).await.unwrap(), 0);
    assert_eq!(store.outbox().outbox_backlog().await.unwrap(), 3);
    assert_eq!(store.outbox().unpublished(100).await.unwrap(), records[3..]);

    // SQLite (one process) always grants leadership.
    if store.backend() == Backend::Sqlite {
        let mut first = store.outbox().try_lead_relay().await.unwrap().expect("leads");
        first.check().await.unwrap();
        first.release().await.unwrap();
    }
}

#[tokio::test]
async fn outbox_reads_in_position_order_postgres() {
    outbox_reads_in_position_order(postgres().await).await;
}

#[tokio::test]
async fn outbox_reads_in_position_order_sqlite() {
    outbox_reads_in_position_order(sqlite().await).await;
}

/// Marking stamps runs of the positions given and nothing between them, and
/// never a held row.
async fn marks_only_the_positions_given(harness: FreshStore) {
    let store = &harness.store;
    let outbox = store.outbox();
    let rows: Vec<u64> = append_range(store, &project(1), 1, 5).await.iter().map(|e| e.position).collect();
    let held = append_range(store, &project(2), 1, 1).await[0].position;
    outbox.park_relay_stream(&project(2), held, "refused").await.unwrap();

    let acknowledged = [rows[0], rows[1], rows[3], rows[4], held];
    assert_eq!(outbox.mark_published(&acknowledged).await.unwrap(), 4, "the held row is not stamped");
    assert_eq!(outbox.outbox_backlog().await.unwrap(), 2, "the row between two runs is not stamped");
    let left: Vec<u64> = outbox.unpublished(100).await.unwrap().iter().map(|r| r.position).collect();
    assert_eq!(left, [rows[2]]);
}

#[tokio::test]
async fn marks_only_the_positions_given_postgres() {
    marks_only_the_positions_given(postgres().await).await;
}

#[tokio::test]
async fn marks_only_the_positions_given_sqlite() {
    marks_only_the_positions_given(sqlite().await).await;
}

/// The positions a relay read found, whether rows turned up behind the
/// cursor, and the next cursor.
fn rows(read: OutboxRead) -> (Vec<u64>, bool, Option<OutboxCursor>) {
    (read.records.iter().map(|record| record.position).collect(), read.behind, read.next)
}

/// The relay reads on after its cursor while earlier rows are in flight,
/// and reads a released stream's rows, behind the cursor, before any later
/// row of that stream.
async fn reads_go_on_after_the_cursor(harness: FreshStore) {
    let store = &harness.store;
    let outbox = store.outbox();
    let first: Vec<u64> = append_range(store, &project(1), 1, 3).await.iter().map(|e| e.position).collect();

    let (read, behind, cursor) = rows(outbox.read_for_relay(None, 2, &[]).await.unwrap());
    assert_eq!((read.as_slice(), behind), (&first[..2], false));
    let (read, _, cursor) = rows(outbox.read_for_relay(cursor.as_ref(), 2, &first[..2]).await.unwrap());
    assert_eq!(read, first[2..], "the rows in flight are not read again");
    let more = append_range(store, &project(1), 4, 4).await[0].position;
    let (read, _, cursor) = rows(outbox.read_for_relay(cursor.as_ref(), 10, &first).await.unwrap());
    assert_eq!(read, [more]);
    let mut in_flight = first.clone();
    in_flight.push(more);
    // A read from the start leaves out the rows in flight only.
    assert_eq!(rows(outbox.read_for_relay(None, 10, &in_flight[1..]).await.unwrap()).0, [first[0]]);

    // Project 2 is parked: its row is held, and the cursor passes it.
    let parked = append_range(store, &project(2), 1, 1).await[0].position;
    outbox.park_relay_stream(&project(2), parked, "refused").await.unwrap();
    let (read, _, cursor) = rows(outbox.read_for_relay(cursor.as_ref(), 10, &in_flight).await.unwrap());
    assert!(read.is_empty());
    let other = append_range(store, &project(3), 1, 1).await[0].position;
    let later = append_range(store, &project(2), 2, 2).await[0].position;
    assert!(outbox.release_relay_stream(&project(2)).await.unwrap());
    // Released: its rows behind the cursor come before its later one.
    let (read, behind, cursor) = rows(outbox.read_for_relay(cursor.as_ref(), 10, &in_flight).await.unwrap());
    assert_eq!((read.as_slice(), behind), (&[other][..], true), "the released stream's later row waits");
    in_flight.push(other);
    assert_eq!(rows(outbox.read_for_relay(cursor.as_ref(), 10, &in_flight).await.unwrap()).0, [parked, later]);
}

#[tokio::test]
async fn reads_go_on_after_the_cursor_postgres() {
    reads_go_on_after_the_cursor(postgres().await).await;
}

#[tokio::test]
async fn reads_go_on_after_the_cursor_sqlite() {
    reads_go_on_after_the_cursor(sqlite().await).await;
}

/// A row that commits after a read passed its position is found behind the
/// cursor before its project's next event can be sent, and is read first.
#[tokio::test]
async fn a_late_commit_behind_the_cursor_is_read_first_postgres() {
    let harness = postgres().await;
    let store = &harness.store;
    let Pool::Postgres(pool) = store.pool() else { unreachable!() };
    let outbox = store.outbox();

    let late = new_event(&project(1), 1, None);
    let (tx, late_position) = begin_late_append(pool, &late).await;
    let early = append_range(store, &project(2), 1, 1).await[0].position;
    let (read, _, cursor) = rows(outbox.read_for_relay(None, 10, &[]).await.unwrap());
    assert_eq!(read, [early]);
    tx.commit().await.unwrap();
    let next = append_range(store, &project(1), 2, 2).await[0].position;
    let other = append_range(store, &project(3), 1, 1).await[0].position;

    // After the cursor alone, project 1's seq 2 would go before its seq 1:
    // it waits, other projects do not.
    let (read, behind, cursor) = rows(outbox.read_for_relay(cursor.as_ref(), 10, &[early]).await.unwrap());
    assert_eq!((read.as_slice(), behind), (&[other][..], true));
    let (read, behind, _) = rows(outbox.read_for_relay(cursor.as_ref(), 10, &[early, other]).await.unwrap());
    assert_eq!((read.as_slice(), behind), (&[late_position as u64, next][..], false));
}

/// The advisory lock admits one leader; releasing it or dropping the
/// leader's connection lets the next one in.
#[tokio::test]
async fn leadership_is_exclusive_on_postgres() {
    let harness = postgres().await;
    let store = &harness.store;
    let mut leader = store.outbox().try_lead_relay().await.unwrap().expect("first relay leads");
    assert!(store.outbox().try_lead_relay().await.unwrap().is_none(), "second relay stands by");
    leader.check().await.unwrap();
    leader.release().await.unwrap();
    let leader = store.outbox().try_lead_relay().await.unwrap().expect("leads after release");
    assert!(store.outbox().try_lead_relay().await.unwrap().is_none());
    drop(leader);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if store.outbox().try_lead_relay().await.unwrap().is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "lock not freed after the leader's connection dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// A row that commits after a larger position was published is not skipped.

#[tokio::test(flavor = "multi_thread")]
async fn a_late_commit_is_not_skipped_postgres() {
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let harness = postgres().await;
    let store = &harness.store;
    let Pool::Postgres(pool) = store.pool() else { unreachable!() };

    // Transaction A takes a position and stays open.
    let late = new_event(&project(1), 1, None);
    let (tx, late_position) = begin_late_append(pool, &late).await;

    // Transaction B takes a larger position and commits first.
    let early = append_range(store, &project(2), 1, 1).await;
    assert!(early[0].position > late_position as u64);

    let relay = Running::start(store, relay_config(kafka.clone(), &prefix));
    relay.wait_for(RelayState::Leading, Duration::from_secs(10)).await;
    wait_drained(store, DRAIN).await;

    // A commits; the relay still finds it.
    tx.commit().await.unwrap();
    relay.waker.notify_one();
    wait_drained(store, DRAIN).await;
    relay.stop(STOP).await;

    let mut expected = early;
    expected.push(EventEnvelope { position: late_position as u64, ..late.envelope });
    let received = consume(&kafka, &prefix, expected.len(), QUIET).await;
    assert_delivered(&received, &expected, &prefix, true);
    drop_topics(&kafka, &prefix).await;
}

// ---------------------------------------------------------------------------
// A standby waits while the leader lives and takes over when it dies.

#[tokio::test(flavor = "multi_thread")]
async fn a_standby_takes_over_when_the_leader_dies_postgres() {
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let harness = postgres().await;
    let store = &harness.store;

    let first = Running::start(store, relay_config(kafka.clone(), &prefix));
    first.wait_for(RelayState::Leading, Duration::from_secs(10)).await;
    let second = Running::start(store, relay_config(kafka.clone(), &prefix));
    second.wait_for(RelayState::Standby, Duration::from_secs(10)).await;

    // Round 1, four projects appended concurrently, published by the leader
    // while the standby keeps waiting.
    let appenders = |from: u64, to: u64| {
        (1..=4)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { append_range(&store, &project(n), from, to).await })
            })
            .collect::<Vec<_>>()
    };
    let mut round_one = Vec::new();
    for task in appenders(1, 25) {
        round_one.extend(task.await.unwrap());
    }
    wait_drained(store, DRAIN).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(*second.state.borrow(), RelayState::Standby, "the standby never leads beside the leader");

    // Round 2 is appended while the leader dies (its task, and with it its
    // lock connection, is dropped mid-stream).
    let round_two_tasks = appenders(26, 60);
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.task.abort();
    assert!(first.task.await.unwrap_err().is_cancelled());
    let mut round_two = Vec::new();
    for task in round_two_tasks {
        round_two.extend(task.await.unwrap());
    }
    second.wait_for(RelayState::Leading, Duration::from_secs(15)).await;
    wait_drained(store, DRAIN).await;
    second.stop(STOP).await;

    let mut expected = round_one.clone();
    expected.extend(round_two);
    let received = consume(&kafka, &prefix, expected.len(), QUIET).await;
    // Nothing lost, nothing out of order; the dead leader's last batch may
    // have been sent again by the new one.
    assert_delivered(&received, &expected, &prefix, false);
    // What the first leader had published and marked was not sent again.
    let round_one_received: Vec<_> = received
        .iter()
        .filter(|message| round_one.iter().any(|event| event.event_id == message.envelope.event_id))
        .cloned()
        .collect();
    assert_delivered(&round_one_received, &round_one, &prefix, true);
    drop_topics(&kafka, &prefix).await;
}

// ---------------------------------------------------------------------------
// Kafka down: the backlog grows and nothing is marked; Kafka back: drained.

async fn survives_a_kafka_outage(harness: FreshStore) {
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let store = &harness.store;

    let mut expected = append_range(store, &project(1), 1, 10).await;
    let dead = KafkaConfig { bootstrap_servers: "127.0.0.1:9".to_owned() };
    let mut config = relay_config(dead, &prefix);
    config.create_topics = false; // straight to publishing, which must fail
    config.producer.message_timeout = Duration::from_millis(800);
    config.flush_timeout = Duration::from_secs(1);
    let stranded = Running::start(store, config);
    stranded.wait_for(RelayState::Leading, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    expected.extend(append_range(store, &project(2), 1, 6).await);
    expected.extend(append_range(store, &project(1), 11, 14).await);
    stranded.waker.notify_one();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(store.outbox().outbox_backlog().await.unwrap(), 20, "the backlog grows while Kafka is down");
    assert_eq!(store.outbox().unpublished(100).await.unwrap().len(), 20, "nothing is marked published");
    assert_eq!(*stranded.state.borrow(), RelayState::Leading, "an outage is waited out, not returned");
    stranded.stop(STOP).await;

    let relay = Running::start(store, relay_config(kafka.clone(), &prefix));
    wait_drained(store, DRAIN).await;
    relay.wait_for(RelayState::Leading, Duration::from_secs(1)).await;
    relay.stop(STOP).await;

    let received = consume(&kafka, &prefix, expected.len(), QUIET).await;
    assert_delivered(&received, &expected, &prefix, true);
    drop_topics(&kafka, &prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_a_kafka_outage_postgres() {
    survives_a_kafka_outage(postgres().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_a_kafka_outage_sqlite() {
    survives_a_kafka_outage(sqlite().await).await;
}

/// The relay starts while Kafka is unreachable: it waits for the topics
/// without publishing, and stops cleanly when asked.
#[tokio::test(flavor = "multi_thread")]
async fn waits_for_topics_while_kafka_is_unreachable() {
    let harness = sqlite().await;
    let store = &harness.store;
    append_range(store, &project(1), 1, 3).await;
    let dead = KafkaConfig { bootstrap_servers: "127.0.0.1:9".to_owned() };
    let relay = Running::start(store, relay_config(dead, &unique_prefix()));
    relay.wait_for(RelayState::Leading, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(store.outbox().outbox_backlog().await.unwrap(), 3);
    relay.stop(STOP).await;
}

// ---------------------------------------------------------------------------
// A record Kafka refuses for good parks its project's stream, nothing else.

async fn a_refused_record_parks_only_its_project(harness: FreshStore) {
    use rdkafka::admin::{NewTopic, TopicReplication};
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let store = &harness.store;
    // Topics made by hand that accept 4 KiB records only.
    let admin = kafka::admin_client(&kafka).unwrap();
    let names = gongkai_bus::topics(&prefix);
    let small: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| NewTopic::new(name, PARTITIONS, TopicReplication::Fixed(1)).set("max.message.bytes", "4096"))
        .collect();
    for result in admin.create_topics(&small, &AdminOptions::new()).await.unwrap() {
        result.unwrap();
    }

    let (parked, flowing) = (project(1), project(2));
    let mut expected = append_range(store, &parked, 1, 1).await;
    let head = store.events().stream_head(&parked).await.unwrap().map(|(_, hash)| hash);
    let mut big = new_event(&parked, 2, head);
    big.envelope.flags.push(gongkai_proto::v1::ComplianceFlag {
        rule: "GK-TEST".to_owned(),
        // Random text: the producer compresses, and must not shrink it below the limit.
        explanation: (0..2000).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect(),
        ..Default::default()
    });
    big.envelope.hash = hex::encode(gongkai_domain::hash::chain_hash(head.as_ref(), &big.envelope));
    let big_position = match store.events().append(&big).await.unwrap() {
        gongkai_store::AppendOutcome::Appended { position } => position,
        other => panic!("appended: {other:?}"),
    };
    append_range(store, &parked, 3, 3).await;
    expected.extend(append_range(store, &flowing, 1, 3).await);

    let relay = Running::start(store, relay_config(kafka.clone(), &prefix));
    relay.wait_for(RelayState::Leading, Duration::from_secs(10)).await;
    let deadline = std::time::Instant::now() + DRAIN;
    while store.outbox().outbox_backlog().await.unwrap() > 2 {
        assert!(std::time::Instant::now() < deadline, "the other streams drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let streams = store.outbox().relay_parked().await.unwrap();
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert_eq!((streams[0].project_code.as_str(), streams[0].position), (parked.as_str(), big_position));
    assert!(
        streams[0].reason.to_lowercase().contains("size") || streams[0].reason.contains("large"),
        "{}",
        streams[0].reason
    );
    assert!(store.outbox().unpublished(100).await.unwrap().is_empty(), "the parked stream's rows are held");
    // The refused event never reaches Kafka. Its successor may have been in
    // flight in the same batch (consumers wait for the gap by seq); nothing
    // of the project is sent after the parking.
    let received = consume(&kafka, &prefix, expected.len(), QUIET).await;
    assert!(received.iter().all(|r| r.envelope.event_id != big.envelope.event_id), "the refused event is not on Kafka");
    let others: Vec<Received> =
        received.into_iter().filter(|r| !(r.key == parked && r.envelope.project_seq == 3)).collect();
    // Events in flight with the refused one are sent again: duplicates, never loss.
    assert_delivered(&others, &expected, &prefix, false);

    // Released, it is tried again and, still too large, parked again.
    assert!(store.outbox().release_relay_stream(&parked).await.unwrap());
    relay.waker.notify_one();
    let deadline = std::time::Instant::now() + DRAIN;
    while store.outbox().relay_parked().await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "parked again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.outbox().outbox_backlog().await.unwrap(), 2);
    relay.stop(STOP).await;
    drop_topics(&kafka, &prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_record_parks_only_its_project_postgres() {
    a_refused_record_parks_only_its_project(postgres().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_record_parks_only_its_project_sqlite() {
    a_refused_record_parks_only_its_project(sqlite().await).await;
}

// ---------------------------------------------------------------------------
// Topic creation.

#[tokio::test]
async fn ensure_topics_is_idempotent_and_keeps_events_forever() {
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let admin = kafka::admin_client(&kafka).unwrap();
    let topics = gongkai_bus::topics(&prefix);

    let mut created = kafka::ensure_topics(&admin, &topics, PARTITIONS, 1).await.unwrap();
    created.sort();
    let mut all = topics.clone();
    all.sort();
    assert_eq!(created, all);
    assert!(kafka::ensure_topics(&admin, &topics, PARTITIONS, 1).await.unwrap().is_empty());

    let resources: Vec<ResourceSpecifier<'_>> = topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    // A broker that has just created a topic may describe it with no entries
    // for a moment: ask again until every topic's configuration is there.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let described = loop {
        let described: Vec<_> = admin
            .describe_configs(&resources, &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))))
            .await
            .unwrap()
            .into_iter()
            .map(|resource| resource.unwrap())
            .collect();
        if described.iter().all(|resource| !resource.entries.is_empty()) || std::time::Instant::now() > deadline {
            break described;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for resource in described {
        assert_eq!(resource.get("retention.ms").and_then(|e| e.value.as_deref()), Some("-1"), "{resource:?}");
        let accepts: usize = resource
            .get("max.message.bytes")
            .and_then(|e| e.value.as_deref())
            .and_then(|value| value.parse().ok())
            .expect("max.message.bytes");
        assert!(accepts > kafka::MAX_EVENT_BYTES, "topics accept the largest event: {accepts}");
    }
    drop_topics(&kafka, &prefix).await;
}

/// An append after a relay session is still published by the next one.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_session_publishes_only_what_is_left_sqlite() {
    let kafka = kafka().await;
    let prefix = unique_prefix();
    let harness = sqlite().await;
    let store = &harness.store;

    let mut expected = append_range(store, &project(7), 1, 4).await;
    let relay = Running::start(store, relay_config(kafka.clone(), &prefix));
    wait_drained(store, DRAIN).await;
    relay.stop(STOP).await;

    expected.extend(append_range(store, &project(7), 5, 6).await);
    let relay = Running::start(store, relay_config(kafka.clone(), &prefix));
    wait_drained(store, DRAIN).await;
    relay.stop(STOP).await;

    let received = consume(&kafka, &prefix, expected.len(), QUIET).await;
    assert_delivered(&received, &expected, &prefix, true);
    drop_topics(&kafka, &prefix).await;
}
