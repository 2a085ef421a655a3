//! The per-project SHA-256 hash chain.
//!
//! `hash = SHA-256(prev_hash || public event)`, where `prev_hash` is the
//! previous event's 32-byte hash (no bytes for project_seq 1) and the public
//! event is the encoding of the event's `PublicEvent`: the envelope's public
//! part with a salted commitment to each confidential one ([`commitment`]).
//! The position is not in it (the store assigns it at commit, after the hash
//! is fixed); the compliance flags are, as a commitment. So the supervisor,
//! who holds the envelope, and the public, who holds the public event, compute
//! the same hash.
//!
//! [`commitment`]: crate::commitment

use gongkai_proto::v1::{BrokenLink, BrokenLinkKind, EventEnvelope, PublicEvent};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::commitment::commit;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The chain hash of `envelope` after the event whose hash is `prev`.
pub fn chain_hash(prev: Option<&Hash>, envelope: &EventEnvelope) -> Hash {
    public_hash(prev, &commit(envelope).public_bytes())
}

/// The chain hash of an event whose encoded `PublicEvent` is `public_event`,
/// after the event whose hash is `prev`: what a public verifier computes.
pub fn public_hash(prev: Option<&Hash>, public_event: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    if let Some(prev) = prev {
        hasher.update(prev);
    }
    hasher.update(public_event);
    hasher.finalize().into()
}

/// The chain hash of `envelope` after `prev` under the legacy scheme, which
/// the events recorded before commitment seeds existed carry: SHA-256(prev
/// || prost encoding of the whole envelope with `hash` cleared and
/// `position` 0). It covers the confidential parts in the clear, so no
/// public verifier can recompute it. Only for moving such chains to the
/// current scheme ([`crate::rechain`]) and for its tests: nothing is
/// recorded this way any more.
pub fn legacy_chain_hash(prev: Option<&Hash>, envelope: &EventEnvelope) -> Hash {
    let canonical = EventEnvelope { hash: String::new(), position: 0, ..envelope.clone() };
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
    first_break(events, false, chain_hash)
}

/// The first broken link of `events` (one project's, in project_seq order
/// from 1), each event's hash recomputed by `hash` after the previous one:
/// a seq out of order (`SEQ_GAP`), with `one_project` an event of another
/// project than the first's (`HASH_MISMATCH`), a prev_hash that is not the
/// previous recomputed hash (`PREV_HASH_MISMATCH`), or a hash that is not
/// its own recomputed hash (`HASH_MISMATCH`); expected value first.
pub(crate) fn first_break(
    events: &[EventEnvelope],
    one_project: bool,
    hash: impl Fn(Option<&Hash>, &EventEnvelope) -> Hash,
) -> Option<BrokenLink> {
    let mut prev: Option<Hash> = None;
    for (event, expected_seq) in events.iter().zip(1_u64..) {
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
        if one_project
            && let Some(first) = events.first()
            && first.subject != event.subject
        {
            return Some(link(BrokenLinkKind::HashMismatch, first.subject.clone(), event.subject.clone()));
        }
        let expected_prev = prev.map(hex::encode).unwrap_or_default();
        if event.prev_hash != expected_prev {
            return Some(link(BrokenLinkKind::PrevHashMismatch, expected_prev, event.prev_hash.clone()));
        }
        let recomputed = hash(prev.as_ref(), event);
        if event.hash != hex::encode(recomputed) {
            return Some(link(BrokenLinkKind::HashMismatch, hex::encode(recomputed), event.hash.clone()));
        }
        prev = Some(recomputed);
    }
    None
}

/// What a public verifier learns from a project's public events.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicChain {
    /// Each event's hash, in project_seq order; the last one is the head.
    pub hashes: Vec<Hash>,
    /// The decoded events.
    pub events: Vec<PublicEvent>,
}

