//! Property-based fuzzing of the pure pipeline: validation → decide → fold →
//! render → OCDS/OC4IDS export, on submission sequences no trading center
//! would send.
//!
//! Each case starts from a lawful PPP lifecycle (with land expropriation and
//! operation) and breaks it: hostile values
//! in any field of any fact (i64::MIN/MAX, the money bound ±1, control
//! characters, arbitrary Unicode, years 0 and 9999, unknown enum numbers),
//! steps dropped, repeated or swapped, corrections with hostile
//! replacements, and events recorded as an earlier, laxer version would have
//! (past validation and the hard rules). The properties:
//!
//! - nothing panics (debug builds check arithmetic overflow too);
//! - a refusal says why: violations name a field, rejections a rule;
//! - a record of accepted facts always renders, and a record with an earlier
//!   version's event renders or is refused as a whole (the projector then
//!   parks it), never half;
//! - rendering is deterministic, byte for byte;
//! - every amount in force in the views lies within ±10^15 fen (a superseded
//!   entry shows what was recorded, next to its correction);
//! - the public view carries no flag, no restricted field, no personal ID
//!   number or phone, and no character that would break XML or JSON;
//! - the exports build and serialize.
//!
//! `cargo test` runs `GONGKAI_FUZZ_CASES` cases (2,000 by default) in each
//! of two test functions; `just fuzz` runs a million and more in release.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{TimeZone, Utc};
use gongkai_domain::money::AMOUNT_MAX_FEN;
use gongkai_domain::{Body, ProjectState, Submission, decide, validate};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::fact::Kind;
use gongkai_scenarios::expropriation_lifecycle;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind as FieldKind, MessageDescriptor, ReflectMessage as _, Value};

const PROJECT: &str = "2024-230113-77-01-000900";

/// A hostile value, shaped to whatever field it lands in.
#[derive(Debug, Clone)]
struct Hostile {
    choice: u8,
    number: i64,
    text: String,
}

/// One way to break a lawful lifecycle.
#[derive(Debug, Clone)]
enum Mutation {
    /// A hostile value in the `pick`-th field of step `step`'s fact.
    Field { step: usize, pick: usize, value: Hostile },
    /// The step is never sent.
    Drop { step: usize },
    /// The step is sent twice.
    Repeat { step: usize },
    /// Two steps change places.
    Swap { step: usize },
    /// After step `step`, a correction of it whose replacement has a hostile value.
    Correct { step: usize, pick: usize, value: Hostile },
    /// Step `step`, with a hostile value, recorded as an earlier version would have.
    Earlier { step: usize, pick: usize, value: Hostile },
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (any::<u8>(), any::<i64>(), any::<String>()).prop_map(|(choice, number, text)| Hostile { choice, number, text })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>(), hostile()).prop_map(|(step, pick, value)| Mutation::Field { step, pick, value }),
        1 => any::<usize>().prop_map(|step| Mutation::Drop { step }),
        1 => any::<usize>().prop_map(|step| Mutation::Repeat { step }),
        1 => any::<usize>().prop_map(|step| Mutation::Swap { step }),
        2 => (any::<usize>(), any::<usize>(), hostile()).prop_map(|(step, pick, value)| Mutation::Correct { step, pick, value }),
        2 => (any::<usize>(), any::<usize>(), hostile()).prop_map(|(step, pick, value)| Mutation::Earlier { step, pick, value }),
    ]
}

