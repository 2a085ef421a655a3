//! The incremental renderer equals the whole one: on random project records
//! (the lawful PPP lifecycle with land expropriation and operation, with
//! steps repeated, swapped and skipped,
//! every kind of fact the lifecycle does not use, corrections of earlier,
//! later and unknown events, fields changed to codes and names other facts
//! use, events reusing an earlier event's id, events without a fact; recorded
//! as the bus would, or as an earlier, laxer version might have), a
//! [`Carried`] rendering advanced over the events a few at a time gives,
//! after every step, exactly the rows of `view_rows` (what `render()`
//! gives) over the events so far: the same refusal when there is one, and
//! otherwise the same bytes, with only the rows that changed returned as
//! changes.
//!
//! `GONGKAI_CARRY_CASES` sets the number of cases per test function (64 by
//! default; two functions run side by side).

#[path = "support/streams.rs"]
mod streams;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use gongkai_domain::money::AMOUNT_MAX_FEN;
use gongkai_domain::{Body, Submission};
use gongkai_projector::{Carried, CarryError, view_rows};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::fact::Kind;
use gongkai_scenarios::{facts, org, ts};
use gongkai_store::{ProjectRow, ProjectViewRows, SupervisionRows, TimelineRow, ViewChanges};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind as FieldKind, MessageDescriptor, ReflectMessage as _, Value};
use streams::Recorder;

const CODE: &str = "2024-230113-77-01-000500";

/// One step of a case's record.
#[derive(Debug, Clone)]
enum Step {
    /// The lifecycle's next fact.
    Next,
    /// Lifecycle fact `n` (modulo its length), again or out of order.
    Again(usize),
    /// The lifecycle's next fact, a field changed (`pick`-th leaf, `value`-th plausible value).
    Changed { pick: usize, value: usize },
    /// A fact the lifecycle does not use (kind `kind`), on targets chosen by `a` and `b`.
    Extra { kind: usize, a: usize, b: usize },
    /// A correction of the `target`-th event (past the record: one to come,
    /// or none), its replacement the target's fact with a field changed.
    Correct { target: usize, pick: usize, value: usize, time: bool },
    /// The lifecycle's next fact under the id of the `target`-th event.
    Reuse { target: usize },
    /// An event without a body, or with a fact without a kind.
    Empty { fact: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Next),
        1 => any::<usize>().prop_map(Step::Again),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(pick, value)| Step::Changed { pick, value }),
        3 => (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(kind, a, b)| Step::Extra { kind, a, b }),
        2 => (any::<usize>(), any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(target, pick, value, time)| Step::Correct { target, pick, value, time }),
        1 => any::<usize>().prop_map(|target| Step::Reuse { target }),
        1 => any::<bool>().prop_map(|fact| Step::Empty { fact }),
    ]
}

/// Strings other facts use as codes and names, and a few others.
fn plausible_text(tender: &str, value: usize) -> String {
    let texts = [tender, "A1", "B1", "C9", "", "HT-A1", "HT-B1", "2024-230113-T9", "新名称", "一标段：污水处理厂"];
    texts[value % texts.len()].to_owned()
}

/// A plausible value of a field of `kind`; `None` for kinds left alone.
fn plausible(kind: &FieldKind, tender: &str, value: usize) -> Option<Value> {
    Some(match kind {
        FieldKind::Int64 | FieldKind::Sint64 | FieldKind::Sfixed64 => {
            let values = [0, 1, 5_000_000_000, 20_000_000_000, AMOUNT_MAX_FEN + 1, -1, 90_000];
            Value::I64(values[value % values.len()])
        }
        FieldKind::Int32 | FieldKind::Sint32 | FieldKind::Sfixed32 => Value::I32([0, 1, 2, 3, 2025][value % 5]),
        FieldKind::Uint64 | FieldKind::Fixed64 => Value::U64([0, 1, 3][value % 3]),
        FieldKind::Uint32 | FieldKind::Fixed32 => Value::U32([0, 1, 10_000][value % 3]),
        FieldKind::Bool => Value::Bool(value.is_multiple_of(2)),
        FieldKind::Enum(_) => Value::EnumNumber([0, 1, 2, 3][value % 4]),
        FieldKind::String => Value::String(plausible_text(tender, value)),
        _ => return None,
    })
}

