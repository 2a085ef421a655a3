//! The witness over real sockets: it cosigns a growing log and remembers it
//! across a restart; it refuses forks, rollbacks, forged proofs, strangers'
//! signatures and unknown logs with the statuses of c2sp.org/tlog-witness,
//! none of which moves what it remembers; garbage, oversize and slow bodies
//! get a clear HTTP error and the witness serves on; concurrent requests
//! move a log's head once.

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

use gongkai_site::ServerLimits;
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::cosignature::Cosigner;
use gongkai_tlog::merkle::{Hash, consistency_proof, leaf_hash, stored_hashes, tree_hash};
use gongkai_tlog::note::{Note, Signer, Verifier};
use gongkai_tlog::witness::{parse_cosignatures, parse_size_body};
use gongkai_tlog::{AddCheckpointRequest, TreeHead};
use gongkai_witness::{MAX_BODY_BYTES, WitnessError, WitnessServer, WitnessSettings};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const ORIGIN: &str = "gongkai.test/log";

fn log_signer() -> Signer {
    Signer::from_seed(ORIGIN, &[9; 32]).unwrap()
}

fn cosigner() -> Cosigner {
    Cosigner::from_seed("witness.test/w1", &[21; 32]).unwrap()
}

/// A log as a dense store of its hashes: forks differ by `salt`.
struct Log {
    signer: Signer,
    store: Vec<Hash>,
    size: u64,
    salt: u64,
}

impl Log {
    fn new(salt: u64) -> Self {
        Self { signer: log_signer(), store: Vec::new(), size: 0, salt }
    }

    fn grown(salt: u64, size: u64) -> Self {
        let mut log = Self::new(salt);
        log.grow(size);
        log
    }

    fn grow(&mut self, to: u64) {
        while self.size < to {
            let leaf = leaf_hash(&(self.size + self.salt).to_be_bytes());
            let new = stored_hashes(self.size, &leaf, &self.store).unwrap();
            self.store.extend(new.into_iter().map(|(_, hash)| hash));
            self.size += 1;
        }
    }

    fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint::new(ORIGIN, size, tree_hash(size, &self.store).unwrap()).unwrap()
    }

    fn note(&self, size: u64) -> Note {
        self.checkpoint(size).sign(&self.signer).unwrap()
    }

    fn body(&self, old: u64, size: u64) -> Vec<u8> {
        let proof = consistency_proof(old, size, &self.store).unwrap();
        AddCheckpointRequest::new(old, proof, self.note(size)).unwrap().to_bytes()
    }
}

/// A witness serving on a loopback port until dropped.
struct Running {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), WitnessError>>,
    server: WitnessServer,
}

