//! What an event's hash commits to: its public part in full, and each
//! confidential part only through a salted digest (`PublicEvent` in
//! events.proto). The public can then recompute every hash of a project's
//! chain from the public record alone, and check a part revealed later (the
//! evaluation committee after the award) against the commitment made when
//! the event was recorded, while a part that stays confidential (an ID
//! number, a household's compensation) cannot be guessed from its digest:
//! its salt derives from the event's random seed.
//!
//! The confidential parts are every field the disclosure policy withholds at
//! some time (docs/domain.md, "Disclosure policy"), listed here once per fact
//! kind; whether one is public *now* is the projector's question, answered by
//! comparing the parts of the public copy it renders with these
//! ([`Committed::reveals`]).

use std::mem;

use gongkai_proto::v1::event_envelope::Body;
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    BidsEvaluated, Commitment, ComplaintFiled, DisclosureCorrected, EventEnvelope, Fact,
    HouseholdCompensationPublished, ObjectionRaised, Person, PrequalificationCompleted, PublicEvent, Reveal,
    TenderAnnounced, public_event,
};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::hash::Hash;
use crate::state::land::set_public_totals;

/// Length of an event's commitment seed.
pub const SEED_LEN: usize = 32;

/// One confidential part of an event: its path and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Path of the field in the envelope, e.g. "fact.committee_members".
    pub name: String,
    /// The committed bytes.
    pub value: Vec<u8>,
}

/// An event split into what its hash covers and its confidential parts.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The public part with one commitment per confidential part.
    pub public: PublicEvent,
    /// The confidential parts, in the order of `public.commitments`.
    pub parts: Vec<Part>,
    /// Each part's salt in hex, in the same order: derived once, for its
    /// commitment and for every reveal of it.
    salts: Vec<String>,
}

impl Committed {
    /// The encoding of [`Self::public`]: what the hash covers.
    pub fn public_bytes(&self) -> Vec<u8> {
        self.public.encode_to_vec()
    }

    /// The reveal of every part.
    pub fn reveal_all(&self) -> Vec<Reveal> {
        self.parts.iter().zip(&self.salts).map(reveal).collect()
    }

    /// The reveals of the parts that `public_fact`, the copy of the event's
    /// fact (or replacement) that the public may see now, shows unchanged:
    /// those whose embargo has lifted. A part the copy clears or changes
    /// (personal data stripped from a list) stays committed only.
    pub fn reveals(&self, public_fact: &Kind) -> Vec<Reveal> {
        let mut shown = Vec::new();
        split_fact(&mut public_fact.clone(), self.fact_prefix(), &mut shown);
        self.parts.iter().zip(&self.salts).filter(|(part, _)| shown.contains(part)).map(reveal).collect()
    }

    /// The reveals of every part of the event's own fact (a correction's
    /// replacement): what [`Self::reveals`] gives for a public copy that is
    /// the fact unchanged, without splitting it again.
    pub fn reveals_of_fact(&self) -> Vec<Reveal> {
        let prefix = self.fact_prefix();
        self.parts.iter().zip(&self.salts).filter(|(part, _)| part.name.starts_with(prefix)).map(reveal).collect()
    }

    fn fact_prefix(&self) -> &'static str {
        match self.public.body {
            Some(public_event::Body::Correction(_)) => CORRECTION_PREFIX,
            _ => FACT_PREFIX,
        }
    }
}

fn reveal((part, salt): (&Part, &String)) -> Reveal {
    Reveal { part: part.name.clone(), value: part.value.clone(), salt: salt.clone() }
}

/// 32 bytes in lowercase hex.
fn hex32(bytes: &Hash) -> String {
    let mut text = [0u8; 64];
    match hex::encode_to_slice(bytes, &mut text) {
        Ok(()) => String::from_utf8_lossy(&text).into_owned(),
        // Not reached: 64 bytes hold 32 in hex.
        Err(_) => hex::encode(bytes),
    }
}

