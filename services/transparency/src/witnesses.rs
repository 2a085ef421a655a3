//! Submitting checkpoints to witnesses (C2SP tlog-witness): the log's side
//! of `add-checkpoint`.
//!
//! For each configured witness that has not cosigned the latest checkpoint,
//! the log POSTs it with `old` = the size that witness is known to hold
//! (`tlog_witnesses`; 0 before the first) and the consistency proof from
//! that size, computed from the stored tree hashes. A 409 says which size
//! the witness really holds: recorded, and the request is made once more
//! from it. A 200's cosignature is verified against the witness's key
//! before it is added to the stored checkpoint note, which the site serves.
//!
//! Nothing here signs or changes a checkpoint's text: a note only gains
//! cosignature lines, by compare-and-set on the note as read, so two
//! writers cannot lose each other's. A witness that is down, slow or
//! refuses costs its cosignature and nothing else; the caller tries again
//! at the next checkpoint.

use std::time::Duration;

use futures_util::future::join_all;
use gongkai_store::{StoredCheckpoint, TransparencyLog};
use gongkai_tlog::AddCheckpointRequest;
use gongkai_tlog::merkle;
use gongkai_tlog::note::{KeyType, Note, NoteSignature, Verifier};
use gongkai_tlog::witness::{parse_cosignatures, parse_size_body};

use crate::TransparencyError;

/// How long a witness has to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole exchange with a witness may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest response read from a witness: a few signature lines.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How many times a note is re-read when another writer changed it meanwhile.
const NOTE_RETRIES: usize = 5;

/// A witness the log submits its checkpoints to.
#[derive(Debug, Clone)]
pub struct WitnessEndpoint {
    /// Its submission prefix: requests go to `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature key (type 0x04).
    pub key: Verifier,
}

/// What came of asking one witness about the latest checkpoint.
#[derive(Debug)]
pub struct WitnessOutcome {
    /// The witness's key, `<name>+<key id>+<key>`.
    pub witness: String,
    /// The size it cosigned (or had cosigned before), or why not.
    pub result: Result<u64, TransparencyError>,
}

/// The witnesses of a log and the HTTP client that reaches them.
#[derive(Debug, Clone)]
pub struct Witnesses {
    client: reqwest::Client,
    endpoints: Vec<WitnessEndpoint>,
}

