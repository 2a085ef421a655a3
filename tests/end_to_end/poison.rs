//! One hostile value parks one project, never the system: the variation of
//! i64::MIN fen that once stopped the projector is refused at ingestion, and
//! the same event recorded by an earlier version (appended to the store
//! directly) parks its project alone, visibly, until a correction cures it,
//! while every other project keeps advancing. On the embedded default and on
//! PostgreSQL + Kafka.

use std::time::{Duration, Instant};

use gongkai_domain::hash::chain_hash;
use gongkai_domain::kinds::topic;
use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, ppp_lifecycle};
use gongkai_store::{NewEvent, Store};

use crate::ingestion::{Backend, Ingestion, bad_fields, get_project, reason};
use crate::projection::KafkaLog;

/// Polls `check` every 50 ms until it holds, for at most `limit`.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what} not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The poison variation as an earlier version recorded it after `head`.
fn recorded_earlier(head: &pb::EventEnvelope, contract_code: &str) -> NewEvent {
    let body = pb::event_envelope::Body::Fact(pb::Fact {
        kind: Some(pb::fact::Kind::ContractVaried(pb::ContractVaried {
            contract_code: contract_code.to_owned(),
            variation_number: "BG-MIN".to_owned(),
            changes_price: true,
            price_change_fen: i64::MIN,
            reason: "变更".to_owned(),
            ..Default::default()
        })),
    });
    let mut envelope = pb::EventEnvelope {
        event_id: uuid::Uuid::now_v7().hyphenated().to_string(),
        r#type: "gongkai.v1.ContractVaried".to_owned(),
        source: head.source.clone(),
        subject: head.subject.clone(),
        project_seq: head.project_seq + 1,
        occurred_at: head.occurred_at,
        recorded_at: head.recorded_at,
        request_id: "an-earlier-version".to_owned(),
        prev_hash: head.hash.clone(),
        domain: pb::Domain::Contracts as i32,
        commitment_seed: Vec::new(),
        body: Some(body),
        ..Default::default()
    };
    let prev = hex::decode(&head.hash).expect("hex hash").try_into().expect("32 bytes");
    envelope.hash = hex::encode(chain_hash(Some(&prev), &envelope));
    NewEvent {
        envelope,
        region_code: "230113".to_owned(),
        request_digest: [7; 32],
        topic: topic(pb::Domain::Contracts).to_owned(),
        traceparent: None,
    }
}

async fn public_len(store: &Store, code: &str) -> usize {
    store.public().public_timeline(code).await.expect("timeline reads").len()
}

