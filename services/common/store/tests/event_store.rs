//! The event store against both backends: every test body runs on a fresh
//! PostgreSQL database (failing, never skipping, when it is unreachable) and on
//! a fresh SQLite file.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use gongkai_proto::v1::{ComplianceFlag, Domain, EventEnvelope, Fact, ProjectApproved, event_envelope, fact};
use gongkai_store::{AppendOutcome, Backend, EventCounts, NewEvent, Pool, Store, StoreError};
use prost::Message;
use sha2::{Digest, Sha256};

const PROJECT: &str = "2017-230113-48-01-012345";
const OTHER_PROJECT: &str = "2017-230113-48-01-054321";
const SOURCE: &str = "center-harbin";
const TOPIC: &str = "gongkai.projects.v1";

/// Stand-in for the chain hash (the real one lives in gongkai-domain):
/// SHA-256(prev || event_id).
fn stand_in_hash(prev: Option<[u8; 32]>, event_id: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    if let Some(prev) = prev {
        hasher.update(prev);
    }
    hasher.update(event_id.as_bytes());
    hasher.finalize().into()
}

fn flag(rule: &str, event_id: &str) -> ComplianceFlag {
    ComplianceFlag {
        rule: rule.to_owned(),
        title: "招标文件发出至投标截止不足20日".to_owned(),
        event_ids: vec![event_id.to_owned()],
        explanation: "仅14日。".to_owned(),
        ..Default::default()
    }
}

/// The event `seq` of `project`, chained to `prev` (the previous event's hash).
fn event(project: &str, seq: u64, prev: Option<[u8; 32]>, request_id: &str) -> NewEvent {
    let event_id = uuid::Uuid::now_v7().hyphenated().to_string();
    let hash = stand_in_hash(prev, &event_id);
    let envelope = EventEnvelope {
        event_id,
        r#type: "gongkai.v1.ProjectApproved".to_owned(),
        source: SOURCE.to_owned(),
        subject: project.to_owned(),
        project_seq: seq,
        position: 0,
        occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
        recorded_at: Some(prost_types::Timestamp { seconds: 1_700_000_100 + seq as i64, nanos: 123_456_789 }),
        request_id: request_id.to_owned(),
        prev_hash: prev.map(hex::encode).unwrap_or_default(),
        hash: hex::encode(hash),
        flags: Vec::new(),
        domain: Domain::Projects as i32,
        commitment_seed: Vec::new(),
        body: Some(event_envelope::Body::Fact(Fact {
            kind: Some(fact::Kind::ProjectApproved(ProjectApproved {
                project_name: format!("哈尔滨市某某道路工程 {seq}"),
                total_investment_fen: 10_000_000_000,
                ..Default::default()
            })),
        })),
    };
    NewEvent {
        envelope,
        region_code: "230113".to_owned(),
        request_digest: Sha256::digest(request_id.as_bytes()).into(),
        topic: TOPIC.to_owned(),
        traceparent: None,
    }
}

fn hash_of(event: &NewEvent) -> [u8; 32] {
    hex::decode(&event.envelope.hash).unwrap().try_into().unwrap()
}

async fn appended(store: &Store, event: &NewEvent) -> u64 {
    match store.events().append(event).await.expect("append") {
        AppendOutcome::Appended { position } => position,
        other => panic!("expected Appended, got {other:?}"),
    }
}

/// Appends seq 1..=n to `project` and returns the events with positions set.
async fn append_chain(store: &Store, project: &str, n: u64) -> Vec<EventEnvelope> {
    let mut prev = None;
    let mut stored = Vec::new();
    for seq in 1..=n {
        let new = event(project, seq, prev, &format!("{project}-req-{seq}"));
        let position = appended(store, &new).await;
        prev = Some(hash_of(&new));
        stored.push(EventEnvelope { position, ..new.envelope });
    }
    stored
}