const FACT_PREFIX: &str = "fact.";
const CORRECTION_PREFIX: &str = "correction.replacement.";

/// Splits `envelope` into its public part and its confidential parts.
pub fn commit(envelope: &EventEnvelope) -> Committed {
    let mut parts = Vec::new();
    if !envelope.request_id.is_empty() {
        parts.push(Part { name: "request_id".to_owned(), value: envelope.request_id.as_bytes().to_vec() });
    }
    if !envelope.flags.is_empty() {
        let flags = EventEnvelope { flags: envelope.flags.clone(), ..EventEnvelope::default() };
        parts.push(Part { name: "flags".to_owned(), value: flags.encode_to_vec() });
    }
    let body = envelope.body.as_ref().map(|body| match body {
        Body::Fact(fact) => public_event::Body::Fact(public_fact(fact, FACT_PREFIX, &mut parts)),
        Body::Correction(correction) => {
            let replacement =
                correction.replacement.as_ref().map(|fact| public_fact(fact, CORRECTION_PREFIX, &mut parts));
            public_event::Body::Correction(DisclosureCorrected { replacement, ..correction.clone() })
        }
    });
    let seed = &envelope.commitment_seed;
    let (commitments, salts) = parts
        .iter()
        .map(|part| {
            let salt = salt(seed, &part.name);
            (Commitment { part: part.name.clone(), digest: hex32(&digest(&salt, &part.value)) }, hex32(&salt))
        })
        .unzip();
    let public = PublicEvent {
        event_id: envelope.event_id.clone(),
        r#type: envelope.r#type.clone(),
        source: envelope.source.clone(),
        subject: envelope.subject.clone(),
        project_seq: envelope.project_seq,
        occurred_at: envelope.occurred_at,
        recorded_at: envelope.recorded_at,
        prev_hash: envelope.prev_hash.clone(),
        domain: envelope.domain,
        body,
        commitments,
    };
    Committed { public, parts, salts }
}

/// The salt of part `name` of an event with commitment seed `seed`: revealing
/// it reveals nothing of the seed, hence nothing of the other parts' salts.
pub fn salt(seed: &[u8], name: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(b"gongkai/commitment/v1\0");
    hasher.update(seed);
    hasher.update([0]);
    hasher.update(name.as_bytes());
    hasher.finalize().into()
}

/// The commitment digest of `value` under `salt`.
pub fn digest(salt: &[u8], value: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(value);
    hasher.finalize().into()
}

/// Whether `reveal` opens one of `commitments`: same part, and
/// SHA-256(salt || value) is its digest.
pub fn opens(reveal: &Reveal, commitments: &[Commitment]) -> bool {
    let Ok(salt) = hex::decode(&reveal.salt) else { return false };
    let expected = hex32(&digest(&salt, &reveal.value));
    commitments.iter().any(|commitment| commitment.part == reveal.part && commitment.digest == expected)
}

/// The public copy of `fact`, its confidential parts pushed onto `parts`
/// under `prefix`.
fn public_fact(fact: &Fact, prefix: &str, parts: &mut Vec<Part>) -> Fact {
    let mut kind = fact.kind.clone();
    if let Some(kind) = &mut kind {
        split_fact(kind, prefix, parts);
    }
    Fact { kind }
}