/// Sets the `pick`-th leaf of `message` (in a fixed walk order) to a
/// plausible value; returns the number of leaves.
fn set_leaf(message: &mut DynamicMessage, pick: &mut usize, tender: &str, value: usize) -> usize {
    let mut leaves = 0;
    for field in message.descriptor().fields() {
        let current = message.get_field(&field).into_owned();
        match (current, field.kind()) {
            (Value::Message(mut inner), _) if message.has_field(&field) => {
                leaves += set_leaf(&mut inner, pick, tender, value);
                message.set_field(&field, Value::Message(inner));
            }
            (Value::List(mut items), FieldKind::Message(_)) => {
                for item in &mut items {
                    if let Value::Message(inner) = item {
                        leaves += set_leaf(inner, pick, tender, value);
                    }
                }
                message.set_field(&field, Value::List(items));
            }
            (Value::List(mut items), kind) => {
                leaves += 1;
                if *pick == 0
                    && let Some(new) = plausible(&kind, tender, value)
                {
                    match items.first_mut() {
                        Some(first) if value.is_multiple_of(2) => *first = new,
                        _ => items.push(new),
                    }
                    message.set_field(&field, Value::List(items));
                }
                *pick = pick.wrapping_sub(1);
            }
            (Value::Message(_), _) => {}
            (_, kind) => {
                leaves += 1;
                if *pick == 0
                    && let Some(new) = plausible(&kind, tender, value)
                {
                    message.set_field(&field, new);
                }
                *pick = pick.wrapping_sub(1);
            }
        }
    }
    leaves
}

/// `kind` with its `pick`-th leaf (modulo their number) set to a plausible value.
fn changed(fact: &MessageDescriptor, kind: &Kind, tender: &str, pick: usize, value: usize) -> Kind {
    let encoded = pb::Fact { kind: Some(kind.clone()) }.encode_to_vec();
    let mut dynamic = DynamicMessage::decode(fact.clone(), encoded.as_slice()).expect("a fact decodes");
    let mut probe = usize::MAX;
    let leaves = set_leaf(&mut dynamic.clone(), &mut probe, tender, value).max(1);
    let mut pick = pick % leaves;
    set_leaf(&mut dynamic, &mut pick, tender, value);
    pb::Fact::decode(dynamic.encode_to_vec().as_slice()).ok().and_then(|fact| fact.kind).unwrap_or_else(|| kind.clone())
}

fn fact_of(submission: &Submission) -> Option<Kind> {
    match &submission.body {
        Some(Body::Fact(fact)) => fact.kind.clone(),
        Some(Body::Correction(correction)) => correction.replacement.as_ref().and_then(|fact| fact.kind.clone()),
        None => None,
    }
}

fn fact_body(kind: Kind) -> Option<Body> {
    Some(Body::Fact(pb::Fact { kind: Some(kind) }))
}

/// A fact the lifecycle does not use.
fn extra(kind: usize, tender: &str, lot: &str, at: DateTime<Utc>, event_id: &str) -> Kind {
    let lots: Vec<&str> = if lot.is_empty() { Vec::new() } else { vec![lot] };
    let someone = org("哈尔滨市政建设集团有限公司", 203);
    match kind % 13 {
        0 => Kind::ProjectSuspended(facts::project_suspended()),
        1 => Kind::ProjectResumed(facts::project_resumed()),
        2 => Kind::ProjectCancelled(facts::project_cancelled()),
        3 => Kind::TenderSuspended(facts::tender_suspended(tender, &lots)),
        4 => Kind::TenderResumed(facts::tender_resumed(tender, at)),
        5 => Kind::TenderCancelled(facts::tender_cancelled(tender, &lots)),
        6 => Kind::PrequalificationCompleted(facts::prequalification_completed(tender, &lots, at, vec![someone])),
        7 => Kind::ObjectionRaised(facts::objection_raised(tender, lot, someone, at)),
        8 => Kind::ComplaintFiled(facts::complaint_filed(tender, lot, someone, at, event_id)),
        9 => Kind::ComplaintDecided(facts::complaint_decided(event_id, at)),
        10 => Kind::AwardCancelled(facts::award_cancelled(tender, lot)),
        11 => Kind::TenderFailed(facts::tender_failed(tender, lot)),
        _ => Kind::PerformanceIssueRecorded(facts::performance_issue_recorded(
            if lot == "B1" { "HT-B1" } else { "HT-A1" },
            at,
        )),
    }
}