impl Witnesses {
    /// The witnesses at `endpoints`; each key must be a cosignature key.
    pub fn new(endpoints: Vec<WitnessEndpoint>) -> Result<Self, TransparencyError> {
        if let Some(endpoint) = endpoints.iter().find(|endpoint| endpoint.key.key_type() != KeyType::Cosignature) {
            return Err(TransparencyError::NotAWitnessKey(endpoint.key.vkey()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A witness answers where it was asked, or not at all.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(TransparencyError::HttpClient)?;
        Ok(Self { client, endpoints })
    }

    /// Whether there is any witness to ask.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Submits the latest recorded checkpoint to every witness whose valid
    /// cosignature it does not carry, all at once, and adds the
    /// cosignatures that verify to its stored note. One outcome per witness,
    /// in configuration order; none when no checkpoint is recorded yet.
    pub async fn submit_latest(&self, log: &TransparencyLog) -> Result<Vec<WitnessOutcome>, TransparencyError> {
        let Some(checkpoint) = log.latest_checkpoint().await? else {
            return Ok(Vec::new());
        };
        let note = Note::parse(checkpoint.note.as_bytes())?;
        let asked = self.endpoints.iter().map(|endpoint| async {
            if cosigned_by(&note, &endpoint.key) {
                return (Ok(checkpoint.tree_size), None);
            }
            match self.submit(log, endpoint, &checkpoint, &note).await {
                Ok(cosignature) => (Ok(checkpoint.tree_size), Some(cosignature)),
                Err(error) => (Err(error), None),
            }
        });
        let answers = join_all(asked).await;
        let cosignatures: Vec<NoteSignature> =
            answers.iter().filter_map(|(_, cosignature)| cosignature.clone()).collect();
        let mut outcomes: Vec<WitnessOutcome> = self
            .endpoints
            .iter()
            .zip(answers)
            .map(|(endpoint, (result, _))| WitnessOutcome { witness: endpoint.key.vkey(), result })
            .collect();
        if !cosignatures.is_empty()
            && let Err(error) = add_cosignatures(log, &checkpoint, &cosignatures).await
        {
            // The witnesses cosigned, but the note does not show it: no
            // outcome is a success then; the next round asks again.
            tracing::warn!(%error, size = checkpoint.tree_size, "Could not store the witnesses' cosignatures.");
            for outcome in &mut outcomes {
                if outcome.result.is_ok() {
                    outcome.result = Err(TransparencyError::NoteChanged { size: checkpoint.tree_size });
                }
            }
        }
        for outcome in &outcomes {
            let witness = outcome.witness.split('+').next().unwrap_or_default();
            match &outcome.result {
                Ok(size) => tracing::debug!(witness, size, "Witness cosigned the latest checkpoint."),
                Err(error) => tracing::warn!(
                    witness,
                    size = checkpoint.tree_size,
                    error = %error,
                    source = ?std::error::Error::source(error),
                    "Witness did not cosign the latest checkpoint; asking again at the next one."
                ),
            }
            gongkai_telemetry::metrics::witness_submission(witness, outcome_label(&outcome.result));
        }
        Ok(outcomes)
    }

    /// One witness's cosignature of `checkpoint`, verified: `old` from the
    /// size it is known to hold, and once more from the size a 409 gives.
    async fn submit(
        &self,
        log: &TransparencyLog,
        endpoint: &WitnessEndpoint,
        checkpoint: &StoredCheckpoint,
        note: &Note,
    ) -> Result<NoteSignature, TransparencyError> {
        let witness = endpoint.key.vkey();
        let size = checkpoint.tree_size;
        let mut old = log.witness_size(&witness).await?.unwrap_or(0);
        for attempt in 0..2 {
            if old > size {
                // It cosigned a larger tree of this origin than the log now
                // has: the log lost leaves, or was started again.
                return Err(TransparencyError::WitnessAhead { witness: name(&witness), witness_size: old, size });
            }
            let indexes = merkle::consistency_proof_indexes(old, size)?;
            let proof = merkle::consistency_proof(old, size, &log.stored_hashes(&indexes).await?)?;
            let request = AddCheckpointRequest::new(old, proof, note.clone())?;
            let (status, body) = self.post(endpoint, request.to_bytes()).await?;
            match status {
                200 => {
                    let cosignature = verified_cosignature(&endpoint.key, note, &body)?;
                    log.record_witness_size(&witness, size).await?;
                    return Ok(cosignature);
                }
                409 if attempt == 0 => {
                    let held = parse_size_body(&body).map_err(|error| TransparencyError::WitnessAnswer {
                        witness: name(&witness),
                        reason: format!("a 409 without a size: {error}"),
                    })?;
                    log.record_witness_size(&witness, held).await?;
                    old = held;
                }
                status => {
                    return Err(TransparencyError::WitnessRefused {
                        witness: name(&witness),
                        status,
                        reason: printable(&body),
                    });
                }
            }
        }
        Err(TransparencyError::WitnessRefused { witness: name(&witness), status: 409, reason: "twice".to_owned() })
    }

    /// POSTs `body` to the witness's `add-checkpoint`: the status and at
    /// most [`MAX_RESPONSE_BYTES`] of the answer.
    async fn post(&self, endpoint: &WitnessEndpoint, body: Vec<u8>) -> Result<(u16, Vec<u8>), TransparencyError> {
        let url = format!("{}/add-checkpoint", endpoint.url.trim_end_matches('/'));
        let unreachable =
            |source| TransparencyError::WitnessUnreachable { witness: endpoint.key.name().to_owned(), source };
        let mut response = self.client.post(&url).body(body).send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if answer.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(TransparencyError::WitnessAnswer {
                    witness: endpoint.key.name().to_owned(),
                    reason: format!("an answer longer than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            answer.extend_from_slice(&chunk);
        }
        Ok((status, answer))
    }
}

/// The witness's cosignature among a 200's signature lines, verified
/// against its key over the checkpoint; other lines are ignored.
fn verified_cosignature(key: &Verifier, note: &Note, body: &[u8]) -> Result<NoteSignature, TransparencyError> {
    let bad = |reason: String| TransparencyError::WitnessAnswer { witness: key.name().to_owned(), reason };
    let lines = parse_cosignatures(body).map_err(|error| bad(format!("not signature lines: {error}")))?;
    let cosignature = lines
        .into_iter()
        .find(|line| line.name() == key.name() && line.key_id() == key.key_id())
        .ok_or_else(|| bad("no cosignature by its key".to_owned()))?;
    key.verify(note.text(), &cosignature)
        .map_err(|error| bad(format!("a cosignature that does not verify: {error}")))?;
    Ok(cosignature)
}

/// Whether `note` carries a valid cosignature by `key`.
fn cosigned_by(note: &Note, key: &Verifier) -> bool {
    note.signatures().iter().any(|signature| key.verify(note.text(), signature).is_ok())
}

/// Adds `cosignatures` to the stored note of `checkpoint`, re-reading it
/// when another writer changed it meanwhile.
async fn add_cosignatures(
    log: &TransparencyLog,
    checkpoint: &StoredCheckpoint,
    cosignatures: &[NoteSignature],
) -> Result<(), TransparencyError> {
    let size = checkpoint.tree_size;
    let mut current = checkpoint.note.clone();
    for _ in 0..NOTE_RETRIES {
        let mut note = Note::parse(current.as_bytes())?;
        for cosignature in cosignatures {
            note.add_signature(cosignature.clone())?;
        }
        let updated = note.to_string();
        if updated == current || log.replace_note(size, &checkpoint.root_hash, &current, &updated).await? {
            return Ok(());
        }
        match log.checkpoint(size).await? {
            Some(recorded) if recorded.root_hash == checkpoint.root_hash => current = recorded.note,
            _ => return Err(TransparencyError::Rewritten { size }),
        }
    }
    Err(TransparencyError::NoteChanged { size })
}

/// The key name of a vkey, for messages.
fn name(vkey: &str) -> String {
    vkey.split('+').next().unwrap_or_default().to_owned()
}

/// At most 200 characters of a witness's answer, control characters escaped.
fn printable(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(200).collect();
    text.escape_debug().to_string()
}

fn outcome_label(result: &Result<u64, TransparencyError>) -> &'static str {
    match result {
        Ok(_) => "cosigned",
        Err(TransparencyError::WitnessUnreachable { .. }) => "unreachable",
        Err(TransparencyError::WitnessRefused { .. }) => "refused",
        Err(TransparencyError::WitnessAhead { .. }) => "ahead",
        Err(TransparencyError::WitnessAnswer { .. }) => "invalid_answer",
        Err(_) => "error",
    }
}