impl Running {
    async fn start(state: &Path) -> Self {
        let server = WitnessServer::open(settings(state)).expect("the witness opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.clone().serve(listener, async {
            let _ = stopped.await;
        }));
        Self { url, stop: Some(stop), task, server }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Running { task, server, .. } = self;
        drop(server);
        task.await.unwrap().expect("the witness stops cleanly");
    }

    async fn post(&self, body: Vec<u8>) -> (u16, String, String) {
        let response = reqwest::Client::new()
            .post(format!("{}/add-checkpoint", self.url))
            .body(body)
            .send()
            .await
            .expect("the witness answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }

    async fn latest(&self) -> Option<TreeHead> {
        self.server.latest(ORIGIN).await
    }
}

fn settings(state: &Path) -> WitnessSettings {
    WitnessSettings {
        cosigner: cosigner(),
        logs: vec![log_signer().verifier()],
        state_file: state.to_owned(),
        limits: ServerLimits {
            header_read_timeout: Some(Duration::from_secs(1)),
            idle_timeout: Some(Duration::from_secs(5)),
            max_connections: NonZeroUsize::new(64).unwrap(),
        },
        body_timeout: Duration::from_secs(1),
    }
}

/// The cosignature in a 200's body, verified over `checkpoint`.
fn assert_cosigned(body: &str, checkpoint: &Checkpoint) {
    let lines = parse_cosignatures(body.as_bytes()).expect("signature lines");
    assert_eq!(lines.len(), 1);
    cosigner().verifier().verify(&checkpoint.to_text(), &lines[0]).expect("a valid cosignature");
}

fn state_file_head(path: &Path) -> (u64, String) {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let head = &json["logs"][ORIGIN];
    (head["size"].as_u64().unwrap(), head["root"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn cosigns_a_growing_log_and_remembers_it_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let witness = Running::start(&state).await;
    let mut log = Log::new(0);
    let mut old = 0;
    for size in [0, 10, 25, 25, 256, 300] {
        log.grow(size);
        let (status, content_type, body) = witness.post(log.body(old, size)).await;
        assert_eq!(status, 200, "{old} -> {size}: {body}");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert_cosigned(&body, &log.checkpoint(size));
        assert_eq!(witness.latest().await, Some(TreeHead::of(&log.checkpoint(size))));
        let root = gongkai_tlog::merkle::hash_to_base64(log.checkpoint(size).root());
        assert_eq!(state_file_head(&state), (size, root), "on disk before the answer");
        old = size;
    }
    witness.stop().await;
    assert!(!dir.path().join("state.json.tmp").exists());

    // Restarted on the same file, it remembers: old 0 is a conflict.
    let witness = Running::start(&state).await;
    log.grow(310);
    let (status, content_type, body) = witness.post(log.body(0, 310)).await;
    assert_eq!((status, content_type.as_str()), (409, "text/x.tlog.size"));
    assert_eq!(parse_size_body(body.as_bytes()).unwrap(), 300);
    let (status, _, body) = witness.post(log.body(300, 310)).await;
    assert_eq!(status, 200, "{body}");
    witness.stop().await;
}

#[tokio::test]
async fn forks_rollbacks_forgeries_and_strangers_are_refused_and_move_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let witness = Running::start(&dir.path().join("state.json")).await;
    let log = Log::grown(0, 40);
    assert_eq!(witness.post(log.body(0, 10)).await.0, 200);
    let cosigned = witness.latest().await;

    // The wrong old size: 409 with the size it holds, as text/x.tlog.size.
    for old in [0, 5, 9, 11] {
        let (status, content_type, body) = witness.post(log.body(old, 20)).await;
        assert_eq!((status, content_type.as_str(), body.as_str()), (409, "text/x.tlog.size", "10\n"), "old {old}");
    }
    // A fork: another tree of the same size, or a larger tree that does
    // not extend it (its own proof, from its own tree of 10).
    let fork = Log::grown(1_000, 40);
    let (status, _, body) = witness.post(fork.body(10, 10)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(witness.post(fork.body(10, 30)).await.0, 422);
    // A forged proof: one hash of an honest proof changed.
    let mut proof = consistency_proof(10, 30, &log.store).unwrap();
    proof[0][0] ^= 1;
    let forged = AddCheckpointRequest::new(10, proof, log.note(30)).unwrap();
    assert_eq!(witness.post(forged.to_bytes()).await.0, 422);
    // No proof at all, and a proof for other sizes.
    let bare = AddCheckpointRequest::new(10, vec![], log.note(30)).unwrap();
    assert_eq!(witness.post(bare.to_bytes()).await.0, 422);
    let other = AddCheckpointRequest::new(10, consistency_proof(10, 31, &log.store).unwrap(), log.note(30)).unwrap();
    assert_eq!(witness.post(other.to_bytes()).await.0, 422);
    // A rollback: old above the checkpoint's size.
    let rollback = AddCheckpointRequest::new(10, vec![], log.note(5)).unwrap();
    assert_eq!(witness.post(rollback.to_bytes()).await.0, 400);
    // Signed by another key under the log's name: 403; by the log's key
    // with a signature that does not verify: 403; another log: 404.
    let impostor = Signer::from_seed(ORIGIN, &[66; 32]).unwrap();
    let strange = AddCheckpointRequest::new(10, vec![], log.checkpoint(10).sign(&impostor).unwrap()).unwrap();
    assert_eq!(witness.post(strange.to_bytes()).await.0, 403);
    let mut broken = String::from_utf8(log.body(10, 30)).unwrap();
    let at = broken.rfind(' ').unwrap() + 12;
    let replaced = if &broken[at..=at] == "A" { "B" } else { "A" };
    broken.replace_range(at..=at, replaced);
    assert_eq!(witness.post(broken.into_bytes()).await.0, 403);
    let elsewhere_key = Signer::from_seed("elsewhere.test/log", &[9; 32]).unwrap();
    let elsewhere = Checkpoint::new("elsewhere.test/log", 3, [1; 32]).unwrap().sign(&elsewhere_key).unwrap();
    let (status, _, body) = witness.post(AddCheckpointRequest::new(0, vec![], elsewhere).unwrap().to_bytes()).await;
    assert_eq!(status, 404, "{body}");

    // None of it moved the head; the honest log goes on.
    assert_eq!(witness.latest().await, cosigned);
    let (status, _, body) = witness.post(log.body(10, 40)).await;
    assert_eq!(status, 200, "{body}");
    witness.stop().await;
}

/// Sends `head` and `body` on a raw connection and reads until the server
/// answers or closes: the status line, if any.
async fn raw(url: &str, head: &str, body: &[u8], then_wait: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(then_wait, async {
        let mut buffer = [0; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the witness neither answered nor closed within {then_wait:?}");
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines().next().map(str::to_owned)
}

#[tokio::test]
async fn hostile_bodies_get_clear_errors_and_the_witness_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let witness = Running::start(&dir.path().join("state.json")).await;
    let log = Log::grown(0, 20);

    // Garbage of every kind: 400, with a reason.
    let garbage: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n".to_vec(),
        b"old 0\n".to_vec(),
        b"old 0\n\n".to_vec(),
        vec![0xff; 1000],
        (0..=255).collect(),
        b"old 18446744073709551616\n\n".to_vec(),
        format!("old 0\n{}\n", "A".repeat(60_000)).into_bytes(),
        format!("old 0\n{}\n{}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64), log.note(5)).into_bytes(),
        format!("old 0\n\n{}", log.checkpoint(5).to_text()).into_bytes(),
        format!("old 0\n\n{}", log.note(5)).replace("\n5\n", "\n05\n").into_bytes(),
    ];
    for body in garbage {
        let (status, content_type, text) = witness.post(body.clone()).await;
        assert_eq!(status, 400, "{:?}: {text}", String::from_utf8_lossy(&body));
        assert!(content_type.starts_with("text/plain") && !text.trim().is_empty());
    }
    // Huge sizes parse and are judged: old above the size, or a tree of
    // 2^64 - 1 leaves that is not this log's.
    let huge = Checkpoint::new(ORIGIN, u64::MAX, [5; 32]).unwrap().sign(&log_signer()).unwrap();
    let request = format!("old {}\n\n{huge}", u64::MAX);
    assert_eq!(witness.post(request.into_bytes()).await.0, 409);

    // Too large: declared, or streamed in chunks without a length.
    let (status, _, _) = witness.post(vec![b'a'; MAX_BODY_BYTES + 1]).await;
    assert_eq!(status, 413);
    let head = "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunk = format!("{:x}\r\n{}\r\n", 16_384, "a".repeat(16_384)).repeat(5);
    let status = raw(&witness.url, head, chunk.as_bytes(), Duration::from_secs(5)).await;
    assert!(status.as_deref().is_some_and(|line| line.contains(" 413 ")), "{status:?}");

    // A body that stops coming: 408 once the body timeout passes.
    let head = "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 1000\r\n\r\n";
    let status = raw(&witness.url, head, b"old 0\n", Duration::from_secs(5)).await;
    assert!(status.as_deref().is_some_and(|line| line.contains(" 408 ")), "{status:?}");
    // A request head that stops coming: the connection is closed.
    let status = raw(&witness.url, "POST /add-checkpoint HTTP/1.1\r\nHost:", b"", Duration::from_secs(5)).await;
    assert!(status.is_none() || status.as_deref().is_some_and(|line| line.contains(" 408 ")), "{status:?}");

    // Other methods and paths.
    let client = reqwest::Client::new();
    let get = client.get(format!("{}/add-checkpoint", witness.url)).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let elsewhere = client.post(format!("{}/checkpoint", witness.url)).body(log.body(0, 5)).send().await.unwrap();
    assert_eq!(elsewhere.status().as_u16(), 404);

    // Nothing of it was cosigned; an honest request still is.
    assert_eq!(witness.latest().await, None);
    let (status, _, body) = witness.post(log.body(0, 20)).await;
    assert_eq!(status, 200, "{body}");
    witness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_move_a_head_once_and_never_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let witness = Running::start(&state).await;
    let log = Log::grown(0, 60);
    assert_eq!(witness.post(log.body(0, 10)).await.0, 200);

    // Every request claims old 10: the first to take the lock wins, the
    // others are told the new size.
    let sizes: Vec<u64> = (11..=40).collect();
    let answers = futures_util_join(sizes.iter().map(|size| witness.post(log.body(10, *size)))).await;
    let winners: Vec<u64> =
        sizes.iter().zip(&answers).filter(|(_, (status, _, _))| *status == 200).map(|(size, _)| *size).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let won = winners[0];
    for (size, (status, _, body)) in sizes.iter().zip(&answers) {
        if *size != won {
            assert_eq!((*status, body.as_str()), (409, format!("{won}\n").as_str()), "size {size}");
        }
    }
    assert_eq!(witness.latest().await, Some(TreeHead::of(&log.checkpoint(won))));
    assert_eq!(state_file_head(&state).0, won);

    // Growing and stale requests at once: the head only moves forward.
    let mut requests = Vec::new();
    for size in won + 1..=60 {
        requests.push(log.body(won, size));
        requests.push(log.body(0, size));
    }
    let answers = futures_util_join(requests.into_iter().map(|body| witness.post(body))).await;
    assert_eq!(answers.iter().filter(|(status, _, _)| *status == 200).count(), 1);
    let head = witness.latest().await.unwrap();
    assert!(head.size > won);
    assert_eq!(head, TreeHead::of(&log.checkpoint(head.size)));
    witness.stop().await;
}

/// Runs the futures at once and collects their outputs in order.
async fn futures_util_join<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}

#[tokio::test]
async fn a_witness_needs_logs_log_keys_and_its_own_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let no_logs = WitnessSettings { logs: vec![], ..settings(&state) };
    assert!(matches!(WitnessServer::open(no_logs), Err(WitnessError::NoLogs)));
    let witness_key: Verifier = cosigner().verifier();
    let wrong = WitnessSettings { logs: vec![witness_key], ..settings(&state) };
    assert!(matches!(WitnessServer::open(wrong), Err(WitnessError::NotALogKey(_))));
    let running = Running::start(&state).await;
    assert!(matches!(WitnessServer::open(settings(&state)), Err(WitnessError::StateLocked { .. })));
    running.stop().await;
    std::fs::write(&state, "{\"logs\": 3}").unwrap();
    assert!(matches!(WitnessServer::open(settings(&state)), Err(WitnessError::StateCorrupt { .. })));
}
