//! `gongkai verify`: checks a gongkai site's public record with nothing but
//! what the site serves to anyone.
//!
//! 1. The log's key: given (`--key`), else the one pinned in the state file,
//!    else the site's `/log/key`, pinned from then on.
//! 2. The latest checkpoint (`/log/checkpoint`), opened with that key; each
//!    witness named (`--witness`) must have cosigned it validly, and every
//!    other signature line is listed as found, not checked.
//! 3. Every project of the bulk download (`/api/v1/bulk.jsonl`, or a copy on
//!    disk): its hash chain recomputed from the public events alone, its head
//!    compared with the published one, every reveal opened against its
//!    commitment.
//! 4. Every leaf up to the checkpoint (the entry bundles, `/log/tile/entries/…`):
//!    the tree they make must have the checkpoint's root; the tree at the size
//!    of the checkpoint seen last time (the state file) must have that one's
//!    root, so the log only ever grew; every leaf must be an event of the
//!    public record and every public event older than the checkpoint a leaf.
//!
//! It prints what it checked and every discrepancy, saves the checkpoint to
//! the state file when nothing is wrong, and fails when something is.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use gongkai_domain::commitment::opens;
use gongkai_domain::hash::verify_public_chain;
use gongkai_proto::v1::Reveal;
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::merkle::{CompactTree, Hash, leaf_hash};
use gongkai_tlog::note::{KeyType, Note, NoteSignature, Verifier};
use gongkai_tlog::tile::{FULL_WIDTH, Tile, parse_entry_bundle};
use serde::{Deserialize, Serialize};

/// What `gongkai verify` was asked.
#[derive(Debug, Clone)]
pub(crate) struct VerifyArgs {
    /// The site's base URL, e.g. `https://gongkai.example.gov.cn`.
    pub(crate) site: String,
    /// The log's public key; else the pinned or the site's one.
    pub(crate) key: Option<String>,
    /// A bulk download on disk, read instead of the site's.
    pub(crate) bulk: Option<PathBuf>,
    /// Where the last verified checkpoint is kept between runs.
    pub(crate) state: PathBuf,
    /// Witnesses' cosignature keys: each must have cosigned the checkpoint.
    pub(crate) witnesses: Vec<String>,
}

/// Failures that stop a verification before it can judge (not the
/// discrepancies it finds, which it reports).
#[derive(Debug, thiserror::Error)]
pub(crate) enum VerifyError {
    /// The site could not be read.
    #[error("could not read {url}: {reason}")]
    Fetch {
        /// What was asked.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The state file could not be read or written.
    #[error("state file {}: {reason}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key is malformed, or the checkpoint does not open with it.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The bulk download could not be read.
    #[error("bulk download: {0}")]
    Bulk(String),
}

/// What a verifier keeps between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct State {
    /// The pinned log key.
    pub(crate) key: Option<String>,
    /// The last checkpoint verified: its size and base64 root.
    pub(crate) size: u64,
    /// Its root, base64.
    pub(crate) root: String,
}

/// The outcome of one run.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// What was checked, one line each.
    pub(crate) checked: Vec<String>,
    /// Everything found wrong, one line each.
    pub(crate) discrepancies: Vec<String>,
}

/// One project as the bulk download has it.
#[derive(Debug, Deserialize)]
struct BulkProject {
    project_code: String,
    #[serde(default)]
    chain_head_hash: String,
    #[serde(default)]
    timeline: Vec<BulkEntry>,
}

#[derive(Debug, Deserialize)]
struct BulkEntry {
    project_seq: u64,
    public_event: String,
    #[serde(default)]
    reveals: Vec<BulkReveal>,
}

#[derive(Debug, Deserialize)]
struct BulkReveal {
    part: String,
    value: String,
    salt: String,
}

