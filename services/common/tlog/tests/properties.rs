//! Properties of the public API over random inputs: proofs verify for random
//! positions and fail once altered; the verifiers and index functions take
//! any `u64` without panicking; every parser takes any bytes without
//! panicking, and accepts only what the matching formatter writes; a witness
//! fed a random mix of honest and dishonest requests only ever moves forward
//! along the honest log.
//!
//! `GONGKAI_TLOG_CASES` sets the number of cases per property (256 by default).

use std::sync::OnceLock;

use gongkai_tlog::merkle::{self, Hash, MAX_TREE_SIZE};
use gongkai_tlog::note::{KeyType, Note, NoteSignature, Signer, Verifier};
use gongkai_tlog::tile::{self, Tile};
use gongkai_tlog::witness::{self, AddCheckpointRequest, TreeHead, Witness};
use gongkai_tlog::{Checkpoint, Cosigner, Error};
use proptest::collection::vec;
use proptest::prelude::*;

const LEAVES: u64 = 2048;
const ORIGIN: &str = "gongkai.example.cn/log";

fn cases() -> u32 {
    std::env::var("GONGKAI_TLOG_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() }
}

/// The leaf hashes and dense stored hashes of a log of `LEAVES` leaves.
fn log() -> &'static (Vec<Hash>, Vec<Hash>) {
    static LOG: OnceLock<(Vec<Hash>, Vec<Hash>)> = OnceLock::new();
    LOG.get_or_init(|| {
        let mut tree = merkle::CompactTree::new();
        let mut leaves = Vec::new();
        let mut store = Vec::new();
        for n in 0..LEAVES {
            let leaf = merkle::leaf_hash(&n.to_be_bytes());
            store.extend(tree.append(leaf).unwrap().into_iter().map(|(_, hash)| hash));
            leaves.push(leaf);
        }
        (leaves, store)
    })
}

fn root(size: u64) -> Hash {
    merkle::tree_hash(size, &log().1).unwrap()
}

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::from_seed(ORIGIN, &[21; 32]).unwrap())
}

fn cosigner() -> Cosigner {
    Cosigner::from_seed("witness.example/w1", &[22; 32]).unwrap()
}

fn request(old: u64, size: u64) -> AddCheckpointRequest {
    let proof = merkle::consistency_proof(old, size, &log().1).unwrap();
    let note = Checkpoint::new(ORIGIN, size, root(size)).unwrap().sign(signer()).unwrap();
    AddCheckpointRequest::new(old, proof, note).unwrap()
}

