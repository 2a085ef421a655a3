//! Target `supervision`: `gongkai.v1.SupervisionService`, the supervisors'
//! read API over the full record.
//!
//! * **Scope.** Only supervisor credentials may call (auditors for
//!   `ListAuditRecords`); each sees the projects whose region starts with one
//!   of its prefixes. A project or region filter outside them is
//!   PERMISSION_DENIED (`REGION_NOT_ALLOWED`); lists are limited to them.
//! * **Audit.** Every call, refused ones included, is written to
//!   `audit_log` (who, when, method, the request as canonical proto3 JSON,
//!   outcome, item count) before its result is returned; a call that cannot
//!   be recorded fails with UNAVAILABLE. A stream is recorded when it starts.
//!   Calls refused before a handler runs (bad credential, undecodable or
//!   oversize request) and calls dropped on the way (client gone, time out)
//!   are recorded by [`AuditedSupervision`], the only way this service is
//!   served (module `audit`).
//! * **Errors** are [`SupervisionError`], mapped to a status in one place.
//! * **Missing disclosures** (`GK-MISSING-*`) are kept by the projector as
//!   expectations with a due time and raised when read, against the injected
//!   [`Clock`]: the flag appears once the deadline has passed, without any
//!   new submission.
//! * **Transparency log.** `GetCheckpoint`, `GetInclusionProof` and
//!   `GetConsistencyProof` read the log the `tlog` target writes and compute
//!   proofs from its stored hashes with `gongkai-tlog`, up to the latest
//!   signed checkpoint (module `proofs`).
//! * **Timeliness** deadlines (recorded_at − occurred_at) per fact type are
//!   the domain's ([`gongkai_domain::disclosure`]), and so is the hash chain
//!   `VerifyProject` checks ([`gongkai_domain::hash::verify_chain`]).
//! * **Layout.** This file holds [`Supervision`], the trait impl that audits
//!   each call and hands it to its handler, and the helpers handlers share
//!   (scope, paging, tokens); the handlers live by concern in `search`,
//!   `project`, `flags`, `watch`, `proofs` and `audit`.

mod audit;
mod error;
mod flags;
mod project;
mod proofs;
mod search;
mod watch;

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use gongkai_grpc::auth::{Authenticator, Principal, Role};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_server::SupervisionService;
use gongkai_store::{AuditRow, SupervisionReader, Window};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Code, Request, Response, Status};

pub use audit::AuditedSupervision;
pub use error::SupervisionError;
pub use search::SEARCH_TEXT_MAX;

pub use gongkai_domain::clock::Clock;

use watch::EventStream;

const SERVICE: &str = "/gongkai.v1.SupervisionService/";
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

static DESCRIPTORS: LazyLock<Option<prost_reflect::DescriptorPool>> =
    LazyLock::new(|| prost_reflect::DescriptorPool::decode(gongkai_proto::FILE_DESCRIPTOR_SET).ok());

/// The request as canonical proto3 JSON (via the contract's descriptors).
fn to_json<M: Message>(name: &str, message: &M) -> String {
    let json = DESCRIPTORS.as_ref().and_then(|pool| pool.get_message_by_name(&format!("gongkai.v1.{name}"))).and_then(
        |descriptor| {
            let dynamic = prost_reflect::DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()).ok()?;
            serde_json::to_string(&dynamic).ok()
        },
    );
    json.unwrap_or_else(|| format!("{{\"@unencodable\":\"{name}\"}}"))
}

/// `SupervisionService` over the store's [`SupervisionReader`]. Cheap to clone.
#[derive(Clone)]
pub struct Supervision {
    store: SupervisionReader,
    clock: Clock,
}

impl std::fmt::Debug for Supervision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervision").field("store", &self.store).finish_non_exhaustive()
    }
}

/// What an audited call returns: the reply and how many items it carries.
type Outcome<T> = Result<(T, u64), SupervisionError>;

impl Supervision {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: SupervisionReader, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// The service to serve: `authenticator` in front, messages decoded up
    /// to `max_message_bytes`, every call audited.
    pub fn into_server(self, max_message_bytes: usize, authenticator: Authenticator) -> AuditedSupervision {
        AuditedSupervision::new(self, max_message_bytes, authenticator)
    }