/// Clears every confidential field of `kind`, pushing each non-empty one
/// onto `parts`: first the personal data of each person (never public),
/// then the fields the policy withholds whole. A list is committed after its
/// people's personal data was taken out of it, so that it can be revealed
/// without them.
fn split_fact(kind: &mut Kind, prefix: &str, parts: &mut Vec<Part>) {
    let mut cut = Cut { prefix, parts };
    match kind {
        Kind::TenderAnnounced(f) => {
            cut.list("invited_bidders", &mut f.invited_bidders, |v| TenderAnnounced {
                invited_bidders: v,
                ..Default::default()
            });
        }
        Kind::PrequalificationCompleted(f) => {
            cut.list("qualified_applicants", &mut f.qualified_applicants, |v| PrequalificationCompleted {
                qualified_applicants: v,
                ..Default::default()
            });
            cut.list("disqualified_applicants", &mut f.disqualified_applicants, |v| PrequalificationCompleted {
                disqualified_applicants: v,
                ..Default::default()
            });
            cut.list("documents", &mut f.documents, |v| PrequalificationCompleted {
                documents: v,
                ..Default::default()
            });
        }
        Kind::ObjectionRaised(f) => {
            cut.option("objector", &mut f.objector, |v| ObjectionRaised { objector: v, ..Default::default() });
        }
        Kind::ComplaintFiled(f) => {
            cut.option("complainant", &mut f.complainant, |v| ComplaintFiled { complainant: v, ..Default::default() });
            cut.text("details", &mut f.details);
            cut.list("documents", &mut f.documents, |v| ComplaintFiled { documents: v, ..Default::default() });
        }
        Kind::BidsEvaluated(f) => {
            for (i, member) in f.committee_members.iter_mut().enumerate() {
                cut.person(&format!("committee_members[{i}]"), member);
            }
            for (i, candidate) in f.candidates.iter_mut().enumerate() {
                if let Some(manager) = &mut candidate.project_manager {
                    cut.person(&format!("candidates[{i}].project_manager"), manager);
                }
            }
            cut.list("committee_members", &mut f.committee_members, |v| BidsEvaluated {
                committee_members: v,
                ..Default::default()
            });
            cut.list("documents", &mut f.documents, |v| BidsEvaluated { documents: v, ..Default::default() });
        }
        Kind::CandidatesPublicized(f) => {
            for (i, candidate) in f.candidates.iter_mut().enumerate() {
                if let Some(manager) = &mut candidate.project_manager {
                    cut.person(&format!("candidates[{i}].project_manager"), manager);
                }
            }
        }
        Kind::HouseholdCompensationPublished(f) => {
            // The public copy says how many households and how much per
            // category, as the public view does; those figures are committed
            // in the clear.
            set_public_totals(f);
            cut.list("households", &mut f.households, |v| HouseholdCompensationPublished {
                households: v,
                ..Default::default()
            });
            cut.list("documents", &mut f.documents, |v| HouseholdCompensationPublished {
                documents: v,
                ..Default::default()
            });
        }
        _ => {}
    }
}

/// Takes confidential fields out of a fact into parts named under a prefix.
struct Cut<'p> {
    prefix: &'p str,
    parts: &'p mut Vec<Part>,
}

impl Cut<'_> {
    fn push(&mut self, path: &str, value: Vec<u8>) {
        self.parts.push(Part { name: format!("{}{path}", self.prefix), value });
    }

    /// A list field, committed as its message with only that field set.
    fn list<T, M: Message>(&mut self, path: &str, field: &mut Vec<T>, alone: impl FnOnce(Vec<T>) -> M) {
        if !field.is_empty() {
            let value = alone(mem::take(field)).encode_to_vec();
            self.push(path, value);
        }
    }

    /// A message field, committed as its message with only that field set.
    fn option<T, M: Message>(&mut self, path: &str, field: &mut Option<T>, alone: impl FnOnce(Option<T>) -> M) {
        if field.is_some() {
            let value = alone(field.take()).encode_to_vec();
            self.push(path, value);
        }
    }

    /// A text field, committed as its UTF-8.
    fn text(&mut self, path: &str, field: &mut String) {
        if !field.is_empty() {
            let value = mem::take(field).into_bytes();
            self.push(path, value);
        }
    }

    /// A person's personal data, each field its own part.
    fn person(&mut self, path: &str, person: &mut Person) {
        self.text(&format!("{path}.id_number"), &mut person.id_number);
        self.text(&format!("{path}.phone"), &mut person.phone);
    }
}

#[cfg(test)]
mod tests {
    use gongkai_proto::v1::{Candidate, ComplianceFlag, HouseholdCompensation, Organization};