/// The events of one case.
fn record(steps: &[(Step, bool)], fact: &MessageDescriptor) -> Vec<pb::EventEnvelope> {
    let lifecycle = streams::expropriation_lifecycle(CODE);
    let tender = format!("{}-T1", &CODE[..11]);
    let mut recorder = Recorder::new(CODE, 1000);
    let mut next = 0;
    let start = Utc.with_ymd_and_hms(2024, 3, 1, 1, 0, 0).single().expect("a time");
    for (step, lawless) in steps {
        let seq = recorder.events.len() as u64 + 1;
        let at = start + Duration::days(seq as i64 * 3);
        let blank = Submission {
            request_id: format!("step-{seq}"),
            project_code: CODE.to_owned(),
            occurred_at: Some(ts(at)),
            body: None,
        };
        // An event id of the record, or of one to come, or of none.
        let id_at = |recorder: &Recorder, n: usize| recorder.id_of((n % (recorder.events.len() + 3)) as u64 + 1);
        let (submission, id) = match step {
            Step::Next | Step::Changed { .. } | Step::Reuse { .. } => {
                let Some(mut submission) = lifecycle.get(next).cloned() else { continue };
                next += 1;
                if let Step::Changed { pick, value } = step
                    && let Some(kind) = fact_of(&submission)
                {
                    submission.body = fact_body(changed(fact, &kind, &tender, *pick, *value));
                }
                let id = match step {
                    Step::Reuse { target } if !recorder.events.is_empty() => {
                        recorder.events[target % recorder.events.len()].event_id.clone()
                    }
                    _ => recorder.next_id(),
                };
                (submission, id)
            }
            Step::Again(n) => (lifecycle[n % lifecycle.len()].clone(), recorder.next_id()),
            Step::Extra { kind, a, b } => {
                let tender = if a.is_multiple_of(5) { "2024-230113-T9".to_owned() } else { tender.clone() };
                let lot = ["A1", "B1", ""][b % 3];
                let body = fact_body(extra(*kind, &tender, lot, at, &id_at(&recorder, *a)));
                (Submission { body, ..blank }, recorder.next_id())
            }
            Step::Correct { target, pick, value, time } => {
                let supersedes = id_at(&recorder, *target);
                let original = recorder.events.iter().find(|event| event.event_id == supersedes);
                let kind = original
                    .and_then(|event| match &event.body {
                        Some(Body::Fact(fact)) => fact.kind.clone(),
                        Some(Body::Correction(correction)) => {
                            correction.replacement.as_ref().and_then(|fact| fact.kind.clone())
                        }
                        None => None,
                    })
                    .unwrap_or_else(|| extra(*pick, &tender, "A1", at, &supersedes));
                let body = Some(Body::Correction(pb::DisclosureCorrected {
                    supersedes_event_id: supersedes,
                    reason: "录入错误".to_owned(),
                    replacement: Some(pb::Fact { kind: Some(changed(fact, &kind, &tender, *pick, *value)) }),
                    replacement_occurred_at: time.then(|| ts(at - Duration::days(1))),
                }));
                (Submission { body, ..blank }, recorder.next_id())
            }
            Step::Empty { fact } => {
                let body = fact.then(|| Body::Fact(pb::Fact { kind: None }));
                (Submission { body, ..blank }, recorder.next_id())
            }
        };
        recorder.record_as(submission, *lawless, id);
    }
    recorder.events
}

/// The rows as the store would hold them after the changes so far.
#[derive(Debug, Default)]
struct Held {
    public: BTreeMap<u64, TimelineRow>,
    full: BTreeMap<u64, TimelineRow>,
    summaries: Option<(ProjectRow, ProjectRow)>,
    supervision: SupervisionRows,
}

impl Held {
    fn of(rows: ProjectViewRows) -> Self {
        Held {
            public: rows.public_timeline.into_iter().map(|row| (row.project_seq, row)).collect(),
            full: rows.full_timeline.into_iter().map(|row| (row.project_seq, row)).collect(),
            summaries: Some((rows.public_project, rows.full_project)),
            supervision: rows.supervision,
        }
    }