    /// Runs `call` and records it (whatever its outcome) before answering.
    async fn audited<M, T, F>(
        &self,
        method: &str,
        request: Request<M>,
        project_code: impl FnOnce(&M) -> String,
        call: impl FnOnce(Arc<Principal>, M) -> F,
    ) -> Result<Response<T>, Status>
    where
        M: Message,
        F: Future<Output = Outcome<T>>,
    {
        let called_at = (self.clock)();
        let principal = gongkai_grpc::auth::principal(&request)?;
        // Served through `AuditedSupervision`, which records the call if
        // this handler does not get to.
        let ticket = request.extensions().get::<audit::AuditTicket>().cloned();
        let trace_id = trace_id_of(request.metadata().get("traceparent").map(|value| value.as_encoded_bytes()));
        let message = request.into_inner();
        let name = method.trim_start_matches(SERVICE);
        let mut row = AuditRow {
            audit_id: uuid::Uuid::now_v7().to_string(),
            principal: principal.id.clone(),
            role: role_name(principal.role).to_owned(),
            called_at,
            method: method.to_owned(),
            arguments_json: to_json(&format!("{name}Request"), &message),
            project_code: project_code(&message),
            status_code: String::new(),
            result_count: 0,
            trace_id,
        };
        if let Some(ticket) = &ticket {
            ticket.draft(&row);
        }
        let outcome = call(Arc::clone(&principal), message).await;
        let (status_code, result_count) = match &outcome {
            Ok((_, count)) => ("OK", *count),
            Err(error) => (code_name(error.code()), 0),
        };
        row.status_code = status_code.to_owned();
        row.result_count = i64::try_from(result_count).unwrap_or(i64::MAX);
        if let Some(ticket) = &ticket {
            ticket.take();
        }
        self.store.record_audit(&row).await.map_err(SupervisionError::Audit)?;
        match outcome {
            Ok((reply, _)) => Ok(Response::new(reply)),
            Err(error) => {
                tracing::info!(method, caller = %principal.id, %error, "Supervisor call refused.");
                Err(error.into())
            }
        }
    }

    /// The project's region after checking the caller may see it.
    async fn authorize_project(&self, principal: &Principal, project_code: &str) -> Result<(), SupervisionError> {
        if project_code.is_empty() {
            return Err(SupervisionError::invalid("project_code", "必填 (required)"));
        }
        let region = self
            .store
            .project_region(project_code)
            .await?
            .ok_or_else(|| SupervisionError::NotFound(project_code.to_owned()))?;
        if !principal.covers_region(&region) {
            return Err(SupervisionError::RegionNotAllowed { region });
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl SupervisionService for Supervision {
    type WatchEventsStream = EventStream;

    async fn search_projects(
        &self,
        request: Request<pb::SearchProjectsRequest>,
    ) -> Result<Response<pb::SearchProjectsResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/SearchProjects",
            request,
            |_| String::new(),
            |p, r| self.search(p, r),
        )
        .await
    }

    async fn get_project(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::GetProjectResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/GetProject",
            request,
            |r| r.project_code.clone(),
            |p, r| self.get_project_inner(p, r),
        )
        .await
    }

    async fn get_public_view(
        &self,
        request: Request<pb::GetPublicViewRequest>,
    ) -> Result<Response<pb::GetPublicViewResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/GetPublicView",
            request,
            |r| r.project_code.clone(),
            |p, r| self.public_view(p, r),
        )
        .await
    }

    async fn list_flags(
        &self,
        request: Request<pb::ListFlagsRequest>,
    ) -> Result<Response<pb::ListFlagsResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/ListFlags",
            request,
            |r| r.project_code.clone(),
            |p, r| self.flags(p, r),
        )
        .await
    }

    async fn get_timeliness(
        &self,
        request: Request<pb::GetTimelinessRequest>,
    ) -> Result<Response<pb::GetTimelinessResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/GetTimeliness",
            request,
            |_| String::new(),
            |p, r| self.timeliness(p, r),
        )
        .await
    }

    async fn verify_project(
        &self,
        request: Request<pb::VerifyProjectRequest>,
    ) -> Result<Response<pb::VerifyProjectResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/VerifyProject",
            request,
            |r| r.project_code.clone(),
            |p, r| self.verify(p, r),
        )
        .await
    }

    async fn watch_events(&self, request: Request<pb::WatchEventsRequest>) -> Result<Response<EventStream>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/WatchEvents",
            request,
            |r| r.project_code.clone(),
            |p, r| self.watch(p, r),
        )
        .await
    }

    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/ListAuditRecords",
            request,
            |r| r.project_code.clone(),
            |p, r| self.audit_records(p, r),
        )
        .await
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::GetCheckpointResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/GetCheckpoint",
            request,
            |_| String::new(),
            |p, r| self.log_checkpoint(p, r),
        )
        .await
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/GetInclusionProof",
            request,
            |r| r.project_code.clone(),
            |p, r| self.inclusion_proof(p, r),
        )
        .await
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        self.audited(
            "/gongkai.v1.SupervisionService/GetConsistencyProof",
            request,
            |_| String::new(),
            |p, r| self.consistency_proof(p, r),
        )
        .await
    }
}

