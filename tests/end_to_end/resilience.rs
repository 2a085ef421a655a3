//! Crashes and outages: every acknowledged event reaches Kafka at least once
//! and each timeline exactly once, whatever dies and whenever.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use gongkai_load::Clients;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::View;
use gongkai_testkit::GongkaiProcess;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::ingestion::{Backend, Ingestion};
use crate::projection::KafkaLog;
use crate::support::start_gongkai;

/// The five ingestion services.
pub(crate) const INGESTION: &str = "projects,tenders,review,awards,contracts";

/// Submits lawful lifecycles of projects `first..first + projects` with
/// `concurrency` callers; returns every acknowledged event id.
pub(crate) async fn submit_lifecycles(
    clients: Clients,
    first: usize,
    projects: usize,
    concurrency: usize,
) -> Vec<String> {
    let lifecycles: Vec<_> = (first..first + projects)
        .map(|n| ppp_lifecycle(&format!("2024-230113-77-01-{:06}", 100_000 + n), &format!("load-{n}")))
        .collect();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let mine: Vec<_> = lifecycles.iter().skip(worker).step_by(concurrency).cloned().collect();
        let clients = clients.clone();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for lifecycle in mine {
                for request in lifecycle.requests {
                    acknowledged.push(clients.send(request).await.expect("submissions never fail").event_id);
                }
            }
            acknowledged
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("submitter task"));
    }
    acknowledged
}

