//! Server reflection: each process lists the services it runs and nothing
//! else, and a client decodes the `google.rpc` details of a refusal (the
//! field violations of a `google.rpc.BadRequest`) by reflection alone, the
//! real grpcurl included.

use std::collections::BTreeMap;
use std::time::Duration;

use gongkai_testkit::fresh_sqlite_url;
use prost::Message as _;
use prost_reflect::DescriptorPool;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::support::{Embedded, channel, gongkai_binary, reflected_services, start_gongkai, try_reflect};

/// What every process serves besides its targets' services.
const ALWAYS: [&str; 3] =
    ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/// The answer to one v1 reflection request.
async fn reflect(channel: &Channel, request: MessageRequest) -> MessageResponse {
    let asked = format!("{request:?}");
    try_reflect(channel.clone(), request).await.unwrap_or_else(|status| panic!("reflection of {asked}: {status}"))
}

/// The files a reflection answer carries, decoded.
fn files(response: MessageResponse) -> Vec<FileDescriptorProto> {
    match response {
        MessageResponse::FileDescriptorResponse(files) => files
            .file_descriptor_proto
            .iter()
            .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).expect("a file descriptor"))
            .collect(),
        other => panic!("expected file descriptors, got {other:?}"),
    }
}

/// The descriptors of `symbol` as a reflection client builds them: the file
/// that defines it, then each import by file name, until none is missing.
async fn resolve(channel: &Channel, symbol: &str) -> DescriptorPool {
    let mut resolved: BTreeMap<String, FileDescriptorProto> = BTreeMap::new();
    let mut pending = files(reflect(channel, MessageRequest::FileContainingSymbol(symbol.to_owned())).await);
    while let Some(file) = pending.pop() {
        for import in &file.dependency {
            if !resolved.contains_key(import) {
                pending.extend(files(reflect(channel, MessageRequest::FileByFilename(import.clone())).await));
            }
        }
        resolved.insert(file.name().to_owned(), file);
    }
    DescriptorPool::from_file_descriptor_set(FileDescriptorSet { file: resolved.into_values().collect() })
        .unwrap_or_else(|error| panic!("the files of {symbol} make a descriptor pool: {error}"))
}

/// The service names listed through v1alpha reflection.
async fn reflected_services_v1alpha(channel: Channel) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::{ServerReflectionRequest, ServerReflectionResponse};

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("v1alpha reflection answers")
        .into_inner();
    match responses.next().await.expect("one response").expect("a listing") {
        ServerReflectionResponse { message_response: Some(MessageResponse::ListServicesResponse(list)), .. } => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected v1alpha reflection response: {other:?}"),
    }
}

