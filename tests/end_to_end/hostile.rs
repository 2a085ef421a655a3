//! No submission, byte or connection can stop gongkai: undecodable and
//! oversize requests get the contract's codes, a request with a hundred bad
//! lots gets an answer a standard client can read, a handler's INTERNAL
//! stays INTERNAL, and connections beyond `grpc.max_connections` wait for a
//! free one while silent ones are let go. The gongkai binary, real sockets.

use std::time::Duration;

use gongkai_proto::v1 as pb;
use gongkai_proto::v1::tender_service_client::TenderServiceClient;
use gongkai_scenarios::{Request, ppp_lifecycle};
use gongkai_testkit::RawCodec as Raw;
use prost::Message;
use tokio::io::AsyncReadExt;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

use crate::ingestion::{Backend, HARBIN_TOKEN, Ingestion};
use crate::support::health;

const ANNOUNCE_TENDER: &str = "/gongkai.v1.TenderService/AnnounceTender";
const PROJECT: &str = "2024-230113-77-01-000001";

/// An AnnounceTender call whose request message is `body`, as Harbin.
async fn announce_raw(channel: Channel, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    let mut request = tonic::Request::new(body);
    request.metadata_mut().insert("authorization", format!("Bearer {HARBIN_TOKEN}").parse().expect("ascii"));
    grpc.unary(request, PathAndQuery::from_static(ANNOUNCE_TENDER), Raw).await.map(tonic::Response::into_inner)
}

/// The lawful lifecycle's tender notice, which passes validation, with `lots`.
fn tender(lots: Vec<pb::Lot>) -> pb::AnnounceTenderRequest {
    let mut request = ppp_lifecycle(PROJECT, "hostile")
        .requests
        .into_iter()
        .find_map(|request| match request {
            Request::AnnounceTender(request) => Some(request),
            _ => None,
        })
        .expect("the lifecycle announces a tender");
    request.fact.as_mut().expect("a fact").lots = lots;
    request
}

fn lot(code: &str, ceiling_price_fen: i64, estimated_value_fen: i64) -> pb::Lot {
    pb::Lot {
        lot_code: code.into(),
        name: "道路改造工程".into(),
        ceiling_price_fen: Some(ceiling_price_fen),
        estimated_value_fen,
        description: "道路改造".into(),
        planned_contract_period: None,
    }
}

#[tokio::test]
async fn undecodable_and_oversize_requests_get_the_contracts_codes() {
    let max = 64 * 1024;
    let gongkai =
        Ingestion::start_with(Backend::Sqlite, "tenders", &[("GONGKAI_GRPC__MAX_MESSAGE_BYTES", &max.to_string())])
            .await;
    let channel = crate::support::channel(gongkai.process.endpoint("grpc")).await;
    // Field 1 with wire type 7, which protobuf does not have.
    let not_protobuf = vec![0x0f, 0xff, 0xff, 0x00];
    // request_id (field 1, a string) holding bytes that are not UTF-8.
    let not_utf8 = vec![0x0a, 0x02, 0xff, 0xfe];
    // A well-formed request, one byte longer than the limit.
    let mut oversize = tender(vec![lot("A1", 1_000, 900)]);
    oversize.request_id = "x".repeat(max);
    let oversize = oversize.encode_to_vec();
    assert!(oversize.len() > max);

    for (label, body, code) in [
        ("not protobuf", not_protobuf, Code::InvalidArgument),
        ("not UTF-8", not_utf8, Code::InvalidArgument),
        ("over grpc.max_message_bytes", oversize, Code::ResourceExhausted),
    ] {
        let status = announce_raw(channel.clone(), body).await.expect_err(label);
        assert_eq!(status.code(), code, "{label}: {status:?}");
    }
    assert_eq!(gongkai.counts().await.events, 0, "nothing was written");
}

