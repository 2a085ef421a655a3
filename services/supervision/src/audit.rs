//! Every supervision call leaves an audit row, including the ones no
//! handler sees.
//!
//! A handler records its own call (`Supervision::audited`), with the
//! decoded arguments and its outcome. Some calls never get that far: an
//! unknown or missing credential is refused by the authenticator, and a
//! request that does not decode (or is too large) is refused by tonic,
//! both before any handler runs; a call whose client goes away or whose
//! time runs out is dropped while its handler waits. [`AuditedSupervision`]
//! wraps the authenticator and the service, and records those too:
//!
//! * It puts an [`AuditTicket`] in the request's extensions. The handler
//!   leaves its draft row there once the call is decoded, and marks the
//!   ticket just before it writes the row itself.
//! * When the response is ready and the ticket is unmarked, the layer
//!   writes the row: the handler's draft if there is one, else a row
//!   built from the request head — the credential's id and role when the
//!   bearer token is known (a call that authenticated but did not decode),
//!   empty ones when it is not, `{"@undecoded":true}` as the arguments and
//!   the status code the client gets (the contract's code, see
//!   [`gongkai_grpc::codes`]). If that row cannot be written the client
//!   gets UNAVAILABLE, as for any call.
//! * When the call is dropped before its response and the ticket is
//!   unmarked, the row (outcome CANCELLED) is written by a task of its own.
//!
//! `ListAuditRecords`, the auditors' read of that log, is here too.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use gongkai_domain::clock::timestamp;
use gongkai_grpc::auth::{Authenticator, Principal, Role};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_server::SupervisionServiceServer;
use gongkai_store::{AuditQuery, AuditRow, SupervisionReader};
use tonic::Code;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::service::interceptor::InterceptedService;

use crate::{
    Clock, Outcome, Supervision, SupervisionError, binding, code_name, decode_time_token, encode_token, non_empty,
    page_size, role_name, trace_id_of, window,
};

/// The arguments of a call refused before it was decoded.
const UNDECODED_ARGUMENTS: &str = r#"{"@undecoded":true}"#;
/// Longest method name recorded, in bytes (the path is the caller's choice).
const MAX_METHOD_BYTES: usize = 256;

/// Where a handler and [`AuditedSupervision`] agree who records a call.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditTicket(Arc<Mutex<Ticket>>);

#[derive(Debug, Default)]
struct Ticket {
    /// The handler's row, before its outcome is known.
    draft: Option<AuditRow>,
    /// Someone has taken the row to write it.
    taken: bool,
}

impl AuditTicket {
    /// The handler decoded the call: `row` is what it will record.
    pub(crate) fn draft(&self, row: &AuditRow) {
        self.lock().draft = Some(row.clone());
    }

    /// The handler writes the row itself, now.
    pub(crate) fn take(&self) {
        self.lock().taken = true;
    }

    /// The row left to write, if nobody took it: the handler's draft, if any.
    fn take_unrecorded(&self) -> Option<Option<AuditRow>> {
        let mut ticket = self.lock();
        if ticket.taken {
            return None;
        }
        ticket.taken = true;
        Some(ticket.draft.take())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ticket> {
        // A panic while holding the lock leaves plain data behind.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The service the supervision target serves: the authenticator and
/// `SupervisionService`, every call audited (see the module docs).
#[derive(Clone)]
pub struct AuditedSupervision {
    inner: InterceptedService<SupervisionServiceServer<Supervision>, Authenticator>,
    authenticator: Authenticator,
    store: SupervisionReader,
    clock: Clock,
}

impl std::fmt::Debug for AuditedSupervision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditedSupervision").field("store", &self.store).finish_non_exhaustive()
    }
}

impl AuditedSupervision {
    pub(crate) fn new(service: Supervision, max_message_bytes: usize, authenticator: Authenticator) -> Self {
        let store = service.store.clone();
        let clock = Arc::clone(&service.clock);
        let server = SupervisionServiceServer::new(service).max_decoding_message_size(max_message_bytes);
        Self { inner: InterceptedService::new(server, authenticator.clone()), authenticator, store, clock }
    }