/// The value of `hostile` for a field of `kind`; `None` for kinds it leaves alone.
fn shaped(kind: &FieldKind, hostile: &Hostile) -> Option<Value> {
    let pick = usize::from(hostile.choice);
    Some(match kind {
        FieldKind::Int64 | FieldKind::Sint64 | FieldKind::Sfixed64 => {
            let values = [i64::MIN, i64::MAX, -1, 0, 1, AMOUNT_MAX_FEN, AMOUNT_MAX_FEN + 1, -AMOUNT_MAX_FEN - 1];
            Value::I64(values.get(pick % 10).copied().unwrap_or(hostile.number))
        }
        FieldKind::Int32 | FieldKind::Sint32 | FieldKind::Sfixed32 => {
            let values = [i32::MIN, i32::MAX, -1, 0, 1, 1989, 2101, 9999, 10_001, 13];
            Value::I32(values.get(pick % 12).copied().unwrap_or(hostile.number as i32))
        }
        FieldKind::Uint64 | FieldKind::Fixed64 => Value::U64([0, u64::MAX, hostile.number as u64][pick % 3]),
        FieldKind::Uint32 | FieldKind::Fixed32 => Value::U32([0, u32::MAX, hostile.number as u32][pick % 3]),
        FieldKind::Bool => Value::Bool(hostile.choice.is_multiple_of(2)),
        FieldKind::Enum(_) => Value::EnumNumber([0, -1, 1, 2, 99, i32::MAX][pick % 6]),
        FieldKind::String => {
            let values = ["", "\u{0}", "名\u{b}称", "\u{85}", "\u{feff}", " \u{3000}", "\u{ffff}", "\u{1b}[31m"];
            Value::String(match values.get(pick % 11) {
                Some(value) => (*value).to_owned(),
                None if pick % 11 == 8 => "长".repeat(9000),
                None => hostile.text.clone(),
            })
        }
        FieldKind::Bytes => Value::Bytes(hostile.text.clone().into_bytes().into()),
        _ => return None,
    })
}

/// Sets the `pick`-th leaf (in a fixed walk order, modulo the number of
/// leaves) of `message` to `hostile`; returns the number of leaves.
fn set_leaf(message: &mut DynamicMessage, pick: &mut usize, hostile: &Hostile) -> usize {
    let mut leaves = 0;
    for field in message.descriptor().fields() {
        let value = message.get_field(&field).into_owned();
        match (value, field.kind()) {
            (Value::Message(mut inner), _) if message.has_field(&field) => {
                leaves += set_leaf(&mut inner, pick, hostile);
                message.set_field(&field, Value::Message(inner));
            }
            (Value::List(mut items), FieldKind::Message(_)) => {
                for item in &mut items {
                    if let Value::Message(inner) = item {
                        leaves += set_leaf(inner, pick, hostile);
                    }
                }
                message.set_field(&field, Value::List(items));
            }
            (Value::List(mut items), kind) => {
                leaves += 1;
                if *pick == 0
                    && let Some(bad) = shaped(&kind, hostile)
                {
                    if items.is_empty() || hostile.choice.is_multiple_of(3) {
                        items.push(bad);
                    } else {
                        items[0] = bad;
                    }
                    message.set_field(&field, Value::List(items));
                }
                *pick = pick.wrapping_sub(1);
            }
            (Value::Message(_), _) => {}
            (_, kind) => {
                leaves += 1;
                if *pick == 0
                    && let Some(bad) = shaped(&kind, hostile)
                {
                    message.set_field(&field, bad);
                }
                *pick = pick.wrapping_sub(1);
            }
        }
    }
    leaves
}

/// `kind` with a hostile value in one of its fields.
fn break_fact(fact_descriptor: &MessageDescriptor, kind: &Kind, pick: usize, hostile: &Hostile) -> Kind {
    let fact = pb::Fact { kind: Some(kind.clone()) };
    let mut dynamic =
        DynamicMessage::decode(fact_descriptor.clone(), fact.encode_to_vec().as_slice()).expect("decodes");
    // Count first, then break the chosen leaf.
    let mut probe = usize::MAX;
    let leaves = set_leaf(&mut dynamic.clone(), &mut probe, hostile).max(1);
    let mut pick = pick % leaves;
    set_leaf(&mut dynamic, &mut pick, hostile);
    // Invalid UTF-8 cannot be built here (a String is UTF-8); the gRPC fuzz
    // test sends it as bytes.
    pb::Fact::decode(dynamic.encode_to_vec().as_slice()).ok().and_then(|fact| fact.kind).unwrap_or_else(|| kind.clone())
}