    /// Applies `changes`; each changed row must differ from the row held.
    fn apply(&mut self, ViewChanges(changes): ViewChanges) -> Result<(), TestCaseError> {
        for (held, rows) in [(&mut self.public, changes.public_timeline), (&mut self.full, changes.full_timeline)] {
            for row in rows {
                prop_assert!(held.get(&row.project_seq) != Some(&row), "row {} returned unchanged", row.project_seq);
                held.insert(row.project_seq, row);
            }
        }
        self.summaries = Some((changes.public_project, changes.full_project));
        self.supervision = changes.supervision;
        Ok(())
    }

    fn rows(&self) -> Option<ProjectViewRows> {
        let (public_project, full_project) = self.summaries.clone()?;
        Some(ProjectViewRows {
            public_timeline: self.public.values().cloned().collect(),
            full_timeline: self.full.values().cloned().collect(),
            public_project,
            full_project,
            supervision: self.supervision.clone(),
        })
    }
}

/// Carries a rendering over `events`, `sizes` at a time, checking it against
/// the whole rendering after every step; how many steps were refused.
fn check(events: &[pb::EventEnvelope], sizes: &[usize]) -> Result<usize, TestCaseError> {
    let mut carried: Option<Carried> = None;
    let mut held = Held::default();
    let mut refused = 0;
    let mut done = 0;
    let mut sizes = sizes.iter().cycle();
    while done < events.len() {
        let next = (done + sizes.next().copied().unwrap_or(1).max(1)).min(events.len());
        let whole = view_rows(&events[..next]);
        match carried.as_mut() {
            None => match (Carried::start(&events[..next]), whole) {
                (Ok((rows, started)), Ok(expected)) => {
                    prop_assert_eq!(&rows, &expected, "a rendering started at event {}", next);
                    held = Held::of(rows);
                    carried = Some(started);
                }
                (Err(refusal), Err(expected)) => {
                    prop_assert_eq!(refusal, expected);
                    refused += 1;
                }
                (started, expected) => {
                    return Err(TestCaseError::fail(format!(
                        "started at {next}: {:?} but whole: {:?}",
                        started.map(|(rows, _)| rows),
                        expected
                    )));
                }
            },
            Some(rendering) => match (rendering.advance(&events[done..next]), whole) {
                (Ok(changes), Ok(expected)) => {
                    held.apply(changes)?;
                    let rows = held.rows();
                    prop_assert_eq!(rows.as_ref(), Some(&expected), "carried to event {}", next);
                }
                (Err(CarryError::Refused(refusal)), Err(expected)) => {
                    prop_assert_eq!(refusal, expected);
                    refused += 1;
                    carried = None;
                }
                (carried, expected) => {
                    return Err(TestCaseError::fail(format!("carried to {next}: {carried:?} but whole: {expected:?}")));
                }
            },
        }
        done = next;
    }
    Ok(refused)
}

fn cases() -> u32 {
    std::env::var("GONGKAI_CARRY_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(64)
}

/// Runs `cases()` random records from `seed`, recorded as the bus would
/// with probability `lawful` (else as an earlier version might have).
fn carry(name: &str, seed: u64, lawful: f64) {
    let pool = DescriptorPool::decode(gongkai_proto::FILE_DESCRIPTOR_SET).expect("the contract's descriptors");
    let fact = pool.get_message_by_name("gongkai.v1.Fact").expect("gongkai.v1.Fact");
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut seed_bytes = [0_u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let (events, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let strategy = (
        prop::collection::vec((step(), prop::bool::weighted(1.0 - lawful)), 1..60),
        prop::collection::vec(1_usize..4, 1..6),
    );
    let result = runner.run(&strategy, |(steps, sizes)| {
        let record = record(&steps, &fact);
        events.fetch_add(record.len(), Ordering::Relaxed);
        refused.fetch_add(check(&record, &sizes)?, Ordering::Relaxed);
        Ok(())
    });
    let (events, refused) = (events.into_inner(), refused.into_inner());
    println!("carry {name}: {} cases, {events} events, {refused} steps refused", cases());
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn a_carried_rendering_equals_the_whole_one_on_records_of_any_shape() {
    carry("lax", 0x6361_7272_7931, 0.3);
}

#[test]
fn a_carried_rendering_equals_the_whole_one_on_lawful_records() {
    carry("lawful", 0x6361_7272_7932, 0.9);
}

#[test]
fn a_long_project_is_carried_event_by_event() {
    let events = streams::long_project(CODE, 120, 1);
    let mut sizes = vec![1; 40];
    sizes.push(7);
    assert_eq!(check(&events, &sizes).expect("equal after every event"), 0);
}
