//! The witness protocol (c2sp.org/tlog-witness), without the HTTP: the
//! `add-checkpoint` request body, and a witness as a state machine.
//!
//! The body a log POSTs to `<submission prefix>/add-checkpoint` is
//!
//! ```text
//! old <size of the witness's latest checkpoint for the log>
//! <consistency proof, one base64 hash per line, at most 63>
//!
//! <the signed checkpoint note>
//! ```
//!
//! [`add_checkpoint`] checks a request against what the witness stored for
//! the log (its keys and latest tree head) and, when it is consistent,
//! cosigns it and returns the new tree head to store. Storing it must be
//! atomic with the check of the old size (a compare-and-set on the stored
//! size), or two concurrent requests can roll the log back. Each refusal is
//! an [`Error`] whose [`Error::witness_status`] is the HTTP status to answer.
//! [`Witness`] is the same over an in-memory map of logs.
//!
//! The log's side: [`AddCheckpointRequest::to_bytes`] builds the body,
//! [`parse_size_body`] reads a 409's `text/x.tlog.size` body (the size to
//! send as `old` next), and [`parse_cosignatures`] the 200's signature lines,
//! to add to the checkpoint note and verify with the witnesses' keys.

use std::collections::BTreeMap;

use crate::checkpoint::Checkpoint;
use crate::cosignature::{Cosigner, MAX_TIMESTAMP};
use crate::merkle::{EMPTY_ROOT, Hash, hash_from_base64, hash_to_base64, verify_consistency};
use crate::note::{MAX_SIGNATURES, Note, NoteSignature, Verifier};
use crate::{Error, parse_decimal};

/// The most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// The content type of a 409 Conflict's body, [`size_body`].
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A tree size and root: what a witness remembers of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TreeHead {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
}

impl TreeHead {
    /// The tree head a checkpoint states.
    pub fn of(checkpoint: &Checkpoint) -> Self {
        Self { size: checkpoint.size(), root: *checkpoint.root() }
    }
}

/// An `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    old_size: u64,
    proof: Vec<Hash>,
    note: Note,
    checkpoint: Checkpoint,
}

/// Splits off the first line, without its newline.
fn next_line(bytes: &[u8]) -> Result<(&str, &[u8]), Error> {
    let end = bytes.iter().position(|b| *b == b'\n').ok_or(Error::MalformedRequest("line without a newline"))?;
    let line = std::str::from_utf8(&bytes[..end]).map_err(|_| Error::MalformedRequest("not UTF-8"))?;
    Ok((line, &bytes[end + 1..]))
}

impl AddCheckpointRequest {
    /// A request to cosign the signed checkpoint `note`, consistent with the
    /// witness's latest size `old_size` by `proof` (at most 63 hashes).
    pub fn new(old_size: u64, proof: Vec<Hash>, note: Note) -> Result<Self, Error> {
        if proof.len() > MAX_PROOF_LINES {
            return Err(Error::MalformedRequest("more than 63 proof lines"));
        }
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(Self { old_size, proof, note, checkpoint })
    }

    /// Parses a request body strictly: the `old` line (decimal, no leading
    /// zeros), proof lines (canonical base64 of 32 bytes), an empty line and
    /// a well-formed signed note whose text is a checkpoint. Signatures are
    /// not checked here.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let (line, mut rest) = next_line(body)?;
        let old = line.strip_prefix("old ").ok_or(Error::MalformedRequest("first line is not old <size>"))?;
        let old_size = parse_decimal(old).ok_or(Error::MalformedRequest("old size is not a decimal number"))?;
        let mut proof = Vec::new();
        loop {
            let (line, tail) = next_line(rest)?;
            rest = tail;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(Error::MalformedRequest("more than 63 proof lines"));
            }
            proof.push(hash_from_base64(line).map_err(|_| Error::MalformedRequest("proof line is not a hash"))?);
        }
        Self::new(old_size, proof, Note::parse(rest)?)
    }

    /// The request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&hash_to_base64(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.note.to_string());
        body.into_bytes()
    }

    /// The size the log believes the witness's latest checkpoint has.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// The consistency proof from `old_size` to the checkpoint.
    pub fn proof(&self) -> &[Hash] {
        &self.proof
    }

    /// The signed checkpoint note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The checkpoint (not yet verified).
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