async fn append_and_load_back(store: &Store) {
    assert_eq!(store.events().load_stream(PROJECT).await.unwrap(), Vec::new());
    assert_eq!(store.events().stream_head(PROJECT).await.unwrap(), None);

    let expected = append_chain(store, PROJECT, 5).await;
    let positions: Vec<u64> = expected.iter().map(|e| e.position).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "positions increase with seq: {positions:?}");

    assert_eq!(store.events().load_stream(PROJECT).await.unwrap(), expected);
    let last = expected.last().unwrap();
    let head: [u8; 32] = hex::decode(&last.hash).unwrap().try_into().unwrap();
    assert_eq!(store.events().stream_head(PROJECT).await.unwrap(), Some((5, head)));

    let found =
        store.events().find_request(SOURCE, &format!("{PROJECT}-req-3")).await.unwrap().expect("request 3 is stored");
    assert_eq!(found.envelope, expected[2]);
    assert_eq!(found.request_digest, <[u8; 32]>::from(Sha256::digest(format!("{PROJECT}-req-3").as_bytes())));
    assert!(store.events().find_request("another-center", &format!("{PROJECT}-req-3")).await.unwrap().is_none());

    // Another project has its own stream.
    append_chain(store, OTHER_PROJECT, 2).await;
    assert_eq!(store.events().load_stream(PROJECT).await.unwrap(), expected);
    assert_eq!(
        store.events().event_counts().await.unwrap(),
        EventCounts { events: 7, streams: 2, outbox: 7, compliance_flags: 0 }
    );
}

async fn conflict_on_taken_or_skipped_seq(store: &Store) {
    let chain = append_chain(store, PROJECT, 2).await;
    let hash = |i: usize| -> [u8; 32] { hex::decode(&chain[i].hash).unwrap().try_into().unwrap() };
    let before = store.events().event_counts().await.unwrap();

    // seq 1 and 2 are taken, whatever the request.
    assert_eq!(store.events().append(&event(PROJECT, 1, None, "late-1")).await.unwrap(), AppendOutcome::Conflict);
    assert_eq!(
        store.events().append(&event(PROJECT, 2, Some(hash(0)), "late-2")).await.unwrap(),
        AppendOutcome::Conflict
    );
    // Skipping ahead, and continuing a stream that does not exist.
    assert_eq!(
        store.events().append(&event(PROJECT, 4, Some(hash(1)), "ahead-4")).await.unwrap(),
        AppendOutcome::Conflict
    );
    assert_eq!(
        store.events().append(&event(OTHER_PROJECT, 2, Some(hash(0)), "nowhere")).await.unwrap(),
        AppendOutcome::Conflict
    );

    assert_eq!(store.events().event_counts().await.unwrap(), before);
    assert_eq!(store.events().load_stream(PROJECT).await.unwrap(), chain);
    // The refused requests left no trace and the stream goes on.
    assert!(store.events().find_request(SOURCE, "late-2").await.unwrap().is_none());
    appended(store, &event(PROJECT, 3, Some(hash(1)), "late-2")).await;
}

async fn duplicate_request_writes_nothing(store: &Store) {
    let first = event(PROJECT, 1, None, "req-1");
    appended(store, &first).await;
    let before = store.events().event_counts().await.unwrap();

    // Same key on another project's first event: not even its stream is opened.
    let other = event(OTHER_PROJECT, 1, None, "req-1");
    assert_eq!(store.events().append(&other).await.unwrap(), AppendOutcome::DuplicateRequest);
    // Same key on the next event of the same project.
    let next = event(PROJECT, 2, Some(hash_of(&first)), "req-1");
    assert_eq!(store.events().append(&next).await.unwrap(), AppendOutcome::DuplicateRequest);

    assert_eq!(store.events().event_counts().await.unwrap(), before);
    assert_eq!(store.events().stream_head(OTHER_PROJECT).await.unwrap(), None);
    assert_eq!(store.events().stream_head(PROJECT).await.unwrap(), Some((1, hash_of(&first))));
    let found = store.events().find_request(SOURCE, "req-1").await.unwrap().unwrap();
    assert_eq!(found.envelope.event_id, first.envelope.event_id);

    // The key is per source.
    let mut elsewhere = event(OTHER_PROJECT, 1, None, "req-1");
    elsewhere.envelope.source = "center-qiqihar".to_owned();
    appended(store, &elsewhere).await;
}

