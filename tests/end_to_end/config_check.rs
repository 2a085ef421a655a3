//! `gongkai config check`: the configuration `serve` would load (file, then
//! environment), checked without connecting to anything, each problem on its
//! own line with the setting's path, and the same verdict as `serve` itself.

use gongkai_tlog::note::Signer;

use crate::support::gongkai_binary;

/// Runs gongkai with `args` and only `env` of the GONGKAI_* variables;
/// returns whether it succeeded, its stdout and its stderr.
async fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(gongkai_binary());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("GONGKAI_")) {
        command.env_remove(name);
    }
    let output = command.args(args).envs(env.iter().copied()).env("RUST_LOG", "warn").output().await.expect("runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test]
async fn a_good_configuration_passes_with_one_summary_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("gongkai.toml");
    std::fs::write(&file, "[log]\nurl = \"kafka://kafka:9092\"\n[projector]\ngroup_id = \"gongkai-projector\"\n")
        .expect("written");
    let signing_key = Signer::from_seed("gongkai.example.cn/log", &[3; 32]).expect("signer").signer_key();
    let env = [
        ("GONGKAI_STORAGE__URL", "postgres://gongkai:secret@db.invalid:5432/gongkai"),
        ("GONGKAI_TLOG__SIGNING_KEY", signing_key.as_str()),
    ];
    let file = file.to_str().expect("UTF-8");
    let (ok, stdout, stderr) = run(&["config", "check", "--config", file, "--target", "projector,tlog"], &env).await;
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("configuration OK for serve --target projector,tlog"), "{stdout}");
    assert!(stdout.contains("storage PostgreSQL") && stdout.contains("log kafka://kafka:9092"), "{stdout}");
    assert!(!stdout.contains("secret") && !stdout.contains("PRIVATE"), "no secret is shown: {stdout}");
}

#[tokio::test]
async fn every_problem_is_a_line_with_its_path_and_the_exit_status_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("gongkai.toml");
    std::fs::write(&file, "[projector]\ngroup = \"gongkai-projector\"\n").expect("written");
    let file = file.to_str().expect("UTF-8");
    let (ok, stdout, _) = run(&["config", "check", "--config", file], &[]).await;
    assert!(!ok);
    assert!(stdout.starts_with("projector.group: unknown field"), "{stdout}");
    assert!(stdout.contains(file), "names the file: {stdout}");

    let missing = dir.path().join("missing.crt");
    let missing = missing.to_str().expect("UTF-8");
    let env = [
        ("GONGKAI_GRPC__LISTEN", "0.0.0.0:50051"),
        ("GONGKAI_GRPC__TLS__CERT", missing),
        ("GONGKAI_GRPC__TLS__KEY", missing),
        ("GONGKAI_LOG__URL", "kafka://"),
    ];
    let (ok, stdout, stderr) = run(&["config", "check", "--target", "tlog,site"], &env).await;
    assert!(!ok);
    let paths: Vec<&str> = stdout.lines().map(|line| line.split(':').next().unwrap_or_default()).collect();
    assert_eq!(paths, ["log.url", "grpc.tls.cert", "grpc.tls.key", "tlog.signing_key"], "{stdout}");
    assert!(stderr.contains("4 configuration problem(s)"), "{stderr}");
}

#[tokio::test]
async fn serve_refuses_what_the_check_refuses_before_connecting() {
    // The storage is unreachable: a start that got as far as connecting
    // would fail on that instead.
    let env = [("GONGKAI_STORAGE__URL", "postgres://gongkai@127.0.0.1:1/gongkai"), ("GONGKAI_LOG__URL", "amqp://x")];
    let (ok, check, _) = run(&["config", "check", "--target", "tlog"], &env).await;
    assert!(!ok);
    let (started, _, stderr) = run(&["serve", "--target", "tlog"], &env).await;
    assert!(!started);
    for line in check.lines() {
        assert!(stderr.contains(line), "serve says {line:?} too: {stderr}");
    }
    assert!(!stderr.contains("connect"), "refused before connecting: {stderr}");
}

#[tokio::test]
async fn the_witness_check_asks_for_what_witness_serve_needs() {
    let (ok, stdout, _) = run(&["config", "check", "--witness"], &[]).await;
    assert!(!ok);
    let paths: Vec<&str> = stdout.lines().map(|line| line.split(':').next().unwrap_or_default()).collect();
    assert_eq!(paths, ["witness.signing_key", "witness.logs"], "{stdout}");
}
