//! GetCheckpoint, GetInclusionProof and GetConsistencyProof over the log the
//! real writer keeps: every proof verifies, with `gongkai-tlog`'s
//! verifiers, against the root of a checkpoint opened with the log's key;
//! bad arguments get their documented codes and field violations; extreme
//! values never take the server down.

use gongkai_proto::v1 as pb;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_testkit::store::Backend;
use gongkai_tlog::checkpoint::{Checkpoint, OpenedCheckpoint};
use gongkai_tlog::merkle::{self, Hash};
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{
    AUDITOR, HARBIN, Harness, P_AWARDED, P_PPP, P_QIQIHAR, QIQIHAR, SUPERVISOR_A, SUPERVISOR_PROVINCE, approval,
    log_signer, up_to_award,
};

fn hash(bytes: &[u8]) -> Hash {
    bytes.try_into().unwrap_or_else(|_| panic!("{} bytes are no hash", bytes.len()))
}

fn hash_list(bytes: &[Vec<u8>]) -> Vec<Hash> {
    bytes.iter().map(|b| hash(b)).collect()
}

/// The checkpoint opened with the log's key, and its fields as returned.
fn opened(checkpoint: Option<&pb::LogCheckpoint>) -> OpenedCheckpoint {
    let checkpoint = checkpoint.expect("a checkpoint");
    let opened =
        Checkpoint::open(checkpoint.note.as_bytes(), &[log_signer().verifier()]).expect("signed by the log's key");
    assert_eq!(checkpoint.origin, log_signer().name());
    assert_eq!(checkpoint.tree_size, opened.checkpoint.size());
    assert_eq!(hash(&checkpoint.root_hash), *opened.checkpoint.root());
    assert!(checkpoint.signed_at.is_some());
    opened
}

fn by_seq(project_code: &str, project_seq: u64, tree_size: u64) -> pb::GetInclusionProofRequest {
    pb::GetInclusionProofRequest { project_code: project_code.to_owned(), project_seq, tree_size, ..Default::default() }
}

fn by_id(event_id: &str, tree_size: u64) -> pb::GetInclusionProofRequest {
    pb::GetInclusionProofRequest { event_id: event_id.to_owned(), tree_size, ..Default::default() }
}

/// Checks an inclusion proof against `root` and against the event as stored.
fn check_inclusion(proof: &pb::GetInclusionProofResponse, root: &Hash, event: &pb::EventEnvelope) {
    assert_eq!(
        (proof.event_id.as_str(), proof.project_code.as_str(), proof.project_seq, proof.event_hash.as_str()),
        (event.event_id.as_str(), event.subject.as_str(), event.project_seq, event.hash.as_str())
    );
    let event_hash = hex::decode(&proof.event_hash).expect("hex");
    assert_eq!(hash(&proof.leaf_hash), merkle::leaf_hash(&event_hash), "the leaf is the event's chain hash");
    assert_eq!(hash(&proof.root_hash), *root);
    merkle::verify_inclusion(
        &hash(&proof.leaf_hash),
        proof.leaf_index,
        proof.tree_size,
        &hash_list(&proof.audit_path),
        root,
    )
    .unwrap_or_else(|error| panic!("leaf {} of {}: {error}", proof.leaf_index, proof.tree_size));
}

/// The fields a refusal names in its BadRequest.
fn violated(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|violation| violation.field).collect())
        .unwrap_or_default()
}

