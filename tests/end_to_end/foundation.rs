//! The foundation: the embedded shape starts and answers; the production
//! shape runs against the real PostgreSQL and Kafka; migrations apply on both
//! stores; Kafka carries a message there and back.

use std::time::{Duration, Instant};

use gongkai_store::{Pool, PoolOptions, Store};
use gongkai_testkit::{fresh_postgres_database, fresh_sqlite_url, kafka_bootstrap_servers, kafka_url, unique_name};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::{channel, gongkai_binary, health, http_get, reflected_services, serving_after, start_gongkai};

#[tokio::test]
async fn dev_mode_serves_health_reflection_and_the_site_then_drains_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = fresh_sqlite_url(dir.path());
    let started = Instant::now();
    let gongkai = start_gongkai(
        &["dev", "--grpc-listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"],
        &[("GONGKAI_STORAGE__URL", &storage)],
    )
    .await;
    let grpc = channel(gongkai.endpoint("grpc")).await;
    assert_eq!(health(grpc.clone(), "").await, ServingStatus::Serving);
    // The embedded projector reads the store: live as soon as it runs.
    serving_after(grpc.clone(), "gongkai.projector", Duration::from_secs(10)).await;
    let (status, page) = http_get(gongkai.endpoint("site")).await;
    println!("embedded mode: first serve {} ms after start", started.elapsed().as_millis());
    assert_eq!(status, 200);
    assert!(page.contains(r#"<html lang="zh-CN">"#), "page is Chinese first: {page}");
    assert!(page.contains("公开"));
    let (status, _) = http_get(&format!("{}healthz", gongkai.endpoint("site"))).await;
    assert_eq!(status, 200);

    let services = reflected_services(grpc).await;
    for name in gongkai_proto::SERVICE_NAMES {
        assert!(services.iter().any(|s| s == name), "reflection lacks {name}: {services:?}");
    }
    assert!(services.iter().any(|s| s == "grpc.health.v1.Health"));
    assert_eq!(gongkai.endpoint("storage"), "SQLite");
    assert_eq!(gongkai.endpoint("log"), "embedded");

    let status = gongkai.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "SIGTERM drains and exits 0, got {status}");
}

/// Applies migrations to `url` and checks the schema and its guarantees.
async fn migrations_apply(url: &str) {
    let store = Store::connect(url, &PoolOptions::default()).await.expect("store connects");
    assert!(
        matches!(store.ensure_migrated().await, Err(gongkai_store::StoreError::SchemaBehind { applied: 0, .. })),
        "a fresh database is reported as behind"
    );
    store.migrate().await.expect("migrations apply");
    store.migrate().await.expect("migrations are idempotent");
    store.ensure_migrated().await.expect("schema is current");

    insert_event(&store, "r-1").await.expect("an event row inserts");
    for statement in ["UPDATE events SET event_type = 'gongkai.v1.Forged'", "DELETE FROM events"] {
        let error = execute(&store, statement).await.expect_err("events are immutable");
        assert!(error.to_string().contains("immutable"), "the refusal says why: {error}");
    }
    let error = insert_event(&store, "r-2").await.expect_err("a second seq 1 for the project is refused");
    let database_error = error.as_database_error().expect("a constraint violation");
    assert!(database_error.is_unique_violation(), "unique (project_code, project_seq) holds: {error}");
    store.close().await;
}

/// Inserts seq 1 of one project straight into the events table.
async fn insert_event(store: &Store, request_id: &str) -> Result<(), sqlx::Error> {
    let insert = "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id,
         request_digest, occurred_at, recorded_at, prev_hash, hash, envelope)
         VALUES ($1, '2017-230113-48-01-012345', 1, 'gongkai.v1.ProjectApproved', 'projects', 'center-1', $2,
                 $3, $4, $4, $3, $3, $5)";
    let digest = vec![7u8; 32];
    let event_id = uuid::Uuid::now_v7();
    match store.pool() {
        Pool::Postgres(pool) => {
            let query = sqlx::query(insert).bind(event_id).bind(request_id).bind(&digest).bind(chrono::Utc::now());
            query.bind(vec![1u8]).execute(pool).await.map(drop)
        }
        Pool::Sqlite(pool) => {
            let query = sqlx::query(insert).bind(event_id.to_string()).bind(request_id).bind(&digest);
            query.bind(chrono::Utc::now().to_rfc3339()).bind(vec![1u8]).execute(pool).await.map(drop)
        }
    }
}

