//! Every metric gongkai reports, named in one place.
//!
//! | name | kind | attributes |
//! |---|---|---|
//! | `gongkai.submissions` | counter | `domain`, `outcome` (`accepted`, `replayed`, `refused`), `reason` (refusals: the rule code or error kind) |
//! | `gongkai.rpc.server.duration` | histogram, seconds | `rpc.method` (`/package.Service/Method`, or `unimplemented`) |
//! | `gongkai.relay.backlog` | gauge | outbox rows not yet published |
//! | `gongkai.projector.lag` | gauge | store positions not yet folded into the views |
//! | `gongkai.tlog.witness.submissions` | counter | `witness` (its key name), `outcome` (`cosigned`, `refused`, `unreachable`, `ahead`, `invalid_answer`, `error`) |
//!
//! Instruments come from the global meter provider, which
//! [`crate::Telemetry::init`] sets before any of them is first used; without
//! OTLP it is the no-op provider and recording costs next to nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, ObservableGauge};

/// Latency buckets in seconds: a submission commits in milliseconds, and
/// anything past a few seconds is an outage.
const LATENCY_BOUNDARIES: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

struct Instruments {
    submissions: Counter<u64>,
    rpc_duration: Histogram<f64>,
    witness_submissions: Counter<u64>,
}

fn meter() -> Meter {
    opentelemetry::global::meter("gongkai")
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = meter();
        Instruments {
            submissions: meter
                .u64_counter("gongkai.submissions")
                .with_description("Submissions answered, by domain, outcome and refusal reason")
                .build(),
            rpc_duration: meter
                .f64_histogram("gongkai.rpc.server.duration")
                .with_description("Time from a gRPC request to its response, by method")
                .with_unit("s")
                .with_boundaries(LATENCY_BOUNDARIES.to_vec())
                .build(),
            witness_submissions: meter
                .u64_counter("gongkai.tlog.witness.submissions")
                .with_description("Checkpoints submitted to a witness, by witness and outcome")
                .build(),
        }
    })
}

/// How a submission was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new event was recorded.
    Accepted,
    /// A retried request was answered with its first receipt.
    Replayed,
    /// Nothing was recorded, for this reason (a rule code or error kind).
    Refused(&'static str),
}

/// Counts one submission to `domain`'s service.
pub fn submission(domain: &'static str, outcome: Outcome) {
    let domain = KeyValue::new("domain", domain);
    match outcome {
        Outcome::Accepted => instruments().submissions.add(1, &[domain, KeyValue::new("outcome", "accepted")]),
        Outcome::Replayed => instruments().submissions.add(1, &[domain, KeyValue::new("outcome", "replayed")]),
        Outcome::Refused(reason) => instruments()
            .submissions
            .add(1, &[domain, KeyValue::new("outcome", "refused"), KeyValue::new("reason", reason)]),
    }
}

/// Records how long one gRPC call to `method` took.
pub fn rpc_duration(method: std::borrow::Cow<'static, str>, seconds: f64) {
    instruments().rpc_duration.record(seconds, &[KeyValue::new("rpc.method", method)]);
}

/// Counts one checkpoint submitted to `witness` (its key name): `outcome`
/// is `cosigned` or why not.
pub fn witness_submission(witness: &str, outcome: &'static str) {
    instruments()
        .witness_submissions
        .add(1, &[KeyValue::new("witness", witness.to_owned()), KeyValue::new("outcome", outcome)]);
}

/// A gauge whose value is set by its owner and read at each export.
#[derive(Debug)]
pub struct Gauge {
    value: Arc<AtomicU64>,
    _instrument: ObservableGauge<u64>,
}

impl Gauge {
    /// Registers the gauge `name`; it reports until dropped.
    pub fn new(name: &'static str, description: &'static str) -> Self {
        let value = Arc::new(AtomicU64::new(0));
        let observed = Arc::clone(&value);
        let instrument = meter()
            .u64_observable_gauge(name)
            .with_description(description)
            .with_callback(move |observer| observer.observe(observed.load(Ordering::Relaxed), &[]))
            .build();
        Self { value, _instrument: instrument }
    }

    /// The value reported from now on.
    pub fn set(&self, value: u64) {
        self.value.store(value, Ordering::Relaxed);
    }
}
