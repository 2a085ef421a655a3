//! The submit path of every ingestion RPC, written once.
//!
//! A trading center's request becomes a [`Submission`]; [`Ingestor::submit`]
//! validates it, checks the caller's regions against the project's state,
//! asks the pure domain to decide, and appends the event (with its outbox
//! entry and flags) under optimistic concurrency, retrying when another
//! writer got there first. [`IngestError`] is mapped to a gRPC status in
//! exactly one place (`impl From<IngestError> for tonic::Status`).
//!
//! # One round trip per submission
//!
//! The database is the limit of ingestion, so a submission that is accepted
//! costs it one share of one transaction and nothing else:
//!
//! * **No read before deciding.** The process keeps each project's decided
//!   state and stream head (bounded; `known`) and decides against them. The
//!   append's compare-and-set on the head proves them current; on a conflict
//!   the submission reloads and decides again. A refusal from a cached state
//!   is checked against the stored head first, since nothing else proves it.
//! * **Idempotency inside the append.** `(source, request_id)` is unique in
//!   the store, so a retry that the rules would accept again comes back from
//!   the append as a duplicate, and is answered with its first receipt
//!   (`replay`). A retry the rules now refuse (a second approval) is looked
//!   up before it is refused, so it too gets its first receipt, and a reused
//!   id is ALREADY_EXISTS either way: callers see what they saw when every
//!   submission looked its request up first.
//! * **Group commit.** Concurrent appends go to the store together, one
//!   transaction and one commit for all of them, each answered with its own
//!   outcome after the commit (`commit`).
//!
//! Each submission is one span (`ingest.submit`) with the steps under it
//! (`ingest.validate`, `store.load_stream` when the project's state is not
//! at hand, `ingest.decide`, `store.append`); the append span's trace
//! context is stored with the outbox row so that the relay and the
//! projector continue the same trace. Every answer is counted in
//! `gongkai.submissions` by outcome and refusal reason.

mod commit;
mod error;
mod known;
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
use gongkai_store::{AppendOutcome, EventStore, NewEvent, StoreError};
use gongkai_telemetry::metrics::{self, Outcome};
use prost::Message;
use tonic::{Request, Response, Status};
use tracing::Instrument;

pub use error::IngestError;
pub use requests::IngestRequest;

use crate::commit::GroupCommit;
use crate::known::{Known, Projects};

/// How many times a submission is decided against a fresh load, losing the
/// race for its project's next seq each time, before the caller is told
/// ABORTED.
const MAX_ATTEMPTS: usize = 64;

/// The pause before deciding again after a lost race: 1 ms doubling to
/// 20 ms, short because the winner has already committed; one fewer pause
/// than attempts, so the last loss answers at once.
const CONTENTION_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(1))
    .with_max_delay(Duration::from_millis(20))
    .with_max_times(MAX_ATTEMPTS - 1);

pub use gongkai_domain::clock::Clock;

/// The shared submit path. Cheap to clone; clones share the projects'
/// states and the committer, so one process should build one.
#[derive(Clone)]
pub struct Ingestor {
    events: EventStore,
    clock: Clock,
    appended: Vec<Arc<tokio::sync::Notify>>,
    projects: Arc<Projects>,
    commit: GroupCommit,
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
        Self {
            projects: Arc::new(Projects::new(known::CAPACITY)),
            commit: GroupCommit::new(events.clone()),
            events,
            clock,
            appended: Vec::new(),
        }
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