/// A supervision-only process once listed ProjectService too: now each
/// process lists (v1 and v1alpha alike) exactly its targets' services,
/// health and reflection, each of which resolves; and every one resolves
/// `google.rpc.Status` and `google.rpc.BadRequest`, imports included.
#[tokio::test]
async fn each_process_lists_what_it_serves_and_resolves_the_error_details() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = fresh_sqlite_url(dir.path());
    let migrated = tokio::process::Command::new(gongkai_binary())
        .arg("migrate")
        .env("GONGKAI_STORAGE__URL", &storage)
        .env("RUST_LOG", "warn")
        .status()
        .await
        .expect("gongkai migrate runs");
    assert!(migrated.success());

    for (targets, contract) in [
        ("supervision", &["gongkai.v1.SupervisionService"][..]),
        ("projects,tenders", &["gongkai.v1.ProjectService", "gongkai.v1.TenderService"]),
        ("site", &[]),
    ] {
        let gongkai = start_gongkai(
            &["serve", "--target", targets],
            &[
                ("GONGKAI_STORAGE__URL", &storage),
                ("GONGKAI_GRPC__LISTEN", "127.0.0.1:0"),
                ("GONGKAI_SITE__LISTEN", "127.0.0.1:0"),
            ],
        )
        .await;
        let grpc = channel(gongkai.endpoint("grpc")).await;
        let mut expected: Vec<&str> = contract.iter().chain(&ALWAYS).copied().collect();
        expected.sort_unstable();
        let mut listed = reflected_services(grpc.clone()).await;
        listed.sort_unstable();
        assert_eq!(listed, expected, "`serve --target {targets}` lists by reflection (v1) what it serves");
        let mut listed_v1alpha = reflected_services_v1alpha(grpc.clone()).await;
        listed_v1alpha.sort_unstable();
        assert_eq!(listed_v1alpha, expected, "`serve --target {targets}` lists the same by v1alpha");
        for service in &listed {
            let pool = resolve(&grpc, service).await;
            assert!(pool.get_service_by_name(service).is_some(), "{targets}: {service} resolves");
        }

        let pool = resolve(&grpc, "google.rpc.Status").await;
        let status = pool.get_message_by_name("google.rpc.Status").expect("google.rpc.Status resolves");
        assert_eq!(status.parent_file().name(), "google/rpc/status.proto");
        assert!(status.get_field_by_name("details").is_some_and(|f| f.is_list()), "{targets}: Status.details");
        let pool = resolve(&grpc, "google.rpc.BadRequest").await;
        let violation = pool
            .get_message_by_name("google.rpc.BadRequest.FieldViolation")
            .expect("google.rpc.BadRequest resolves with its field violations");
        assert_eq!(violation.parent_file().name(), "google/rpc/error_details.proto");
        for field in ["field", "description"] {
            assert!(violation.get_field_by_name(field).is_some(), "{targets}: FieldViolation.{field}");
        }
        assert!(gongkai.terminate(Duration::from_secs(20)).await.success(), "{targets} drains");
    }
}

/// The real grpcurl, with nothing but reflection (no proto files), shows
/// the field violations of a refused call instead of `google.rpc.BadRequest
/// is not recognized`.
#[tokio::test]
async fn grpcurl_shows_field_violations_by_reflection_alone() {
    let grpcurl = gongkai_testkit::tools::grpcurl();
    let embedded = Embedded::start().await;
    let address = embedded.gongkai.endpoint("grpc").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let token = embedded.gongkai.endpoint("token").to_owned();
    // A request with its idempotency key only: no project code, no fact.
    let output = tokio::process::Command::new(&grpcurl)
        .args(["-plaintext", "-max-time", "20", "-format-error"])
        .args(["-H", &format!("authorization: Bearer {token}")])
        .args(["-d", r#"{"request_id": "grpcurl-1"}"#])
        .args([address.as_str(), "gongkai.v1.ProjectService/RecordApproval"])
        .output()
        .await
        .unwrap_or_else(|error| panic!("cannot run {}: {error}; run scripts/tools/grpcurl.sh", grpcurl.display()));
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let said = format!("grpcurl exited {}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    assert!(!output.status.success(), "the call is refused: {said}");
    assert!(!said.contains("not recognized"), "{said}");

    // `-format-error` prints the status as JSON, its details decoded.
    let json = said.find('{').and_then(|start| said.rfind('}').map(|end| &said[start..=end])).expect(&said);
    let status: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|error| panic!("{error}: {said}"));
    assert_eq!(status["code"], 3, "INVALID_ARGUMENT: {said}");
    let details = status["details"].as_array().expect(&said);
    let bad_request = details
        .iter()
        .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .unwrap_or_else(|| panic!("a BadRequest among the details: {said}"));
    let fields: Vec<&str> = bad_request["fieldViolations"]
        .as_array()
        .unwrap_or_else(|| panic!("field violations: {said}"))
        .iter()
        .map(|violation| {
            assert!(violation["description"].as_str().is_some_and(|d| !d.is_empty()), "{said}");
            violation["field"].as_str().expect("a field path")
        })
        .collect();
    for field in ["project_code", "fact"] {
        assert!(fields.contains(&field), "{field} among the violations {fields:?}: {said}");
    }
}
