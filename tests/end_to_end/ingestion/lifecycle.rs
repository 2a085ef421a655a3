//! The lawful PPP lifecycle accepted with gapless seqs and an intact chain,
//! and many clients writing one project at once.

use std::time::Instant;

use gongkai_domain::hash::verify_chain;
use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, facts, ppp_lifecycle, ts};

use super::{Backend, Ingestion};

pub(crate) async fn full_ppp_lifecycle_is_accepted_with_gapless_seqs_and_an_intact_chain(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000001", "ppp");
    let count = lifecycle.requests.len();
    let started = Instant::now();
    let receipts = gongkai.submit_all(lifecycle.requests).await;
    let elapsed = started.elapsed();
    println!(
        "{backend:?}: {count} lifecycle submissions in {} ms ({:.0}/s, one client, sequential)",
        elapsed.as_millis(),
        count as f64 / elapsed.as_secs_f64()
    );

    for (index, receipt) in receipts.iter().enumerate() {
        assert_eq!(receipt.project_seq, index as u64 + 1, "gapless seqs");
        assert!(receipt.flags.is_empty(), "a lawful lifecycle raises no flag: {:?}", receipt.flags);
        assert!(!receipt.replayed);
    }
    let events = gongkai.store.events().load_stream(&lifecycle.project_code).await.expect("stream loads");
    assert_eq!(events.len(), count);
    assert_eq!(verify_chain(&events), None, "the hash chain is intact");
    assert_eq!(events.last().map(|e| e.hash.clone()), receipts.last().map(|r| r.hash.clone()));
    let counts = gongkai.counts().await;
    assert_eq!((counts.events, counts.outbox, counts.streams), (count as u64, count as u64, 1));
}

pub(crate) async fn concurrent_clients_on_one_project_lose_and_duplicate_nothing(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000006", "conc");
    gongkai.submit_all(lifecycle.requests.iter().take(3).cloned().collect()).await;

    const CLIENTS: usize = 16;
    const EACH: usize = 10;
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let clients = gongkai.harbin.clone();
            let project = lifecycle.project_code.clone();
            let tender = lifecycle.tender_code.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0..EACH {
                    let request = objection(&project, &tender, &format!("conc-{client}-{n}"));
                    acknowledged.push(clients.send(request).await.expect("accepted").event_id);
                }
                acknowledged
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("client task"));
    }
    println!(
        "{backend:?}: {} concurrent submissions to one project in {} ms",
        CLIENTS * EACH,
        started.elapsed().as_millis()
    );

    let events = gongkai.store.events().load_stream(&lifecycle.project_code).await.expect("stream");
    let seqs: Vec<u64> = events.iter().map(|e| e.project_seq).collect();
    assert_eq!(seqs, (1..=(3 + CLIENTS * EACH) as u64).collect::<Vec<_>>(), "gapless");
    for event_id in &acknowledged {
        assert_eq!(events.iter().filter(|e| &e.event_id == event_id).count(), 1, "{event_id} exactly once");
    }
    assert_eq!(verify_chain(&events), None);
}

/// An objection to lot A1: any number of them may follow a tender notice.
fn objection(project: &str, tender: &str, request_id: &str) -> Request {
    let at = chrono::Utc::now() - chrono::Duration::days(1);
    Request::RecordObjection(pb::RecordObjectionRequest {
        request_id: request_id.into(),
        project_code: project.into(),
        occurred_at: Some(ts(at)),
        fact: Some(pb::ObjectionRaised {
            answered_at: None,
            answer: String::new(),
            ..facts::objection_raised(tender, "A1", gongkai_scenarios::org("潜在投标人有限公司", 900), at)
        }),
    })
}