    use super::*;
    use crate::hash::{chain_hash, public_hash};

    const ID_NUMBER: &str = "230103198001011234";

    fn person(name: &str) -> Person {
        Person { name: name.into(), id_number: ID_NUMBER.into(), phone: "13904510000".into(), ..Default::default() }
    }

    fn envelope(kind: Kind, seed: u8) -> EventEnvelope {
        EventEnvelope {
            event_id: "0190a0d6-0000-7000-8000-000000000001".into(),
            r#type: format!("gongkai.v1.{}", crate::kinds::kind_name(&kind)),
            source: "center-harbin".into(),
            subject: "2024-230113-77-01-000001".into(),
            project_seq: 2,
            request_id: "秘密的请求号".into(),
            prev_hash: "ab".repeat(32),
            flags: vec![ComplianceFlag {
                rule: "GK-NEAR-CEILING".into(),
                explanation: "旗标说明".into(),
                ..Default::default()
            }],
            commitment_seed: vec![seed; SEED_LEN],
            body: Some(Body::Fact(Fact { kind: Some(kind) })),
            ..Default::default()
        }
    }

    fn evaluation() -> Kind {
        Kind::BidsEvaluated(BidsEvaluated {
            tender_code: "2024-230113-T1".into(),
            committee_members: vec![person("评标专家甲"), person("评标专家乙")],
            candidates: vec![Candidate { project_manager: Some(person("项目经理丙")), ..Default::default() }],
            ..Default::default()
        })
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
    }

    #[test]
    fn the_public_event_holds_no_confidential_value_only_its_digest() {
        let complaint = Kind::ComplaintFiled(ComplaintFiled {
            complainant: Some(Organization { name: "投诉人有限公司".into(), ..Default::default() }),
            details: "投诉的具体理由".into(),
            ..Default::default()
        });
        let households = Kind::HouseholdCompensationPublished(HouseholdCompensationPublished {
            households: vec![HouseholdCompensation { head: Some(person("户主丁")), ..Default::default() }],
            ..Default::default()
        });
        for kind in [evaluation(), complaint, households] {
            let committed = commit(&envelope(kind, 1));
            let public = committed.public_bytes();
            for secret in [
                ID_NUMBER,
                "13904510000",
                "评标专家甲",
                "投诉的具体理由",
                "投诉人有限公司",
                "户主丁",
                "秘密的请求号",
                "旗标说明",
            ] {
                assert!(!contains(&public, secret), "{secret} is in the public event");
            }
            assert_eq!(committed.public.commitments.len(), committed.parts.len());
            assert!(committed.parts.iter().any(|part| part.name == "flags"));
        }
    }

