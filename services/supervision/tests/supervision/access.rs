//! Who sees what: a supervisor sees only their regions, the public view is
//! exactly the public rows, and callers without a supervisor's credential
//! are refused.

use gongkai_proto::v1 as pb;
use gongkai_testkit::store::Backend;
use prost::Message;
use tonic::Code;

use crate::support::{Caller, HARBIN, Harness, P_PPP, P_QIQIHAR, SUPERVISOR_A, SUPERVISOR_B, load, search};

pub(crate) async fn a_supervisor_of_region_a_cannot_see_region_b_and_strangers_are_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    load(&h).await;
    let mut a = h.client(SUPERVISOR_A);
    let mut b = h.client(SUPERVISOR_B);
    assert_eq!(b.codes(search()).await, vec![P_QIQIHAR]);
    assert!(!a.codes(search()).await.contains(&P_QIQIHAR.to_owned()));
    for status in [
        a.get(P_QIQIHAR).await.unwrap_err(),
        a.verify(P_QIQIHAR).await.unwrap_err(),
        a.search(pb::SearchProjectsRequest { region_prefix: "2302".into(), ..search() }).await.unwrap_err(),
        a.search(pb::SearchProjectsRequest { region_prefix: "23".into(), ..search() }).await.unwrap_err(),
        a.client
            .list_flags(a.request(pb::ListFlagsRequest { project_code: P_QIQIHAR.into(), ..Default::default() }))
            .await
            .unwrap_err(),
        a.client
            .get_public_view(a.request(pb::GetPublicViewRequest { project_code: P_QIQIHAR.into() }))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    assert_eq!(a.get("2024-230113-77-01-999999").await.unwrap_err().code(), Code::NotFound);
    let unknown = pb::ListFlagsRequest { project_code: "2024-230113-77-01-999999".into(), ..Default::default() };
    assert_eq!(a.client.list_flags(a.request(unknown)).await.unwrap_err().code(), Code::NotFound);
    let public = a
        .client
        .get_public_view(a.request(pb::GetPublicViewRequest { project_code: P_PPP.into() }))
        .await
        .expect("public view")
        .into_inner();
    let full = a.get(P_PPP).await.expect("full");
    assert_eq!(public.timeline.len(), full.timeline.len());
    assert!(public.timeline.iter().all(|e| e.flags.is_empty() && e.restricted_fields.is_empty()));
    assert_eq!(public.summary.expect("summary").flag_count, 0);
    let stored = h.store.public().public_timeline(P_PPP).await.expect("public rows");
    let stored: Vec<pb::TimelineEntry> =
        stored.iter().map(|b| pb::TimelineEntry::decode(b.as_slice()).expect("entry")).collect();
    assert_eq!(public.timeline, stored, "exactly the public rows");
    assert!(public.as_of_position > 0);
    // No credential, an unknown one, a submitter's.
    let mut anonymous = Caller { client: a.client.clone(), token: String::new() };
    assert_eq!(anonymous.search(search()).await.unwrap_err().code(), Code::Unauthenticated);
    let mut stranger = Caller { client: a.client.clone(), token: "nope".into() };
    assert_eq!(stranger.search(search()).await.unwrap_err().code(), Code::Unauthenticated);
    let mut submitter = h.client(HARBIN);
    assert_eq!(submitter.search(search()).await.unwrap_err().code(), Code::PermissionDenied);
    // Only the auditor lists the audit trail.
    assert_eq!(a.audit(Default::default()).await.unwrap_err().code(), Code::PermissionDenied);
}
