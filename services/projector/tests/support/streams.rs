//! Projects' event streams as the bus records them (decided, flags attached,
//! hash-chained), for the fold benches and the incremental-rendering tests:
//! the lawful PPP lifecycle, and a long one that keeps paying out.

#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use gongkai_domain::hash::chain_hash;
use gongkai_domain::kinds::{body_domain, event_type};
use gongkai_domain::{ProjectState, Submission, decide};
use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, ppp_lifecycle, ts};

/// One project's stream under construction.
#[derive(Debug)]
pub struct Recorder {
    code: String,
    state: ProjectState,
    /// Store position of the next event.
    next_position: u64,
    /// The events so far.
    pub events: Vec<pb::EventEnvelope>,
}

impl Recorder {
    /// A new stream of project `code`, its events at store positions from `first_position`.
    pub fn new(code: &str, first_position: u64) -> Self {
        Self {
            code: code.to_owned(),
            state: ProjectState::default(),
            next_position: first_position,
            events: Vec::new(),
        }
    }

    /// Records `submission` as the bus would, when `decide` accepts it;
    /// returns the event, or `None` when it is refused. With `lawless`, it is
    /// recorded without asking (as an earlier version might have).
    pub fn record(&mut self, submission: Submission, lawless: bool) -> Option<&pb::EventEnvelope> {
        let event_id = self.next_id();
        self.record_as(submission, lawless, event_id)
    }

    /// The id [`Self::record`] gives the next event.
    pub fn next_id(&self) -> String {
        self.id_of(self.events.len() as u64 + 1)
    }

    /// The id [`Self::record`] gives event `seq` (of those recorded with it).
    pub fn id_of(&self, seq: u64) -> String {
        format!("01900000-0000-7000-8000-{:012x}", seq + (self.code_number() << 20))
    }

    fn code_number(&self) -> u64 {
        self.code.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// [`Self::record`] with the event id `event_id`.
    pub fn record_as(
        &mut self,
        mut submission: Submission,
        lawless: bool,
        event_id: String,
    ) -> Option<&pb::EventEnvelope> {
        let seq = self.events.len() as u64 + 1;
        submission.project_code = self.code.clone();
        let flags = if lawless { Vec::new() } else { decide(&self.state, &submission, &event_id).ok()? };
        let body = submission.body.clone();
        // Deterministic, so that a stream is the same every run.
        let commitment_seed = gongkai_domain::hash::sha256(event_id.as_bytes()).to_vec();
        let mut envelope = pb::EventEnvelope {
            event_id,
            r#type: body.as_ref().map(event_type).unwrap_or_default(),
            source: format!("ggzy-2301{:02}", seq % 3),
            subject: self.code.clone(),
            project_seq: seq,
            position: self.next_position,
            occurred_at: submission.occurred_at,
            recorded_at: submission.occurred_at.map(|at| prost_types::Timestamp { seconds: at.seconds + 60, nanos: 0 }),
            request_id: submission.request_id.clone(),
            prev_hash: self.events.last().map(|e| e.hash.clone()).unwrap_or_default(),
            hash: String::new(),
            flags,
            domain: body.as_ref().and_then(body_domain).unwrap_or_default() as i32,
            commitment_seed,
            body,
        };
        let prev = self.events.last().map(|e| unhex(&e.hash));
        envelope.hash = hex::encode(chain_hash(prev.as_ref(), &envelope));
        self.next_position += 1;
        self.state.apply(&envelope);
        self.events.push(envelope);
        self.events.last()
    }

    /// The state folded from the events so far.
    pub fn state(&self) -> &ProjectState {
        &self.state
    }
}

fn unhex(text: &str) -> [u8; 32] {
    let mut out = [0_u8; 32];
    if let Ok(bytes) = hex::decode(text) {
        let n = bytes.len().min(32);
        out[..n].copy_from_slice(&bytes[..n]);
    }
    out
}

/// The submissions of the lawful PPP lifecycle of project `code` (29).
pub fn lifecycle(code: &str) -> Vec<Submission> {
    submissions(ppp_lifecycle(code, code))
}

/// The submissions of the lawful PPP lifecycle of project `code` with its
/// land expropriation and operation.
pub fn expropriation_lifecycle(code: &str) -> Vec<Submission> {
    submissions(gongkai_scenarios::expropriation_lifecycle(code, code))
}

fn submissions(lifecycle: gongkai_scenarios::PppLifecycle) -> Vec<Submission> {
    lifecycle.requests.into_iter().map(|request| gongkai_testkit::submission(request).1).collect()
}

/// The lawful lifecycle of `code` with its performance stretched: after the
/// last progress payment, more milestones and payments until the project
/// has `total` events (its completion and final accounts at the end), or
/// the first `total` events of the lifecycle when that is shorter.
pub fn long_project(code: &str, total: usize, first_position: u64) -> Vec<pb::EventEnvelope> {
    let requests = ppp_lifecycle(code, code).requests;
    let mut recorder = Recorder::new(code, first_position);
    let (ending, performing): (Vec<Request>, Vec<Request>) = {
        let mut requests = requests;
        let ending = requests.split_off(requests.len() - 2);
        (ending, requests)
    };
    let template = performing
        .iter()
        .rev()
        .find_map(|request| match request {
            Request::RecordPayment(payment) => Some(payment.clone()),
            _ => None,
        })
        .expect("the lifecycle pays");
    for request in performing {
        if recorder.events.len() == total {
            return recorder.events;
        }
        let accepted = recorder.record(gongkai_testkit::submission(request).1, false).is_some();
        assert!(accepted, "the lawful lifecycle is accepted");
    }
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 6, 5, 2, 0, 0).single().expect("a time");
    let mut n = 0;
    while recorder.events.len() + ending.len() < total {
        n += 1;
        let at = start + Duration::minutes(n);
        let mut payment = template.clone();
        payment.request_id = format!("{code}-pay-{n}");
        payment.occurred_at = Some(ts(at));
        let fact = payment.fact.as_mut().expect("a payment");
        fact.payment_number = format!("ZF-X{n}");
        fact.amount_fen = 10_000 + n;
        fact.paid_at = Some(ts(at));
        fact.milestone_code.clear();
        let accepted = recorder.record(gongkai_testkit::submission(Request::RecordPayment(payment)).1, false);
        assert!(accepted.is_some(), "payment {n} is accepted");
    }
    for request in ending {
        if recorder.events.len() == total {
            break;
        }
        let accepted = recorder.record(gongkai_testkit::submission(request).1, false).is_some();
        assert!(accepted, "the lifecycle's end is accepted");
    }
    recorder.events
}
