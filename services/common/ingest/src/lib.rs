//! The submit path of every ingestion RPC, written once.
//!
//! A trading center's request becomes a [`Submission`]; [`Ingestor::submit`]
//! validates it, loads the project's events, checks the caller's regions,
//! answers a retried `request_id` with its first receipt, asks the pure domain
//! to decide, and appends the event (with its outbox entry and flags) under
//! optimistic concurrency, retrying when another writer got there first.
//! [`IngestError`] is mapped to a gRPC status in exactly one place
//! (`impl From<IngestError> for tonic::Status`).
//!
//! Each submission is one span (`ingest.submit`) with the steps under it
//! (`ingest.validate`, `store.load_stream`, `ingest.decide`, `store.append`);
//! the append span's trace context is stored with the outbox row so that
//! the relay and the projector continue the same trace. Every answer is
//! counted in `gongkai.submissions` by outcome and refusal reason.

mod error;
mod requests;

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::Utc;
use gongkai_domain::clock::timestamp;
use gongkai_domain::hash::{Hash, chain_hash, sha256};
use gongkai_domain::kinds::{body_domain, event_type, topic};
use gongkai_domain::{Body, ProjectState, Submission, codes, validate};
use gongkai_grpc::auth::{Principal, Role};
use gongkai_proto::v1::{Domain, EventEnvelope, Receipt, fact::Kind};
use gongkai_store::{AppendOutcome, EventStore, NewEvent};
use gongkai_telemetry::metrics::{self, Outcome};
use prost::Message;
use tonic::{Request, Response, Status};
use tracing::Instrument;

pub use error::IngestError;
pub use requests::IngestRequest;

/// How many times a submission is decided, losing the race for its
/// project's next seq each time, before the caller is told ABORTED.
const MAX_ATTEMPTS: usize = 64;

/// The pause before deciding again after a lost race: 1 ms doubling to
/// 20 ms, short because the winner has already committed; one fewer pause
/// than attempts, so the last loss answers at once.
const CONTENTION_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(1))
    .with_max_delay(Duration::from_millis(20))
    .with_max_times(MAX_ATTEMPTS - 1);

pub use gongkai_domain::clock::Clock;

/// The shared submit path. Cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    events: EventStore,
    clock: Clock,
    appended: Vec<Arc<tokio::sync::Notify>>,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor").field("events", &self.events).finish_non_exhaustive()
    }
}

impl Ingestor {
    /// A submit path over the event store `events`, reading time from the
    /// system clock.
    pub fn new(events: EventStore) -> Self {
        Self::with_clock(events, Arc::new(Utc::now))
    }

    /// A submit path over `events` reading time from `clock`.
    pub fn with_clock(events: EventStore, clock: Clock) -> Self {
        Self { events, clock, appended: Vec::new() }
    }

    /// Also wakes `appended` after each event is recorded: a relay or an
    /// embedded projector in the same process waits on it instead of polling.
    pub fn notifying(mut self, appended: Arc<tokio::sync::Notify>) -> Self {
        self.appended.push(appended);
        self
    }

    /// Handles one ingestion RPC of `domain`'s service: the authenticated
    /// caller from the request extensions, the request turned into a
    /// submission, the outcome turned into a receipt or a status.
    pub async fn handle<R: IngestRequest>(
        &self,
        domain: Domain,
        request: Request<R>,
    ) -> Result<Response<Receipt>, Status> {
        let principal = gongkai_grpc::auth::principal(&request)?;
        let submission = request.into_inner().into_submission();
        let project = submission.project_code.clone();
        let slug = gongkai_domain::vocabulary::domain_label(domain);
        let span = tracing::info_span!("ingest.submit", %project, domain = slug);
        match self.submit(&principal, domain, submission).instrument(span).await {
            Ok(receipt) => {
                metrics::submission(slug, if receipt.replayed { Outcome::Replayed } else { Outcome::Accepted });
                Ok(Response::new(receipt))
            }
            Err(error) => {
                metrics::submission(slug, Outcome::Refused(error.reason()));
                tracing::info!(%project, caller = %principal.id, reason = error.reason(), "Submission refused.");
                Err(error.into())
            }
        }
    }

