//! WatchEvents: a stream resumes after a disconnect without gaps or
//! duplicates, within the caller's regions.

use std::time::Duration;

use gongkai_proto::v1 as pb;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_testkit::store::Backend;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::{HARBIN, Harness, P_PPP, P_QIQIHAR, QIQIHAR, SUPERVISOR_A, approval};

pub(crate) async fn a_stream_resumes_after_disconnect_without_gaps_or_duplicates(backend: Backend) {
    let h = Harness::start(backend).await;
    let requests = ppp_lifecycle(P_PPP, "ppp").requests;
    h.submit(HARBIN, &requests[..6]).await;
    h.submit(QIQIHAR, &[approval(P_QIQIHAR, "road", "230202", "齐齐哈尔市道路工程", ("龙沙区住建局", 600))]).await;
    let a = h.client(SUPERVISOR_A);
    let mut client = a.client.clone();
    let mut stream =
        client.watch_events(a.request(pb::WatchEventsRequest::default())).await.expect("stream opens").into_inner();
    let mut received = Vec::new();
    for _ in 0..4 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("in time");
        received.push(event.expect("an event").expect("ok"));
    }
    drop(stream); // The client goes away.
    // More events while disconnected, and live ones after resuming.
    h.submit(HARBIN, &requests[6..10]).await;
    let resume_from = received.last().expect("some").position;
    let mut stream = client
        .watch_events(a.request(pb::WatchEventsRequest { after_position: resume_from, ..Default::default() }))
        .await
        .expect("stream resumes")
        .into_inner();
    let live = requests[10..12].to_vec();
    let submitting = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.submit(HARBIN, &live).await;
    };
    let receiving = async {
        while received.len() < 12 {
            let event = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("in time");
            received.push(event.expect("an event").expect("ok"));
        }
    };
    tokio::join!(submitting, receiving);
    let seqs: Vec<u64> = received.iter().map(|e| e.project_seq).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>(), "every Harbin event once, in order; none of Qiqihar's");
    assert!(received.iter().all(|e| e.subject == P_PPP && !e.hash.is_empty() && e.body.is_some()), "full envelopes");
    // Nothing else arrives: Qiqihar's event is outside the caller's regions.
    assert!(tokio::time::timeout(Duration::from_millis(300), stream.next()).await.is_err());
    let status = client
        .watch_events(a.request(pb::WatchEventsRequest { region_prefix: "2302".into(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