/// Runs the verification; the report says what was found.
pub(crate) async fn verify(args: &VerifyArgs) -> Result<Report, VerifyError> {
    let client = reqwest::Client::builder()
        // The bulk download of a province takes a while; a stalled read does not.
        .read_timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|error| VerifyError::Fetch { url: args.site.clone(), reason: error.to_string() })?;
    let base = args.site.trim_end_matches('/');
    let mut state = read_state(&args.state)?;
    let mut report = Report::default();

    // 1. The key.
    let key = match (&args.key, &state.key) {
        (Some(key), _) => key.trim().to_owned(),
        (None, Some(pinned)) => pinned.clone(),
        (None, None) => {
            let key = text(&client, &format!("{base}/log/key")).await?.trim().to_owned();
            report.checked.push(format!("log key taken from the site and pinned: {key}"));
            key
        }
    };
    if let Some(pinned) = &state.key
        && *pinned != key
    {
        report.discrepancies.push(format!("the log key {key} is not the one pinned before ({pinned})"));
    }
    let verifier = Verifier::parse(&key).map_err(|error| VerifyError::Checkpoint(format!("log key: {error}")))?;
    let witnesses = witness_keys(&args.witnesses)?;

    // 2. The checkpoint.
    let note = text(&client, &format!("{base}/log/checkpoint")).await?;
    let opened = Checkpoint::open(note.as_bytes(), std::slice::from_ref(&verifier))
        .map_err(|error| VerifyError::Checkpoint(format!("does not open with {key}: {error}")))?;
    let checkpoint = opened.checkpoint;
    report.checked.push(format!(
        "checkpoint of {} signed by {}: {} leaves, root {}",
        checkpoint.origin(),
        verifier.name(),
        checkpoint.size(),
        gongkai_tlog::merkle::hash_to_base64(checkpoint.root())
    ));
    check_cosignatures(&opened.note, &verifier, &witnesses, &mut report);

    // 3. The public record.
    let record = check_bulk(&client, base, args.bulk.as_deref(), &mut report).await?;

    // 4. The log.
    check_log(&client, base, &checkpoint, &state, &record, &mut report).await?;

    if report.discrepancies.is_empty() {
        state = State {
            key: Some(key),
            size: checkpoint.size(),
            root: gongkai_tlog::merkle::hash_to_base64(checkpoint.root()),
        };
        write_state(&args.state, &state)?;
    }
    Ok(report)
}

/// The `--witness` keys, which must be cosignature keys.
fn witness_keys(vkeys: &[String]) -> Result<Vec<Verifier>, VerifyError> {
    vkeys
        .iter()
        .map(|vkey| {
            let key = Verifier::parse(vkey.trim())
                .map_err(|error| VerifyError::Checkpoint(format!("witness key {vkey}: {error}")))?;
            if key.key_type() != KeyType::Cosignature {
                return Err(VerifyError::Checkpoint(format!("{vkey} is not a witness's cosignature key")));
            }
            Ok(key)
        })
        .collect()
}

/// Every signature line of the checkpoint but the log's: a named witness's
/// must verify, and each named witness must have one; others are listed.
fn check_cosignatures(note: &Note, log: &Verifier, witnesses: &[Verifier], report: &mut Report) {
    let is = |key: &Verifier, signature: &NoteSignature| {
        signature.name() == key.name() && signature.key_id() == key.key_id()
    };
    for signature in note.signatures().iter().filter(|signature| !is(log, signature)) {
        let who = format!("{}+{:08x}", signature.name(), signature.key_id());
        match witnesses.iter().find(|witness| is(witness, signature)) {
            None => report.checked.push(format!("signature by {who} found, not checked: no --witness names its key")),
            Some(witness) => match witness.verify(note.text(), signature) {
                Ok(verified) => report.checked.push(format!(
                    "cosignature by witness {who} verified{}",
                    verified
                        .timestamp
                        .and_then(|time| chrono::DateTime::from_timestamp(i64::try_from(time).ok()?, 0))
                        .map(|time| format!(", made {}", time.to_rfc3339()))
                        .unwrap_or_default()
                )),
                Err(_) => report.discrepancies.push(format!("the cosignature by witness {who} does not verify")),
            },
        }
    }
    for witness in witnesses {
        if !note.signatures().iter().any(|signature| is(witness, signature)) {
            report.discrepancies.push(format!(
                "the checkpoint has no cosignature by witness {}+{:08x}",
                witness.name(),
                witness.key_id()
            ));
        }
    }
}

