//! The cases: their kinds, the pinned requests sent on every run, and each
//! drawn case built from the seed and its index alone (method, base request,
//! what is done to it, credential and metadata).

use gongkai_proto::v1 as pb;
use prost::Message;
use tonic::metadata::{MetadataMap, MetadataValue};

use super::bases::Bases;
use super::hostile::{mutate_bytes, mutate_message, random_fields};
use super::wire::{Field, Rng, Value, encode, with_request_id};
use super::{Api, IN_LIMIT, LIMIT, METHODS, OVERSIZE_EVERY, QIQIHAR_TOKEN, WATCH_EVENTS};
use crate::ingestion::{HARBIN_TOKEN, SUPERVISOR_TOKEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    /// Random bytes, or random well-formed fields.
    Random,
    /// A valid request cut short.
    Truncated,
    /// A valid request with bytes flipped, inserted, deleted.
    Bytes,
    /// A valid request with fields set to extreme or hostile values.
    Fields,
    /// No message or several on a unary call.
    Stream,
    /// A frame over `grpc.max_message_bytes`.
    Oversize,
    /// A request that once went wrong, sent on every run.
    Pinned,
}

/// Requests that once went wrong (or still do, see the notes), sent with
/// the supervisor's credential on every run whatever the seed.
pub(super) fn pinned() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    const SEARCH: &str = "/gongkai.v1.SupervisionService/SearchProjects";
    let watch = |after_position| pb::WatchEventsRequest { after_position, ..Default::default() }.encode_to_vec();
    // Past SQLite's 50,000-byte LIKE pattern limit.
    let long = "x".repeat(60_000);
    let search = |request: pb::SearchProjectsRequest| request.encode_to_vec();
    vec![
        ("after_position = u64::MAX (was INTERNAL)", WATCH_EVENTS, watch(u64::MAX)),
        ("after_position = 2^63 (was INTERNAL)", WATCH_EVENTS, watch(1 << 63)),
        (
            "winner of 60,000 bytes",
            SEARCH,
            search(pb::SearchProjectsRequest { winner: long.clone(), ..Default::default() }),
        ),
        (
            "owner of 60,000 bytes",
            SEARCH,
            search(pb::SearchProjectsRequest { owner: long.clone(), ..Default::default() }),
        ),
        ("text of 60,000 bytes", SEARCH, search(pb::SearchProjectsRequest { text: long, ..Default::default() })),
    ]
}

/// One call to make: a pinned request, or case `n` drawn from the seed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Job {
    Pinned(usize),
    Drawn(usize),
}

#[derive(Debug)]
pub(super) struct Case {
    index: usize,
    pub(super) path: &'static str,
    pub(super) kind: Kind,
    /// The request messages: one, except for [`Kind::Stream`].
    pub(super) messages: Vec<Vec<u8>>,
    /// What was done to the request.
    what: String,
    /// Which credential was sent.
    credential: &'static str,
    authorization: Option<Vec<u8>>,
    /// More metadata (key, value).
    metadata: Vec<(&'static str, Vec<u8>)>,
}

impl Case {
    pub(super) fn for_job(job: Job, seed: u64, bases: &Bases) -> Self {
        match job {
            Job::Drawn(index) => Self::new(seed, index, bases),
            Job::Pinned(index) => {
                let (what, path, message) = pinned().swap_remove(index);
                Self {
                    index,
                    path,
                    kind: Kind::Pinned,
                    messages: vec![message],
                    what: what.to_owned(),
                    credential: "supervisor",
                    authorization: Some(format!("Bearer {SUPERVISOR_TOKEN}").into_bytes()),
                    metadata: Vec::new(),
                }
            }
        }
    }