async fn execute(store: &Store, statement: &'static str) -> Result<(), sqlx::Error> {
    match store.pool() {
        Pool::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(drop),
        Pool::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(drop),
    }
}

#[tokio::test]
async fn migrations_apply_on_postgres() {
    migrations_apply(&fresh_postgres_database().await).await;
}

#[tokio::test]
async fn migrations_apply_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    migrations_apply(&fresh_sqlite_url(dir.path())).await;
}

#[tokio::test]
async fn kafka_carries_a_message_there_and_back() {
    let servers = kafka_bootstrap_servers();
    let topic = unique_name("gongkai_test");
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &servers).create().expect("admin client");
    let created = admin
        .create_topics(&[NewTopic::new(&topic, 3, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .unwrap_or_else(|error| panic!("Kafka at {servers} is unreachable ({error}); run scripts/test.sh"));
    assert!(created.iter().all(Result::is_ok), "topic created: {created:?}");

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let key = "2017-230113-48-01-012345";
    let payload = "开标记录 bid opening".as_bytes();
    producer
        .send(FutureRecord::to(&topic).key(key).payload(payload), Duration::from_secs(30))
        .await
        .unwrap_or_else(|(error, _)| panic!("delivery failed: {error}"));

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .set("group.id", unique_name("gongkai_test_group"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
        .await
        .expect("a message arrives within 60 s")
        .expect("no consumer error");
    assert_eq!(message.key(), Some(key.as_bytes()));
    assert_eq!(message.payload(), Some(payload));
    assert_eq!(message.topic(), topic);
}

#[tokio::test]
async fn serve_runs_against_postgres_and_kafka_once_migrated() {
    let database = fresh_postgres_database().await;
    let kafka = kafka_url();
    let env = [("GONGKAI_STORAGE__URL", database.as_str()), ("GONGKAI_LOG__URL", kafka.as_str())];

    // Unmigrated: serve refuses and says what to do.
    let refused = tokio::process::Command::new(gongkai_binary())
        .args(["serve", "--target", "projects"])
        .envs(env)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("gongkai runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("gongkai migrate"), "the refusal names the fix: {stderr}");

    let migrated = tokio::process::Command::new(gongkai_binary())
        .arg("migrate")
        .envs(env)
        .status()
        .await
        .expect("gongkai migrate runs");
    assert!(migrated.success());

    let mut args_env = env.to_vec();
    args_env.push(("GONGKAI_GRPC__LISTEN", "127.0.0.1:0"));
    args_env.push(("GONGKAI_SITE__LISTEN", "127.0.0.1:0"));
    let gongkai = start_gongkai(&["serve", "--target", "projects,tenders,site"], &args_env).await;
    assert_eq!(gongkai.endpoint("storage"), "PostgreSQL");
    assert_eq!(gongkai.endpoint("log"), kafka);
    assert_eq!(health(channel(gongkai.endpoint("grpc")).await, "").await, ServingStatus::Serving);
    let (status, _) = http_get(&format!("{}healthz", gongkai.endpoint("site"))).await;
    assert_eq!(status, 200);
    assert!(gongkai.terminate(Duration::from_secs(20)).await.success());
}

#[tokio::test]
async fn serve_fails_when_kafka_is_unreachable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = fresh_sqlite_url(dir.path());
    let env = [("GONGKAI_STORAGE__URL", storage.as_str()), ("RUST_LOG", "warn")];
    let migrated =
        tokio::process::Command::new(gongkai_binary()).arg("migrate").envs(env).status().await.expect("runs");
    assert!(migrated.success());
    // Port 9 (discard) on loopback has no broker.
    let output = tokio::process::Command::new(gongkai_binary())
        .args(["serve", "--target", "projects"])
        .envs(env)
        .env("GONGKAI_LOG__URL", "kafka://127.0.0.1:9")
        .output()
        .await
        .expect("gongkai runs");
    assert!(!output.status.success(), "serve must not start without its log");
    assert!(String::from_utf8_lossy(&output.stderr).contains("event log"));
}