/// What a witness keeps for one log: the keys it trusts for the origin and
/// the tree head of the latest checkpoint it cosigned, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessedLog {
    /// The log's origin line.
    pub origin: String,
    /// The log's keys.
    pub verifiers: Vec<Verifier>,
    /// The latest cosigned tree head; none before the first.
    pub latest: Option<TreeHead>,
}

/// A cosigned checkpoint: what to answer and what to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The witness's cosignature of it.
    pub cosignature: NoteSignature,
    /// The checkpoint note with the log signatures the witness verified and
    /// its cosignature: what the witness serves to monitors.
    pub note: Note,
    /// The new latest tree head, to store for the log.
    pub latest: TreeHead,
}

impl Cosigned {
    /// The 200 response body: the cosignature line.
    pub fn response_body(&self) -> String {
        self.cosignature.line()
    }
}

/// Checks an `add-checkpoint` request for the log the witness knows by the
/// checkpoint's origin (`None`: unknown), and cosigns it at `now` (POSIX
/// seconds, not zero). The checks, in the spec's order, and the status of
/// each refusal:
///
/// 1. the origin is known (404 [`Error::UnknownOrigin`]);
/// 2. a log key signed it and no log key's signature fails (403
///    [`Error::NoVerifiedSignature`], [`Error::InvalidSignature`]);
/// 3. `old` is not above the checkpoint size (400 [`Error::OldSizeAboveSize`]);
/// 4. `old` is the latest cosigned size, 0 if none (409
///    [`Error::OldSizeMismatch`], with that size as the body);
/// 5. a size-0 checkpoint has the empty root, a proof from 0 is empty, an
///    unchanged size has an unchanged root, and otherwise the proof shows
///    the latest tree is a prefix of the new one (422 [`Error::NotConsistent`]).
pub fn add_checkpoint(
    cosigner: &Cosigner,
    log: Option<&WitnessedLog>,
    request: &AddCheckpointRequest,
    now: u64,
) -> Result<Cosigned, Error> {
    if now == 0 || now > MAX_TIMESTAMP {
        return Err(Error::InvalidTimestamp(now));
    }
    let checkpoint = request.checkpoint();
    let log = match log {
        Some(log) if log.origin == checkpoint.origin() => log,
        _ => return Err(Error::UnknownOrigin(checkpoint.origin().to_string())),
    };
    let verified = request.note.verify(&log.verifiers)?;
    let (old, size, root) = (request.old_size, checkpoint.size(), *checkpoint.root());
    if old > size {
        return Err(Error::OldSizeAboveSize { old, size });
    }
    let latest = log.latest.unwrap_or(TreeHead { size: 0, root: EMPTY_ROOT });
    if old != latest.size {
        return Err(Error::OldSizeMismatch { old, latest: latest.size });
    }
    if size == 0 && root != EMPTY_ROOT {
        return Err(Error::NotConsistent("a tree of size 0 must have the empty tree's root"));
    }
    if old == 0 {
        if !request.proof.is_empty() {
            return Err(Error::NotConsistent("a proof from size 0 must be empty"));
        }
    } else if old == size {
        if root != latest.root {
            return Err(Error::NotConsistent("same size as the latest checkpoint, different root"));
        }
        if !request.proof.is_empty() {
            return Err(Error::NotConsistent("a proof between equal sizes must be empty"));
        }
    } else {
        verify_consistency(old, &latest.root, size, &root, &request.proof)
            .map_err(|_| Error::NotConsistent("the consistency proof does not verify"))?;
    }
    let cosignature = cosigner.cosign(checkpoint, now)?;
    // Served to monitors: the log signatures checked here, then this cosignature.
    let mut note = Note::new(checkpoint.to_text())?;
    for signature in request.note.signatures() {
        if verified.iter().any(|v| v.name == signature.name() && v.key_id == signature.key_id()) {
            note.add_signature(signature.clone())?;
        }
    }
    note.add_signature(cosignature.clone())?;
    Ok(Cosigned { checkpoint: checkpoint.clone(), cosignature, note, latest: TreeHead { size, root } })
}