/// The public record as the log is checked against it: each project's
/// event hashes in seq order.
#[derive(Debug, Default)]
struct Record {
    chains: Vec<(String, Vec<Hash>)>,
    events: HashSet<Hash>,
}

/// Every project's chain and reveals, one bulk line at a time (a province's
/// bulk download does not fit in memory; what is kept is 32 bytes an event).
#[derive(Debug, Default)]
struct ProjectChecks {
    record: Record,
    lines: usize,
    reveals: usize,
}

impl ProjectChecks {
    /// Checks the project on one line of the bulk download.
    fn line(&mut self, line: &str, report: &mut Report) -> Result<(), VerifyError> {
        self.lines += 1;
        if line.trim().is_empty() {
            return Ok(());
        }
        let project: BulkProject =
            serde_json::from_str(line).map_err(|error| VerifyError::Bulk(format!("line {}: {error}", self.lines)))?;
        let mut timeline = project.timeline;
        timeline.sort_by_key(|entry| entry.project_seq);
        let decoded: Vec<Vec<u8>> = match timeline.iter().map(|e| BASE64.decode(&e.public_event)).collect() {
            Ok(decoded) => decoded,
            Err(error) => {
                report.discrepancies.push(format!("{}: a public event is not base64 ({error})", project.project_code));
                return Ok(());
            }
        };
        let chain = match verify_public_chain(decoded.iter().map(Vec::as_slice)) {
            Ok(chain) => chain,
            Err(broken) => {
                report.discrepancies.push(format!(
                    "{}: chain broken at seq {} ({:?}): expected {}, found {}",
                    project.project_code,
                    broken.project_seq,
                    broken.kind(),
                    broken.expected,
                    broken.actual
                ));
                return Ok(());
            }
        };
        if chain.events.first().is_some_and(|first| first.subject != project.project_code) {
            report.discrepancies.push(format!("{}: its events name another project", project.project_code));
        }
        let head = chain.hashes.last().map(hex::encode).unwrap_or_default();
        if head != project.chain_head_hash {
            report.discrepancies.push(format!(
                "{}: the published chain head {} is not the recomputed {head}",
                project.project_code, project.chain_head_hash
            ));
        }
        for (entry, event) in timeline.iter().zip(&chain.events) {
            for reveal in &entry.reveals {
                self.reveals += 1;
                let opened = BASE64
                    .decode(&reveal.value)
                    .map(|value| Reveal { part: reveal.part.clone(), value, salt: reveal.salt.clone() })
                    .is_ok_and(|reveal| opens(&reveal, &event.commitments));
                if !opened {
                    report.discrepancies.push(format!(
                        "{} seq {}: the revealed {} is not what was committed",
                        project.project_code, entry.project_seq, reveal.part
                    ));
                }
            }
        }
        self.record.events.extend(chain.hashes.iter().copied());
        self.record.chains.push((project.project_code, chain.hashes));
        Ok(())
    }

    fn finish(self, report: &mut Report) -> Record {
        report.checked.push(format!(
            "{} projects: {} events, every chain recomputed from the public events alone, {} reveals opened",
            self.record.chains.len(),
            self.record.events.len(),
            self.reveals
        ));
        self.record
    }
}

