//! `gongkai witness serve`: a witness for transparency logs, speaking
//! [C2SP tlog-witness] over HTTP. A log POSTs each new signed checkpoint to
//! `/add-checkpoint` with a consistency proof from the last one this witness
//! cosigned; the witness checks the log's signature and the proof and, when
//! the new tree extends the old one, cosigns it (`cosignature/v1`) and
//! remembers it. So a log cannot show one history to some and another to
//! others, nor rewrite its past, without its witnesses refusing.
//!
//! | answer | when |
//! |---|---|
//! | 200, the cosignature line | the checkpoint extends the latest one cosigned (or is the first) |
//! | 400 | a body that does not parse, or `old` above the checkpoint's size |
//! | 403 | no valid signature by the log's keys, or an invalid one |
//! | 404 | a log (origin) the witness does not witness; any other path |
//! | 405 | another method than POST |
//! | 408 | a body not received within the body timeout |
//! | 409, `text/x.tlog.size` | `old` is not the size of the latest checkpoint cosigned; the body is that size |
//! | 413 | a body larger than [`MAX_BODY_BYTES`] |
//! | 422 | the proof does not show the new tree extends the latest cosigned one |
//! | 500 | the state file could not be written (nothing was cosigned) |
//!
//! The checks are `gongkai_tlog::witness::add_checkpoint`'s, a pure
//! function; this crate adds the HTTP, the clock and the state file
//! ([`state`]), whose head for a log only moves under one lock, after the
//! check against it, and is on disk before the cosignature leaves. The HTTP
//! server is the site's loop (request-head and idle timeouts, a bound on
//! connections); bodies are bounded in size and in time here.
//!
//! [C2SP tlog-witness]: https://c2sp.org/tlog-witness

mod state;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt as _;
use gongkai_tlog::cosignature::Cosigner;
use gongkai_tlog::note::{KeyType, Verifier};
use gongkai_tlog::witness::{SIZE_CONTENT_TYPE, add_checkpoint, size_body};
use gongkai_tlog::{AddCheckpointRequest, TreeHead, WitnessedLog};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::state::StateFile;

/// How the witness's HTTP server bounds connections: the site's.
pub use gongkai_site::ServerLimits;

/// The largest request body read: 63 proof lines and a checkpoint note with
/// its signatures take a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long a client has to send its whole body, by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// Failures of the witness before or while it serves (not the refusals it
/// answers, which are HTTP statuses).
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The state file (or its lock or temporary file) could not be read or
    /// written.
    #[error("witness state file {}", path.display())]
    StateIo {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but does not parse: the witness does not start
    /// afresh over it, which would forget what it cosigned.
    #[error("witness state file {} is damaged ({reason}); restore it from a backup", path.display())]
    StateCorrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another witness process holds the state file.
    #[error("another witness process uses the state file {}", path.display())]
    StateLocked {
        /// The file.
        path: PathBuf,
    },
    /// No log to witness was given.
    #[error("a witness needs at least one log key (witness.logs, or --log)")]
    NoLogs,
    /// A log key that is not a log's checkpoint key.
    #[error("{0} is a witness key, not a log's checkpoint key")]
    NotALogKey(String),
    /// The HTTP server failed.
    #[error("witness HTTP server failed")]
    Server(#[from] gongkai_site::SiteError),
}

/// How a witness runs.
#[derive(Debug)]
pub struct WitnessSettings {
    /// The witness's cosigning key.
    pub cosigner: Cosigner,
    /// The keys of the logs it witnesses; each key's name is its log's
    /// origin, and several keys may share one (a log changing keys).
    pub logs: Vec<Verifier>,
    /// Where each log's latest cosigned tree head is kept.
    pub state_file: PathBuf,
    /// How the HTTP server bounds connections.
    pub limits: ServerLimits,
    /// How long a client has to send its whole body.
    pub body_timeout: Duration,
}

/// A witness with its state file open and locked, ready to serve.
#[derive(Debug, Clone)]
pub struct WitnessServer {
    shared: Arc<Shared>,
    limits: ServerLimits,
}

#[derive(Debug)]
struct Shared {
    cosigner: Cosigner,
    /// The logs' keys by origin.
    logs: BTreeMap<String, Vec<Verifier>>,
    /// The one lock every head change happens under.
    state: Mutex<StateFile>,
    body_timeout: Duration,
}

impl WitnessServer {
    /// Checks the settings and opens (and locks) the state file.
    pub fn open(settings: WitnessSettings) -> Result<Self, WitnessError> {
        if settings.logs.is_empty() {
            return Err(WitnessError::NoLogs);
        }
        let mut logs: BTreeMap<String, Vec<Verifier>> = BTreeMap::new();
        for key in settings.logs {
            if key.key_type() != KeyType::Ed25519 {
                return Err(WitnessError::NotALogKey(key.vkey()));
            }
            logs.entry(key.name().to_owned()).or_default().push(key);
        }
        let state = StateFile::open(&settings.state_file)?;
        for origin in state.origins().filter(|origin| !logs.contains_key(*origin)) {
            tracing::info!(origin, "The state file remembers a log this witness no longer witnesses; kept.");
        }
        let shared =
            Shared { cosigner: settings.cosigner, logs, state: Mutex::new(state), body_timeout: settings.body_timeout };
        Ok(Self { shared: Arc::new(shared), limits: settings.limits })
    }

    /// The witness's public key: what logs and verifiers configure.
    pub fn key(&self) -> Verifier {
        self.shared.cosigner.verifier()
    }

    /// The origins of the logs it witnesses.
    pub fn origins(&self) -> Vec<String> {
        self.shared.logs.keys().cloned().collect()
    }

    /// The latest tree head cosigned for `origin`.
    pub async fn latest(&self, origin: &str) -> Option<TreeHead> {
        self.shared.state.lock().await.latest(origin)
    }

    /// The routes: `POST /add-checkpoint`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/add-checkpoint", post(add))
            .fallback(|| async { plain(StatusCode::NOT_FOUND, "not found: the witness answers POST /add-checkpoint") })
            .with_state(self.shared.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then finishes the
    /// requests in flight.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<(), WitnessError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::info!(
            address = %listener.local_addr().map_err(gongkai_site::SiteError::from)?,
            key = %self.key(),
            logs = ?self.origins(),
            "Witness listening."
        );
        gongkai_site::serve_router(self.router(), self.limits, listener, shutdown).await?;
        Ok(())
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT)], format!("{text}\n")).into_response()
}