    /// The row of a call refused before its handler, from its head.
    fn undecoded_row(&self, request: &http::Request<Body>) -> AuditRow {
        let headers = request.headers();
        let principal =
            self.authenticator.authenticate(headers.get("authorization").map(http::HeaderValue::as_bytes)).ok();
        AuditRow {
            audit_id: uuid::Uuid::now_v7().to_string(),
            principal: principal.as_ref().map(|p| p.id.clone()).unwrap_or_default(),
            role: principal.as_ref().map(|p| role_name(p.role).to_owned()).unwrap_or_default(),
            called_at: (self.clock)(),
            method: gongkai_grpc::details::bounded(request.uri().path(), MAX_METHOD_BYTES).into_owned(),
            arguments_json: UNDECODED_ARGUMENTS.to_owned(),
            project_code: String::new(),
            status_code: String::new(),
            result_count: 0,
            trace_id: trace_id_of(headers.get("traceparent").map(http::HeaderValue::as_bytes)),
        }
    }
}

impl tonic::server::NamedService for AuditedSupervision {
    const NAME: &'static str = <SupervisionServiceServer<Supervision> as tonic::server::NamedService>::NAME;
}

impl tonic::codegen::Service<http::Request<Body>> for AuditedSupervision {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = tonic::codegen::BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tonic::codegen::Service::<http::Request<Body>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let ticket = AuditTicket::default();
        request.extensions_mut().insert(ticket.clone());
        let mut pending = Pending { ticket, row: Some(self.undecoded_row(&request)), store: self.store.clone() };
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = match call.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let response = response.map(Body::new);
            let Some(row) = pending.take() else { return Ok(response) };
            let code = response.headers().get("grpc-status").map_or(Code::Ok, |v| Code::from_bytes(v.as_bytes()));
            let row = match row {
                // The handler's draft: the code is its own.
                Handled(mut row) => {
                    row.status_code = code_name(code).to_owned();
                    row
                }
                // Refused before decoding: the code the client gets.
                Refused(mut row) => {
                    row.status_code = code_name(gongkai_grpc::codes::contract_code(code)).to_owned();
                    row
                }
            };
            match pending.store.record_audit(&row).await {
                Ok(()) => {
                    tracing::info!(method = %row.method, caller = %row.principal, status = %row.status_code, "Supervisor call refused before its handler.");
                    Ok(response)
                }
                Err(error) => Ok(tonic::Status::from(SupervisionError::Audit(error)).into_http::<Body>()),
            }
        })
    }
}

/// Which row a call left to the layer.
enum Unrecorded {
    /// The handler's draft.
    Handled(AuditRow),
    /// The call never reached its handler.
    Refused(AuditRow),
}
use Unrecorded::{Handled, Refused};

/// A call the layer may still have to record; records it (CANCELLED) if
/// dropped unrecorded.
struct Pending {
    ticket: AuditTicket,
    /// The row of a refusal before the handler.
    row: Option<AuditRow>,
    store: SupervisionReader,
}

impl Pending {
    /// The row to write now, if nobody took it.
    fn take(&mut self) -> Option<Unrecorded> {
        let draft = self.ticket.take_unrecorded()?;
        match draft {
            Some(row) => Some(Handled(row)),
            None => self.row.take().map(Refused),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(row) = self.take() else { return };
        let (Handled(mut row) | Refused(mut row)) = row;
        row.status_code = code_name(Code::Cancelled).to_owned();
        let store = self.store.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(method = %row.method, "A dropped supervisor call could not be audited: no runtime.");
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = store.record_audit(&row).await {
                tracing::error!(%error, method = %row.method, "A dropped supervisor call could not be audited.");
            }
        });
    }
}

impl Supervision {
    pub(crate) async fn audit_records(
        &self,
        principal: Arc<Principal>,
        request: pb::ListAuditRecordsRequest,
    ) -> Outcome<pb::ListAuditRecordsResponse> {
        if principal.role != Role::Auditor {
            return Err(SupervisionError::NotAnAuditor);
        }
        let mut violations = Vec::new();
        let limit = page_size(request.page_size, &mut violations);
        let period = window(request.period.as_ref(), "period", &mut violations);
        let binding =
            binding(&pb::ListAuditRecordsRequest { page_size: 0, page_token: String::new(), ..request.clone() });
        let cursor = decode_time_token(&request.page_token, &binding).unwrap_or_else(|()| {
            violations.push(("page_token".to_owned(), "not a token of this query".to_owned()));
            None
        });
        if !violations.is_empty() {
            return Err(SupervisionError::Invalid(violations));
        }
        let query = AuditQuery {
            period,
            principal: non_empty(&request.principal),
            method: non_empty(&request.method),
            project_code: non_empty(&request.project_code),
        };
        let rows = self.store.list_audit(&query, cursor, limit + 1).await?;
        let more = rows.len() > limit as usize;
        let rows = &rows[..rows.len().min(limit as usize)];
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => encode_token(&binding, last.called_at.timestamp_micros(), &last.audit_id),
            _ => String::new(),
        };
        let records: Vec<pb::AuditRecord> = rows
            .iter()
            .map(|row| pb::AuditRecord {
                audit_id: row.audit_id.clone(),
                principal: row.principal.clone(),
                principal_name: row.principal.clone(),
                called_at: Some(timestamp(row.called_at)),
                method: row.method.clone(),
                arguments_json: row.arguments_json.clone(),
                status_code: row.status_code.clone(),
                result_count: u64::try_from(row.result_count).unwrap_or(0),
                trace_id: row.trace_id.clone(),
            })
            .collect();
        let count = records.len() as u64;
        Ok((pb::ListAuditRecordsResponse { records, next_page_token }, count))
    }
}