async fn outbox_and_flags_are_written(store: &Store) {
    let mut new = event(PROJECT, 1, None, "flagged");
    let event_id = new.envelope.event_id.clone();
    let flags = vec![flag("TBL-24-BID-PERIOD", &event_id), flag("GK-MISSING-DOCUMENTS", &event_id)];
    new.envelope.flags = flags.clone();
    let position = appended(store, &new).await;
    assert_eq!(
        store.events().event_counts().await.unwrap(),
        EventCounts { events: 1, streams: 1, outbox: 1, compliance_flags: 2 }
    );
    assert_eq!(store.events().load_stream(PROJECT).await.unwrap()[0].flags, flags);

    let position = i64::try_from(position).unwrap();
    type FlagRow = (String, String, String, Vec<u8>);
    let (outbox, mut stored_flags): ((i64, String, bool), Vec<FlagRow>) = match store.pool() {
        Pool::Postgres(pool) => (
            sqlx::query_as("SELECT position, topic, published_at IS NULL FROM outbox").fetch_one(pool).await.unwrap(),
            sqlx::query_as("SELECT event_id::text, project_code, rule, flag FROM compliance_flags ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap(),
        ),
        Pool::Sqlite(pool) => (
            sqlx::query_as("SELECT position, topic, published_at IS NULL FROM outbox").fetch_one(pool).await.unwrap(),
            sqlx::query_as("SELECT event_id, project_code, rule, flag FROM compliance_flags ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap(),
        ),
    };
    assert_eq!(outbox, (position, TOPIC.to_owned(), true));
    let mut expected: Vec<_> =
        flags.iter().map(|f| (event_id.clone(), PROJECT.to_owned(), f.rule.clone(), f.encode_to_vec())).collect();
    stored_flags.sort();
    expected.sort();
    assert_eq!(stored_flags, expected);
}

async fn outbox_keeps_the_trace_context_of_the_append(store: &Store) {
    const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let untraced = event(PROJECT, 1, None, "untraced");
    appended(store, &untraced).await;
    let traced =
        NewEvent { traceparent: Some(TRACEPARENT.to_owned()), ..event(PROJECT, 2, Some(hash_of(&untraced)), "traced") };
    appended(store, &traced).await;
    let records = store.outbox().unpublished(10).await.unwrap();
    let contexts: Vec<Option<&str>> = records.iter().map(|record| record.traceparent.as_deref()).collect();
    assert_eq!(contexts, [None, Some(TRACEPARENT)]);
    // What the embedded projector reads for the positions of a batch.
    let (first, second) = (records[0].position, records[1].position);
    assert_eq!(store.log().trace_contexts(0, second).await.unwrap(), [TRACEPARENT]);
    assert!(store.log().trace_contexts(0, first).await.unwrap().is_empty(), "an untraced row has no context");
}

async fn wrong_chain_or_malformed_event_is_an_error(store: &Store) {
    let first = event(PROJECT, 1, None, "one");
    appended(store, &first).await;
    let before = store.events().event_counts().await.unwrap();

    let wrong = event(PROJECT, 2, Some([7; 32]), "two");
    let error = store.events().append(&wrong).await.unwrap_err();
    assert!(matches!(error, StoreError::ChainMismatch { project_seq: 2, .. }), "{error:?}");

    let mut bad_hash = event(PROJECT, 2, Some(hash_of(&first)), "two");
    bad_hash.envelope.hash = "ABC".to_owned();
    assert!(matches!(store.events().append(&bad_hash).await, Err(StoreError::InvalidEvent(_))));
    let mut no_domain = event(PROJECT, 2, Some(hash_of(&first)), "two");
    no_domain.envelope.domain = Domain::Unspecified as i32;
    assert!(matches!(store.events().append(&no_domain).await, Err(StoreError::InvalidEvent(_))));
    let mut first_with_prev = event(OTHER_PROJECT, 1, None, "three");
    first_with_prev.envelope.prev_hash = hex::encode([1; 32]);
    assert!(matches!(store.events().append(&first_with_prev).await, Err(StoreError::InvalidEvent(_))));
    let mut bad_region = event(OTHER_PROJECT, 1, None, "four");
    bad_region.region_code = "23011x".to_owned();
    assert!(matches!(store.events().append(&bad_region).await, Err(StoreError::InvalidEvent(_))));

    assert_eq!(store.events().event_counts().await.unwrap(), before);
}

async fn concurrent_writers_on_one_project(store: &Store) {
    const TASKS: usize = 16;
    const PER_TASK: usize = 10;
    let started = Instant::now();
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut conflicts = 0_u32;
            for i in 0..PER_TASK {
                let request_id = format!("task-{task}-{i}");
                loop {
                    let (seq, prev) = match store.events().stream_head(PROJECT).await.expect("head") {
                        None => (1, None),
                        Some((seq, head)) => (seq + 1, Some(head)),
                    };
                    let new = event(PROJECT, seq, prev, &request_id);
                    match store.events().append(&new).await.expect("append") {
                        AppendOutcome::Appended { .. } => {
                            acknowledged.push(new.envelope.event_id);
                            break;
                        }
                        AppendOutcome::Conflict => conflicts += 1,
                        AppendOutcome::DuplicateRequest => panic!("{request_id} was never appended before"),
                    }
                }
            }
            (acknowledged, conflicts)
        }));
    }
    let mut acknowledged = Vec::new();
    let mut conflicts = 0;
    for handle in handles {
        let (ids, task_conflicts) = handle.await.expect("task");
        acknowledged.extend(ids);
        conflicts += task_conflicts;
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{:?}: {} appends in {elapsed:.2?} ({:.0}/s), {conflicts} conflicts",
        store.backend(),
        acknowledged.len(),
        acknowledged.len() as f64 / elapsed.as_secs_f64(),
    );

    let total = TASKS * PER_TASK;
    assert_eq!(acknowledged.len(), total);
    let stream = store.events().load_stream(PROJECT).await.unwrap();
    assert_eq!(stream.len(), total);
    let seqs: Vec<u64> = stream.iter().map(|e| e.project_seq).collect();
    assert_eq!(seqs, (1..=total as u64).collect::<Vec<_>>());
    for pair in stream.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "chain is linked at seq {}", pair[1].project_seq);
        assert!(pair[0].position < pair[1].position);
    }
    let stored: HashSet<&str> = stream.iter().map(|e| e.event_id.as_str()).collect();
    let acked: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    assert_eq!(acked.len(), total, "every acknowledged event id is distinct");
    assert_eq!(stored, acked);
    let counts = store.events().event_counts().await.unwrap();
    assert_eq!(counts, EventCounts { events: total as u64, streams: 1, outbox: total as u64, compliance_flags: 0 });
}