    /// Records `submission` for `principal` through `domain`'s service.
    pub async fn submit(
        &self,
        principal: &Principal,
        domain: Domain,
        submission: Submission,
    ) -> Result<Receipt, IngestError> {
        if principal.role != Role::Submitter {
            return Err(IngestError::NotASubmitter);
        }
        let violations =
            tracing::info_span!("ingest.validate").in_scope(|| validate::submission(&submission, (self.clock)()));
        if !violations.is_empty() {
            return Err(IngestError::Invalid(violations));
        }
        let Some(body) = submission.body.as_ref() else {
            // Validation reports a missing body; this only guards the type.
            return Err(IngestError::Invalid(vec![gongkai_domain::FieldViolation::new("fact", "必填")]));
        };
        if body_domain(body) != Some(domain) {
            return Err(IngestError::WrongDomain { expected: domain });
        }
        let digest = request_digest(&submission);

        let mut pauses = CONTENTION_BACKOFF.build();
        for attempt in 1_u32.. {
            let events = self
                .events
                .load_stream(&submission.project_code)
                .instrument(tracing::info_span!("store.load_stream", attempt))
                .await?;
            let state = ProjectState::from_events(&events);
            let region = project_region(&state, &submission);
            if !principal.covers_region(&region) {
                return Err(IngestError::RegionNotAllowed { region });
            }
            if let Some(receipt) = self.replay(principal, &submission, &digest).await? {
                return Ok(receipt);
            }

            let event_id = uuid::Uuid::now_v7().to_string();
            let flags = tracing::info_span!("ingest.decide")
                .in_scope(|| gongkai_domain::decide(&state, &submission, &event_id))
                .map_err(IngestError::Refused)?;
            let prev: Option<Hash> = events.last().and_then(|last| decode_hash(&last.hash));
            let mut envelope = EventEnvelope {
                event_id,
                r#type: event_type(body),
                source: principal.id.clone(),
                subject: submission.project_code.clone(),
                project_seq: state.last_seq() + 1,
                position: 0,
                occurred_at: submission.occurred_at,
                recorded_at: Some(timestamp((self.clock)())),
                request_id: submission.request_id.clone(),
                prev_hash: prev.map(hex::encode).unwrap_or_default(),
                hash: String::new(),
                flags,
                domain: domain as i32,
                body: Some(body.clone()),
            };
            envelope.hash = hex::encode(chain_hash(prev.as_ref(), &envelope));
            let append = tracing::info_span!("store.append", seq = envelope.project_seq);
            let new_event = NewEvent {
                envelope,
                region_code: region,
                request_digest: digest,
                topic: topic(domain).to_owned(),
                // The relay's span becomes a child of this append.
                traceparent: gongkai_telemetry::propagation::traceparent(&append),
            };
            match self.events.append(&new_event).instrument(append).await? {
                AppendOutcome::Appended { position } => {
                    for appended in &self.appended {
                        appended.notify_one();
                    }
                    let mut envelope = new_event.envelope;
                    envelope.position = position;
                    tracing::debug!(project = %envelope.subject, seq = envelope.project_seq, "Event recorded.");
                    return Ok(receipt(&envelope, false));
                }
                AppendOutcome::DuplicateRequest => {
                    // A concurrent retry of the same request won; answer as it did.
                    if let Some(receipt) = self.replay(principal, &submission, &digest).await? {
                        return Ok(receipt);
                    }
                }
                AppendOutcome::Conflict => {}
            }
            // Lost the race for the next seq: back off a little, then decide again
            // against the new history (ABORTED once the backoff runs out).
            let Some(pause) = pauses.next() else { break };
            tokio::time::sleep(pause).await;
        }
        Err(IngestError::Contended)
    }