/// Reads the bulk download line by line, from the site or from a file.
async fn check_bulk(
    client: &reqwest::Client,
    base: &str,
    file: Option<&Path>,
    report: &mut Report,
) -> Result<Record, VerifyError> {
    let mut checks = ProjectChecks::default();
    if let Some(path) = file {
        use std::io::BufRead as _;
        let reader = std::fs::File::open(path).map_err(|error| VerifyError::Bulk(error.to_string()))?;
        for line in std::io::BufReader::new(reader).lines() {
            checks.line(&line.map_err(|error| VerifyError::Bulk(error.to_string()))?, report)?;
        }
        return Ok(checks.finish(report));
    }
    let url = format!("{base}/api/v1/bulk.jsonl");
    let fail = |reason: String| VerifyError::Fetch { url: url.clone(), reason };
    let mut response = client.get(&url).send().await.map_err(|error| fail(error.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let mut pending = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| fail(error.to_string()))? {
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|byte| *byte == b'\n') {
            let line = std::str::from_utf8(&pending[start..start + end]).map_err(|_| fail("not UTF-8".to_owned()))?;
            checks.line(line, report)?;
            start += end + 1;
        }
        pending.drain(..start);
    }
    let rest = std::str::from_utf8(&pending).map_err(|_| fail("not UTF-8".to_owned()))?;
    checks.line(rest, report)?;
    Ok(checks.finish(report))
}