    /// Case `index` of the run with `seed`: a function of both alone.
    fn new(seed: u64, index: usize, bases: &Bases) -> Self {
        let mut rng = Rng::for_case(seed, index);
        let (path, api) = METHODS[index % METHODS.len()];
        let mut base = rng.pick(&bases.by_method[path]).clone();
        // A fresh request id, so that idempotency does not answer first.
        let id = format!("fuzz-{seed:x}-{index}");
        if api == Api::Ingestion {
            base = with_request_id(&base, &id);
        }
        let kind = if index % OVERSIZE_EVERY == OVERSIZE_EVERY - 1 {
            Kind::Oversize
        } else {
            match rng.below(100) {
                0..20 => Kind::Random,
                20..35 => Kind::Truncated,
                35..57 => Kind::Bytes,
                57..96 => Kind::Fields,
                _ => Kind::Stream,
            }
        };
        let (messages, what) = match kind {
            Kind::Random if rng.chance(50) => {
                let len = if rng.chance(30) { rng.below(17) } else { rng.below(4097) };
                (vec![rng.bytes(len)], format!("{len} random bytes"))
            }
            Kind::Random => (vec![random_fields(&mut rng, 0)], "random fields".to_owned()),
            Kind::Truncated => {
                // A request with no fields (GetCheckpoint) is empty: nothing to cut.
                let cut = if base.is_empty() { 0 } else { rng.below(base.len()) };
                (vec![base[..cut].to_vec()], format!("cut at {cut} of {} bytes", base.len()))
            }
            Kind::Bytes => {
                let (bytes, what) = mutate_bytes(&mut rng, &base);
                (vec![bytes], what)
            }
            Kind::Fields => {
                let mut message = base;
                let mut trail = String::new();
                for _ in 0..1 + rng.below(3) {
                    if !trail.is_empty() {
                        trail.push_str("; ");
                    }
                    message = mutate_message(&mut rng, &message, IN_LIMIT.saturating_sub(message.len()), &mut trail);
                }
                (vec![message], trail)
            }
            Kind::Stream => {
                let n = *rng.pick(&[0usize, 2, 3]);
                let messages = (0..n)
                    .map(|m| {
                        if api == Api::Ingestion { with_request_id(&base, &format!("{id}-{m}")) } else { base.clone() }
                    })
                    .collect();
                (messages, format!("{n} messages"))
            }
            Kind::Oversize => {
                // A valid message with an unknown field that takes it over the limit.
                let len = LIMIT + 1 + rng.below(64 * 1024);
                let mut message = base;
                message.extend(encode(&[Field { number: 1000, value: Value::Len(vec![b'x'; len]) }]));
                (vec![message], format!("unknown field 1000 of {len} bytes"))
            }
            Kind::Pinned => unreachable!("drawn cases are never pinned"),
        };
        let own = match api {
            Api::Ingestion => ("submitter", HARBIN_TOKEN),
            Api::Supervision => ("supervisor", SUPERVISOR_TOKEN),
        };
        let other_role = match api {
            Api::Ingestion => SUPERVISOR_TOKEN,
            Api::Supervision => HARBIN_TOKEN,
        };
        let bearer = |token: &str| Some(format!("Bearer {token}").into_bytes());
        let (credential, authorization) = if rng.chance(88) {
            (own.0, bearer(own.1))
        } else {
            match rng.below(10) {
                0 => ("absent", None),
                1 => ("empty bearer", Some(b"Bearer ".to_vec())),
                2 => ("unknown token", bearer("not-a-known-token")),
                3 => ("lowercase scheme", Some(format!("bearer {}", own.1).into_bytes())),
                4 => ("basic", Some(b"Basic aGFyYmluOnRva2Vu".to_vec())),
                5 => ("other role", bearer(other_role)),
                6 => ("other region", bearer(QIQIHAR_TOKEN)),
                7 => ("padded", Some(format!("Bearer   {}  ", own.1).into_bytes())),
                8 => ("long", bearer(&"x".repeat(4096))),
                _ => ("non-ASCII", Some(b"Bearer \xe4\xb8\xad\xff".to_vec())),
            }
        };
        let mut metadata = Vec::new();
        if rng.chance(10) {
            match rng.below(5) {
                0 => {
                    let timeout = *rng.pick(&["1n", "1u", "1m", "20m", "0S", "99999999H", "-1S", "1", "abc", ""]);
                    metadata.push(("grpc-timeout", timeout.as_bytes().to_vec()));
                }
                1 => {
                    let len = rng.below(200);
                    let garbage: Vec<u8> = (0..len).map(|_| 0x20 + (rng.next_u64() % 0x5f) as u8).collect();
                    let traceparent = rng
                        .pick(&[
                            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
                            b"00-00000000000000000000000000000000-0000000000000000-00".to_vec(),
                            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
                            b"00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra".to_vec(),
                            "00-中".as_bytes().to_vec(),
                            garbage,
                        ])
                        .clone();
                    metadata.push(("traceparent", traceparent));
                }
                2 => {
                    let encoding = *rng.pick(&["gzip", "identity", "snappy", "", "gzip, deflate"]);
                    metadata.push(("grpc-encoding", encoding.as_bytes().to_vec()));
                }
                3 => metadata.push(("grpc-accept-encoding", b"bogus, *;q=0".to_vec())),
                _ => {
                    let len = rng.below(256);
                    metadata.push(("x-fuzz-bin", rng.bytes(len)));
                }
            }
        }
        Self { index, path, kind, messages, what, credential, authorization, metadata }
    }

    /// Whether the request carries metadata `key`.
    pub(super) fn has(&self, key: &str) -> bool {
        self.metadata.iter().any(|(name, _)| *name == key)
    }

    pub(super) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let map: &mut MetadataMap = request.metadata_mut();
        if let Some(value) = self.authorization.as_deref().and_then(|value| MetadataValue::try_from(value).ok()) {
            map.insert("authorization", value);
        }
        for (key, value) in &self.metadata {
            if key.ends_with("-bin") {
                map.insert_bin(*key, MetadataValue::from_bytes(value));
            } else if let Ok(value) = MetadataValue::try_from(value.as_slice()) {
                map.insert(*key, value);
            }
        }
        request
    }

    /// The case and `what` happened, for the report.
    pub(super) fn describe(&self, what: &str, full: bool) -> String {
        let metadata: String =
            self.metadata.iter().map(|(key, value)| format!(", {key}: {:?}", String::from_utf8_lossy(value))).collect();
        format!(
            "{} {} ({:?}, {} credential{metadata}): {} — {what}\n      request: {} — {}",
            if self.kind == Kind::Pinned { "pinned case" } else { "case" },
            self.index,
            self.kind,
            self.credential,
            self.path,
            self.what,
            self.preview(full),
        )
    }

    /// The request for the report: length and leading bytes.
    fn preview(&self, full: bool) -> String {
        self.messages
            .iter()
            .map(|message| {
                let shown = if full { message.len() } else { message.len().min(48) };
                let more = if shown < message.len() { "…" } else { "" };
                format!("{} bytes {}{more}", message.len(), hex::encode(&message[..shown]))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}
