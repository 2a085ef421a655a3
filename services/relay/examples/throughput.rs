//! Measures relay throughput from PostgreSQL to Kafka (not a test):
//! seeds N events over 100 projects into a fresh database, then times one
//! relay draining the outbox into uniquely prefixed topics.
//!
//! `cargo run --release -p gongkai-relay --example throughput -- [events] [batch size] [max in flight]`

use std::time::{Duration, Instant};

use gongkai_bus::KafkaConfig;
use gongkai_domain::hash::{chain_hash, sha256};
use gongkai_domain::kinds::topic;
use gongkai_proto::v1::{Domain, EventEnvelope, Fact, ProjectApproved, event_envelope, fact};
use gongkai_relay::{Relay, RelayConfig};
use gongkai_store::{AppendOutcome, NewEvent};
use tokio_util::sync::CancellationToken;

const PROJECTS: u64 = 100;

fn event(project: &str, seq: u64, prev: Option<[u8; 32]>) -> NewEvent {
    let request_id = format!("{project}-{seq}");
    let mut envelope = EventEnvelope {
        event_id: uuid::Uuid::now_v7().hyphenated().to_string(),
        r#type: "gongkai.v1.ProjectApproved".to_owned(),
        source: "center-harbin".to_owned(),
        subject: project.to_owned(),
        project_seq: seq,
        occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
        recorded_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
        request_id: request_id.clone(),
        prev_hash: prev.map(hex::encode).unwrap_or_default(),
        domain: Domain::Projects as i32,
        commitment_seed: Vec::new(),
        body: Some(event_envelope::Body::Fact(Fact {
            kind: Some(fact::Kind::ProjectApproved(ProjectApproved {
                project_name: format!("哈尔滨市某某道路工程 {seq}"),
                total_investment_fen: 10_000_000_000,
                ..Default::default()
            })),
        })),
        ..Default::default()
    };
    envelope.hash = hex::encode(chain_hash(prev.as_ref(), &envelope));
    NewEvent {
        envelope,
        region_code: "230113".to_owned(),
        request_digest: sha256(request_id.as_bytes()),
        topic: topic(Domain::Projects).to_owned(),
        traceparent: None,
    }
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::args().nth(1).map(|n| n.parse().expect("event count")).unwrap_or(20_000);
    let batch_size: Option<u32> = std::env::args().nth(2).map(|n| n.parse().expect("batch size"));
    let max_in_flight: Option<u32> = std::env::args().nth(3).map(|n| n.parse().expect("max in flight"));
    let store = gongkai_testkit::store::postgres().await.store;

    let seeding = Instant::now();
    let per_project = total / PROJECTS;
    let tasks: Vec<_> = (0..PROJECTS)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let project = format!("2017-230113-48-01-{n:06}");
                let mut prev = None;
                for seq in 1..=per_project {
                    let new = event(&project, seq, prev);
                    assert!(matches!(store.events().append(&new).await.unwrap(), AppendOutcome::Appended { .. }));
                    prev = Some(hex::decode(&new.envelope.hash).unwrap().try_into().unwrap());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let seeded = store.outbox().outbox_backlog().await.unwrap();
    println!("seeded {seeded} events in {:.1?}", seeding.elapsed());

    let kafka = KafkaConfig { bootstrap_servers: gongkai_testkit::kafka_bootstrap_servers() };
    let prefix = format!("bench-{}.", uuid::Uuid::now_v7().simple());
    let mut config = RelayConfig { topic_prefix: prefix, replication: 1, ..RelayConfig::new(kafka) };
    if let Some(batch_size) = batch_size {
        config.batch_size = batch_size;
    }
    if let Some(max_in_flight) = max_in_flight {
        config.max_in_flight = max_in_flight;
    }
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let relay = tokio::spawn(Relay::new(store.outbox(), config).run(shutdown.clone()));
    // The first batch also waits for topic creation and metadata.
    let mut first_published = None;
    loop {
        let backlog = store.outbox().outbox_backlog().await.unwrap();
        if backlog < seeded && first_published.is_none() {
            first_published = Some(Instant::now());
        }
        if backlog == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let steady = first_published.map(|at| at.elapsed()).unwrap_or(elapsed);
    shutdown.cancel();
    relay.await.unwrap().unwrap();
    println!(
        "relayed {seeded} events in {elapsed:.2?}: {:.0} events/s overall, {:.0} events/s after the first batch",
        seeded as f64 / elapsed.as_secs_f64(),
        seeded as f64 / steady.as_secs_f64()
    );
}