async fn concurrent_reuse_of_one_request(store: &Store) {
    // Eight first events of eight projects race with the same request id.
    let mut handles = Vec::new();
    for n in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store
                .events()
                .append(&event(&format!("2017-230113-48-01-00000{n}"), 1, None, "shared"))
                .await
                .expect("append")
        }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    let won = outcomes.iter().filter(|o| matches!(o, AppendOutcome::Appended { .. })).count();
    let duplicates = outcomes.iter().filter(|o| **o == AppendOutcome::DuplicateRequest).count();
    assert_eq!((won, duplicates), (1, 7), "{outcomes:?}");
    assert_eq!(
        store.events().event_counts().await.unwrap(),
        EventCounts { events: 1, streams: 1, outbox: 1, compliance_flags: 0 }
    );
}

async fn a_batch_answers_each_append_alone(store: &Store) {
    const THIRD: &str = "2017-230113-48-01-000003";
    const FOURTH: &str = "2017-230113-48-01-000004";
    const FIFTH: &str = "2017-230113-48-01-000005";
    const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let fourth = event(FOURTH, 1, None, "before");
    appended(store, &fourth).await;
    assert!(store.events().append_all(&[]).await.unwrap().is_empty());

    let first = event(PROJECT, 1, None, "b-1");
    let second = event(PROJECT, 2, Some(hash_of(&first)), "b-2");
    let mut flagged = event(FIFTH, 1, None, "b-6");
    flagged.envelope.flags = vec![flag("TBL-24-BID-PERIOD", &flagged.envelope.event_id)];
    flagged.traceparent = Some(TRACEPARENT.to_owned());
    let mut malformed = event(OTHER_PROJECT, 1, None, "b-5");
    malformed.envelope.hash = "ABC".to_owned();
    let batch = [
        first.clone(),
        second.clone(),
        // The first one's request key, on another project: in the same round.
        event(OTHER_PROJECT, 1, None, "b-1"),
        // A stream that does not exist.
        event(THIRD, 2, Some(hash_of(&first)), "b-3"),
        // A stream at seq 1 with another head.
        event(FOURTH, 2, Some([7; 32]), "b-4"),
        malformed,
        flagged.clone(),
        // Seq 2 of the project again, after `second` took it.
        event(PROJECT, 2, Some(hash_of(&first)), "b-7"),
    ];
    let outcomes = store.events().append_all(&batch).await.unwrap();
    assert_eq!(outcomes.len(), batch.len());
    let position = |at: usize| match outcomes[at] {
        Ok(AppendOutcome::Appended { position }) => position,
        ref other => panic!("append {at}: expected Appended, got {other:?}"),
    };
    assert!(position(0) < position(1), "a project's appends go in the order given");
    position(6);
    assert_eq!(outcomes[2].as_ref().ok(), Some(&AppendOutcome::DuplicateRequest));
    assert_eq!(outcomes[3].as_ref().ok(), Some(&AppendOutcome::Conflict));
    assert!(matches!(outcomes[4], Err(StoreError::ChainMismatch { project_seq: 2, .. })), "{:?}", outcomes[4]);
    assert!(matches!(outcomes[5], Err(StoreError::InvalidEvent(_))), "{:?}", outcomes[5]);
    assert_eq!(outcomes[7].as_ref().ok(), Some(&AppendOutcome::Conflict));

    // Only the appended ones, whole; the refused ones left no trace.
    assert_eq!(
        store.events().event_counts().await.unwrap(),
        EventCounts { events: 4, streams: 3, outbox: 4, compliance_flags: 1 }
    );
    let stream = store.events().load_stream(PROJECT).await.unwrap();
    let ids: Vec<&str> = stream.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, [first.envelope.event_id.as_str(), second.envelope.event_id.as_str()]);
    assert_eq!(store.events().stream_head(PROJECT).await.unwrap(), Some((2, hash_of(&second))));
    assert_eq!(store.events().stream_head(OTHER_PROJECT).await.unwrap(), None);
    assert_eq!(store.events().stream_head(THIRD).await.unwrap(), None);
    assert_eq!(store.events().stream_head(FOURTH).await.unwrap(), Some((1, hash_of(&fourth))));
    assert_eq!(store.events().load_stream(FIFTH).await.unwrap()[0].flags, flagged.envelope.flags);
    let traced: Vec<(u64, Option<String>)> =
        store.outbox().unpublished(10).await.unwrap().into_iter().map(|r| (r.position, r.traceparent)).collect();
    assert!(traced.contains(&(position(6), Some(TRACEPARENT.to_owned()))), "{traced:?}");
    assert!(traced.contains(&(position(0), None)), "{traced:?}");
    for refused in ["b-1", "b-3", "b-4", "b-5", "b-7"] {
        let found = store.events().find_request(SOURCE, refused).await.unwrap();
        assert!(found.is_none_or(|found| found.envelope.event_id == first.envelope.event_id), "{refused}");
    }
}