/// What one case sends, in order: a submission, and whether it is recorded
/// as an earlier version would have (past validation and the hard rules).
fn sequence(base: &[Submission], mutations: &[Mutation], fact: &MessageDescriptor) -> Vec<(Submission, bool)> {
    let mut steps: Vec<(Submission, bool)> = base.iter().cloned().map(|s| (s, false)).collect();
    let kind_of = |submission: &Submission| match &submission.body {
        Some(Body::Fact(fact)) => fact.kind.clone(),
        _ => None,
    };
    for mutation in mutations {
        if steps.is_empty() {
            break;
        }
        let len = steps.len();
        match mutation {
            Mutation::Field { step, pick, value } | Mutation::Earlier { step, pick, value } => {
                let at = step % len;
                if let Some(kind) = kind_of(&steps[at].0) {
                    let broken = break_fact(fact, &kind, *pick, value);
                    steps[at].0.body = Some(Body::Fact(pb::Fact { kind: Some(broken) }));
                    steps[at].1 |= matches!(mutation, Mutation::Earlier { .. });
                }
            }
            Mutation::Drop { step } => {
                steps.remove(step % len);
            }
            Mutation::Repeat { step } => {
                let again = steps[step % len].clone();
                steps.insert(step % len, again);
            }
            Mutation::Swap { step } => steps.swap(step % len, (step + 1) % len),
            Mutation::Correct { step, pick, value } => {
                let at = step % len;
                if let Some(kind) = kind_of(&steps[at].0) {
                    let replacement = break_fact(fact, &kind, *pick, value);
                    let correction = Submission {
                        request_id: format!("{}-c", steps[at].0.request_id),
                        body: Some(Body::Correction(pb::DisclosureCorrected {
                            // The target is filled in when the case runs.
                            supersedes_event_id: format!("@{at}"),
                            reason: "更正".to_owned(),
                            replacement: Some(pb::Fact { kind: Some(replacement) }),
                            replacement_occurred_at: None,
                        })),
                        ..steps[at].0.clone()
                    };
                    steps.insert(at + 1, (correction, false));
                }
            }
        }
    }
    steps
}

/// Totals of what the cases did, printed at the end.
#[derive(Debug, Default)]
struct Tally {
    cases: AtomicU64,
    submissions: AtomicU64,
    invalid: AtomicU64,
    refused: AtomicU64,
    accepted: AtomicU64,
    earlier: AtomicU64,
    unrenderable: AtomicU64,
}

fn assert_amount(fen: i64, what: &str) {
    assert!(gongkai_domain::money::within_bound(fen), "{what} = {fen} leaves the bound");
}