#[tokio::test]
async fn a_hundred_invalid_lots_fit_in_a_standard_clients_trailers() {
    let gongkai = Ingestion::start_with(Backend::Sqlite, "tenders", &[]).await;
    // grpc-java's default header-list limit (gRPC core starts refusing there too).
    let channel = Endpoint::from_shared(gongkai.process.endpoint("grpc").to_owned())
        .expect("uri")
        .http2_max_header_list_size(8 * 1024)
        .connect()
        .await
        .expect("connects");
    // Two bad amounts on each lot: 200 violations, each with a Chinese description.
    let lots = (0..100).map(|i| lot(&format!("L{i}"), -1, -1)).collect();
    let mut request = tonic::Request::new(tender(lots));
    request.metadata_mut().insert("authorization", format!("Bearer {HARBIN_TOKEN}").parse().expect("ascii"));
    let status = TenderServiceClient::new(channel).announce_tender(request).await.expect_err("invalid");

    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    // Re-encoded exactly as the server sent them.
    let mut headers = tonic::codegen::http::HeaderMap::new();
    status.add_header(&mut headers).expect("encodes");
    let trailer_bytes: usize = ["grpc-message", "grpc-status-details-bin"]
        .iter()
        .map(|name| headers.get(*name).map_or(0, |value| name.len() + value.len()))
        .sum();
    assert!(trailer_bytes < 8 * 1024, "{trailer_bytes} bytes of grpc-message and grpc-status-details-bin");

    let violations = status.get_details_bad_request().expect("BadRequest").field_violations;
    let (last, listed) = violations.split_last().expect("violations");
    assert!(listed.len() >= 10, "the first violations are listed in full: {listed:?}");
    for (i, violation) in listed.iter().enumerate() {
        let expected = format!("fact.lots[{}].{}", i / 2, ["ceiling_price_fen", "estimated_value_fen"][i % 2]);
        assert_eq!(violation.field, expected);
        assert!(!violation.description.is_empty());
    }
    let more: usize = last
        .description
        .split_whitespace()
        .find_map(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("the last violation counts the others: {last:?}"));
    assert_eq!(last.field, "", "the count is about the request as a whole");
    assert_eq!(listed.len() + more, 200, "{last:?}");
    assert!(status.message().starts_with("invalid field(s): fact.lots[0].ceiling_price_fen"), "{}", status.message());
    assert!(status.message().ends_with(" more"), "{}", status.message());
    assert_eq!(gongkai.counts().await.events, 0, "nothing was written");
}

#[tokio::test]
async fn a_corrupt_stored_event_is_internal_not_unavailable() {
    let gongkai = Ingestion::start_with(Backend::Sqlite, "tenders", &[]).await;
    // A row of the project's stream that this build cannot read.
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&gongkai.storage).await.expect("sqlite");
    sqlx::query(
        "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id, \
         request_digest, occurred_at, recorded_at, prev_hash, hash, envelope) VALUES ('corrupt', ?1, 1, \
         'gongkai.v1.ProjectApproved', 'projects', 'hrb-ggzy', 'corrupt', zeroblob(32), '2024-06-01T00:00:00Z', \
         '2024-06-01T00:00:00Z', x'', zeroblob(32), x'0fffff')",
    )
    .bind(PROJECT)
    .execute(&mut db)
    .await
    .expect("corrupt row inserted");

    let body = tender(vec![lot("A1", 1_000, 900)]).encode_to_vec();
    let channel = crate::support::channel(gongkai.process.endpoint("grpc")).await;
    let status = announce_raw(channel, body).await.expect_err("refused");
    // The handler's own INTERNAL: not taken for a decoding failure, not
    // reported as a store that might come back.
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(!status.message().contains("position"), "internal detail stays in the log: {}", status.message());
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_and_silent_ones_are_let_go() {
    let gongkai = Ingestion::start_with(
        Backend::Sqlite,
        "tenders",
        &[("GONGKAI_GRPC__MAX_CONNECTIONS", "2"), ("GONGKAI_GRPC__HANDSHAKE_TIMEOUT_SECS", "3")],
    )
    .await;
    let endpoint = gongkai.process.endpoint("grpc").to_owned();
    let address = endpoint.trim_start_matches("http://").to_owned();
    // The harness's own client holds the first connection (any answer, here
    // a validation refusal, shows it is served).
    let first_is_served = || async {
        let refused = gongkai.harbin.send(Request::AnnounceTender(tender(Vec::new()))).await.expect_err("no lots");
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    };
    first_is_served().await;
    // A connection that never says anything takes the second.
    let mut silent = tokio::net::TcpStream::connect(&address).await.expect("TCP connects");
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A third client waits: its connection is not served while both are held.
    let third = Endpoint::from_shared(endpoint).expect("uri").connect_lazy();
    let waited = tokio::time::timeout(Duration::from_secs(1), health(third.clone(), "")).await;
    assert!(waited.is_err(), "served beyond grpc.max_connections");

    // The silent connection is closed at its handshake timeout, which frees
    // the second place for the waiting client.
    // (The server speaks first, its SETTINGS; then it hangs up.)
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0u8; 256];
        while silent.read(&mut buffer).await.is_ok_and(|read| read > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "the silent connection is closed");
    let served = tokio::time::timeout(Duration::from_secs(10), health(third, "")).await;
    assert!(served.is_ok(), "the waiting client is served once a connection is free");
    // The first connection was never disturbed.
    first_is_served().await;
}