async fn an_append_the_database_refuses_fails_alone(store: &Store) {
    // PostgreSQL stores no NUL in text: the statement carrying that request id
    // fails, and the batch is written again one append at a time. SQLite
    // takes it.
    let batch = [
        event(PROJECT, 1, None, "fine-1"),
        event(OTHER_PROJECT, 1, None, "nul-\0-byte"),
        event("2017-230113-48-01-000003", 1, None, "fine-3"),
    ];
    let outcomes = store.events().append_all(&batch).await.expect("the batch commits");
    assert!(matches!(outcomes[0], Ok(AppendOutcome::Appended { .. })), "{:?}", outcomes[0]);
    assert!(matches!(outcomes[2], Ok(AppendOutcome::Appended { .. })), "{:?}", outcomes[2]);
    let written = match store.backend() {
        Backend::Postgres => {
            assert!(matches!(outcomes[1], Err(StoreError::Query(_))), "{:?}", outcomes[1]);
            2
        }
        Backend::Sqlite => {
            assert!(matches!(outcomes[1], Ok(AppendOutcome::Appended { .. })), "{:?}", outcomes[1]);
            3
        }
    };
    assert_eq!(
        store.events().event_counts().await.unwrap(),
        EventCounts { events: written, streams: written, outbox: written, compliance_flags: 0 }
    );
}

