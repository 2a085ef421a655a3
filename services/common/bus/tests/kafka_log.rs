//! The log reader and replay over the test Kafka (`GONGKAI_TEST_KAFKA_URL`),
//! on topics of their own.

use std::time::Duration;

use gongkai_bus::kafka::{EventMessage, EventProducer, ProducerSettings};
use gongkai_bus::{Batch, KafkaSource, LogReader, LogReplay, LogSource, LogUrl};
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::Store;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn source() -> KafkaSource {
    let LogUrl::Kafka(kafka) = LogUrl::parse(&gongkai_testkit::kafka_url()).expect("Kafka URL") else {
        panic!("GONGKAI_TEST_KAFKA_URL is not a kafka:// URL");
    };
    let id = uuid::Uuid::now_v7().simple().to_string();
    KafkaSource { kafka, group_id: format!("log-test-{id}"), topic_prefix: format!("test-{id}."), partitions: 2 }
}

/// Event `seq` of `project`, as the record the relay would send to `topic`
/// (one of `source`'s), with a trace context on the first event.
fn record(source: &KafkaSource, topic: usize, project: &str, seq: u64) -> EventMessage {
    let event = EventEnvelope {
        event_id: format!("{project}-{seq}"),
        subject: project.to_owned(),
        project_seq: seq,
        ..EventEnvelope::default()
    };
    EventMessage {
        topic: source.topics()[topic].clone(),
        key: project.to_owned(),
        payload: event.encode_to_vec(),
        id: event.event_id.clone(),
        event_type: "gongkai.v1.Test".into(),
        source: "test".into(),
        subject: project.to_owned(),
        time: None,
        traceparent: (seq == 1).then(|| TRACEPARENT.to_owned()),
    }
}

async fn publish(source: &KafkaSource, records: &[EventMessage]) {
    let producer = EventProducer::new(&source.kafka, &ProducerSettings::default()).expect("producer");
    producer.publish(records).await.expect("published");
}

/// Batches of `reader`, each committed, until `events` events came, or none
/// came for `quiet`.
async fn read(reader: &mut LogReader, events: usize, quiet: Duration) -> Vec<Batch> {
    let shutdown = CancellationToken::new();
    let mut batches = Vec::new();
    while batches.iter().map(|batch: &Batch| batch.events.len()).sum::<usize>() < events {
        let Ok(batch) = tokio::time::timeout(quiet, reader.next_batch(&shutdown)).await else { break };
        batches.push(batch.expect("reads").expect("no shutdown"));
        reader.commit().expect("commits");
    }
    batches
}

fn ids(batches: &[Batch]) -> Vec<String> {
    let mut ids: Vec<String> = batches.iter().flat_map(|batch| &batch.events).map(|e| e.event_id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_member_reads_commits_and_skips_poison_and_a_replay_reads_everything() {
    let kafka = source();
    let log = LogSource::Kafka(kafka.clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&gongkai_testkit::fresh_sqlite_url(dir.path()), &Default::default()).await.unwrap();
    let shutdown = CancellationToken::new();

    // Opening creates the topics.
    let mut reader = LogReader::open(&log, &store.log(), 0, &shutdown).await.unwrap().expect("opened");
    let mut poison = record(&kafka, 1, "B", 9);
    poison.payload = b"not an envelope".to_vec();
    let records = [
        record(&kafka, 0, "A", 1),
        record(&kafka, 1, "A", 2),
        poison,
        record(&kafka, 0, "B", 1),
        record(&kafka, 2, "A", 3),
    ];
    publish(&kafka, &records).await;
    let batches = read(&mut reader, 4, Duration::from_secs(30)).await;
    assert_eq!(ids(&batches), ["A-1", "A-2", "A-3", "B-1"], "the poison record is skipped");
    let traces: Vec<&String> = batches.iter().flat_map(|batch| &batch.traceparents).collect();
    assert_eq!(traces, [TRACEPARENT, TRACEPARENT], "one per first event");
    reader.close();

    // What was committed is not read again by the group.
    let mut again = LogReader::open(&log, &store.log(), 0, &shutdown).await.unwrap().expect("opened");
    publish(&kafka, &[record(&kafka, 0, "C", 1)]).await;
    let batches = read(&mut again, 1, Duration::from_secs(30)).await;
    assert_eq!(ids(&batches), ["C-1"]);
    again.close();

    // A replay reads every record up to where the log ended when it opened.
    let mut replay = LogReplay::open(&log, &store.log()).await.unwrap();
    publish(&kafka, &[record(&kafka, 0, "D", 1)]).await;
    assert_eq!(replay.total(), 6, "the records, the poison one included");
    let mut replayed = Vec::new();
    while let Some(batch) = replay.next_batch().await.unwrap() {
        replayed.push(batch);
    }
    assert_eq!(ids(&replayed), ["A-1", "A-2", "A-3", "B-1", "C-1"]);
    assert!(replayed.iter().all(|batch| batch.traceparents.is_empty()));
    store.close().await;
}

#[tokio::test]
async fn shutdown_stops_a_waiting_reader() {
    let log = LogSource::Kafka(source());
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&gongkai_testkit::fresh_sqlite_url(dir.path()), &Default::default()).await.unwrap();
    let shutdown = CancellationToken::new();
    let mut reader = LogReader::open(&log, &store.log(), 0, &shutdown).await.unwrap().expect("opened");
    let waiting = tokio::time::timeout(Duration::from_millis(500), reader.next_batch(&shutdown)).await;
    assert!(waiting.is_err(), "nothing to hand over: {waiting:?}");
    shutdown.cancel();
    assert_eq!(reader.next_batch(&shutdown).await.unwrap(), None);
    reader.close();
    // A reader opened after shutdown, before the topics exist, is none.
    let mut unreachable = source();
    unreachable.kafka.bootstrap_servers = "127.0.0.1:9".into();
    assert!(LogReader::open(&LogSource::Kafka(unreachable), &store.log(), 0, &shutdown).await.unwrap().is_none());
    store.close().await;
}