/// The answer to a request the witness refuses.
fn refusal(error: &gongkai_tlog::Error) -> Response {
    if let gongkai_tlog::Error::OldSizeMismatch { latest, .. } = error {
        let content_type = HeaderValue::from_static(SIZE_CONTENT_TYPE);
        return (StatusCode::CONFLICT, [(header::CONTENT_TYPE, content_type)], size_body(*latest)).into_response();
    }
    let status = StatusCode::from_u16(error.witness_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    plain(status, &error.to_string())
}

/// `POST /add-checkpoint`.
async fn add(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let body = match read_body(request, shared.body_timeout).await {
        Ok(body) => body,
        Err(refused) => {
            tracing::debug!(?refused, "Witness refused a request body.");
            return refused.into_response();
        }
    };
    let request = match AddCheckpointRequest::parse(&body) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%error, "Witness refused a malformed request.");
            return refusal(&error);
        }
    };
    let checkpoint = request.checkpoint();
    let origin = checkpoint.origin();
    let Some(verifiers) = shared.logs.get(origin) else {
        tracing::debug!(origin, "Witness refused a checkpoint of a log it does not witness.");
        return refusal(&gongkai_tlog::Error::UnknownOrigin(origin.to_owned()));
    };
    // The check and the move of the head happen under one lock: a
    // compare-and-set on the latest size, so that concurrent requests can
    // neither both move it nor move it back.
    let mut state = shared.state.lock().await;
    let log = WitnessedLog { origin: origin.to_owned(), verifiers: verifiers.clone(), latest: state.latest(origin) };
    let cosigned = match add_checkpoint(&shared.cosigner, Some(&log), &request, unix_now()) {
        Ok(cosigned) => cosigned,
        Err(error) => {
            let (old, size) = (request.old_size(), checkpoint.size());
            let latest = log.latest.map(|head| head.size);
            if error.witness_status() == 422 {
                // Signed by the log, yet not an extension of what it showed
                // before: a fork or a rewritten history, worth a look.
                tracing::warn!(origin, old, size, ?latest, %error, "Witness refused an inconsistent checkpoint.");
            } else {
                tracing::info!(origin, old, size, ?latest, %error, "Witness refused a checkpoint.");
            }
            return refusal(&error);
        }
    };
    if let Err(error) = state.store(origin, cosigned.latest).await {
        tracing::error!(error = %error, source = ?std::error::Error::source(&error), "Witness could not record a checkpoint; nothing cosigned.");
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "the witness could not record the checkpoint");
    }
    drop(state);
    tracing::info!(origin, size = checkpoint.size(), old = request.old_size(), "Witness cosigned a checkpoint.");
    (StatusCode::OK, [(header::CONTENT_TYPE, TEXT)], cosigned.response_body()).into_response()
}

/// Why a request's body was not read.
#[derive(Debug, Clone, Copy)]
enum BodyRefusal {
    /// Longer than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection broke off or the framing was wrong.
    Unreadable,
    /// Not all there within the body timeout.
    TooSlow(Duration),
}

impl IntoResponse for BodyRefusal {
    fn into_response(self) -> Response {
        match self {
            BodyRefusal::TooLarge => {
                plain(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is larger than {MAX_BODY_BYTES} bytes"))
            }
            BodyRefusal::Unreadable => plain(StatusCode::BAD_REQUEST, "the body could not be read"),
            BodyRefusal::TooSlow(timeout) => {
                plain(StatusCode::REQUEST_TIMEOUT, &format!("the body did not arrive within {} s", timeout.as_secs()))
            }
        }
    }
}

/// The request's body, at most [`MAX_BODY_BYTES`], within `timeout`.
async fn read_body(request: Request, timeout: Duration) -> Result<Vec<u8>, BodyRefusal> {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|value| value.to_str().ok());
    if declared.and_then(|length| length.parse::<u64>().ok()).is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(BodyRefusal::TooLarge);
    }
    let mut stream = request.into_body().into_data_stream();
    let read = async {
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BodyRefusal::Unreadable)?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(BodyRefusal::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, read).await.unwrap_or(Err(BodyRefusal::TooSlow(timeout)))
}

/// POSIX seconds now; 0 (which the witness refuses to cosign at) if the
/// clock is before 1970.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}