    /// The first receipt of a retried request, or ALREADY_EXISTS when the
    /// request id was used for a different request.
    async fn replay(
        &self,
        principal: &Principal,
        submission: &Submission,
        digest: &Hash,
    ) -> Result<Option<Receipt>, IngestError> {
        match self.events.find_request(&principal.id, &submission.request_id).await? {
            None => Ok(None),
            Some(stored) if &stored.request_digest == digest => Ok(Some(receipt(&stored.envelope, true))),
            Some(stored) => Err(IngestError::RequestIdReused { event_id: stored.envelope.event_id }),
        }
    }
}

/// The region that decides who may write the project: its approval's, or for
/// the approval itself the one it declares, or else the project code's.
fn project_region(state: &ProjectState, submission: &Submission) -> String {
    if let Some(region) = state.region_code() {
        return region.to_owned();
    }
    if let Some(Body::Fact(fact)) = &submission.body
        && let Some(Kind::ProjectApproved(approved)) = &fact.kind
    {
        return approved.region_code.clone();
    }
    codes::ProjectCode::parse(&submission.project_code).map(|code| code.region.to_owned()).unwrap_or_default()
}

/// SHA-256 over what the request says (project, business time, body), to tell
/// a retry from a reuse of the same request id.
fn request_digest(submission: &Submission) -> Hash {
    let canonical = EventEnvelope {
        subject: submission.project_code.clone(),
        occurred_at: submission.occurred_at,
        body: submission.body.clone(),
        ..EventEnvelope::default()
    };
    sha256(&canonical.encode_to_vec())
}

fn decode_hash(hex_hash: &str) -> Option<Hash> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut hash).ok().map(|()| hash)
}

fn receipt(envelope: &EventEnvelope, replayed: bool) -> Receipt {
    Receipt {
        event_id: envelope.event_id.clone(),
        project_code: envelope.subject.clone(),
        project_seq: envelope.project_seq,
        position: envelope.position,
        hash: envelope.hash.clone(),
        prev_hash: envelope.prev_hash.clone(),
        recorded_at: envelope.recorded_at,
        flags: envelope.flags.clone(),
        replayed,
    }
}

#[doc(hidden)]
pub mod __private {
    pub use gongkai_proto::v1 as pb;
    pub use tonic;
}

/// Implements one ingestion service: every RPC goes through
/// [`Ingestor::handle`] with the service's domain, so the five services share
/// one submit path and differ only in which facts they accept.
///
/// ```ignore
/// gongkai_ingest::ingestion_service! {
///     /// Docs of the generated type.
///     Projects: ProjectService / ProjectServiceServer, Domain::Projects,
///     [record_approval: RecordApprovalRequest, …]
/// }
/// ```
#[macro_export]
macro_rules! ingestion_service {
    (
        $(#[$meta:meta])*
        $name:ident: $service:ident / $server:ident, $domain:expr,
        [$($method:ident: $request:ident),* $(,)?]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            ingestor: $crate::Ingestor,
        }

        impl $name {
            /// The service over the shared submit path.
            pub fn new(ingestor: $crate::Ingestor) -> Self {
                Self { ingestor }
            }

            /// The tonic server for this service, decoding messages up to `max_message_bytes`.
            pub fn into_server(self, max_message_bytes: usize) -> $server<Self> {
                $server::new(self).max_decoding_message_size(max_message_bytes)
            }
        }

        #[$crate::__private::tonic::async_trait]
        impl $service for $name {
            $(
                async fn $method(
                    &self,
                    request: $crate::__private::tonic::Request<$crate::__private::pb::$request>,
                ) -> Result<
                    $crate::__private::tonic::Response<$crate::__private::pb::Receipt>,
                    $crate::__private::tonic::Status,
                > {
                    self.ingestor.handle($domain, request).await
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contention_backoff_doubles_to_its_cap_between_the_attempts() {
        let pauses: Vec<u128> = CONTENTION_BACKOFF.build().map(|pause| pause.as_millis()).collect();
        assert_eq!(pauses.len(), MAX_ATTEMPTS - 1);
        assert_eq!(pauses[..6], [1, 2, 4, 8, 16, 20]);
        assert!(pauses[5..].iter().all(|pause| *pause == 20));
    }
}