/// Runs one case through the whole pipeline and checks every property.
fn run_case(steps: Vec<(Submission, bool)>, fact: &MessageDescriptor, tally: &Tally) {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("a time");
    let mut state = ProjectState::default();
    let mut events: Vec<pb::EventEnvelope> = Vec::new();
    let mut earlier = false;
    let mut personal: Vec<String> = Vec::new();
    tally.cases.fetch_add(1, Ordering::Relaxed);
    for (index, (mut submission, recorded_earlier)) in steps.into_iter().enumerate() {
        tally.submissions.fetch_add(1, Ordering::Relaxed);
        // A correction names the event its step became, if it became one.
        if let Some(Body::Correction(correction)) = &mut submission.body
            && let Some(at) = correction.supersedes_event_id.strip_prefix('@')
        {
            let at: usize = at.parse().expect("a step index");
            correction.supersedes_event_id = events
                .iter()
                .find(|event| event.request_id == format!("step-{at}"))
                .map(|event| event.event_id.clone())
                .unwrap_or_else(|| "01900000-0000-7000-8000-00000000ffff".to_owned());
        }
        let seq = events.len() as u64 + 1;
        let event_id = format!("01900000-0000-7000-8000-{seq:012x}");
        let flags = if recorded_earlier {
            earlier = true;
            tally.earlier.fetch_add(1, Ordering::Relaxed);
            Vec::new()
        } else {
            let violations = validate::submission(&submission, now);
            if !violations.is_empty() {
                assert!(violations.iter().all(|v| !v.field.is_empty() && !v.description.is_empty()), "{violations:?}");
                tally.invalid.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            match decide(&state, &submission, &event_id) {
                Ok(flags) => flags,
                Err(rejection) => {
                    assert!(!rejection.rule.is_empty() && !rejection.message.is_empty(), "{rejection:?}");
                    tally.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        };
        tally.accepted.fetch_add(1, Ordering::Relaxed);
        for flag in &flags {
            for figure in &flag.figures {
                if figure.unit == "fen" {
                    assert_amount(figure.value, &format!("flag {} figure {}", flag.rule, figure.name));
                }
            }
        }
        // What passed validation holds real ID numbers and phones, unique to
        // their field; an earlier version's event may hold anything.
        if !recorded_earlier {
            collect_personal(fact, &submission, &mut personal);
        }
        let event = pb::EventEnvelope {
            event_id,
            subject: PROJECT.to_owned(),
            project_seq: seq,
            position: seq,
            occurred_at: submission.occurred_at,
            recorded_at: submission.occurred_at,
            request_id: format!("step-{index}"),
            flags,
            body: submission.body,
            ..Default::default()
        };
        state.apply(&event);
        events.push(event);
    }

    let views = match gongkai_projector::render(&events) {
        Ok(views) => views,
        Err(refusal) => {
            // Only an earlier version's event can make a record unrenderable.
            assert!(earlier, "a record of accepted facts was refused: {refusal}");
            tally.unrenderable.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let again = gongkai_projector::render(&events).expect("renders twice");
    assert_eq!(encoded(&views), encoded(&again), "rendering is deterministic");

    let summary = &views.full_summary;
    assert_amount(summary.baseline_investment_fen, "baseline investment");
    for (what, fen) in [
        ("baseline contract price", summary.baseline_contract_price_fen),
        ("current contract price", summary.current_contract_price_fen),
        ("final cost", summary.final_cost_fen),
    ] {
        if let Some(fen) = fen {
            assert_amount(fen, what);
        }
    }
    assert_amount(summary.contracts_price_change_fen, "contracts' price change");
    if let Some(fen) = summary.investment_variance_fen {
        assert_amount(fen, "investment variance");
    }
    for outcome in &summary.contract_outcomes {
        for (what, fen) in [
            ("signed price", outcome.signed_price_fen),
            ("current price", outcome.current_price_fen),
            ("price change", outcome.price_change_fen),
        ] {
            assert_amount(fen, &format!("contract {} {what}", outcome.contract_code));
        }
        if let Some(fen) = outcome.settled_value_fen {
            assert_amount(fen, &format!("contract {} settled value", outcome.contract_code));
        }
    }
    // Entries in force; a superseded one shows what was recorded, marked so.
    for entry in
        views.full_timeline.iter().chain(&views.public_timeline).filter(|e| e.superseded_by_event_id.is_empty())
    {
        for amount in &entry.amounts {
            assert_amount(amount.amount_fen, &format!("entry {} amount {}", entry.project_seq, amount.label_en));
        }
    }

    assert_eq!(views.public_summary.flag_count, 0);
    for entry in &views.public_timeline {
        assert!(entry.flags.is_empty() && entry.restricted_fields.is_empty(), "public entry {}", entry.project_seq);
        let bytes = entry.encode_to_vec();
        let text = String::from_utf8_lossy(&bytes);
        for secret in &personal {
            let shown: String = secret.chars().take(40).collect();
            assert!(!text.contains(secret.as_str()), "personal data {shown:?} in public entry {}", entry.project_seq);
        }
        for shown in [&entry.title_zh, &entry.title_en, &entry.summary_zh, &entry.summary_en] {
            assert!(shown.chars().all(validate::is_text_char), "unpublishable character in {shown:?}");
        }
    }

    let published = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("a time");
    let timeline = &views.public_timeline;
    let prefix = gongkai_site::OcidPrefix::default();
    for tender in gongkai_site::opendata::tender_codes(timeline) {
        let releases = gongkai_site::opendata::releases(&prefix, &views.public_summary, timeline, &tender);
        let ocid = prefix.ocid(PROJECT, &tender);
        let records =
            gongkai_site::opendata::record_package("https://x/r", "https://x", published, &ocid, releases.clone());
        let package = gongkai_site::opendata::release_package("https://x/p", "https://x", published, releases);
        serde_json::to_string(&records).expect("records serialize");
        serde_json::to_string(&package).expect("releases serialize");
    }
    let project = gongkai_site::opendata::project_package(
        "https://x/o",
        "https://x",
        &prefix,
        published,
        &views.public_summary,
        timeline,
    );
    serde_json::to_string(&project).expect("OC4IDS serializes");
}

/// ID numbers and phones (7 characters or more, too long to occur by
/// chance) of every person in an accepted submission's fact, a
/// correction's replacement included: never public.
fn collect_personal(fact: &MessageDescriptor, submission: &Submission, into: &mut Vec<String>) {
    fn people(message: &DynamicMessage, into: &mut Vec<String>) {
        if message.descriptor().full_name() == "gongkai.v1.Person" {
            for field in ["id_number", "phone"] {
                if let Some(Value::String(value)) = message.get_field_by_name(field).as_deref()
                    && value.chars().count() >= 7
                {
                    into.push(value.clone());
                }
            }
        }
        for (_, value) in message.fields() {
            match value {
                Value::Message(inner) => people(inner, into),
                Value::List(items) => items.iter().filter_map(Value::as_message).for_each(|inner| people(inner, into)),
                _ => {}
            }
        }
    }
    let kind = match &submission.body {
        Some(Body::Fact(fact)) => fact.clone(),
        Some(Body::Correction(correction)) => correction.replacement.clone().unwrap_or_default(),
        None => return,
    };
    let dynamic = DynamicMessage::decode(fact.clone(), kind.encode_to_vec().as_slice()).expect("a fact decodes");
    people(&dynamic, into);
}

fn encoded(views: &gongkai_projector::ProjectViews) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in views.public_timeline.iter().chain(&views.full_timeline) {
        bytes.extend(entry.encode_to_vec());
    }
    bytes.extend(views.public_summary.encode_to_vec());
    bytes.extend(views.full_summary.encode_to_vec());
    bytes
}

/// The lawful lifecycle every case starts from, as submissions: the one with
/// land expropriation, resettlement and operation, a superset of the plain one.
fn lawful() -> Vec<Submission> {
    expropriation_lifecycle(PROJECT, "fuzz")
        .requests
        .into_iter()
        .map(|request| gongkai_testkit::submission(request).1)
        .collect()
}

fn cases() -> u32 {
    std::env::var("GONGKAI_FUZZ_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(2_000)
}

/// Runs `cases()` cases from `seed` and prints the tally.
fn fuzz(name: &str, seed: u64) {
    let pool = DescriptorPool::decode(gongkai_proto::FILE_DESCRIPTOR_SET).expect("the contract's descriptors");
    let fact = pool.get_message_by_name("gongkai.v1.Fact").expect("gongkai.v1.Fact");
    let base = lawful();
    let tally = Tally::default();
    let started = std::time::Instant::now();
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut seed_bytes = [0_u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&prop::collection::vec(mutation(), 0..8), |mutations| {
        run_case(sequence(&base, &mutations, &fact), &fact, &tally);
        Ok(())
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "fuzz {name}: {} cases, {} submissions ({} invalid, {} refused, {} accepted, {} recorded as earlier), \
         {} records unrenderable and parked, in {seconds:.1} s",
        tally.cases.load(Ordering::Relaxed),
        tally.submissions.load(Ordering::Relaxed),
        tally.invalid.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.accepted.load(Ordering::Relaxed),
        tally.earlier.load(Ordering::Relaxed),
        tally.unrenderable.load(Ordering::Relaxed),
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
    assert!(tally.cases.load(Ordering::Relaxed) >= u64::from(cases()), "every case ran");
    assert!(tally.accepted.load(Ordering::Relaxed) > 0 && tally.invalid.load(Ordering::Relaxed) > 0);
}

// Two functions, so that the test harness runs them on both cores.
#[test]
fn hostile_sequences_never_break_the_pipeline_a() {
    fuzz("a", 0x6f6e_6b61_6967_6e6f);
}

#[test]
fn hostile_sequences_never_break_the_pipeline_b() {
    fuzz("b", 0x6b61_6f67_6e6f_6b61);
}