async fn one_hostile_value_parks_one_project(gongkai: Ingestion) {
    let store = gongkai.store.clone();
    let grpc = gongkai.process.endpoint("grpc").to_owned();
    let site = gongkai.process.endpoint("site").trim_end_matches('/').to_owned();
    let poisoned = ppp_lifecycle("2024-230113-77-01-000801", "poison-a");
    let healthy = ppp_lifecycle("2024-230113-77-01-000802", "poison-b");
    let signed = poisoned.requests.iter().position(|r| matches!(r, Request::SignContract(_))).expect("signs") + 1;
    let Some(Request::VaryContract(variation)) =
        poisoned.requests.iter().find(|r| matches!(r, Request::VaryContract(_))).cloned()
    else {
        panic!("the lifecycle varies its contract")
    };
    gongkai.submit_all(poisoned.requests[..signed].to_vec()).await;

    // Today the poison never gets in: one field violation, nothing written.
    let mut poison = variation.clone();
    poison.request_id = "poison-a-min".to_owned();
    let fact = poison.fact.as_mut().expect("a fact");
    fact.changes_price = true;
    fact.price_change_fen = i64::MIN;
    let status = gongkai.harbin.send(Request::VaryContract(poison)).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(bad_fields(&status), ["fact.price_change_fen"]);
    assert_eq!(store.events().load_stream(&poisoned.project_code).await.expect("reads").len(), signed);

    // An earlier version let it in: the same event, in the store as if so.
    eventually("the signed contract is public", Duration::from_secs(60), || async {
        public_len(&store, &poisoned.project_code).await == signed
    })
    .await;
    let history = store.events().load_stream(&poisoned.project_code).await.expect("reads");
    let head = history.last().expect("a history");
    let contract = variation.fact.as_ref().expect("a fact").contract_code.clone();
    let legacy = recorded_earlier(head, &contract);
    let poison_id = legacy.envelope.event_id.clone();
    store.events().append(&legacy).await.expect("appended as an earlier version would have");

    // Every other project goes on while this one is parked.
    gongkai.submit_all(healthy.requests.clone()).await;
    eventually("the other project's whole timeline is public", Duration::from_secs(60), || async {
        public_len(&store, &healthy.project_code).await == healthy.requests.len()
    })
    .await;
    eventually("the poisoned project is parked", Duration::from_secs(60), || async {
        store.supervision().parked_project(&poisoned.project_code).await.expect("reads").is_some()
    })
    .await;
    let parked = store.supervision().parked_project(&poisoned.project_code).await.expect("reads").expect("parked");
    assert_eq!((parked.event_id.as_str(), parked.project_seq), (poison_id.as_str(), signed as u64 + 1));
    assert_eq!(public_len(&store, &poisoned.project_code).await, signed, "its last good views stay");
    assert_eq!(
        crate::support::health(crate::support::channel(&grpc).await, "").await,
        tonic_health::pb::health_check_response::ServingStatus::Serving,
        "the process is up and healthy"
    );

    // Visible: to supervisors, and to citizens on the project page.
    let answer = get_project(&grpc, &poisoned.project_code).await;
    let seen = answer.parked.expect("GetProject says it is parked");
    assert_eq!(seen.event_id, poison_id);
    assert!(seen.reason.contains("界限"), "{}", seen.reason);
    let (status, page) = crate::support::http_get(&format!("{site}/projects/{}", poisoned.project_code)).await;
    assert_eq!(status, 200);
    assert!(page.contains("本项目时间线正在更新"), "the page says it is being updated");

    // Retried on demand (as at start-up), it stays parked: the cause is in the record.
    let retried = tokio::process::Command::new(crate::support::gongkai_binary())
        .args(["projector", "retry", &poisoned.project_code, "--config", &gongkai.config])
        .env("GONGKAI_STORAGE__URL", &gongkai.storage)
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("gongkai projector retry runs");
    assert!(retried.status.success(), "{}", String::from_utf8_lossy(&retried.stderr));
    let said = String::from_utf8_lossy(&retried.stdout);
    assert!(said.contains(&poisoned.project_code) && said.contains("still parked"), "{said}");

    // Nothing may follow the poison but its cure, which heals the project.
    let mut next = variation.clone();
    next.request_id = "poison-a-next".to_owned();
    let status = gongkai.harbin.send(Request::VaryContract(next)).await.expect_err("refused");
    assert_eq!((status.code(), reason(&status)), (tonic::Code::FailedPrecondition, "RECORD_OUT_OF_BOUNDS".to_owned()));
    let mut cure = variation.fact.clone().expect("a fact");
    cure.variation_number = "BG-MIN".to_owned();
    cure.changes_price = true;
    cure.price_change_fen = -100;
    let correction = pb::CorrectDisclosureRequest {
        request_id: "poison-a-cure".to_owned(),
        project_code: poisoned.project_code.clone(),
        occurred_at: variation.occurred_at,
        fact: Some(pb::DisclosureCorrected {
            supersedes_event_id: poison_id.clone(),
            reason: "金额录入错误".to_owned(),
            replacement: Some(pb::Fact { kind: Some(pb::fact::Kind::ContractVaried(cure)) }),
            replacement_occurred_at: None,
        }),
    };
    gongkai
        .harbin
        .send(Request::CorrectDisclosure(pb::Domain::Contracts, correction))
        .await
        .expect("the cure is taken");
    eventually("the cured project is rendered again", Duration::from_secs(60), || async {
        store.supervision().parked_project(&poisoned.project_code).await.expect("reads").is_none()
            && public_len(&store, &poisoned.project_code).await == signed + 2
    })
    .await;
    assert!(get_project(&grpc, &poisoned.project_code).await.parked.is_none());
    let healed = store.public().public_project(&poisoned.project_code).await.expect("reads").expect("public");
    assert_eq!(healed.parked_since, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_one_hostile_value_parks_one_project() {
    let env = [("GONGKAI_SITE__LISTEN", "127.0.0.1:0")];
    one_hostile_value_parks_one_project(Ingestion::start_with(Backend::Sqlite, "all", &env).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_kafka_one_hostile_value_parks_one_project() {
    let log = KafkaLog::isolated();
    let mut env = log.env().to_vec();
    env.push(("GONGKAI_SITE__LISTEN", "127.0.0.1:0"));
    let gongkai = Ingestion::start_with(Backend::Postgres, "all", &env).await;
    one_hostile_value_parks_one_project(gongkai).await;
}

/// The largest submission the contract accepts (a tender of 1,000 lots, just
/// under `grpc.max_message_bytes`) travels through Kafka into the timeline:
/// the topics gongkai creates accept the largest envelope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_kafka_carry_the_largest_valid_submission() {
    use prost::Message as _;
    let log = KafkaLog::isolated();
    let gongkai = Ingestion::start_with(Backend::Postgres, "all", &{
        let mut env = log.env().to_vec();
        env.push(("GONGKAI_SITE__LISTEN", "127.0.0.1:0"));
        env
    })
    .await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000803", "largest");
    let tender = lifecycle.requests.iter().position(|r| matches!(r, Request::AnnounceTender(_))).expect("a tender");
    gongkai.submit_all(lifecycle.requests[..tender].to_vec()).await;
    let Request::AnnounceTender(mut request) = lifecycle.requests[tender].clone() else { unreachable!() };
    let fact = request.fact.as_mut().expect("a fact");
    let template = fact.lots[0].clone();
    let limit = gongkai_grpc::DEFAULT_MAX_MESSAGE_BYTES;
    // 1,000 lots whose descriptions fill the request to just under the limit.
    let filler = "工程说明".repeat(2000); // 8,000 characters, the most a description may hold
    fact.lots = (0..1000)
        .map(|n| pb::Lot { lot_code: format!("L{n:04}"), description: filler.clone(), ..template.clone() })
        .collect();
    while request.encoded_len() > limit - 1024 {
        let fact = request.fact.as_mut().expect("a fact");
        for lot in &mut fact.lots {
            let keep: String = lot.description.chars().take(lot.description.chars().count() * 99 / 100).collect();
            lot.description = keep;
        }
    }
    let size = request.encoded_len();
    assert!(size > limit * 97 / 100, "the request is near the limit: {size}");
    let receipt =
        gongkai.harbin.send(Request::AnnounceTender(request)).await.expect("the largest valid request is accepted");
    eventually("the largest event is public", Duration::from_secs(120), || async {
        public_len(&gongkai.store, &lifecycle.project_code).await as u64 == receipt.project_seq
    })
    .await;
    assert!(gongkai.store.outbox().relay_parked().await.expect("reads").is_empty(), "Kafka took it");
    println!("largest valid submission: {size} bytes, public through Kafka");
}
