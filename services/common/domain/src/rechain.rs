//! Moving a project's chain to the current hash scheme, once.
//!
//! Events recorded before commitment seeds existed have none, and their
//! hashes follow the legacy scheme ([`legacy_chain_hash`]): they cover the
//! confidential parts in the clear, so the public cannot recompute them, and
//! without a seed the salts of their commitments would be guessable. A
//! project may also have later events chained onto such a head under the
//! current scheme. [`rechain`] gives every event without a seed a fresh one
//! and recomputes each `prev_hash` and `hash` from the first event on under
//! the current scheme ([`chain_hash`]), keeping everything else.
//!
//! It first checks the chain as recorded, each event under the scheme it was
//! recorded with (no seed: legacy; a seed: current). A chain broken there is
//! refused: re-chaining it would give tampered events valid hashes and hide
//! the tampering.

use gongkai_proto::v1::{BrokenLink, EventEnvelope};

use crate::commitment::SEED_LEN;
use crate::hash::{Hash, chain_hash, first_break, legacy_chain_hash};

/// A project's chain under the current scheme, from [`rechain`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rechained {
    /// The events to store, in project_seq order: each with a seed, chained
    /// under the current scheme. Everything else is as given.
    pub events: Vec<EventEnvelope>,
    /// Whether any event differs from the one given (a seed drawn, a hash
    /// or a prev_hash recomputed); false for a chain already current.
    pub changed: bool,
    /// The head as recorded (the last event's hash); `None` without events.
    pub old_head: Option<Hash>,
    /// The head after; `old_head` when nothing changed.
    pub new_head: Option<Hash>,
}

/// Why a chain was not moved to the current scheme.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RechainError<E> {
    /// The chain as recorded is broken: its first broken link, as
    /// [`recorded_chain_break`] gives it. Nothing is to be rewritten.
    #[error("the recorded chain is broken at project_seq {}", .0.project_seq)]
    Broken(BrokenLink),
    /// The seed source failed.
    #[error("no commitment seed could be drawn: {0}")]
    Seed(E),
}

/// The first broken link of `events` (one project's, in project_seq order
/// from 1) with each event checked under the scheme it was recorded with:
/// the legacy one when it has no commitment seed, the current one when it
/// has. A project_seq out of order is `SEQ_GAP`, an event of another
/// project than the first's, or a hash that is not its own recomputed
/// hash, `HASH_MISMATCH`, a prev_hash that is not the previous event's
/// hash `PREV_HASH_MISMATCH`; the expected value first, then the recorded one.
pub fn recorded_chain_break(events: &[EventEnvelope]) -> Option<BrokenLink> {
    first_break(events, true, |prev, event| {
        if event.commitment_seed.is_empty() { legacy_chain_hash(prev, event) } else { chain_hash(prev, event) }
    })
}