async fn concurrent_batches_on_shared_projects(store: &Store) {
    // Batches that each carry the next event of the same projects race one
    // another: every append is answered, and what was acknowledged is exactly
    // what is stored, gapless and chained.
    const PROJECTS: usize = 8;
    const BATCHES: usize = 6;
    const ROUNDS: usize = 10;
    let projects: Vec<String> = (0..PROJECTS).map(|n| format!("2017-230113-48-01-1000{n:02}")).collect();
    let mut handles = Vec::new();
    for batch in 0..BATCHES {
        let (store, projects) = (store.clone(), projects.clone());
        handles.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for round in 0..ROUNDS {
                let mut events = Vec::new();
                for project in &projects {
                    let (seq, prev) = match store.events().stream_head(project).await.expect("head") {
                        None => (1, None),
                        Some((seq, head)) => (seq + 1, Some(head)),
                    };
                    events.push(event(project, seq, prev, &format!("{project}-{batch}-{round}")));
                }
                let outcomes = store.events().append_all(&events).await.expect("batch");
                for (event, outcome) in events.into_iter().zip(outcomes) {
                    match outcome.expect("no append fails") {
                        AppendOutcome::Appended { .. } => acknowledged.push(event.envelope.event_id),
                        AppendOutcome::Conflict => {}
                        AppendOutcome::DuplicateRequest => panic!("request ids are distinct"),
                    }
                }
            }
            acknowledged
        }));
    }
    let mut acknowledged = HashSet::new();
    for handle in handles {
        acknowledged.extend(handle.await.expect("batch task"));
    }
    let mut stored = HashSet::new();
    for project in &projects {
        let stream = gongkai_testkit::store::assert_gapless_chain(store, project).await;
        stored.extend(stream.into_iter().map(|e| e.event_id));
    }
    assert_eq!(stored, acknowledged, "acknowledged is exactly what is stored");
}

gongkai_testkit::on_both_stores!(
    store: #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    append_and_load_back,
    conflict_on_taken_or_skipped_seq,
    duplicate_request_writes_nothing,
    outbox_and_flags_are_written,
    outbox_keeps_the_trace_context_of_the_append,
    wrong_chain_or_malformed_event_is_an_error,
    concurrent_writers_on_one_project,
    concurrent_reuse_of_one_request,
    a_batch_answers_each_append_alone,
    an_append_the_database_refuses_fails_alone,
    concurrent_batches_on_shared_projects,
);

/// On SQLite an append tries for the write lock itself while another writer
/// holds it (instead of sleeping in SQLite's busy handler), then goes on;
/// every connection it used goes back to the pool as it was, also when the
/// append is dropped while it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_appends_wait_for_another_writer() {
    let fresh = gongkai_testkit::store::sqlite().await;
    let store = fresh.store.clone();
    let Pool::Sqlite(pool) = store.pool() else { panic!("a SQLite store") };
    let pool = pool.clone();
    let busy_timeouts = || async {
        let mut conns = Vec::new();
        for _ in 0..8 {
            conns.push(pool.acquire().await.expect("connection"));
        }
        let mut timeouts = Vec::new();
        for conn in &mut conns {
            let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&mut **conn).await.unwrap();
            timeouts.push(timeout);
        }
        timeouts
    };
    let before = busy_timeouts().await;

    let writer = pool.begin_with("BEGIN IMMEDIATE").await.expect("the write lock");
    let abandoned = tokio::spawn({
        let store = store.clone();
        async move { store.events().append(&event(OTHER_PROJECT, 1, None, "abandoned")).await }
    });
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.events().append(&event(PROJECT, 1, None, "waits")).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "the append waits for the other writer");
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    let released = Instant::now();
    writer.rollback().await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("in time").unwrap();
    assert!(matches!(outcome, Ok(AppendOutcome::Appended { .. })), "{outcome:?}");
    assert!(released.elapsed() < Duration::from_millis(500), "taken soon after release: {:?}", released.elapsed());

    assert_eq!(busy_timeouts().await, before, "the pool's connections wait as they did");
    assert_eq!(store.events().stream_head(OTHER_PROJECT).await.unwrap(), None, "the abandoned append wrote nothing");
    fresh.store.close().await;
}

/// A new SQLite file is laid out in 8 KB pages (a rendered timeline entry,
/// about 2 KB, left a quarter of 4 KB pages empty), in WAL mode, every
/// commit synced.
#[tokio::test]
async fn sqlite_a_new_file_has_pages_for_rendered_entries() {
    let fresh = gongkai_testkit::store::sqlite().await;
    let Pool::Sqlite(pool) = fresh.store.pool() else { panic!("a SQLite store") };
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(pool).await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
    assert_eq!((page_size, journal.as_str(), synchronous), (8192, "wal", 2), "page size, journal, FULL");
    fresh.store.close().await;
}