    #[test]
    fn personal_data_is_committed_apart_from_the_list_that_holds_it() {
        let committed = commit(&envelope(evaluation(), 1));
        let names: Vec<&str> = committed.parts.iter().map(|part| part.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "request_id",
                "flags",
                "fact.committee_members[0].id_number",
                "fact.committee_members[0].phone",
                "fact.committee_members[1].id_number",
                "fact.committee_members[1].phone",
                "fact.candidates[0].project_manager.id_number",
                "fact.candidates[0].project_manager.phone",
                "fact.committee_members",
            ]
        );
        let list = committed.parts.last().expect("the committee");
        assert!(contains(&list.value, "评标专家甲") && !contains(&list.value, ID_NUMBER));
        // The candidate stays public, without its manager's personal data.
        let Some(public_event::Body::Fact(Fact { kind: Some(Kind::BidsEvaluated(public)) })) = &committed.public.body
        else {
            panic!("a public evaluation")
        };
        assert_eq!(public.candidates[0].project_manager.as_ref().map(|p| p.name.as_str()), Some("项目经理丙"));
        assert!(public.committee_members.is_empty());
    }

    #[test]
    fn the_chain_hash_is_the_hash_of_the_public_bytes() {
        let event = envelope(evaluation(), 1);
        let prev = [7; 32];
        assert_eq!(chain_hash(Some(&prev), &event), public_hash(Some(&prev), &commit(&event).public_bytes()));
        // A confidential value changes the hash through its digest.
        let mut changed = event.clone();
        changed.request_id = "另一个请求号".into();
        assert_ne!(chain_hash(Some(&prev), &event), chain_hash(Some(&prev), &changed));
    }

    #[test]
    fn a_reveal_opens_its_commitment_and_nothing_else() {
        let committed = commit(&envelope(evaluation(), 1));
        let reveals = committed.reveal_all();
        assert!(reveals.iter().all(|reveal| opens(reveal, &committed.public.commitments)));
        let mut forged = reveals.last().cloned().expect("a reveal");
        forged.value.push(0);
        assert!(!opens(&forged, &committed.public.commitments), "another value");
        let mut renamed = reveals.last().cloned().expect("a reveal");
        renamed.part = "fact.documents".into();
        assert!(!opens(&renamed, &committed.public.commitments), "another part");
        let mut bad_salt = reveals.last().cloned().expect("a reveal");
        bad_salt.salt = "not hex".into();
        assert!(!opens(&bad_salt, &committed.public.commitments));
    }

    #[test]
    fn only_what_the_public_copy_shows_unchanged_is_revealed() {
        let committed = commit(&envelope(evaluation(), 1));
        // Before the award: the committee withheld; nothing of the fact shows.
        let Kind::BidsEvaluated(mut copy) = evaluation() else { unreachable!() };
        copy.committee_members.clear();
        for candidate in &mut copy.candidates {
            if let Some(manager) = &mut candidate.project_manager {
                manager.id_number.clear();
                manager.phone.clear();
            }
        }
        assert!(committed.reveals(&Kind::BidsEvaluated(copy.clone())).is_empty());
        // After it: the committee without its personal data.
        let Kind::BidsEvaluated(full) = evaluation() else { unreachable!() };
        copy.committee_members = full.committee_members;
        for member in &mut copy.committee_members {
            member.id_number.clear();
            member.phone.clear();
        }
        let revealed: Vec<String> =
            committed.reveals(&Kind::BidsEvaluated(copy)).into_iter().map(|reveal| reveal.part).collect();
        assert_eq!(revealed, ["fact.committee_members"]);
    }

    #[test]
    fn a_fact_shown_unchanged_reveals_every_part_of_it_and_nothing_else() {
        let fact = commit(&envelope(evaluation(), 1));
        assert_eq!(fact.reveals_of_fact(), fact.reveals(&evaluation()));
        let names: Vec<String> = fact.reveals_of_fact().into_iter().map(|reveal| reveal.part).collect();
        assert!(names.len() > 2 && names.iter().all(|name| name.starts_with("fact.")), "{names:?}");
        let mut corrected = envelope(evaluation(), 3);
        corrected.body = Some(Body::Correction(DisclosureCorrected {
            supersedes_event_id: "0190a0d6-0000-7000-8000-000000000000".into(),
            replacement: Some(Fact { kind: Some(evaluation()) }),
            ..Default::default()
        }));
        let correction = commit(&corrected);
        assert_eq!(correction.reveals_of_fact(), correction.reveals(&evaluation()));
        assert!(!correction.reveals_of_fact().is_empty());
        assert!(correction.reveals_of_fact().iter().all(|reveal| reveal.part.starts_with("correction.replacement.")));
    }

    #[test]
    fn the_same_value_under_two_seeds_cannot_be_linked() {
        let one = commit(&envelope(evaluation(), 1));
        let two = commit(&envelope(evaluation(), 2));
        let digests = |c: &Committed| c.public.commitments.iter().map(|c| c.digest.clone()).collect::<Vec<_>>();
        assert!(digests(&one).iter().zip(digests(&two)).all(|(a, b)| *a != b));
    }
}
