//! A province's shape on loopback, losing parts under load: three Kafka
//! brokers (KRaft, replication factor 3, `min.insync.replicas=2`) and a
//! PostgreSQL primary with a streaming replica, both the test's own
//! (`scripts/infra/kafka-cluster.sh`, `postgres.sh replica-up`); two
//! ingestion processes, two relays, two projectors, and the site and
//! supervision reading from the replica. While lifecycles stream in, the
//! leader of the busiest partition is killed (SIGKILL), then the relay
//! leader's database connection is terminated once the cluster has fenced
//! the dead broker, so relay leadership moves to a relay that starts against
//! fewer brokers than the topics' replicas.
//! Nothing acknowledged is lost, each event is in each timeline exactly once,
//! each project's events keep their order on every topic, and the replica's
//! change feed holds every public entry exactly once.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gongkai_load::Clients;
use gongkai_proto::v1::EventEnvelope;
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message};

use crate::ingestion::{HARBIN_TOKEN, Ingestion};
use crate::projection::KafkaLog;
use crate::resilience::{INGESTION, assert_projected_exactly_once, read_from_the_beginning, submit_lifecycles, worker};
use crate::support::{channel, http_get};

/// The cluster and the database pair of this test alone, on free loopback
/// ports under a temporary directory; torn down and wiped when dropped.
struct OwnCluster {
    /// Holds the brokers' and servers' data for as long as the test runs.
    _dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    /// `kafka://…` with the three brokers.
    kafka: String,
    /// The three brokers, `host:port,…`.
    bootstrap: String,
    /// The primary's and the replica's database URLs.
    primary: String,
    replica: String,
}