/// Moves `events` (one project's, in project_seq order from 1) to the
/// current scheme: each event without a commitment seed gets one from
/// `seed`, and every `prev_hash` and `hash` is recomputed along the chain.
/// A chain already current (every seed present, [`verify_chain`] passes)
/// comes back unchanged, so moving twice is moving once.
///
/// Refused, drawing no seed, when the chain as recorded is broken
/// ([`recorded_chain_break`]).
///
/// [`verify_chain`]: crate::hash::verify_chain
pub fn rechain<E>(
    events: &[EventEnvelope],
    mut seed: impl FnMut() -> Result<[u8; SEED_LEN], E>,
) -> Result<Rechained, RechainError<E>> {
    if let Some(broken) = recorded_chain_break(events) {
        return Err(RechainError::Broken(broken));
    }
    let mut rechained = Vec::with_capacity(events.len());
    let mut prev: Option<Hash> = None;
    for event in events {
        let mut moved = event.clone();
        if moved.commitment_seed.is_empty() {
            moved.commitment_seed = seed().map_err(RechainError::Seed)?.to_vec();
        }
        moved.prev_hash = prev.map(hex::encode).unwrap_or_default();
        let hash = chain_hash(prev.as_ref(), &moved);
        moved.hash = hex::encode(hash);
        prev = Some(hash);
        rechained.push(moved);
    }
    // The recorded hashes were checked above: the last one is the head.
    let old_head = events.last().and_then(|last| hex::decode(&last.hash).ok()).and_then(|bytes| bytes.try_into().ok());
    Ok(Rechained { changed: rechained != events, events: rechained, old_head, new_head: prev })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use gongkai_proto::v1::BrokenLinkKind;
    use gongkai_proto::v1::event_envelope::Body;
    use gongkai_proto::v1::fact::Kind;
    use gongkai_proto::v1::{BidsEvaluated, ComplianceFlag, Fact, Person};

    use super::*;
    use crate::commitment::commit;
    use crate::hash::{verify_chain, verify_public_chain};

    const PROJECT: &str = "2017-230113-48-01-012345";

    fn event(seq: u64) -> EventEnvelope {
        EventEnvelope {
            event_id: format!("0190a0d6-0000-7000-8000-{seq:012}"),
            r#type: "gongkai.v1.BidsEvaluated".into(),
            source: "center-harbin".into(),
            subject: PROJECT.into(),
            project_seq: seq,
            position: seq * 10,
            request_id: format!("request-{seq}"),
            flags: vec![ComplianceFlag { rule: "GK-NEAR-CEILING".into(), ..Default::default() }],
            body: Some(Body::Fact(Fact {
                kind: Some(Kind::BidsEvaluated(BidsEvaluated {
                    tender_code: "T1".into(),
                    committee_members: vec![Person {
                        name: "评标专家甲".into(),
                        id_number: "230103198001011234".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                })),
            })),
            ..Default::default()
        }
    }

    /// `n` events chained as before seeds: no seed, legacy hashes.
    fn legacy(n: u64) -> Vec<EventEnvelope> {
        let mut prev: Option<Hash> = None;
        (1..=n)
            .map(|seq| {
                let mut event = EventEnvelope { prev_hash: prev.map(hex::encode).unwrap_or_default(), ..event(seq) };
                let hash = legacy_chain_hash(prev.as_ref(), &event);
                event.hash = hex::encode(hash);
                prev = Some(hash);
                event
            })
            .collect()
    }

    /// Appends `n` events under the current scheme after `events`.
    fn extend_current(events: &mut Vec<EventEnvelope>, n: u64) {
        for _ in 0..n {
            let prev: Option<Hash> = events.last().map(|last| hex::decode(&last.hash).unwrap().try_into().unwrap());
            let seq = events.len() as u64 + 1;
            let mut event = EventEnvelope {
                prev_hash: prev.map(hex::encode).unwrap_or_default(),
                commitment_seed: vec![seq as u8; SEED_LEN],
                ..event(seq)
            };
            event.hash = hex::encode(chain_hash(prev.as_ref(), &event));
            events.push(event);
        }
    }

    /// A seed source counting its seeds: 1, 2, 3 … in every byte.
    fn counting() -> impl FnMut() -> Result<[u8; SEED_LEN], Infallible> {
        let mut drawn = 0_u8;
        move || {
            drawn += 1;
            Ok([drawn; SEED_LEN])
        }
    }

    fn head(event: &EventEnvelope) -> Option<Hash> {
        hex::decode(&event.hash).ok().and_then(|bytes| bytes.try_into().ok())
    }

    #[test]
    fn a_legacy_chain_verifies_only_under_its_own_scheme() {
        let events = legacy(4);
        assert_eq!(recorded_chain_break(&events), None);
        assert_eq!(verify_chain(&events).map(|broken| broken.project_seq), Some(1));
    }

    #[test]
    fn a_legacy_chain_moves_to_the_current_scheme_keeping_everything_else() {
        let events = legacy(4);
        let moved = rechain(&events, counting()).expect("an intact chain moves");
        assert!(moved.changed);
        assert_eq!(verify_chain(&moved.events), None);
        assert_eq!(moved.old_head, head(&events[3]));
        assert_eq!(moved.new_head, head(&moved.events[3]));
        assert_ne!(moved.old_head, moved.new_head);
        for (seq, (before, after)) in (1_u8..).zip(events.iter().zip(&moved.events)) {
            assert_eq!(after.commitment_seed, vec![seq; SEED_LEN], "a fresh seed each");
            let unhashed = |e: &EventEnvelope| EventEnvelope {
                hash: String::new(),
                prev_hash: String::new(),
                commitment_seed: Vec::new(),
                ..e.clone()
            };
            assert_eq!(unhashed(before), unhashed(after), "ids, seqs, positions, bodies and flags kept");
        }
        // The public can now recompute the chain from the public events.
        let public: Vec<Vec<u8>> = moved.events.iter().map(|e| commit(e).public_bytes()).collect();
        let chain = verify_public_chain(public.iter().map(Vec::as_slice)).expect("the public chain verifies");
        assert_eq!(chain.hashes.last().copied(), moved.new_head);
    }

    #[test]
    fn a_current_chain_is_left_alone_and_moving_twice_is_moving_once() {
        let once = rechain(&legacy(3), counting()).expect("moves").events;
        let again = rechain(&once, || Err("no seed may be drawn")).expect("already current");
        assert!(!again.changed);
        assert_eq!(again.events, once);
        assert_eq!(again.old_head, again.new_head);
    }

    #[test]
    fn current_events_chained_onto_a_legacy_head_keep_their_seeds() {
        let mut events = legacy(2);
        extend_current(&mut events, 2);
        assert_eq!(recorded_chain_break(&events), None);
        let moved = rechain(&events, counting()).expect("a mixed chain moves");
        assert_eq!(verify_chain(&moved.events), None);
        let seeds: Vec<u8> = moved.events.iter().map(|e| e.commitment_seed[0]).collect();
        assert_eq!(seeds, [1, 2, 3, 4], "two drawn, two kept");
    }

    #[test]
    fn a_tampered_chain_is_refused_without_drawing_a_seed() {
        let never = || -> Result<[u8; SEED_LEN], &str> { Err("no seed may be drawn") };
        let mut altered = legacy(4);
        altered[2].source = "someone-else".into();
        let Err(RechainError::Broken(broken)) = rechain(&altered, never) else { panic!("refused") };
        assert_eq!((broken.project_seq, broken.kind()), (3, BrokenLinkKind::HashMismatch));
        assert_eq!(broken.actual, altered[2].hash);

        let mut removed = legacy(4);
        removed.remove(1);
        let Err(RechainError::Broken(broken)) = rechain(&removed, never) else { panic!("refused") };
        assert_eq!((broken.project_seq, broken.kind()), (2, BrokenLinkKind::SeqGap));

        // A seed added to a legacy event: checked under the current scheme, it fails.
        let mut seeded = legacy(3);
        seeded[1].commitment_seed = vec![7; SEED_LEN];
        let Err(RechainError::Broken(broken)) = rechain(&seeded, never) else { panic!("refused") };
        assert_eq!((broken.project_seq, broken.kind()), (2, BrokenLinkKind::HashMismatch));

        let mut foreign = legacy(3);
        foreign[2].subject = "2017-230113-48-01-099999".into();
        let Err(RechainError::Broken(broken)) = rechain(&foreign, never) else { panic!("refused") };
        assert_eq!((broken.project_seq, broken.kind()), (3, BrokenLinkKind::HashMismatch));

        let mut relinked = legacy(3);
        relinked[2].prev_hash = relinked[0].hash.clone();
        let Err(RechainError::Broken(broken)) = rechain(&relinked, never) else { panic!("refused") };
        assert_eq!((broken.project_seq, broken.kind()), (3, BrokenLinkKind::PrevHashMismatch));
    }

    #[test]
    fn a_failing_seed_source_is_reported() {
        assert_eq!(rechain(&legacy(2), || Err("no randomness")), Err(RechainError::Seed("no randomness")));
    }

    #[test]
    fn no_events_nothing_to_move() {
        let moved = rechain(&[], counting()).expect("nothing to refuse");
        assert_eq!((moved.changed, moved.old_head, moved.new_head), (false, None, None));
    }
}