pub(crate) async fn every_proof_verifies_against_the_signed_checkpoint(backend: Backend) {
    let h = Harness::start(backend).await;
    h.submit(HARBIN, &up_to_award(P_AWARDED, "award")).await;
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[..6]).await;
    let first_size = h.log_events(true).await;
    let mut sup = h.client(SUPERVISOR_A);

    // The checkpoint is the one the site serves, cosignatures and all.
    let served = h.store.public().latest_checkpoint().await.expect("read").expect("signed");
    let checkpoint = sup.checkpoint().await.expect("a checkpoint").checkpoint;
    assert_eq!(checkpoint.as_ref().map(|c| c.note.as_str()), Some(served.note.as_str()));
    let first = opened(checkpoint.as_ref());
    assert_eq!(first.checkpoint.size(), first_size);

    // Every event, the first and the last leaf included, by id and by seq.
    let mut events = h.store.events().load_stream(P_AWARDED).await.expect("stream");
    events.extend(h.store.events().load_stream(P_PPP).await.expect("stream"));
    let mut leaves = Vec::new();
    for event in &events {
        let proof = sup.inclusion(by_id(&event.event_id, 0)).await.expect("a proof by id");
        check_inclusion(&proof, first.checkpoint.root(), event);
        assert_eq!(proof.tree_size, first_size);
        assert_eq!(proof.checkpoint.as_ref().map(|c| &c.note), checkpoint.as_ref().map(|c| &c.note));
        let again = sup.inclusion(by_seq(&event.subject, event.project_seq, 0)).await.expect("a proof by seq");
        assert_eq!(again, proof, "both ways name the same event");
        leaves.push((proof.leaf_index, hash(&proof.leaf_hash)));
    }
    leaves.sort_unstable();
    let indexes: Vec<u64> = leaves.iter().map(|(index, _)| *index).collect();
    assert_eq!(indexes, (0..first_size).collect::<Vec<_>>(), "one leaf per event, the first and the last included");
    let leaf_hashes: Vec<Hash> = leaves.iter().map(|(_, hash)| *hash).collect();
    assert_eq!(merkle::root_from_leaves(&leaf_hashes), *first.checkpoint.root());

    // A size no checkpoint was signed for: the proof leads to the root of
    // the first leaves, and no checkpoint comes with it.
    let (index, event) = events
        .iter()
        .find_map(|event| {
            let leaf = merkle::leaf_hash(&hex::decode(&event.hash).expect("hex"));
            let index = leaves.iter().position(|(_, logged)| *logged == leaf)?;
            (index < 3).then_some((index, event))
        })
        .expect("an event among the first three leaves");
    let proof = sup.inclusion(by_id(&event.event_id, 3)).await.expect("a proof at size 3");
    assert_eq!((proof.leaf_index, proof.tree_size), (index as u64, 3));
    assert!(proof.checkpoint.is_none());
    check_inclusion(&proof, &merkle::root_from_leaves(&leaf_hashes[..3]), event);

    // The log grows; the old checkpoint's tree is a prefix of the new one.
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[6..]).await;
    h.submit(HARBIN, &[approval("2024-230102-83-01-000021", "school2", "230102", "道里区第二中学", ("教育局", 501))])
        .await;
    let grown_size = h.log_events(true).await;
    assert!(grown_size > first_size);
    let consistency = sup.consistency(first_size, 0).await.expect("a consistency proof");
    let grown = opened(consistency.new_checkpoint.as_ref());
    assert_eq!(grown.checkpoint.size(), grown_size);
    let old = opened(consistency.old_checkpoint.as_ref());
    assert_eq!(old.checkpoint, first.checkpoint);
    assert_eq!((consistency.old_size, consistency.new_size), (first_size, grown_size));
    merkle::verify_consistency(
        first_size,
        first.checkpoint.root(),
        grown_size,
        grown.checkpoint.root(),
        &hash_list(&consistency.proof),
    )
    .expect("the grown log extends the first checkpoint");
    // From every size, to both checkpoints.
    for old_size in 1..=grown_size {
        for new_size in [0, grown_size] {
            let proof = sup.consistency(old_size, new_size).await.expect("a consistency proof");
            assert_eq!(hash(&proof.new_root_hash), *grown.checkpoint.root());
            merkle::verify_consistency(
                old_size,
                &hash(&proof.old_root_hash),
                grown_size,
                grown.checkpoint.root(),
                &hash_list(&proof.proof),
            )
            .unwrap_or_else(|error| panic!("{old_size} to {grown_size}: {error}"));
        }
        if old_size <= first_size {
            let proof = sup.consistency(old_size, first_size).await.expect("to the first checkpoint");
            merkle::verify_consistency(
                old_size,
                &hash(&proof.old_root_hash),
                first_size,
                first.checkpoint.root(),
                &hash_list(&proof.proof),
            )
            .unwrap_or_else(|error| panic!("{old_size} to {first_size}: {error}"));
        }
    }

    // An old event in the grown tree, and in the first checkpoint still.
    let event = &events[0];
    let proof = sup.inclusion(by_id(&event.event_id, 0)).await.expect("in the grown tree");
    check_inclusion(&proof, grown.checkpoint.root(), event);
    let proof = sup.inclusion(by_id(&event.event_id, first_size)).await.expect("in the first checkpoint");
    check_inclusion(&proof, first.checkpoint.root(), event);
    assert_eq!(opened(proof.checkpoint.as_ref()).checkpoint, first.checkpoint);
    // The last leaf of the grown tree.
    let last = h.store.events().load_stream("2024-230102-83-01-000021").await.expect("stream");
    let proof = sup.inclusion(by_seq("2024-230102-83-01-000021", 1, 0)).await.expect("the last leaf");
    assert_eq!(proof.leaf_index, grown_size - 1);
    check_inclusion(&proof, grown.checkpoint.root(), &last[0]);
}