fn require_supervisor(principal: &Principal) -> Result<(), SupervisionError> {
    if principal.role == Role::Supervisor { Ok(()) } else { Err(SupervisionError::NotASupervisor) }
}

/// The region prefixes a query covers: the caller's, or `prefix` when it
/// lies within them.
fn scope(principal: &Principal, prefix: &str, field: &str) -> Result<Vec<String>, SupervisionError> {
    if prefix.is_empty() {
        return Ok(principal.regions.clone());
    }
    if !(1..=6).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SupervisionError::invalid(field, "1 to 6 leading digits of a region code"));
    }
    if principal.regions.iter().any(|region| prefix.starts_with(region.as_str())) {
        Ok(vec![prefix.to_owned()])
    } else {
        Err(SupervisionError::RegionNotAllowed { region: prefix.to_owned() })
    }
}

fn page_size(requested: i32, violations: &mut Vec<(String, String)>) -> u32 {
    match requested {
        0 => DEFAULT_PAGE,
        n if n < 0 => {
            violations.push(("page_size".to_owned(), "must not be negative".to_owned()));
            DEFAULT_PAGE
        }
        n => (n as u32).min(MAX_PAGE),
    }
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn instant(timestamp: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(timestamp.seconds, u32::try_from(timestamp.nanos).ok()?)
}

fn window(period: Option<&pb::Period>, field: &str, violations: &mut Vec<(String, String)>) -> Window {
    let Some(period) = period else { return Window::default() };
    let mut end_point = |value: Option<&prost_types::Timestamp>, name: &str| {
        value.and_then(|t| {
            let parsed = instant(t);
            if parsed.is_none() {
                violations.push((format!("{field}.{name}"), "out of range".to_owned()));
            }
            parsed
        })
    };
    let start = end_point(period.start.as_ref(), "start");
    let end = end_point(period.end.as_ref(), "end");
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        violations.push((format!("{field}.end"), "before start".to_owned()));
    }
    Window { start, end }
}

fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, SupervisionError> {
    M::decode(bytes).map_err(|error| SupervisionError::Store(gongkai_store::StoreError::Corrupt(error.to_string())))
}

/// What a page token is bound to: a digest of the request without paging.
fn binding<M: Message>(request: &M) -> String {
    hex::encode(&Sha256::digest(request.encode_to_vec())[..8])
}

/// `<binding>.<sort key>.<hex tie-break key>`; the sort key is a position
/// or a time in microseconds.
fn encode_token(binding: &str, sort_key: i64, key: &str) -> String {
    format!("{binding}.{sort_key}.{}", hex::encode(key))
}

fn decode_token(token: &str, binding: &str) -> Result<Option<(i64, String)>, ()> {
    if token.is_empty() {
        return Ok(None);
    }
    let mut parts = token.splitn(3, '.');
    let (Some(bound), Some(sort_key), Some(key)) = (parts.next(), parts.next(), parts.next()) else { return Err(()) };
    if bound != binding {
        return Err(());
    }
    let sort_key = sort_key.parse::<i64>().map_err(drop)?;
    let key = hex::decode(key).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or(())?;
    Ok(Some((sort_key, key)))
}

/// [`decode_token`] of a token whose sort key is a time.
fn decode_time_token(token: &str, binding: &str) -> Result<Option<(DateTime<Utc>, String)>, ()> {
    match decode_token(token, binding)? {
        None => Ok(None),
        Some((micros, key)) => Ok(Some((DateTime::from_timestamp_micros(micros).ok_or(())?, key))),
    }
}

/// The trace id of a `traceparent` header value.
fn trace_id_of(traceparent: Option<&[u8]>) -> String {
    // W3C traceparent: version-traceid-parentid-flags.
    traceparent
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.split('-').nth(1))
        .filter(|id| id.len() == 32)
        .unwrap_or_default()
        .to_owned()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Submitter => "submitter",
        Role::Supervisor => "supervisor",
        Role::Auditor => "auditor",
    }
}

/// The canonical name of a status code, e.g. `PERMISSION_DENIED`.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
