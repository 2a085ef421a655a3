//! VerifyProject: an intact chain verifies, and an event altered behind the
//! store's back is found, with the broken link.

use gongkai_proto::v1 as pb;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::Pool;
use gongkai_testkit::store::Backend;
use prost::Message;

use crate::support::{HARBIN, Harness, P_PPP, SUPERVISOR_A};

pub(crate) async fn a_tampered_event_is_detected_by_verify_project(backend: Backend) {
    let h = Harness::start(backend).await;
    h.submit(HARBIN, &ppp_lifecycle(P_PPP, "ppp").requests[..5]).await;
    let mut a = h.client(SUPERVISOR_A);
    let intact = a.verify(P_PPP).await.expect("verifies");
    assert!(intact.ok, "{intact:?}");
    assert_eq!(intact.events_checked, 5);
    assert_eq!(intact.head_seq, 5);
    let summary = a.get(P_PPP).await.expect("project").summary.expect("summary");
    assert_eq!(summary.chain_head_hash, intact.chain_head_hash, "the head the public site shows");

    // Alter event 3 behind the store's back, as the table owner.
    let events = h.store.events().load_stream(P_PPP).await.expect("stream");
    let mut altered = events[2].clone();
    altered.source = "someone-else".into();
    altered.position = 0;
    let bytes = altered.encode_to_vec();
    let update = "UPDATE events SET envelope = $1 WHERE project_code = $2 AND project_seq = 3";
    match h.store.pool() {
        Pool::Postgres(pool) => {
            sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable").execute(pool).await.expect("disable");
            sqlx::query(update).bind(&bytes).bind(P_PPP).execute(pool).await.expect("tampered");
        }
        Pool::Sqlite(pool) => {
            sqlx::query("DROP TRIGGER events_no_update").execute(pool).await.expect("drop trigger");
            sqlx::query(update).bind(&bytes).bind(P_PPP).execute(pool).await.expect("tampered");
        }
    }
    let broken = a.verify(P_PPP).await.expect("verifies");
    assert!(!broken.ok);
    assert_eq!(broken.events_checked, 3);
    let link = broken.first_broken_link.expect("broken link");
    assert_eq!(link.project_seq, 3);
    assert_eq!(link.event_id, events[2].event_id);
    assert_eq!(link.kind(), pb::BrokenLinkKind::HashMismatch);
    assert_eq!(link.actual, events[2].hash);
    assert_ne!(link.expected, link.actual);
}