/// Recomputes a project's chain from its encoded public events, in
/// project_seq order starting at 1 (the bytes of `TimelineEntry.public_event`
/// as published), and checks each link: the first event whose bytes do not
/// decode, whose project_seq is not the next one, whose project differs
/// from the first's, or whose `prev_hash` is not the hash computed for the
/// event before it is the broken link (`HASH_MISMATCH` for bytes that do not
/// decode or name another project). It needs nothing confidential.
pub fn verify_public_chain<'b>(encoded: impl IntoIterator<Item = &'b [u8]>) -> Result<PublicChain, BrokenLink> {
    let mut chain = PublicChain { hashes: Vec::new(), events: Vec::new() };
    for (index, bytes) in encoded.into_iter().enumerate() {
        let expected_seq = index as u64 + 1;
        let link = |event_id: &str, kind: BrokenLinkKind, expected: String, actual: String| BrokenLink {
            project_seq: expected_seq,
            event_id: event_id.to_owned(),
            kind: kind as i32,
            expected,
            actual,
        };
        let event = PublicEvent::decode(bytes).map_err(|error| {
            link("", BrokenLinkKind::HashMismatch, "a PublicEvent".to_owned(), format!("undecodable bytes: {error}"))
        })?;
        if event.project_seq != expected_seq {
            return Err(link(
                &event.event_id,
                BrokenLinkKind::SeqGap,
                expected_seq.to_string(),
                event.project_seq.to_string(),
            ));
        }
        if let Some(first) = chain.events.first()
            && first.subject != event.subject
        {
            return Err(link(&event.event_id, BrokenLinkKind::HashMismatch, first.subject.clone(), event.subject));
        }
        let prev = chain.hashes.last();
        let expected_prev = prev.map(hex::encode).unwrap_or_default();
        if event.prev_hash != expected_prev {
            return Err(link(&event.event_id, BrokenLinkKind::PrevHashMismatch, expected_prev, event.prev_hash));
        }
        chain.hashes.push(public_hash(prev, bytes));
        chain.events.push(event);
    }
    Ok(chain)
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

    fn public(events: &[EventEnvelope]) -> Vec<Vec<u8>> {
        events.iter().map(|event| crate::commitment::commit(event).public_bytes()).collect()
    }

    #[test]
    fn the_public_chain_gives_the_hashes_the_supervisor_chain_has() {
        let events = chain(5);
        let encoded = public(&events);
        let verified = verify_public_chain(encoded.iter().map(Vec::as_slice)).expect("intact");
        let hashes: Vec<String> = verified.hashes.iter().map(hex::encode).collect();
        assert_eq!(hashes, events.iter().map(|e| e.hash.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn a_public_chain_with_an_altered_removed_or_foreign_event_breaks() {
        let events = chain(4);
        let mut altered = events.clone();
        altered[1].source = "someone-else".into();
        let encoded = public(&altered);
        let broken = verify_public_chain(encoded.iter().map(Vec::as_slice)).expect_err("altered");
        assert_eq!((broken.project_seq, broken.kind()), (3, BrokenLinkKind::PrevHashMismatch));

        let mut encoded = public(&events);
        encoded.remove(2);
        let broken = verify_public_chain(encoded.iter().map(Vec::as_slice)).expect_err("removed");
        assert_eq!((broken.project_seq, broken.kind()), (3, BrokenLinkKind::SeqGap));

        let mut encoded = public(&events);
        encoded[1] = vec![0xff, 0xff, 0xff];
        let broken = verify_public_chain(encoded.iter().map(Vec::as_slice)).expect_err("garbage");
        assert_eq!((broken.project_seq, broken.kind()), (2, BrokenLinkKind::HashMismatch));

        let mut foreign = events.clone();
        foreign[3].subject = "2017-230113-48-01-099999".into();
        let encoded = public(&foreign);
        let broken = verify_public_chain(encoded.iter().map(Vec::as_slice)).expect_err("foreign");
        assert_eq!((broken.project_seq, broken.kind()), (4, BrokenLinkKind::HashMismatch));
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
