//! From acknowledgement to the timeline: every accepted fact reaches the
//! public and full views, complete and in order.

use std::time::{Duration, Instant};

use gongkai_proto::v1 as pb;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::{Store, View};
use gongkai_testkit::store::views_snapshot;
use prost::Message;

use crate::support::start_gongkai;

/// Decoded timeline of `project` in `view`.
pub(crate) async fn timeline(store: &Store, view: View, project: &str) -> Vec<pb::TimelineEntry> {
    let entries = store.supervision().timeline(view, project).await.expect("timeline reads");
    entries.iter().map(|bytes| pb::TimelineEntry::decode(bytes.as_slice()).expect("entry decodes")).collect()
}

/// Waits until `project`'s public timeline has an entry for `seq`.
pub(crate) async fn wait_for_public_seq(store: &Store, project: &str, seq: u64, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let entries = store.public().public_timeline(project).await.expect("timeline reads");
        if entries.len() as u64 >= seq {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "seq {seq} of {project} not public within {limit:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::test]
async fn embedded_mode_projects_the_ppp_lifecycle_into_both_timelines_in_order() {
    let crate::support::Embedded { _dir, gongkai: _gongkai, clients, store } = crate::support::Embedded::start().await;

    let lifecycle = ppp_lifecycle("2024-230113-77-01-000010", "proj");
    let mut delays = Vec::new();
    for request in lifecycle.requests.clone() {
        let receipt = clients.send(request).await.expect("accepted");
        delays.push(
            wait_for_public_seq(&store, &lifecycle.project_code, receipt.project_seq, Duration::from_secs(10)).await,
        );
    }
    delays.sort();
    println!(
        "embedded: acknowledgement → public timeline: median {:?}, p99 {:?} over {} submissions",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.len()
    );

    let public = timeline(&store, View::Public, &lifecycle.project_code).await;
    let full = timeline(&store, View::Full, &lifecycle.project_code).await;
    assert_eq!(public.len(), lifecycle.requests.len());
    assert_eq!(full.len(), lifecycle.requests.len());
    for (index, (public, full)) in public.iter().zip(&full).enumerate() {
        assert_eq!(public.project_seq, index as u64 + 1, "in order");
        assert_eq!(public.event_id, full.event_id);
        assert!(!public.title_zh.is_empty() && !public.title_en.is_empty(), "titled: {public:?}");
        assert!(public.flags.is_empty(), "flags are never public");
    }
    assert_eq!(public[2].fact_type, "gongkai.v1.TenderAnnounced");
    // Committee members are named in the full view only, and in the public
    // view only after the award of their lot: here every lot was awarded.
    let evaluation = public.iter().find(|e| e.fact_type == "gongkai.v1.BidsEvaluated").expect("evaluation entry");
    assert!(evaluation.people.iter().any(|p| p.name.starts_with("评标专家")), "released after the award");

    let summary = store
        .supervision()
        .project_summary(View::Public, &lifecycle.project_code)
        .await
        .expect("reads")
        .expect("summary");
    let summary = pb::ProjectSummary::decode(summary.as_slice()).expect("decodes");
    assert_eq!(summary.stage(), pb::Stage::Completion);
    assert_eq!(summary.head_seq, lifecycle.requests.len() as u64);
    assert_eq!(summary.flag_count, 0);
}

/// The log of one test: a Kafka cluster, with a unique topic prefix and
/// consumer group so that tests share the cluster without meeting.
pub(crate) struct KafkaLog {
    /// `kafka://…`
    pub(crate) url: String,
    /// Put before every topic name.
    pub(crate) prefix: String,
    /// The projectors' consumer group.
    pub(crate) group: String,
}

impl KafkaLog {
    /// The test cluster, isolated.
    pub(crate) fn isolated() -> Self {
        Self::isolated_on(gongkai_testkit::kafka_url())
    }

    /// The cluster at `url`, isolated.
    pub(crate) fn isolated_on(url: String) -> Self {
        let id = uuid::Uuid::now_v7().simple().to_string();
        Self { url, prefix: format!("test-{id}."), group: format!("gongkai-projector-{id}") }
    }

    /// The environment that points gongkai at this log.
    pub(crate) fn env(&self) -> [(&str, &str); 3] {
        [
            ("GONGKAI_LOG__URL", self.url.as_str()),
            ("GONGKAI_LOG__TOPIC_PREFIX", self.prefix.as_str()),
            ("GONGKAI_PROJECTOR__GROUP_ID", self.group.as_str()),
        ]
    }
}

#[tokio::test]
async fn the_ppp_lifecycle_travels_through_kafka_into_both_timelines() {
    let log = KafkaLog::isolated();
    let env = log.env();
    let targets = "projects,tenders,review,awards,contracts,relay,projector";
    let gongkai = crate::ingestion::Ingestion::start_with(crate::ingestion::Backend::Postgres, targets, &env).await;
    // The projector says in health when the group has given it partitions.
    let grpc = crate::support::channel(gongkai.process.endpoint("grpc")).await;
    let live = crate::support::serving_after(grpc, "gongkai.projector", Duration::from_secs(60)).await;
    println!("PostgreSQL + Kafka: the projector was live {} ms after the process announced itself", live.as_millis());

    // A first project warms the path up (topic creation, the consumer
    // group's first assignment); the second is measured.
    let warm_up = ppp_lifecycle("2024-230113-77-01-000010", "warm");
    gongkai.submit_all(warm_up.requests.clone()).await;
    let steps = warm_up.requests.len() as u64;
    wait_for_public_seq(&gongkai.store, &warm_up.project_code, steps, Duration::from_secs(60)).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000011", "kafka");
    let mut delays = Vec::new();
    for request in lifecycle.requests.clone() {
        let receipt = gongkai.harbin.send(request).await.expect("accepted");
        let limit = Duration::from_secs(60);
        delays.push(wait_for_public_seq(&gongkai.store, &lifecycle.project_code, receipt.project_seq, limit).await);
    }
    delays.sort();
    println!(
        "PostgreSQL + Kafka: acknowledgement → public timeline: median {:?}, p99 {:?} over {} submissions",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.len()
    );
    let public = timeline(&gongkai.store, View::Public, &lifecycle.project_code).await;
    let full = timeline(&gongkai.store, View::Full, &lifecycle.project_code).await;
    let seqs: Vec<u64> = public.iter().map(|e| e.project_seq).collect();
    assert_eq!(seqs, (1..=lifecycle.requests.len() as u64).collect::<Vec<_>>());
    assert_eq!(full.len(), lifecycle.requests.len());
    assert_eq!(gongkai.store.outbox().outbox_backlog().await.expect("backlog"), 0, "everything published");
    // SIGTERM: ingestion stops, the relay flushes, the projector commits, exit 0.
    assert!(gongkai.terminate().await.success(), "every component drains and exits 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projectors_joining_and_leaving_a_group_give_the_views_a_rebuild_gives() {
    let log = KafkaLog::isolated();
    let env = log.env();
    let gongkai = crate::ingestion::Ingestion::start_with(
        crate::ingestion::Backend::Postgres,
        "projects,tenders,review,awards,contracts,relay,projector",
        &env,
    )
    .await;
    let mut worker_env = env.to_vec();
    worker_env.push(("GONGKAI_STORAGE__URL", gongkai.storage.as_str()));
    worker_env.push(("GONGKAI_GRPC__LISTEN", "127.0.0.1:0"));
    let projects: Vec<String> = (0..12).map(|n| format!("2024-230113-77-01-{:06}", 200_000 + n)).collect();
    let lifecycles: Vec<_> = projects.iter().map(|code| ppp_lifecycle(code, code)).collect();

    // A second projector joins the group while half the load is in, and
    // leaves (SIGTERM) before the rest.
    let half = lifecycles.len() / 2;
    for lifecycle in &lifecycles[..half / 2] {
        gongkai.submit_all(lifecycle.requests.clone()).await;
    }
    let second = start_gongkai(&["serve", "--target", "projector", "--config", &gongkai.config], &worker_env).await;
    for lifecycle in &lifecycles[half / 2..half] {
        gongkai.submit_all(lifecycle.requests.clone()).await;
    }
    assert!(second.terminate(Duration::from_secs(30)).await.success(), "the leaving projector drains and exits 0");
    for lifecycle in &lifecycles[half..] {
        gongkai.submit_all(lifecycle.requests.clone()).await;
    }
    for lifecycle in &lifecycles {
        let steps = lifecycle.requests.len() as u64;
        wait_for_public_seq(&gongkai.store, &lifecycle.project_code, steps, Duration::from_secs(60)).await;
    }
    let live = views_snapshot(&gongkai.store, &projects).await;

    let rebuilt = tokio::process::Command::new(crate::support::gongkai_binary())
        .args(["projector", "rebuild", "--config", &gongkai.config])
        .envs(worker_env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("rebuild runs");
    assert!(rebuilt.status.success(), "rebuild: {}", String::from_utf8_lossy(&rebuilt.stderr));
    println!("{}", String::from_utf8_lossy(&rebuilt.stdout).trim());
    assert!(
        String::from_utf8_lossy(&rebuilt.stdout)
            .contains(&format!("from {} events", 12 * lifecycles[0].requests.len()))
    );
    assert_eq!(views_snapshot(&gongkai.store, &projects).await, live, "a rebuild gives the live views, byte for byte");
}

/// Whether `needle` occurs anywhere in what the public side can read about
/// `project`: its public timeline and summary rows, byte for byte, and the site.
async fn publicly_visible(store: &Store, site: &str, project: &str, needle: &str) -> bool {
    let mut rows = store.public().public_timeline(project).await.expect("timeline");
    rows.extend(store.supervision().project_summary(View::Public, project).await.expect("summary"));
    let in_rows = rows.iter().any(|row| row.windows(needle.len()).any(|w| w == needle.as_bytes()));
    let (_, page) = crate::support::http_get(site).await;
    in_rows || page.contains(needle)
}

#[tokio::test]
async fn confidential_canaries_stay_out_of_public_tables_and_pages_until_released() {
    use gongkai_scenarios::Request;
    let crate::support::Embedded { _dir, gongkai, clients, store } = crate::support::Embedded::start().await;
    let site = gongkai.endpoint("site").to_owned();

    const COMMITTEE: &str = "CANARY评标专家";
    const ID_NUMBER: &str = "11010519491231002X";
    const PHONE: &str = "+86-13800138000";
    let mut lifecycle = ppp_lifecycle("2024-230113-77-01-000012", "canary");
    for request in &mut lifecycle.requests {
        if let Request::RecordEvaluation(evaluation) = request {
            let fact = evaluation.fact.as_mut().expect("fact");
            fact.committee_members[0].name = COMMITTEE.into();
            fact.committee_members[0].id_number = ID_NUMBER.into();
            fact.committee_members[1].phone = PHONE.into();
            fact.candidates[0].project_manager.as_mut().expect("manager").id_number = ID_NUMBER.into();
        }
    }
    let first_award = lifecycle.requests.iter().position(|r| matches!(r, Request::AnnounceAward(_))).expect("award");
    let project = lifecycle.project_code.clone();
    for (index, request) in lifecycle.requests.into_iter().enumerate() {
        let receipt = clients.send(request).await.expect("accepted");
        wait_for_public_seq(&store, &project, receipt.project_seq, Duration::from_secs(10)).await;
        let released = index >= first_award;
        assert_eq!(
            publicly_visible(&store, &site, &project, COMMITTEE).await,
            released,
            "committee members are public exactly from the award of their lot (event {index})"
        );
        for never in [ID_NUMBER, PHONE] {
            assert!(!publicly_visible(&store, &site, &project, never).await, "personal data {never} is never public");
        }
    }
    // The full view, for supervisors, has had everything all along.
    let full = store.supervision().timeline(View::Full, &project).await.expect("full");
    assert!(full.iter().any(|row| row.windows(ID_NUMBER.len()).any(|w| w == ID_NUMBER.as_bytes())));
}
