//! The audit trail: every call is recorded, ListAuditRecords filters and
//! pages it (and is audited itself), and calls refused before their handler
//! (undecodable, oversize, unauthenticated, timed out) are recorded too.

use std::time::Duration;

use gongkai_grpc::ConnectionLimits;
use gongkai_proto::v1 as pb;
use gongkai_testkit::RawCodec as Raw;
use gongkai_testkit::store::Backend;
use prost::Message;
use tonic::Code;

use crate::support::{AUDITOR, HARBIN, Harness, P_PPP, P_QIQIHAR, SUPERVISOR_A, SUPERVISOR_B, load, search, token};

pub(crate) async fn every_call_is_in_the_audit_trail(backend: Backend) {
    let h = Harness::start(backend).await;
    load(&h).await;
    let mut a = h.client(SUPERVISOR_A);
    a.get(P_PPP).await.expect("project");
    a.get(P_QIQIHAR).await.unwrap_err();
    a.verify(P_PPP).await.expect("verified");
    a.search(pb::SearchProjectsRequest { text: "污水".into(), ..search() }).await.expect("searched");
    a.flags(Default::default()).await;
    let mut client = a.client.clone();
    let stream = client.watch_events(a.request(pb::WatchEventsRequest::default())).await.expect("stream");
    drop(stream);
    let mut submitter = h.client(HARBIN);
    submitter.search(search()).await.unwrap_err();
    let mut auditor = h.client(AUDITOR);
    let records = auditor.audit(Default::default()).await.expect("audit trail").records;
    let methods: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r.principal.as_str(),
                r.method.trim_start_matches("/gongkai.v1.SupervisionService/"),
                r.status_code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        methods,
        vec![
            (HARBIN, "SearchProjects", "PERMISSION_DENIED"),
            (SUPERVISOR_A, "WatchEvents", "OK"),
            (SUPERVISOR_A, "ListFlags", "OK"),
            (SUPERVISOR_A, "SearchProjects", "OK"),
            (SUPERVISOR_A, "VerifyProject", "OK"),
            (SUPERVISOR_A, "GetProject", "PERMISSION_DENIED"),
            (SUPERVISOR_A, "GetProject", "OK"),
        ],
        "newest first"
    );
    let search_record = &records[3];
    let arguments: serde_json::Value = serde_json::from_str(&search_record.arguments_json).expect("JSON");
    assert_eq!(arguments["text"], "污水");
    assert!(search_record.result_count >= 2);
    assert!(records.iter().all(|r| r.called_at.is_some() && !r.audit_id.is_empty()));
    // "Who looked at project X", and paging.
    let who = auditor
        .audit(pb::ListAuditRecordsRequest { project_code: P_QIQIHAR.into(), ..Default::default() })
        .await
        .expect("filtered")
        .records;
    assert_eq!(who.len(), 1);
    assert_eq!(who[0].principal, SUPERVISOR_A);
    let page1 = auditor.audit(pb::ListAuditRecordsRequest { page_size: 4, ..Default::default() }).await.expect("page");
    let page2 = auditor
        .audit(pb::ListAuditRecordsRequest { page_size: 4, page_token: page1.next_page_token, ..Default::default() })
        .await
        .expect("page");
    // The listing calls are themselves audited: page 1 sees the three listings before it.
    let all: Vec<String> = page1.records.iter().chain(&page2.records).map(|r| r.audit_id.clone()).collect();
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no repeats across pages");
    assert!(all.len() >= 8);
    let listing = auditor
        .audit(pb::ListAuditRecordsRequest {
            method: "/gongkai.v1.SupervisionService/ListAuditRecords".into(),
            ..Default::default()
        })
        .await
        .expect("listings");
    assert!(listing.records.len() >= 4, "ListAuditRecords is audited too");
}

const GET_PROJECT: &str = "/gongkai.v1.SupervisionService/GetProject";

/// A GetProject call whose request message is `body`, by `caller` (`None`:
/// no credential); returns the status code.
async fn raw_get_project(h: &Harness, caller: Option<&str>, body: Vec<u8>) -> Code {
    let mut grpc = tonic::client::Grpc::new(h.channel.clone());
    grpc.ready().await.expect("channel ready");
    let mut request = tonic::Request::new(body);
    if let Some(id) = caller {
        request.metadata_mut().insert("authorization", format!("Bearer {}", token(id)).parse().expect("ascii"));
    }
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(GET_PROJECT);
    grpc.unary(request, path, Raw).await.expect_err("refused").code()
}

pub(crate) async fn calls_refused_before_their_handler_are_audited(backend: Backend) {
    let limits = ConnectionLimits { request_timeout: Some(Duration::from_secs(2)), ..ConnectionLimits::default() };
    let h = Harness::start_with(backend, limits).await;
    let valid = pb::GetProjectRequest { project_code: P_PPP.into(), include_events: false }.encode_to_vec();
    // A known supervisor whose bytes are not a GetProjectRequest: a field
    // with wire type 7, a project_code that is not UTF-8, one byte too many.
    let not_protobuf = vec![0x0f, 0xff, 0xff];
    let not_utf8 = vec![0x0a, 0x02, 0xff, 0xfe];
    let oversize = vec![0u8; gongkai_grpc::DEFAULT_MAX_MESSAGE_BYTES + 1];
    assert_eq!(raw_get_project(&h, Some(SUPERVISOR_A), not_protobuf).await, Code::InvalidArgument);
    assert_eq!(raw_get_project(&h, Some(SUPERVISOR_A), not_utf8).await, Code::InvalidArgument);
    assert_eq!(raw_get_project(&h, Some(SUPERVISOR_A), oversize).await, Code::ResourceExhausted);
    // An unknown credential, and none.
    assert_eq!(raw_get_project(&h, Some("stranger"), valid.clone()).await, Code::Unauthenticated);
    assert_eq!(raw_get_project(&h, None, valid).await, Code::Unauthenticated);
    // A request that never finishes arriving: dropped when its time is up.
    let mut grpc = tonic::client::Grpc::new(h.channel.clone());
    grpc.ready().await.expect("channel ready");
    let mut request = tonic::Request::new(tokio_stream::pending::<Vec<u8>>());
    request.metadata_mut().insert("authorization", format!("Bearer {}", token(SUPERVISOR_B)).parse().expect("ascii"));
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(GET_PROJECT);
    let status = grpc.streaming(request, path, Raw).await.expect_err("timed out");
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");

    // The dropped call is recorded by a task of its own, just after.
    let undecoded = r#"{"@undecoded":true}"#;
    let expected = vec![
        (SUPERVISOR_A, "supervisor", "INVALID_ARGUMENT", undecoded),
        (SUPERVISOR_A, "supervisor", "INVALID_ARGUMENT", undecoded),
        (SUPERVISOR_A, "supervisor", "RESOURCE_EXHAUSTED", undecoded),
        ("", "", "UNAUTHENTICATED", undecoded),
        ("", "", "UNAUTHENTICATED", undecoded),
        (SUPERVISOR_B, "supervisor", "CANCELLED", undecoded),
    ];
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = h
            .store
            .supervision()
            .list_audit(&gongkai_store::AuditQuery::default(), None, 100)
            .await
            .expect("audit rows");
        if rows.len() >= expected.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rows.reverse();
    let recorded: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r.principal.as_str(), r.role.as_str(), r.status_code.as_str(), r.arguments_json.as_str()))
        .collect();
    assert_eq!(recorded, expected, "oldest first");
    assert!(rows.iter().all(|r| r.method == GET_PROJECT && r.project_code.is_empty()));
}
