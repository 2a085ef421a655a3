//! The per-project SHA-256 hash chain.
//!
//! `hash = SHA-256(prev_hash || canonical envelope)`, where `prev_hash` is the
//! previous event's 32-byte hash (no bytes for project_seq 1) and the
//! canonical envelope is the protobuf encoding (prost, fields in number order)
//! of the envelope with `hash` and `position` cleared: the position is
//! assigned by the store at commit, after the hash is fixed. Compliance flags
//! are inside the envelope, so the chain covers them too.

use gongkai_proto::v1::{BrokenLink, BrokenLinkKind, EventEnvelope};
use prost::Message;
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The chain hash of `envelope` after the event whose hash is `prev`.
pub fn chain_hash(prev: Option<&Hash>, envelope: &EventEnvelope) -> Hash {
    let mut canonical = envelope.clone();
    canonical.hash.clear();
    canonical.position = 0;
    let mut hasher = Sha256::new();
    if let Some(prev) = prev {
        hasher.update(prev);
    }
    hasher.update(canonical.encode_to_vec());
    hasher.finalize().into()
}

/// SHA-256 of arbitrary bytes, e.g. a request body for idempotency checks.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Recomputes the chain over `events` (in project_seq order, starting at 1)
/// and returns its first broken link: the first event whose project_seq is
/// not the next one (`SEQ_GAP`, the seqs as text), else whose prev_hash is
/// not the previous event's recomputed hash (`PREV_HASH_MISMATCH`), else
/// whose hash is not its own recomputed hash (`HASH_MISMATCH`); the expected
/// value first, then the stored one.
pub fn verify_chain(events: &[EventEnvelope]) -> Option<BrokenLink> {
    let mut prev: Option<Hash> = None;
    for (index, event) in events.iter().enumerate() {
        let expected_seq = index as u64 + 1;
        let link = |kind: BrokenLinkKind, expected: String, actual: String| BrokenLink {
            project_seq: expected_seq,
            event_id: event.event_id.clone(),
            kind: kind as i32,
            expected,
            actual,
        };
        if event.project_seq != expected_seq {
            return Some(link(BrokenLinkKind::SeqGap, expected_seq.to_string(), event.project_seq.to_string()));
        }
        let expected_prev = prev.map(hex::encode).unwrap_or_default();
        if event.prev_hash != expected_prev {
            return Some(link(BrokenLinkKind::PrevHashMismatch, expected_prev, event.prev_hash.clone()));
        }
        let recomputed = chain_hash(prev.as_ref(), event);
        if event.hash != hex::encode(recomputed) {
            return Some(link(BrokenLinkKind::HashMismatch, hex::encode(recomputed), event.hash.clone()));
        }
        prev = Some(recomputed);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<EventEnvelope> {
        let mut prev: Option<Hash> = None;
        (1..=n)
            .map(|seq| {
                let mut event = EventEnvelope {
                    event_id: format!("e{seq}"),
                    subject: "2017-230113-48-01-012345".into(),
                    project_seq: seq,
                    prev_hash: prev.map(hex::encode).unwrap_or_default(),
                    ..Default::default()
                };
                let hash = chain_hash(prev.as_ref(), &event);
                event.hash = hex::encode(hash);
                event.position = seq * 10;
                prev = Some(hash);
                event
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), None);
    }

    #[test]
    fn the_position_is_outside_the_hash() {
        let mut events = chain(3);
        events[1].position = 999;
        assert_eq!(verify_chain(&events), None);
    }

    #[test]
    fn an_altered_event_breaks_its_link() {
        let mut events = chain(5);
        events[2].source = "someone-else".into();
        let broken = verify_chain(&events).expect("tampering shows");
        assert_eq!(broken.project_seq, 3);
        assert_eq!(broken.event_id, "e3");
        assert_eq!(broken.kind(), BrokenLinkKind::HashMismatch);
        assert_eq!(broken.actual, events[2].hash);
        assert_ne!(broken.expected, broken.actual);
    }

    #[test]
    fn a_removed_event_breaks_the_chain() {
        let mut events = chain(5);
        events.remove(1);
        let broken = verify_chain(&events).expect("a gap shows");
        assert_eq!((broken.project_seq, broken.kind()), (2, BrokenLinkKind::SeqGap));
        assert_eq!((broken.expected.as_str(), broken.actual.as_str()), ("2", "3"));
    }

    #[test]
    fn a_relinked_event_breaks_at_its_prev_hash() {
        let mut events = chain(3);
        events[2].prev_hash = events[0].hash.clone();
        let broken = verify_chain(&events).expect("the relink shows");
        assert_eq!((broken.project_seq, broken.kind()), (3, BrokenLinkKind::PrevHashMismatch));
        assert_eq!(broken.expected, events[1].hash);
        assert_eq!(broken.actual, events[0].hash);
    }
}