/// Waits until every acknowledged event is in both timelines, then checks
/// each is there exactly once.
pub(crate) async fn assert_projected_exactly_once(gongkai: &Ingestion, acknowledged: &[String], limit: Duration) {
    let started = Instant::now();
    for view in [View::Full, View::Public] {
        loop {
            let counts = gongkai.store.supervision().timeline_event_counts(view).await.expect("counts");
            if counts.len() >= acknowledged.len() {
                let ids: HashSet<&str> = counts.iter().map(|(id, _)| id.as_str()).collect();
                for id in acknowledged {
                    assert!(ids.contains(id.as_str()), "{id} missing from the {view:?} timeline");
                }
                assert!(counts.iter().all(|(_, n)| *n == 1), "{view:?}: every event exactly once");
                assert_eq!(counts.len(), acknowledged.len(), "{view:?}: nothing unacknowledged");
                break;
            }
            assert!(started.elapsed() < limit, "{view:?} holds {} of {} events", counts.len(), acknowledged.len());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A consumer of every partition of the domain topics under `prefix`, from
/// their first records, in a group of its own (`{prefix}{group}`).
pub(crate) fn read_from_the_beginning(bootstrap: &str, prefix: &str, group: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("{prefix}{group}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for topic in gongkai_bus::topics(prefix) {
        let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).expect("metadata");
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            assignment.add_partition_offset(&topic, partition.id(), Offset::Beginning).expect("partition");
        }
    }
    consumer.assign(&assignment).expect("assign");
    consumer
}

/// Reads every domain topic under `prefix` from the beginning until each
/// acknowledged event was seen at least once.
pub(crate) async fn assert_on_kafka_at_least_once(
    bootstrap: &str,
    prefix: &str,
    acknowledged: &[String],
    limit: Duration,
) {
    let consumer = read_from_the_beginning(bootstrap, prefix, "check");
    let mut missing: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    let deadline = Instant::now() + limit;
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("{} acknowledged events never reached Kafka", missing.len()))
            .expect("consumer");
        let id = message.headers().and_then(|headers| {
            use rdkafka::message::Headers;
            headers
                .iter()
                .find(|h| h.key == "ce_id")
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        if let Some(id) = id {
            missing.remove(id.as_str());
        }
    }
}

/// Starts `target` alone, as its own process, on `gongkai`'s database and
/// configuration.
pub(crate) async fn worker(gongkai: &Ingestion, target: &str, env: &[(&str, &str)]) -> GongkaiProcess {
    let mut env = env.to_vec();
    env.push(("GONGKAI_STORAGE__URL", gongkai.storage.as_str()));
    env.push(("GONGKAI_GRPC__LISTEN", "127.0.0.1:0"));
    start_gongkai(&["serve", "--target", target, "--config", &gongkai.config], &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_and_projector_killed_at_random_points_lose_and_duplicate_nothing() {
    let log = KafkaLog::isolated();
    let env = log.env();
    let gongkai = Ingestion::start_with(Backend::Postgres, INGESTION, &env).await;
    let mut relay = Some(worker(&gongkai, "relay", &env).await);
    let mut projector = Some(worker(&gongkai, "projector", &env).await);

    // 80 lifecycles: 2,080 submissions from 8 callers.
    let load = tokio::spawn(submit_lifecycles(gongkai.harbin.clone(), 0, 80, 8));
    let mut kills = 0;
    let mut jitter = 0x9e37_79b9_u32;
    while !load.is_finished() {
        // A cheap xorshift: kill times spread over 150–650 ms, victims alternate by chance.
        jitter ^= jitter << 13;
        jitter ^= jitter >> 17;
        jitter ^= jitter << 5;
        tokio::time::sleep(Duration::from_millis(150 + u64::from(jitter % 500))).await;
        let (slot, target) =
            if jitter.is_multiple_of(2) { (&mut relay, "relay") } else { (&mut projector, "projector") };
        if let Some(process) = slot.take() {
            process.kill().await;
            kills += 1;
        }
        *slot = Some(worker(&gongkai, target, &env).await);
    }
    let acknowledged = load.await.expect("load");
    println!("crash: {} acknowledged submissions, {kills} SIGKILLs", acknowledged.len());
    assert!(kills >= 4, "the test must actually crash things ({kills} kills)");

    assert_projected_exactly_once(&gongkai, &acknowledged, Duration::from_secs(120)).await;
    let bootstrap = gongkai_testkit::kafka_bootstrap_servers();
    assert_on_kafka_at_least_once(&bootstrap, &log.prefix, &acknowledged, Duration::from_secs(60)).await;
    drop((relay, projector));
}

/// A second Kafka broker of the test's own, so stopping it harms no other test.
struct OwnKafka {
    env: Vec<(String, String)>,
    port: u16,
}

impl OwnKafka {
    fn script() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/infra/kafka.sh")
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
    }

    fn new(dir: &std::path::Path) -> Self {
        let (port, controller) = (Self::free_port(), Self::free_port());
        let env = vec![
            ("GONGKAI_KAFKA_PORT".to_owned(), port.to_string()),
            ("GONGKAI_KAFKA_CONTROLLER_PORT".to_owned(), controller.to_string()),
            ("GONGKAI_INFRA_DIR".to_owned(), dir.display().to_string()),
        ];
        Self { env, port }
    }

    fn url(&self) -> String {
        format!("kafka://127.0.0.1:{}", self.port)
    }

    fn run(&self, args: &[&str]) {
        let status = std::process::Command::new("bash")
            .arg(Self::script())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("kafka.sh runs");
        assert!(status.success(), "kafka.sh {args:?} failed");
    }
}

impl Drop for OwnKafka {
    fn drop(&mut self) {
        // Best effort: a failed test must not leave a broker behind.
        let _ = std::process::Command::new("bash")
            .arg(Self::script())
            .args(["down", "--wipe"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_succeed_while_kafka_is_down_and_arrive_when_it_returns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = OwnKafka::new(dir.path());
    broker.run(&["up"]);
    let log = KafkaLog::isolated_on(broker.url());
    let env = log.env();
    let targets = "projects,tenders,review,awards,contracts,relay,projector";
    let gongkai = Ingestion::start_with(Backend::Postgres, targets, &env).await;

    let mut acknowledged = submit_lifecycles(gongkai.harbin.clone(), 0, 4, 4).await;
    assert_projected_exactly_once(&gongkai, &acknowledged, Duration::from_secs(60)).await;

    broker.run(&["down"]);
    let during = submit_lifecycles(gongkai.harbin.clone(), 4, 4, 4).await;
    let steps = ppp_lifecycle("2024-230113-77-01-100000", "steps").requests.len();
    assert_eq!(during.len(), 4 * steps, "every submission succeeds without Kafka");
    let backlog = gongkai.store.outbox().outbox_backlog().await.expect("backlog");
    assert!(backlog > 0, "the outbox holds what Kafka could not take yet");
    acknowledged.extend(during);

    broker.run(&["up"]);
    assert_projected_exactly_once(&gongkai, &acknowledged, Duration::from_secs(120)).await;
    assert_eq!(gongkai.store.outbox().outbox_backlog().await.expect("backlog"), 0, "the backlog drained");
    let bootstrap = log.url.trim_start_matches("kafka://").to_owned();
    assert_on_kafka_at_least_once(&bootstrap, &log.prefix, &acknowledged, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_shape_killed_mid_load_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = gongkai_testkit::fresh_sqlite_url(dir.path());
    let env = [("GONGKAI_STORAGE__URL", storage.as_str())];
    let args = ["dev", "--grpc-listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"];
    let mut acknowledged = Vec::new();
    let mut next_project = 0;
    for round in 0..4 {
        let gongkai = start_gongkai(&args, &env).await;
        let clients = Clients::new(crate::support::channel(gongkai.endpoint("grpc")).await, gongkai.endpoint("token"));
        // Submit until the process is killed under the callers' feet.
        let load = tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in next_project..next_project + 40 {
                let lifecycle = ppp_lifecycle(&format!("2024-230113-77-01-{:06}", 300_000 + n), &format!("emb-{n}"));
                for request in lifecycle.requests {
                    match clients.send(request).await {
                        Ok(receipt) => acked.push(receipt.event_id),
                        Err(_) => return acked,
                    }
                }
            }
            acked
        });
        tokio::time::sleep(Duration::from_millis(300 + 150 * round)).await;
        gongkai.kill().await;
        acknowledged.extend(load.await.expect("load"));
        next_project += 40;
    }
    // One more start folds whatever the killed projectors had not.
    let gongkai = start_gongkai(&args, &env).await;
    let store = gongkai_store::Store::connect(&storage, &gongkai_store::PoolOptions::default()).await.expect("store");
    println!("embedded crash: {} acknowledged submissions over 4 kills", acknowledged.len());
    assert!(acknowledged.len() > 26, "the load got somewhere before each kill");
    for view in [View::Full, View::Public] {
        let started = Instant::now();
        loop {
            let counts = store.supervision().timeline_event_counts(view).await.expect("counts");
            let ids: HashSet<&str> = counts.iter().map(|(id, _)| id.as_str()).collect();
            if acknowledged.iter().all(|id| ids.contains(id.as_str())) {
                assert!(counts.iter().all(|(_, n)| *n == 1), "exactly once");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{view:?} is missing acknowledged events");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(gongkai);
}