/// The leaves up to the checkpoint against its root, the last checkpoint
/// seen, and the public events.
async fn check_log(
    client: &reqwest::Client,
    base: &str,
    checkpoint: &Checkpoint,
    state: &State,
    record: &Record,
    report: &mut Report,
) -> Result<(), VerifyError> {
    let size = checkpoint.size();
    if size < state.size {
        report
            .discrepancies
            .push(format!("the log shrank: the checkpoint has {size} leaves, one seen before had {}", state.size));
        return Ok(());
    }
    let mut tree = CompactTree::new();
    let mut leaves = HashSet::new();
    let width = u64::from(FULL_WIDTH);
    for index in 0..size.div_ceil(width) {
        let count = (size - index * width).min(width);
        let bundle = Tile::entries(index, u16::try_from(count).unwrap_or(FULL_WIDTH))
            .map_err(|error| VerifyError::Checkpoint(error.to_string()))?;
        let url = format!("{base}/log/{}", bundle.path());
        let bytes = fetch(client, &url).await?;
        let entries = match parse_entry_bundle(&bytes) {
            Ok(entries) if entries.len() as u64 == count => entries,
            _ => {
                report.discrepancies.push(format!("{url} is not a bundle of {count} entries"));
                return Ok(());
            }
        };
        for entry in entries {
            let Ok(hash) = Hash::try_from(entry) else {
                report.discrepancies.push(format!("leaf {} is not a 32-byte event hash", tree.size()));
                return Ok(());
            };
            if !record.events.contains(&hash) {
                report.discrepancies.push(format!(
                    "leaf {} ({}) is no event of the public record",
                    tree.size(),
                    hex::encode(hash)
                ));
            }
            leaves.insert(hash);
            tree.append(leaf_hash(&hash)).map_err(|error| VerifyError::Checkpoint(error.to_string()))?;
            if tree.size() == state.size && gongkai_tlog::merkle::hash_to_base64(&tree.root()) != state.root {
                report.discrepancies.push(format!(
                    "the log was rewritten: its first {} leaves no longer have the root of the checkpoint seen before",
                    state.size
                ));
            }
        }
    }
    if tree.root() != *checkpoint.root() {
        report.discrepancies.push(format!("the {size} leaves served do not have the checkpoint's root"));
    }
    report.checked.push(format!("{size} leaves: the tree they make has the checkpoint's root"));
    if state.size > 0 {
        report.checked.push(format!("consistent with the checkpoint of {} leaves seen before", state.size));
    }
    // The log appends in commit order, and a project's events commit in seq
    // order: in each project, what the log holds is a prefix of its chain
    // (the rest came after the checkpoint). A gap is an event kept out.
    let mut newer = 0_usize;
    for (project, hashes) in &record.chains {
        let logged = hashes.iter().rposition(|hash| leaves.contains(hash)).map_or(0, |last| last + 1);
        newer += hashes.len() - logged;
        if let Some(gap) = hashes[..logged].iter().position(|hash| !leaves.contains(hash)) {
            report
                .discrepancies
                .push(format!("{project}: seq {} is missing from the log, later ones are in it", gap + 1));
        }
    }
    report.checked.push(format!(
        "every project's logged events are a prefix of its chain; {newer} events are newer than the checkpoint"
    ));
    Ok(())
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, VerifyError> {
    let fail = |reason: String| VerifyError::Fetch { url: url.to_owned(), reason };
    let response = client.get(url).send().await.map_err(|error| fail(error.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    Ok(response.bytes().await.map_err(|error| fail(error.to_string()))?.to_vec())
}

async fn text(client: &reqwest::Client, url: &str) -> Result<String, VerifyError> {
    String::from_utf8(fetch(client, url).await?)
        .map_err(|_| VerifyError::Fetch { url: url.to_owned(), reason: "not UTF-8".to_owned() })
}

fn read_state(path: &Path) -> Result<State, VerifyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|error| VerifyError::State { path: path.to_owned(), reason: error.to_string() }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(error) => Err(VerifyError::State { path: path.to_owned(), reason: error.to_string() }),
    }
}

fn write_state(path: &Path, state: &State) -> Result<(), VerifyError> {
    let fail = |reason: String| VerifyError::State { path: path.to_owned(), reason };
    let text = serde_json::to_string_pretty(state).map_err(|error| fail(error.to_string()))?;
    std::fs::write(path, text).map_err(|error| fail(error.to_string()))
}

#[cfg(test)]
mod tests {
    use gongkai_tlog::cosignature::Cosigner;
    use gongkai_tlog::note::Signer;

    use super::*;

    #[test]
    fn each_named_witness_must_have_cosigned_and_others_are_listed() {
        let log = Signer::from_seed("gongkai.test/log", &[1; 32]).unwrap();
        let [good, forged, absent, unnamed] =
            [2, 3, 4, 5].map(|seed| Cosigner::from_seed(&format!("w{seed}"), &[seed; 32]).unwrap());
        let checkpoint = Checkpoint::new("gongkai.test/log", 7, [9; 32]).unwrap();
        let mut note = checkpoint.sign(&log).unwrap();
        note.add_signature(good.cosign(&checkpoint, 1_800_000_000).unwrap()).unwrap();
        let mut bytes = forged.cosign(&checkpoint, 1_800_000_000).unwrap().signature().to_vec();
        bytes[20] ^= 1;
        note.add_signature(NoteSignature::new(forged.name(), forged.key_id(), bytes).unwrap()).unwrap();
        note.add_signature(unnamed.cosign(&checkpoint, 1_800_000_000).unwrap()).unwrap();

        let named = witness_keys(&[good, forged, absent].map(|w| w.verifier().vkey())).unwrap();
        let mut report = Report::default();
        check_cosignatures(&note, &log.verifier(), &named, &mut report);
        let id = |w: &Verifier| format!("{}+{:08x}", w.name(), w.key_id());
        assert_eq!(
            report.checked,
            [
                format!("cosignature by witness {} verified, made 2027-01-15T08:00:00+00:00", id(&named[0])),
                format!("signature by {} found, not checked: no --witness names its key", id(&unnamed.verifier())),
            ]
        );
        assert_eq!(
            report.discrepancies,
            [
                format!("the cosignature by witness {} does not verify", id(&named[1])),
                format!("the checkpoint has no cosignature by witness {}", id(&named[2])),
            ]
        );
        // A log key is no witness key; garbage is no key.
        assert!(witness_keys(&[log.verifier().vkey()]).is_err());
        assert!(witness_keys(&["w+00000000+garbage".to_owned()]).is_err());
    }
}