impl OwnCluster {
    fn script(name: &str) -> PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/infra").join(name)
    }

    /// A free loopback port whose next port is free too (a broker's
    /// controller listens one above it).
    fn free_pair(taken: &[u16]) -> u16 {
        loop {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let free = |p: u16| !taken.contains(&p) && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
            if port < u16::MAX - 1 && !taken.contains(&port) && free(port + 1) {
                return port;
            }
        }
    }

    async fn up() -> Self {
        let dir = tempfile::tempdir().expect("cluster dir");
        let mut ports = Vec::new();
        for _ in 0..5 {
            let port = Self::free_pair(&ports);
            ports.extend([port, port + 1]);
        }
        let brokers = [ports[0], ports[2], ports[4]];
        let (primary_port, replica_port) = (ports[6], ports[8]);
        let env = vec![
            ("GONGKAI_INFRA_DIR".to_owned(), dir.path().display().to_string()),
            ("GONGKAI_KAFKA_CLUSTER_PORTS".to_owned(), brokers.map(|p| p.to_string()).join(",")),
            ("GONGKAI_PG_PORT".to_owned(), primary_port.to_string()),
            ("GONGKAI_PG_REPLICA_PORT".to_owned(), replica_port.to_string()),
        ];
        let bootstrap = brokers.map(|p| format!("127.0.0.1:{p}")).join(",");
        let database = |port: u16| format!("postgres://gongkai:gongkai@127.0.0.1:{port}/gongkai");
        let cluster = Self {
            _dir: dir,
            env,
            kafka: format!("kafka://{bootstrap}"),
            bootstrap,
            primary: database(primary_port),
            replica: database(replica_port),
        };
        tokio::join!(cluster.run("kafka-cluster.sh", &["up"]), async {
            cluster.run("postgres.sh", &["up"]).await;
            cluster.run("postgres.sh", &["replica-up"]).await;
        });
        cluster
    }

    async fn run(&self, script: &str, args: &[&str]) {
        let output = tokio::process::Command::new("bash")
            .arg(Self::script(script))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap_or_else(|error| panic!("{script} runs: {error}"));
        assert!(output.status.success(), "{script} {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        // Best effort: a failed test must leave no broker or server behind.
        for (script, args) in [
            ("kafka-cluster.sh", &["down", "--wipe"][..]),
            ("postgres.sh", &["replica-down", "--wipe"][..]),
            ("postgres.sh", &["down", "--wipe"][..]),
        ] {
            let _ = std::process::Command::new("bash")
                .arg(Self::script(script))
                .args(args)
                .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// The partition of `prefix`'s topics holding the most records, and the
/// broker (node id) leading it.
fn busiest_partition(bootstrap: &str, prefix: &str) -> (String, i32, i32, i64) {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("metadata client");
    let mut busiest = (String::new(), -1, -1, -1);
    for topic in gongkai_bus::topics(prefix) {
        let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).expect("metadata");
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (_, high) =
                consumer.fetch_watermarks(&topic, partition.id(), Duration::from_secs(10)).expect("watermarks");
            if high > busiest.3 {
                busiest = (topic.clone(), partition.id(), partition.leader(), high);
            }
        }
    }
    assert!(busiest.3 > 0, "records flow before a broker is killed");
    busiest
}

/// Waits until the cluster's metadata lists `brokers` brokers: a killed one
/// is fenced once its session times out.
async fn wait_for_brokers(bootstrap: &str, brokers: usize, limit: Duration) {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("metadata client");
    let deadline = Instant::now() + limit;
    loop {
        let listed = consumer.fetch_metadata(None, Duration::from_secs(5)).map(|m| m.brokers().len()).unwrap_or(0);
        if listed == brokers {
            return;
        }
        assert!(Instant::now() < deadline, "the cluster lists {listed} brokers, not {brokers}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Terminates the database session holding relay leadership; returns its pid.
async fn terminate_relay_leader(database: &sqlx::PgPool) -> i32 {
    let key = gongkai_store::RELAY_LOCK_KEY;
    let holder = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
                  AND classid::bigint = $1 AND objid::bigint = $2";
    let (high, low) = (key >> 32, key & 0xffff_ffff);
    let pids: Vec<i32> = sqlx::query_scalar(holder).bind(high).bind(low).fetch_all(database).await.expect("pg_locks");
    assert_eq!(pids.len(), 1, "exactly one relay leads: {pids:?}");
    let done: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pids[0]).fetch_one(database).await.expect("kill");
    assert!(done, "the leader's session was terminated");
    // Leadership moves: another session takes the lock.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now: Vec<i32> =
            sqlx::query_scalar(holder).bind(high).bind(low).fetch_all(database).await.expect("pg_locks");
        if now.iter().any(|pid| *pid != pids[0]) {
            return pids[0];
        }
        assert!(Instant::now() < deadline, "no relay took leadership after its leader's connection died");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads every topic under `prefix` from the beginning until each
/// acknowledged event was seen; checks that on every partition each
/// project's events first appear in increasing `project_seq` (a relay
/// taking over may repeat events, never reorder them).
async fn assert_on_kafka_in_order(bootstrap: &str, prefix: &str, acknowledged: &[String], limit: Duration) {
    let consumer = read_from_the_beginning(bootstrap, prefix, "order-check");
    let mut missing: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    let mut last_seq: HashMap<(String, i32, String), u64> = HashMap::new();
    let (mut records, mut repeats) = (0_u64, 0_u64);
    let deadline = Instant::now() + limit;
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = match tokio::time::timeout(left, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("{} acknowledged events never reached Kafka", missing.len()))
        {
            Ok(message) => message,
            // The dead broker's address stays in the bootstrap list: the
            // client says so and reads on from the new leaders.
            Err(rdkafka::error::KafkaError::MessageConsumption(_)) => continue,
            Err(error) => panic!("consumer: {error}"),
        };
        let envelope = EventEnvelope::decode(message.payload().unwrap_or_default()).expect("an envelope");
        records += 1;
        let key = (message.topic().to_owned(), message.partition(), envelope.subject.clone());
        let last = last_seq.entry(key).or_insert(0);
        if envelope.project_seq > *last {
            *last = envelope.project_seq;
        } else {
            // A repeat is an event already seen at this point of the stream.
            repeats += 1;
        }
        missing.remove(envelope.event_id.as_str());
    }
    println!("cluster: {records} records read back, {repeats} repeated by a relay taking over, none reordered");
}

/// Pages through the site's change feed (read from the replica) until every
/// acknowledged event was published once; fails on a second publication.
async fn assert_feed_complete(site: &str, acknowledged: &[String], limit: Duration) {
    let site = site.trim_end_matches('/');
    let wanted: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    let mut published: HashSet<String> = HashSet::new();
    let mut after = String::new();
    let deadline = Instant::now() + limit;
    while !wanted.iter().all(|id| published.contains(*id)) {
        assert!(Instant::now() < deadline, "the replica's feed holds {} of {} events", published.len(), wanted.len());
        let (status, body) = http_get(&format!("{site}/api/v1/changes?limit=1000&after={after}")).await;
        assert_eq!(status, 200, "the change feed from the replica: {}", body.chars().take(2000).collect::<String>());
        let page: serde_json::Value = serde_json::from_str(&body).expect("feed JSON");
        let changes = page["changes"].as_array().expect("changes");
        for change in changes.iter().filter(|c| c["change"] == "published") {
            let id = change["event_id"].as_str().expect("event id").to_owned();
            assert!(published.insert(id.clone()), "{id} published twice in the feed");
        }
        after = page["next"].as_str().expect("next cursor").to_owned();
        if changes.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_losing_its_busiest_broker_and_its_relay_leader_loses_and_reorders_nothing() {
    let cluster = OwnCluster::up().await;
    let log = KafkaLog::isolated_on(cluster.kafka.clone());
    let env = log.env();
    let dir = tempfile::tempdir().expect("config dir");
    let first = Ingestion::start_on(dir, cluster.primary.clone(), INGESTION, &env).await;
    let second = worker(&first, INGESTION, &env).await;
    let mut relay_env = env.to_vec();
    relay_env.push(("RUST_LOG", "warn,gongkai_relay=debug,gongkai_bus=debug"));
    let _relays = [worker(&first, "relay", &relay_env).await, worker(&first, "relay", &relay_env).await];
    let _projectors = [worker(&first, "projector", &env).await, worker(&first, "projector", &env).await];
    let mut read_env = env.to_vec();
    read_env.extend([("GONGKAI_STORAGE__READ_URL", cluster.replica.as_str()), ("GONGKAI_SITE__LISTEN", "127.0.0.1:0")]);
    let readers = worker(&first, "site,supervision", &read_env).await;
    let database = sqlx::PgPool::connect(&cluster.primary).await.expect("the test reads the primary");

    // 60 lawful lifecycles (1,560 submissions) through each ingestion process.
    let second_clients = Clients::new(channel(second.endpoint("grpc")).await, HARBIN_TOKEN);
    let started = Instant::now();
    let loads = [
        tokio::spawn(submit_lifecycles(first.harbin.clone(), 0, 60, 4)),
        tokio::spawn(submit_lifecycles(second_clients, 60, 60, 4)),
    ];
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (topic, partition, leader, records) = busiest_partition(&cluster.bootstrap, &log.prefix);
    cluster.run("kafka-cluster.sh", &["stop", &leader.to_string(), "--kill"]).await;
    let killed = Instant::now();
    println!("cluster: killed broker {leader}, leader of {topic}[{partition}] ({records} records)");
    // Leadership moves once the cluster has fenced the dead broker: the new
    // leader then starts against two registered brokers, fewer than the
    // topics' replicas.
    wait_for_brokers(&cluster.bootstrap, 2, Duration::from_secs(60)).await;
    println!("cluster: broker {leader} fenced {:.1} s after its death", killed.elapsed().as_secs_f64());
    let relay_pid = terminate_relay_leader(&database).await;
    println!("cluster: terminated the relay leader's session (pid {relay_pid}); another relay leads");

    let mut acknowledged = Vec::new();
    for load in loads {
        acknowledged.extend(load.await.expect("load"));
    }
    let loaded = Instant::now();
    assert!(loaded > killed, "the load ran through the broker's death");
    assert_projected_exactly_once(&first, &acknowledged, Duration::from_secs(240)).await;
    let drained = Instant::now();
    let figures = serde_json::json!({
        "acknowledged": acknowledged.len(),
        "load_seconds": (loaded - started).as_secs_f64(),
        "kill_to_drained_seconds": (drained - killed).as_secs_f64(),
        "load_end_to_drained_seconds": (drained - loaded).as_secs_f64(),
        "acknowledged_per_second": acknowledged.len() as f64 / (loaded - started).as_secs_f64(),
    });
    println!("cluster: {figures}");
    let output = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output");
    std::fs::create_dir_all(&output).expect("output dir");
    std::fs::write(output.join("cluster.json"), figures.to_string()).expect("figures written");

    assert_on_kafka_in_order(&cluster.bootstrap, &log.prefix, &acknowledged, Duration::from_secs(120)).await;
    for n in [0, 59, 60, 119] {
        gongkai_testkit::store::assert_gapless_chain(&first.store, &format!("2024-230113-77-01-{:06}", 100_000 + n))
            .await;
    }
    assert_feed_complete(readers.endpoint("site"), &acknowledged, Duration::from_secs(60)).await;
    let code = "2024-230113-77-01-100119";
    let project = crate::ingestion::get_project(readers.endpoint("grpc"), code).await;
    let head = first.store.events().load_stream(code).await.expect("stream").len();
    assert_eq!(project.timeline.len(), head, "supervision reads the whole project from the replica");
    // The killed broker rejoins; the cluster is whole again.
    cluster.run("kafka-cluster.sh", &["start", &leader.to_string()]).await;
}
