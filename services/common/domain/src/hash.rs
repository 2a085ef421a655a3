//! The per-project SHA-256 hash chain.
//!
//! `hash = SHA-256(prev_hash || canonical envelope)`, where `prev_hash` is the
//! previous event's 32-byte hash (no bytes for project_seq 1) and the
//! canonical envelope is the protobuf encoding (prost, fields in number order)
//! of the envelope with `hash` and `position` cleared: the position is
//! assigned by the store at commit, after the hash is fixed. Compliance flags
//! are inside the envelope, so the chain covers them too.

use gongkai_proto::v1::EventEnvelope;
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

/// Where a project's chain first breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The first event whose stored hash or link does not verify.
    pub project_seq: u64,
    /// The hash recomputed from the stored content (hex).
    pub expected: String,
    /// The hash stored with the event (hex).
    pub actual: String,
}

/// Recomputes the chain over `events` (in project_seq order, starting at 1)
/// and returns the first broken link.
pub fn verify_chain(events: &[EventEnvelope]) -> Option<BrokenLink> {
    let mut prev: Option<Hash> = None;
    for (index, event) in events.iter().enumerate() {
        let expected_seq = index as u64 + 1;
        let expected_prev = prev.map(hex::encode).unwrap_or_default();
        let recomputed = chain_hash(prev.as_ref(), event);
        if event.project_seq != expected_seq
            || event.prev_hash != expected_prev
            || event.hash != hex::encode(recomputed)
        {
            return Some(BrokenLink {
                project_seq: expected_seq,
                expected: hex::encode(recomputed),
                actual: event.hash.clone(),
            });
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
        assert_ne!(broken.expected, broken.actual);
    }

    #[test]
    fn a_removed_event_breaks_the_chain() {
        let mut events = chain(5);
        events.remove(1);
        assert_eq!(verify_chain(&events).map(|b| b.project_seq), Some(2));
    }
}
