//! gRPC transport security: TLS when a certificate is configured, and
//! plaintext refused anywhere but loopback.

use std::time::Duration;

use gongkai_testkit::fresh_sqlite_url;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::{gongkai_binary, health, start_gongkai};

#[tokio::test]
async fn grpc_speaks_tls_when_a_certificate_is_configured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_pem = certified.cert.pem();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, &cert_pem).expect("cert written");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key written");
    let storage = fresh_sqlite_url(dir.path());
    let (cert, key) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));

    let gongkai = start_gongkai(
        &["dev", "--grpc-listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"],
        &[
            ("GONGKAI_STORAGE__URL", &storage),
            ("GONGKAI_GRPC__TLS__CERT", cert),
            ("GONGKAI_GRPC__TLS__KEY", key),
            ("GONGKAI_GRPC__HEALTH_LISTEN", "127.0.0.1:0"),
        ],
    )
    .await;
    // Probes that cannot speak TLS get health, and only health (reflected
    // for grpcurl), in plaintext.
    let probe = crate::support::channel(gongkai.endpoint("health")).await;
    assert_eq!(health(probe.clone(), "").await, ServingStatus::Serving);
    let mut services =
        tokio::time::timeout(Duration::from_secs(10), crate::support::try_reflected_services(probe.clone()))
            .await
            .expect("answers promptly")
            .expect("the health port reflects health");
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"],
        "the plaintext health port serves nothing else"
    );
    let contract = crate::support::try_reflect(
        probe,
        tonic_reflection::pb::v1::server_reflection_request::MessageRequest::FileContainingSymbol(
            "gongkai.v1.Tenders".to_owned(),
        ),
    )
    .await;
    assert!(
        !matches!(
            contract,
            Ok(tonic_reflection::pb::v1::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
        ),
        "the plaintext health port describes nothing of the contract: {contract:?}"
    );
    let endpoint = gongkai.endpoint("grpc");
    assert!(endpoint.starts_with("https://"), "announced as TLS: {endpoint}");
    let port = endpoint.rsplit(':').next().expect("port");

    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&cert_pem)).domain_name("localhost");
    let secure = Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("uri")
        .tls_config(tls)
        .expect("client TLS")
        .connect()
        .await
        .expect("TLS handshake");
    assert_eq!(health(secure, "").await, ServingStatus::Serving);

    // A plaintext client gets no answer from a TLS port.
    let plaintext = Channel::from_shared(format!("http://127.0.0.1:{port}")).expect("uri").connect_lazy();
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        tonic_health::pb::health_client::HealthClient::new(plaintext)
            .check(tonic_health::pb::HealthCheckRequest { service: String::new() }),
    )
    .await
    .expect("answers promptly");
    assert!(refused.is_err(), "plaintext must not be served on a TLS port");
}

#[tokio::test]
async fn plaintext_grpc_is_refused_off_loopback() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = fresh_sqlite_url(dir.path());
    let output = tokio::process::Command::new(gongkai_binary())
        .args(["dev", "--grpc-listen", "0.0.0.0:0", "--site-listen", "127.0.0.1:0"])
        .env("GONGKAI_STORAGE__URL", &storage)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("gongkai runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plaintext gRPC is allowed on loopback only"), "says why: {stderr}");
}
