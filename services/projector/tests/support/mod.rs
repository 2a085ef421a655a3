//! Fixtures: a project's stream built the way the bus builds it (decided by
//! `gongkai_domain::decide`, flags attached, hash-chained), and small builders.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use gongkai_domain::hash::chain_hash;
use gongkai_domain::kinds::{body_domain, event_type};
use gongkai_domain::{Body, ProjectState, Submission, decide};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::fact::Kind;
pub(crate) use gongkai_scenarios::ts;
use gongkai_scenarios::{Request, ppp_lifecycle};
use prost::Message;

/// The project code of the fixtures.
pub(crate) const CODE: &str = "2024-230113-77-01-000001";

/// A project's event stream under construction.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    state: ProjectState,
    pub(crate) events: Vec<pb::EventEnvelope>,
}

impl Stream {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records a fact at `at`; returns its event id.
    pub(crate) fn fact(&mut self, at: DateTime<Utc>, kind: Kind) -> String {
        self.push(ts(at), Body::Fact(pb::Fact { kind: Some(kind) }))
    }

    /// Records a correction of `supersedes` at `at`; returns its event id.
    pub(crate) fn correct(&mut self, at: DateTime<Utc>, supersedes: &str, reason: &str, kind: Kind) -> String {
        self.push(
            ts(at),
            Body::Correction(pb::DisclosureCorrected {
                supersedes_event_id: supersedes.to_owned(),
                reason: reason.to_owned(),
                replacement: Some(pb::Fact { kind: Some(kind) }),
                replacement_occurred_at: None,
            }),
        )
    }

    /// Records one body the way the bus does; panics when a hard rule refuses it.
    pub(crate) fn push(&mut self, occurred_at: prost_types::Timestamp, body: Body) -> String {
        let seq = self.events.len() as u64 + 1;
        let event_id = format!("01900000-0000-7000-8000-{seq:012x}");
        let request_id = format!("req-{seq}");
        let submission = Submission {
            request_id: request_id.clone(),
            project_code: CODE.to_owned(),
            occurred_at: Some(occurred_at),
            body: Some(body.clone()),
        };
        let flags = decide(&self.state, &submission, &event_id)
            .unwrap_or_else(|rejection| panic!("event {seq} refused: {rejection}"));
        let prev = self.events.last().map(|e| unhex(&e.hash));
        let mut envelope = pb::EventEnvelope {
            event_id: event_id.clone(),
            r#type: event_type(&body),
            source: "ggzy-230100".to_owned(),
            subject: CODE.to_owned(),
            project_seq: seq,
            position: 1000 + seq,
            occurred_at: Some(occurred_at),
            recorded_at: Some(prost_types::Timestamp { seconds: occurred_at.seconds + 3600, nanos: 0 }),
            request_id,
            prev_hash: self.events.last().map(|e| e.hash.clone()).unwrap_or_default(),
            hash: String::new(),
            flags,
            domain: body_domain(&body).unwrap_or_default() as i32,
            // Deterministic, so that a stream is the same every run.
            commitment_seed: gongkai_domain::hash::sha256(event_id.as_bytes()).to_vec(),
            body: Some(body),
        };
        envelope.hash = hex(&chain_hash(prev.as_ref(), &envelope));
        self.state.apply(&envelope);
        self.events.push(envelope);
        event_id
    }

    /// Records a lifecycle request (`gongkai_scenarios::Request`).
    pub(crate) fn request(&mut self, request: Request) -> String {
        let (at, body) = body_of(request);
        self.push(at, body)
    }
}

/// The event stream of the lawful PPP lifecycle of `gongkai-scenarios` (29 events).
pub(crate) fn lifecycle() -> Stream {
    let mut stream = Stream::new();
    for request in ppp_lifecycle(CODE, "r").requests {
        stream.request(request);
    }
    stream
}

/// The event stream of the lawful PPP lifecycle with land expropriation and
/// operation (`gongkai_scenarios::expropriation_lifecycle`).
pub(crate) fn expropriation() -> Stream {
    let mut stream = Stream::new();
    for request in gongkai_scenarios::expropriation_lifecycle(CODE, "r").requests {
        stream.request(request);
    }
    stream
}

/// The business time and body of a lifecycle request.
pub(crate) fn body_of(request: Request) -> (prost_types::Timestamp, Body) {
    match request.body() {
        (Some(at), Some(body)) => (at, body),
        _ => panic!("a lifecycle request has its time and fact: {request:?}"),
    }
}

/// The fixtures' reference instant, 2024-03-01 09:00 Beijing time.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 1, 0, 0).single().expect("valid time")
}

/// `n` days after [`t0`].
pub(crate) fn day(n: i64) -> DateTime<Utc> {
    t0() + Duration::days(n)
}

/// An organization named `name`, matched by name (no credit code).
pub(crate) fn org(name: &str) -> pb::Organization {
    pb::Organization { name: name.to_owned(), unified_social_credit_code: String::new(), role: 0 }
}

/// A person with (possibly empty) personal data.
pub(crate) fn person(name: &str, role: &str, id_number: &str, phone: &str) -> pb::Person {
    pb::Person {
        name: name.to_owned(),
        id_number: id_number.to_owned(),
        phone: phone.to_owned(),
        role: role.to_owned(),
        certificate_number: String::new(),
        employer: String::new(),
    }
}

/// A document titled `title`.
pub(crate) fn doc(title: &str, kind: pb::DocumentType, at: DateTime<Utc>) -> pb::DocumentRef {
    gongkai_scenarios::doc(title, kind, at)
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The public view of `views` as bytes (every entry and the summary,
/// prost-encoded) and as its Debug text.
pub(crate) fn public_bytes_and_debug(views: &gongkai_projector::ProjectViews) -> (Vec<u8>, String) {
    let mut bytes = Vec::new();
    for entry in &views.public_timeline {
        bytes.extend(entry.encode_to_vec());
    }
    bytes.extend(views.public_summary.encode_to_vec());
    let debug = format!("{:?}{:?}", views.public_timeline, views.public_summary);
    (bytes, debug)
}

/// Every entry and summary of `views`, encoded, for byte-for-byte comparison.
pub(crate) fn encoded(views: &gongkai_projector::ProjectViews) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = views.public_timeline.iter().map(Message::encode_to_vec).collect();
    out.extend(views.full_timeline.iter().map(Message::encode_to_vec));
    out.push(views.public_summary.encode_to_vec());
    out.push(views.full_summary.encode_to_vec());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}