        // The project's slot: its state as this process last decided it, and
        // the turn of this submission among the project's others here.
        let mut slot = self.projects.lock(&submission.project_code).await;
        let mut pauses = CONTENTION_BACKOFF.build();
        loop {
            let (known, loaded) = match slot.take() {
                Some(known) => (known, false),
                None => (self.load(&submission.project_code).await?, true),
            };
            let proposal = match self.decide(principal, domain, &submission, body, &digest, &known).await {
                Decision::Append(proposal) => proposal,
                Decision::Answer(answer) => {
                    // A refusal from a cached state stands only while that
                    // state is the project's current one.
                    let refused = matches!(answer, Err(IngestError::Refused(_) | IngestError::RegionNotAllowed { .. }));
                    if refused && !loaded && !self.is_current(&submission.project_code, &known).await? {
                        continue;
                    }
                    *slot = Some(known);
                    return answer;
                }
            };
            let NewAppend { new_event, span } = *proposal;
            match self.commit.append(new_event).instrument(span).await {
                Ok((AppendOutcome::Appended { position }, new_event)) => {
                    for appended in &self.appended {
                        appended.notify_one();
                    }
                    let mut envelope = new_event.envelope;
                    envelope.position = position;
                    let mut known = known;
                    known.state.apply(&envelope);
                    known.head = decode_hash(&envelope.hash);
                    *slot = Some(known);
                    tracing::debug!(project = %envelope.subject, seq = envelope.project_seq, "Event recorded.");
                    return Ok(receipt(&envelope, false));
                }
                Ok((AppendOutcome::DuplicateRequest, _)) => {
                    // A retry of an accepted request, or a concurrent retry that
                    // won: answer as the first one was answered.
                    *slot = Some(known);
                    if let Some(receipt) = self.replay(principal, &submission, &digest).await? {
                        return Ok(receipt);
                    }
                }
                // The cached head was stale (another process appended): decide
                // again at once against a fresh load.
                Ok((AppendOutcome::Conflict, _)) if !loaded => continue,
                Err(IngestError::Store(error)) if !loaded && matches!(*error, StoreError::ChainMismatch { .. }) => {
                    continue;
                }
                Ok((AppendOutcome::Conflict, _)) => {}
                // The outcome may be unknown: the slot stays empty, the next
                // submission loads.
                Err(error) => return Err(error),
            }
            // Lost the race for the next seq: back off a little, then decide again
            // against the new history (ABORTED once the backoff runs out).
            let Some(pause) = pauses.next() else { break };
            tokio::time::sleep(pause).await;
        }
        Err(IngestError::Contended)
    }

    /// The project's state and head, folded from its stored events.
    async fn load(&self, project_code: &str) -> Result<Known, IngestError> {
        let events = self.events.load_stream(project_code).instrument(tracing::info_span!("store.load_stream")).await?;
        let head = events.last().and_then(|last| decode_hash(&last.hash));
        Ok(Known { state: ProjectState::from_events(&events), head })
    }

    /// Whether `known` is still the project's head in the store.
    async fn is_current(&self, project_code: &str, known: &Known) -> Result<bool, IngestError> {
        let head = self.events.stream_head(project_code).await?;
        Ok(match (head, known.head) {
            (None, None) => true,
            (Some((seq, hash)), Some(known_hash)) => seq == known.state.last_seq() && hash == known_hash,
            _ => false,
        })
    }

    /// What `submission` comes to against `known`: an event to append, or an
    /// answer that writes nothing (a replay or a refusal).
    async fn decide(
        &self,
        principal: &Principal,
        domain: Domain,
        submission: &Submission,
        body: &Body,
        digest: &Hash,
        known: &Known,
    ) -> Decision {
        let region = project_region(&known.state, submission);
        if !principal.covers_region(&region) {
            return Decision::Answer(Err(IngestError::RegionNotAllowed { region }));
        }
        let event_id = uuid::Uuid::now_v7().to_string();
        let decided = tracing::info_span!("ingest.decide")
            .in_scope(|| gongkai_domain::decide(&known.state, submission, &event_id));
        let flags = match decided {
            Ok(flags) => flags,
            Err(rejection) => {
                // A retried request is answered with its first receipt, whatever
                // the rules say of it now (a second approval is refused, yet the
                // retry of the first one must get its receipt).
                return Decision::Answer(match self.replay(principal, submission, digest).await {
                    Ok(Some(receipt)) => Ok(receipt),
                    Ok(None) => Err(IngestError::Refused(rejection)),
                    Err(error) => Err(error),
                });
            }
        };
        let mut envelope = EventEnvelope {
            event_id,
            r#type: event_type(body),
            source: principal.id.clone(),
            subject: submission.project_code.clone(),
            project_seq: known.state.last_seq() + 1,
            position: 0,
            occurred_at: submission.occurred_at,
            recorded_at: Some(timestamp((self.clock)())),
            request_id: submission.request_id.clone(),
            prev_hash: known.head.map(hex::encode).unwrap_or_default(),
            hash: String::new(),
            flags,
            domain: domain as i32,
            commitment_seed: match commitment_seed() {
                Ok(seed) => seed,
                Err(error) => return Decision::Answer(Err(error)),
            },
            body: Some(body.clone()),
        };
        envelope.hash = hex::encode(chain_hash(known.head.as_ref(), &envelope));
        let span = tracing::info_span!("store.append", seq = envelope.project_seq);
        let new_event = NewEvent {
            envelope,
            region_code: region,
            request_digest: *digest,
            topic: topic(domain).to_owned(),
            // The relay's span becomes a child of this append.
            traceparent: gongkai_telemetry::propagation::traceparent(&span),
        };
        Decision::Append(Box::new(NewAppend { new_event, span }))
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

/// A fresh commitment seed from the operating system's random source.
fn commitment_seed() -> Result<Vec<u8>, IngestError> {
    let mut seed = vec![0; gongkai_domain::commitment::SEED_LEN];
    getrandom::fill(&mut seed).map_err(IngestError::NoRandomness)?;
    Ok(seed)
}

/// What a submission comes to against a project's state.
enum Decision {
    /// An event to append, with the span its append runs in (boxed: an
    /// envelope outweighs an answer many times).
    Append(Box<NewAppend>),
    /// The answer, with nothing to write: a replayed receipt or a refusal.
    Answer(Result<Receipt, IngestError>),
}

/// An event to append, and the `store.append` span whose trace context it
/// carries to the relay.
struct NewAppend {
    new_event: NewEvent,
    span: tracing::Span,
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
/// ```text
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