pub(crate) async fn bad_proof_requests_get_their_codes_and_fields(backend: Backend) {
    let h = Harness::start(backend).await;
    let mut sup = h.client(SUPERVISOR_PROVINCE);
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[..4]).await;
    h.submit(QIQIHAR, &[approval(P_QIQIHAR, "road", "230202", "齐齐哈尔市龙沙区道路改造工程", ("龙沙区住建局", 600))])
        .await;

    // Nothing signed yet.
    for status in [
        sup.checkpoint().await.expect_err("no checkpoint"),
        sup.inclusion(by_seq(P_PPP, 1, 0)).await.expect_err("no checkpoint"),
        sup.consistency(1, 0).await.expect_err("no checkpoint"),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains("no checkpoint"), "{}", status.message());
    }
    // What is wrong whatever the log holds is said first.
    let status = sup.consistency(0, 0).await.expect_err("no old size");
    assert_eq!((status.code(), violated(&status)), (Code::InvalidArgument, vec!["old_size".to_owned()]));

    let size = h.log_events(true).await;
    assert_eq!(size, 5);
    let events = h.store.events().load_stream(P_PPP).await.expect("stream");

    // Naming the event: one violation per bad field.
    let invalid = [
        (by_id("", 0), "event_id"),
        (by_id("not-a-uuid", 0), "event_id"),
        (pb::GetInclusionProofRequest { project_seq: 1, ..by_id(&events[0].event_id, 0) }, "event_id"),
        (by_seq("", 2, 0), "project_code"),
        (by_seq(P_PPP, 0, 0), "project_seq"),
        (by_seq(P_PPP, 4, 2), "tree_size"),
    ];
    for (request, field) in invalid {
        let status = sup.inclusion(request.clone()).await.expect_err("invalid");
        assert_eq!((status.code(), violated(&status)), (Code::InvalidArgument, vec![field.to_owned()]), "{request:?}");
    }
    let status = sup.inclusion(by_seq(P_PPP, 4, 2)).await.expect_err("too small a tree");
    assert!(violated(&status).len() == 1 && status.message().contains("tree_size"), "{status:?}");

    // Unknown events and projects; projects outside the caller's regions.
    for request in [
        by_id("0190a000-0000-7000-8000-000000000001", 0),
        by_seq(P_PPP, 99, 0),
        by_seq(P_PPP, u64::MAX, 0),
        by_seq("2024-230113-77-01-999999", 1, 0),
    ] {
        let status = sup.inclusion(request.clone()).await.expect_err("unknown");
        assert_eq!(status.code(), Code::NotFound, "{request:?}: {status:?}");
    }
    let mut harbin = h.client(SUPERVISOR_A);
    let qiqihar = h.store.events().load_stream(P_QIQIHAR).await.expect("stream");
    for request in [by_seq(P_QIQIHAR, 1, 0), by_id(&qiqihar[0].event_id, 0)] {
        let status = harbin.inclusion(request).await.expect_err("another region");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    // Only supervisors.
    for id in [HARBIN, AUDITOR] {
        let mut other = h.client(id);
        assert_eq!(other.checkpoint().await.expect_err("not a supervisor").code(), Code::PermissionDenied);
        assert_eq!(other.consistency(1, 0).await.expect_err("not a supervisor").code(), Code::PermissionDenied);
    }

    // Sizes beyond the latest checkpoint: OUT_OF_RANGE, naming each field.
    for (request, fields) in [
        ((size + 1, 0), vec!["old_size"]),
        ((1, size + 1), vec!["new_size"]),
        ((u64::MAX, u64::MAX), vec!["old_size", "new_size"]),
        ((u64::MAX, 0), vec!["old_size"]),
    ] {
        let status = sup.consistency(request.0, request.1).await.expect_err("beyond");
        let fields: Vec<String> = fields.into_iter().map(str::to_owned).collect();
        assert_eq!((status.code(), violated(&status)), (Code::OutOfRange, fields), "{request:?}");
        assert!(status.message().contains(&format!("({size} leaves)")), "{}", status.message());
    }
    for tree_size in [size + 1, i64::MAX as u64 + 1, u64::MAX] {
        let status = sup.inclusion(by_seq(P_PPP, 1, tree_size)).await.expect_err("beyond");
        assert_eq!((status.code(), violated(&status)), (Code::OutOfRange, vec!["tree_size".to_owned()]));
    }
    let status = sup.consistency(4, 3).await.expect_err("old above new");
    assert_eq!((status.code(), violated(&status)), (Code::InvalidArgument, vec!["old_size".to_owned()]));

    // An event logged but not yet in a checkpoint, and one not logged yet.
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[4..6]).await;
    h.log_events(false).await;
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[6..7]).await;
    for seq in [5, 7] {
        let status = sup.inclusion(by_seq(P_PPP, seq, 0)).await.expect_err("not checkpointed");
        assert_eq!(status.code(), Code::FailedPrecondition, "seq {seq}: {status:?}");
    }

    // Every call, refused or not, is in the audit trail.
    let mut auditor = h.client(AUDITOR);
    let records = auditor
        .audit(pb::ListAuditRecordsRequest {
            method: "/gongkai.v1.SupervisionService/GetInclusionProof".into(),
            project_code: P_QIQIHAR.into(),
            ..Default::default()
        })
        .await
        .expect("audit records");
    let outcomes: Vec<_> = records.records.iter().map(|r| (r.principal.as_str(), r.status_code.as_str())).collect();
    assert_eq!(outcomes, [(SUPERVISOR_A, "PERMISSION_DENIED")], "by seq names the project; by id does not");
    let records = auditor
        .audit(pb::ListAuditRecordsRequest {
            method: "/gongkai.v1.SupervisionService/GetConsistencyProof".into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("audit records");
    assert!(records.records.iter().any(|r| r.status_code == "OUT_OF_RANGE"), "{records:?}");
    assert!(records.records.iter().any(|r| r.arguments_json.contains("18446744073709551615")), "{records:?}");
}

pub(crate) async fn extreme_proof_arguments_never_break_the_server(backend: Backend) {
    let h = Harness::start(backend).await;
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[..3]).await;
    let size = h.log_events(true).await;
    let mut sup = h.client(SUPERVISOR_A);
    let sizes = [0, 1, 2, size - 1, size, size + 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX - 1, u64::MAX];
    let ids = [
        String::new(),
        " ".to_owned(),
        "\0".to_owned(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF".to_owned(),
        "事件".repeat(5_000),
    ];
    let codes = ["", " ", "事", P_PPP, &"9".repeat(10_000)];
    let answered = [
        Code::Ok,
        Code::InvalidArgument,
        Code::NotFound,
        Code::OutOfRange,
        Code::FailedPrecondition,
        Code::PermissionDenied,
    ];
    let mut calls = 0;
    for old_size in sizes {
        for new_size in sizes {
            let outcome = sup.consistency(old_size, new_size).await;
            let code = outcome.as_ref().map_or_else(tonic::Status::code, |_| Code::Ok);
            assert!(answered.contains(&code), "consistency {old_size} {new_size}: {outcome:?}");
            calls += 1;
        }
    }
    for tree_size in sizes {
        for id in &ids {
            let outcome = sup.inclusion(by_id(id, tree_size)).await;
            let code = outcome.as_ref().map_or_else(tonic::Status::code, |_| Code::Ok);
            assert!(answered.contains(&code), "inclusion of {:.40} at {tree_size}: {code:?}", id);
            calls += 1;
        }
        for code in codes {
            for seq in [0, 1, size, u64::MAX] {
                let outcome = sup.inclusion(by_seq(code, seq, tree_size)).await;
                let answer = outcome.as_ref().map_or_else(tonic::Status::code, |_| Code::Ok);
                assert!(answered.contains(&answer), "inclusion of {code:.40}#{seq} at {tree_size}: {answer:?}");
                if let Ok(proof) = outcome {
                    assert!(proof.leaf_index < proof.tree_size && proof.tree_size <= size, "{proof:?}");
                }
                calls += 1;
            }
        }
    }
    assert!(calls > 300);
    // Still serving, and still right.
    let checkpoint = opened(sup.checkpoint().await.expect("serving").checkpoint.as_ref());
    let events = h.store.events().load_stream(P_PPP).await.expect("stream");
    let proof = sup.inclusion(by_seq(P_PPP, 3, 0)).await.expect("a proof");
    check_inclusion(&proof, checkpoint.checkpoint.root(), &events[2]);
}