/// A witness over an in-memory map of logs: [`add_checkpoint`] plus the
/// bookkeeping of each log's latest tree head.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    logs: BTreeMap<String, WitnessedLog>,
}

impl Witness {
    /// A witness signing with `cosigner` and knowing no log.
    pub fn new(cosigner: Cosigner) -> Self {
        Self { cosigner, logs: BTreeMap::new() }
    }

    /// The witness's key.
    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    /// Trusts `verifiers` for the log `origin`; a known log keeps its latest
    /// tree head.
    pub fn add_log(&mut self, origin: &str, verifiers: Vec<Verifier>) {
        self.logs
            .entry(origin.to_string())
            .and_modify(|log| log.verifiers.clone_from(&verifiers))
            .or_insert_with(|| WitnessedLog { origin: origin.to_string(), verifiers, latest: None });
    }

    /// What the witness keeps for a log.
    pub fn log(&self, origin: &str) -> Option<&WitnessedLog> {
        self.logs.get(origin)
    }

    /// Handles a request: on success the log's latest tree head moves to the
    /// checkpoint's.
    pub fn add_checkpoint(&mut self, request: &AddCheckpointRequest, now: u64) -> Result<Cosigned, Error> {
        let origin = request.checkpoint().origin();
        let cosigned = add_checkpoint(&self.cosigner, self.logs.get(origin), request, now)?;
        if let Some(log) = self.logs.get_mut(origin) {
            log.latest = Some(cosigned.latest);
        }
        Ok(cosigned)
    }
}

/// The body of a 409 Conflict: the witness's latest size and a newline.
pub fn size_body(size: u64) -> String {
    format!("{size}\n")
}

/// Reads a 409 Conflict's body: a decimal size and a newline.
pub fn parse_size_body(body: &[u8]) -> Result<u64, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::MalformedRequest("not UTF-8"))?;
    let size = text.strip_suffix('\n').ok_or(Error::MalformedRequest("size without a newline"))?;
    parse_decimal(size).ok_or(Error::MalformedRequest("size is not a decimal number"))
}