/// Valid inputs of every parser, to mutate.
fn samples() -> Vec<Vec<u8>> {
    let checkpoint = Checkpoint::new(ORIGIN, 1000, root(1000)).unwrap();
    let mut note = checkpoint.sign(signer()).unwrap();
    note.add_signature(cosigner().cosign(&checkpoint, 1_760_000_000).unwrap()).unwrap();
    let bundle = tile::encode_entry_bundle(&[b"one".as_slice(), b"", &[7; 40]]).unwrap();
    vec![
        checkpoint.to_text().into_bytes(),
        note.to_bytes(),
        request(700, 1000).to_bytes(),
        signer().verifier().vkey().into_bytes(),
        signer().signer_key().into_bytes(),
        cosigner().verifier().vkey().into_bytes(),
        cosigner().signer_key().into_bytes(),
        Tile::hashes(2, 1_234_067, 17).unwrap().path().into_bytes(),
        Tile::entries(999_999, 256).unwrap().path().into_bytes(),
        bundle,
        cosigner().cosign(&checkpoint, 1).unwrap().line().into_bytes(),
        witness::size_body(1000).into_bytes(),
        merkle::hash_to_base64(&root(5)).into_bytes(),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to these formats, more often than random ones.
    let byte = prop_oneof![
        3 => prop::sample::select(vec![b'\n', b' ', b'+', b'/', b'=', b'.', b'x', b'0', b'9', 0xe2, 0x80, 0x94, 0, 0xff]),
        1 => any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (any::<usize>(), byte).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        (any::<usize>(), 1..8usize).prop_map(|(at, len)| Mutation::Remove(at, len)),
        (any::<usize>(), 1..50usize).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        match *mutation {
            Mutation::Flip(at, mask) if len > 0 => bytes[at % len] ^= mask,
            Mutation::Insert(at, byte) => bytes.insert(at % (len + 1), byte),
            Mutation::Remove(at, n) if len > 0 => {
                let at = at % len;
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Duplicate(at, n) if len > 0 => {
                let at = at % len;
                let part: Vec<u8> = bytes[at..(at + n).min(len)].to_vec();
                bytes.splice(at..at, part);
            }
            Mutation::Truncate(at) => bytes.truncate(at % (len + 1)),
            _ => {}
        }
    }
    bytes
}

/// Runs every parser on the bytes; each either refuses them or accepts
/// exactly what its formatter writes back.
fn parse_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    let text = std::str::from_utf8(bytes).ok();
    if let Ok(note) = Note::parse(bytes) {
        prop_assert_eq!(note.to_bytes(), bytes);
        let _ = note.verify(&[signer().verifier(), cosigner().verifier()]);
    }
    if let Ok(request) = AddCheckpointRequest::parse(bytes) {
        prop_assert_eq!(request.to_bytes(), bytes);
        let mut witness = Witness::new(cosigner());
        witness.add_log(ORIGIN, vec![signer().verifier()]);
        let _ = witness.add_checkpoint(&request, 1);
    }
    if let Ok(entries) = tile::parse_entry_bundle(bytes) {
        prop_assert_eq!(tile::encode_entry_bundle(&entries).unwrap(), bytes);
    }
    if let Ok(signatures) = witness::parse_cosignatures(bytes) {
        let lines: String = signatures.iter().map(NoteSignature::line).collect();
        prop_assert_eq!(lines.as_bytes(), bytes);
    }
    if let Ok(size) = witness::parse_size_body(bytes) {
        let body = witness::size_body(size);
        prop_assert_eq!(body.as_bytes(), bytes);
    }
    let Some(text) = text else {
        return Ok(());
    };
    if let Ok(checkpoint) = Checkpoint::parse(text) {
        prop_assert_eq!(checkpoint.to_text(), text);
    }
    if let Ok(tile) = Tile::parse_path(text) {
        prop_assert_eq!(tile.path(), text);
    }
    if let Ok(verifier) = Verifier::parse(text) {
        prop_assert_eq!(verifier.vkey(), text);
    }
    if let Ok(signer) = Signer::parse(text) {
        prop_assert_eq!(signer.signer_key(), text);
    }
    if let Ok(cosigner) = Cosigner::parse(text) {
        prop_assert_eq!(cosigner.signer_key(), text);
    }
    if let Ok(line) = NoteSignature::parse_line(text) {
        prop_assert_eq!(format!("{text}\n"), line.line());
    }
    if let Ok(hash) = merkle::hash_from_base64(text) {
        prop_assert_eq!(merkle::hash_to_base64(&hash), text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn inclusion_proofs_verify_at_random_positions(size in 1..=LEAVES, pick in any::<u64>(), flip in any::<(usize, u8)>()) {
        let index = pick % size;
        let (leaves, store) = log();
        let root = root(size);
        let proof = merkle::inclusion_proof(index, size, store).unwrap();
        let leaf = leaves[index as usize];
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = flip.0 % (bad.len() * 32);
            bad[at / 32][at % 32] ^= flip.1.max(1);
            prop_assert!(merkle::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
        let other = (index + 1 + pick % 7) % size;
        if other != index {
            prop_assert!(merkle::verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_at_random_sizes(a in 0..=LEAVES, b in 0..=LEAVES, flip in any::<(usize, u8)>()) {
        let (old, new) = (a.min(b), a.max(b));
        let proof = merkle::consistency_proof(old, new, &log().1).unwrap();
        let (old_root, new_root) = (root(old), root(new));
        prop_assert!(merkle::verify_consistency(old, &old_root, new, &new_root, &proof).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = flip.0 % (bad.len() * 32);
            bad[at / 32][at % 32] ^= flip.1.max(1);
            prop_assert!(merkle::verify_consistency(old, &old_root, new, &new_root, &bad).is_err());
        }
        if old > 0 && old < new {
            // Another tree of the new size is no extension of the old one.
            let forked = merkle::root_from_leaves(&[merkle::leaf_hash(b"fork")]);
            prop_assert!(merkle::verify_consistency(old, &old_root, new, &forked, &proof).is_err());
        }
    }

    #[test]
    fn verifiers_and_index_functions_take_any_numbers(
        index in any::<u64>(),
        size in any::<u64>(),
        level in any::<u8>(),
        proof in vec(any::<[u8; 32]>(), 0..70),
        root in any::<[u8; 32]>(),
    ) {
        // Random proofs of random claims: no panic, and no acceptance.
        prop_assert!(merkle::verify_inclusion(&root, index, size, &proof, &merkle::EMPTY_ROOT).is_err());
        let (old, new) = (index.min(size), index.max(size));
        if old != new || !proof.is_empty() {
            prop_assert!(merkle::verify_consistency(old, &root, new, &merkle::EMPTY_ROOT, &proof).is_err());
        }
        let _ = merkle::stored_hash_count(size);
        let _ = merkle::split_stored_hash_index(index);
        let _ = merkle::stored_hashes_indexes(index);
        let _ = merkle::tree_hash_indexes(size.min(MAX_TREE_SIZE + 1));
        let _ = tile::tiles_for_size(size.saturating_sub(1 + index % 300), size);
        if let Ok(tile) = Tile::hashes(level, index, 1 + (size % 256) as u16) {
            let _ = tile.hash_indexes();
            let _ = tile.leaf_range();
            prop_assert_eq!(Tile::parse_path(&tile.path()).unwrap(), tile);
        }
        // Proof index sets only where sizes are supported; small enough to list.
        let size = size % (MAX_TREE_SIZE + 2);
        if index < size && size <= MAX_TREE_SIZE {
            prop_assert!(merkle::inclusion_proof_indexes(index, size).unwrap().len() <= 2 * 64);
        } else {
            prop_assert!(merkle::inclusion_proof_indexes(index, size).is_err());
        }
        let old = index % (size + 1);
        if size <= MAX_TREE_SIZE {
            prop_assert!(merkle::consistency_proof_indexes(old, size).unwrap().len() <= 2 * 64);
        }
        // Stored hash indexes map back, within the supported tree.
        let level = level % 63;
        let n = index % (MAX_TREE_SIZE >> level);
        let stored = merkle::stored_hash_index(level, n).unwrap();
        prop_assert_eq!(merkle::split_stored_hash_index(stored).unwrap(), (level, n));
    }

    #[test]
    fn parsers_take_any_bytes(bytes in vec(any::<u8>(), 0..400)) {
        parse_everything(&bytes)?;
    }

    #[test]
    fn parsers_take_mangled_valid_inputs(pick in any::<usize>(), mutations in vec(mutation(), 1..5)) {
        let samples = samples();
        let sample = samples[pick % samples.len()].clone();
        parse_everything(&sample)?;
        parse_everything(&mutate(sample, &mutations))?;
    }

    #[test]
    fn checkpoints_and_notes_round_trip(
        origin in "[^\\x00-\\x1f]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in vec("[^\\x00-\\x1f]{1,20}", 0..3),
        timestamp in 0..=i64::MAX as u64,
    ) {
        let mut checkpoint = Checkpoint::new(&origin, size, root).unwrap();
        for line in &extensions {
            checkpoint = checkpoint.with_extension(line).unwrap();
        }
        prop_assert_eq!(&Checkpoint::parse(&checkpoint.to_text()).unwrap(), &checkpoint);
        let mut note = checkpoint.sign(signer()).unwrap();
        note.add_signature(cosigner().cosign(&checkpoint, timestamp).unwrap()).unwrap();
        let opened = Checkpoint::open(&note.to_bytes(), &[signer().verifier(), cosigner().verifier()]).unwrap();
        prop_assert_eq!(&opened.checkpoint, &checkpoint);
        prop_assert_eq!(opened.verified.len(), 2);
        prop_assert_eq!(opened.verified[1].key_type, KeyType::Cosignature);
        prop_assert_eq!(opened.verified[1].timestamp, Some(timestamp));
    }

    #[test]
    fn a_witness_only_moves_forward_along_the_honest_log(steps in vec((0..6u8, 0..=LEAVES, any::<u64>()), 1..25)) {
        let mut witness = Witness::new(cosigner());
        witness.add_log(ORIGIN, vec![signer().verifier()]);
        let mut latest: Option<TreeHead> = None;
        for (kind, size, noise) in steps {
            let current = latest.map_or(0, |head| head.size);
            // Before anything is cosigned, every first checkpoint is believable.
            if current == 0 && matches!(kind, 2..=4) {
                continue;
            }
            let (request, honest) = match kind {
                // Honest: from the witness's size to a size at least as large.
                0 | 1 => {
                    let size = current + size % (LEAVES - current + 1);
                    (request(current, size), true)
                }
                // A stale old size.
                2 => (request(size.min(current.saturating_sub(1)), size.max(current.saturating_sub(1))), false),
                // A fork: the honest sizes, another root.
                3 => {
                    let size = (current + size % (LEAVES - current + 1)).max(1);
                    let fork = Checkpoint::new(ORIGIN, size, merkle::leaf_hash(&noise.to_be_bytes())).unwrap();
                    let proof = merkle::consistency_proof(current, size, &log().1).unwrap();
                    (AddCheckpointRequest::new(current, proof, fork.sign(signer()).unwrap()).unwrap(), false)
                }
                // A rollback below the witness's size.
                4 => {
                    let size = size % current.max(1);
                    (request(size, size), false)
                }
                // Signed by someone else.
                _ => {
                    let size = current + size % (LEAVES - current + 1);
                    let stranger = Signer::from_seed(ORIGIN, &[23; 32]).unwrap();
                    let proof = merkle::consistency_proof(current, size, &log().1).unwrap();
                    let note = Checkpoint::new(ORIGIN, size, root(size)).unwrap().sign(&stranger).unwrap();
                    (AddCheckpointRequest::new(current, proof, note).unwrap(), false)
                }
            };
            // Through the wire format.
            let request = AddCheckpointRequest::parse(&request.to_bytes()).unwrap();
            match witness.add_checkpoint(&request, 1_760_000_000) {
                Ok(cosigned) => {
                    prop_assert!(honest, "accepted a dishonest request: {:?}", request);
                    prop_assert!(cosigned.latest.size >= current);
                    prop_assert_eq!(cosigned.latest.root, root(cosigned.latest.size));
                    latest = Some(cosigned.latest);
                }
                Err(error) => {
                    prop_assert!(!honest, "refused an honest request: {}", error);
                    prop_assert!(matches!(error.witness_status(), 400 | 403 | 409 | 422), "{}", error);
                    if let Error::OldSizeMismatch { latest: told, .. } = error {
                        prop_assert_eq!(told, current);
                    }
                }
            }
            prop_assert_eq!(witness.log(ORIGIN).unwrap().latest, latest);
        }
    }
}