/// Reads a 200 response's body: one or more note signature lines, each
/// ending in a newline. Add them to the checkpoint note and verify it with
/// the witness keys; unknown keys are to be ignored.
pub fn parse_cosignatures(body: &[u8]) -> Result<Vec<NoteSignature>, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::MalformedRequest("not UTF-8"))?;
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(Error::MalformedRequest("control character"));
    }
    let lines = text.strip_suffix('\n').ok_or(Error::MalformedRequest("no signature, or no final newline"))?;
    let mut signatures = Vec::new();
    for line in lines.split('\n') {
        if signatures.len() == MAX_SIGNATURES {
            return Err(Error::MalformedRequest("more than 100 signatures"));
        }
        signatures.push(NoteSignature::parse_line(line)?);
    }
    Ok(signatures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_proof, leaf_hash, stored_hashes, tree_hash};
    use crate::note::{KeyType, Signer};

    const ORIGIN: &str = "gongkai.example.cn/log";
    const NOW: u64 = 1_760_000_000;

    /// A log of `size` leaves as a dense store, its signer, and helpers.
    struct Log {
        signer: Signer,
        store: Vec<Hash>,
        size: u64,
        /// Different salts grow different trees: forks of one another.
        salt: u64,
    }

    impl Log {
        fn new() -> Self {
            Self::forked(0)
        }

        fn forked(salt: u64) -> Self {
            Self { signer: Signer::from_seed(ORIGIN, &[11; 32]).unwrap(), store: Vec::new(), size: 0, salt }
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

        fn request(&self, old: u64, size: u64) -> AddCheckpointRequest {
            let proof = consistency_proof(old, size, &self.store).unwrap();
            AddCheckpointRequest::new(old, proof, self.checkpoint(size).sign(&self.signer).unwrap()).unwrap()
        }
    }

    fn witness(log: &Log) -> Witness {
        let mut witness = Witness::new(Cosigner::from_seed("witness.example/w1", &[12; 32]).unwrap());
        witness.add_log(ORIGIN, vec![log.signer.verifier()]);
        witness
    }

    #[test]
    fn accepts_a_consistent_sequence() {
        let mut log = Log::new();
        let mut witness = witness(&log);
        let mut old = 0;
        for size in [0, 1, 2, 3, 7, 8, 9, 100, 255, 256, 257, 1000, 1000, 1001] {
            log.grow(size);
            let request = log.request(old, size);
            // Through the wire format and back.
            let request = AddCheckpointRequest::parse(&request.to_bytes()).unwrap();
            let cosigned = witness.add_checkpoint(&request, NOW + size).unwrap();
            assert_eq!(cosigned.latest, TreeHead::of(&log.checkpoint(size)));
            assert_eq!(witness.log(ORIGIN).unwrap().latest, Some(cosigned.latest));
            // The response body is a cosignature the log can verify and attach.
            let lines = parse_cosignatures(cosigned.response_body().as_bytes()).unwrap();
            let mut note = request.note().clone();
            for line in lines {
                note.add_signature(line).unwrap();
            }
            let known = [log.signer.verifier(), witness.cosigner().verifier()];
            let opened = Checkpoint::open(&note.to_bytes(), &known).unwrap();
            assert_eq!(opened.verified.len(), 2);
            assert_eq!(opened.verified[1].key_type, KeyType::Cosignature);
            assert_eq!(opened.verified[1].timestamp, Some(NOW + size));
            // What monitors get carries both, too.
            assert_eq!(Checkpoint::open(&cosigned.note.to_bytes(), &known).unwrap().verified.len(), 2);
            old = size;
        }
    }

    #[test]
    fn refuses_what_the_spec_refuses() {
        let mut log = Log::new();
        log.grow(20);
        let mut witness = witness(&log);
        witness.add_checkpoint(&log.request(0, 10), NOW).unwrap();
        let status = |witness: &mut Witness, request: &AddCheckpointRequest| {
            witness.add_checkpoint(request, NOW).map(|_| 200).unwrap_or_else(|e| e.witness_status())
        };

        // A wrong old size: 409, and the body tells the right one.
        for old in [0, 5, 9, 11, 15] {
            let result = witness.add_checkpoint(&log.request(old, 15), NOW);
            assert_eq!(result, Err(Error::OldSizeMismatch { old, latest: 10 }));
            assert_eq!(result.unwrap_err().witness_status(), 409);
        }
        assert_eq!(size_body(10), "10\n");
        assert_eq!(parse_size_body(size_body(10).as_bytes()).unwrap(), 10);

        // A rollback: old above the new size is 400; claiming the old size
        // is the smaller one is 409.
        let rollback = AddCheckpointRequest::new(10, vec![], log.checkpoint(5).sign(&log.signer).unwrap()).unwrap();
        assert_eq!(witness.add_checkpoint(&rollback, NOW), Err(Error::OldSizeAboveSize { old: 10, size: 5 }));
        assert_eq!(status(&mut witness, &rollback), 400);
        assert_eq!(status(&mut witness, &log.request(5, 5)), 409);

        // A fork at the same size: 422.
        let fork = Checkpoint::new(ORIGIN, 10, leaf_hash(b"fork")).unwrap();
        let fork = AddCheckpointRequest::new(10, vec![], fork.sign(&log.signer).unwrap()).unwrap();
        assert!(matches!(witness.add_checkpoint(&fork, NOW), Err(Error::NotConsistent(_))));
        assert_eq!(status(&mut witness, &fork), 422);

        // A fork at a larger size (another tree), and a bad proof: 422.
        let mut other = Log::forked(1000);
        other.grow(20);
        assert_eq!(status(&mut witness, &other.request(10, 15)), 422);
        let good = log.request(10, 15);
        for at in 0..good.proof().len() {
            let mut proof = good.proof().to_vec();
            proof[at][0] ^= 1;
            let bad = AddCheckpointRequest::new(10, proof, good.note().clone()).unwrap();
            assert_eq!(status(&mut witness, &bad), 422);
        }
        let short = AddCheckpointRequest::new(10, good.proof()[1..].to_vec(), good.note().clone()).unwrap();
        assert_eq!(status(&mut witness, &short), 422);

        // A bad signature, or none by the log's key: 403.
        let mut tampered = log.checkpoint(15).sign(&log.signer).unwrap();
        let other_signature = log.signer.sign(&log.checkpoint(16).to_text()).unwrap();
        tampered.add_signature(other_signature).unwrap();
        let forged = AddCheckpointRequest::new(10, good.proof().to_vec(), tampered).unwrap();
        assert!(matches!(witness.add_checkpoint(&forged, NOW), Err(Error::InvalidSignature { .. })));
        assert_eq!(status(&mut witness, &forged), 403);
        let stranger = Signer::from_seed("example.com/stranger", &[13; 32]).unwrap();
        let unsigned =
            AddCheckpointRequest::new(10, good.proof().to_vec(), log.checkpoint(15).sign(&stranger).unwrap()).unwrap();
        assert_eq!(witness.add_checkpoint(&unsigned, NOW), Err(Error::NoVerifiedSignature));
        assert_eq!(status(&mut witness, &unsigned), 403);

        // An unknown origin: 404.
        let elsewhere = Checkpoint::new("example.com/elsewhere", 1, leaf_hash(b"x")).unwrap();
        let elsewhere = AddCheckpointRequest::new(0, vec![], elsewhere.sign(&log.signer).unwrap()).unwrap();
        assert!(matches!(witness.add_checkpoint(&elsewhere, NOW), Err(Error::UnknownOrigin(_))));
        assert_eq!(status(&mut witness, &elsewhere), 404);

        // None of these moved the witness; the honest request still works.
        assert_eq!(witness.log(ORIGIN).unwrap().latest.unwrap().size, 10);
        assert_eq!(status(&mut witness, &good), 200);
        assert_eq!(witness.log(ORIGIN).unwrap().latest.unwrap().size, 15);
        // And the same checkpoint again is fine (same size, same root).
        assert_eq!(status(&mut witness, &log.request(15, 15)), 200);
    }

    #[test]
    fn first_checkpoints_and_empty_trees() {
        let mut log = Log::new();
        log.grow(5);
        let mut witness = witness(&log);
        // From 0, the proof must be empty.
        let with_proof =
            AddCheckpointRequest::new(0, vec![leaf_hash(b"x")], log.checkpoint(5).sign(&log.signer).unwrap()).unwrap();
        assert_eq!(witness.add_checkpoint(&with_proof, NOW).unwrap_err().witness_status(), 422);
        // A size-0 checkpoint must have the empty root.
        let empty = Checkpoint::new(ORIGIN, 0, leaf_hash(b"not empty")).unwrap();
        let empty = AddCheckpointRequest::new(0, vec![], empty.sign(&log.signer).unwrap()).unwrap();
        assert_eq!(witness.add_checkpoint(&empty, NOW).unwrap_err().witness_status(), 422);
        assert!(witness.add_checkpoint(&log.request(0, 0), NOW).is_ok());
        assert!(witness.add_checkpoint(&log.request(0, 5), NOW).is_ok());
        // The witness's own clock must be sane.
        assert_eq!(witness.add_checkpoint(&log.request(5, 5), 0), Err(Error::InvalidTimestamp(0)));
        assert_eq!(witness.add_checkpoint(&log.request(5, 5), u64::MAX).unwrap_err().witness_status(), 500);
        // The pure function with no log is an unknown origin.
        let cosigner = Cosigner::from_seed("w", &[1; 32]).unwrap();
        assert!(matches!(add_checkpoint(&cosigner, None, &log.request(0, 5), NOW), Err(Error::UnknownOrigin(_))));
    }

    #[test]
    fn request_bodies_round_trip_and_malformed_ones_are_refused() {
        let mut log = Log::new();
        log.grow(300);
        for (old, size) in [(0, 0), (0, 300), (1, 2), (100, 300), (255, 256)] {
            let request = log.request(old, size);
            let body = request.to_bytes();
            assert_eq!(AddCheckpointRequest::parse(&body).unwrap(), request);
            assert_eq!(AddCheckpointRequest::parse(&body).unwrap().to_bytes(), body);
        }
        let body = String::from_utf8(log.request(100, 300).to_bytes()).unwrap();
        let hash_line = hash_to_base64(&leaf_hash(b"h"));
        let note = log.checkpoint(300).sign(&log.signer).unwrap().to_string();
        let bad: Vec<String> = vec![
            String::new(),
            "old 0".into(),
            "old 0\n".into(),
            "old 0\n\n".into(),
            body.replacen("old 100", "old  100", 1),
            body.replacen("old 100", "old 0100", 1),
            body.replacen("old 100", "old -100", 1),
            body.replacen("old 100", "old 18446744073709551616", 1),
            body.replacen("old 100", "Old 100", 1),
            body.replacen("old 100", "old 100 ", 1),
            body.replacen("old 100\n", "old 100\r\n", 1),
            body.replacen("old 100\n", "", 1),
            body.replacen("\n\n", "\n", 1),
            body.replacen("=\n", "= \n", 1),
            body.replacen("=\n", "\n", 1),
            format!("old 0\n{hash_line}\n{hash_line}x\n\n{note}"),
            format!("old 0\n{}\n{note}", format!("{hash_line}\n").repeat(64)),
            format!("old 0\n\n{}", log.checkpoint(300).to_text()),
            format!("old 0\n\n{}", note.trim_end()),
            format!("old 0\n\n\n{note}"),
            format!("old 0\n\nhello\n\n{}", log.signer.sign("hello\n").unwrap().line()),
        ];
        for body in &bad {
            let result = AddCheckpointRequest::parse(body.as_bytes());
            assert!(result.is_err(), "{body:?}");
            assert_eq!(result.unwrap_err().witness_status(), 400, "{body:?}");
        }
        // 63 proof lines are allowed.
        assert!(
            AddCheckpointRequest::parse(format!("old 0\n{}\n{note}", format!("{hash_line}\n").repeat(63)).as_bytes())
                .is_ok()
        );
        assert!(AddCheckpointRequest::parse(&[0xff, b'\n']).is_err());
        assert!(AddCheckpointRequest::new(0, vec![[0; 32]; 64], log.checkpoint(1).sign(&log.signer).unwrap()).is_err());
    }

    #[test]
    fn response_bodies() {
        let cosigner = Cosigner::from_seed("witness.example/w1", &[12; 32]).unwrap();
        let checkpoint = Checkpoint::new(ORIGIN, 1, leaf_hash(b"x")).unwrap();
        let lines = format!(
            "{}{}",
            cosigner.cosign(&checkpoint, 1).unwrap().line(),
            cosigner.cosign(&checkpoint, 2).unwrap().line()
        );
        assert_eq!(parse_cosignatures(lines.as_bytes()).unwrap().len(), 2);
        for bad in ["", "\n", "— w\n", &lines[..lines.len() - 1], &format!("{lines}\n"), &lines.replace('\n', "\r\n")]
        {
            assert!(parse_cosignatures(bad.as_bytes()).is_err(), "{bad:?}");
        }
        for bad in ["", "10", "010\n", "-1\n", " 1\n", "1\n\n", "18446744073709551616\n"] {
            assert!(parse_size_body(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert_eq!(parse_size_body(format!("{}\n", u64::MAX).as_bytes()).unwrap(), u64::MAX);
    }
}
