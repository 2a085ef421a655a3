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
//! * **Timeliness** deadlines (recorded_at − occurred_at) per fact type are
//!   the domain's ([`gongkai_domain::disclosure`]), and so is the hash chain
//!   `VerifyProject` checks ([`gongkai_domain::hash::verify_chain`]).

mod audit;
mod error;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use gongkai_domain::clock::timestamp;
use gongkai_domain::disclosure::{DEFAULT_DEADLINE_SECONDS, deadline_of_type, deadlines};
use gongkai_domain::hash::verify_chain;
use gongkai_domain::vocabulary::{stage_label, type_label};
use gongkai_grpc::auth::{Authenticator, Principal, Role};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_server::SupervisionService;
use gongkai_store::{
    AmountColumn, AuditQuery, AuditRow, FeedCursor, FlagHit, FlagQuery, ProjectCursor, ProjectQuery, Store, View,
    Window,
};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status};

pub use audit::AuditedSupervision;
pub use error::SupervisionError;

pub use gongkai_domain::clock::Clock;

/// Longest text a search filter may hold (`owner`, `winner`, `text`,
/// `flag_rule`, `source`): the longest name a fact may carry.
pub const SEARCH_TEXT_MAX: usize = 256;

const SERVICE: &str = "/gongkai.v1.SupervisionService/";
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;
/// How often an idle WatchEvents stream looks for new events.
const WATCH_POLL: Duration = Duration::from_millis(50);

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

/// `SupervisionService` over a store. Cheap to clone.
#[derive(Clone)]
pub struct Supervision {
    store: Store,
    clock: Clock,
}

impl std::fmt::Debug for Supervision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervision").field("store", &self.store.backend()).finish_non_exhaustive()
    }
}

/// What an audited call returns: the reply and how many items it carries.
type Outcome<T> = Result<(T, u64), SupervisionError>;

impl Supervision {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: Store, clock: Clock) -> Self {
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

    async fn search(
        &self,
        principal: Arc<Principal>,
        request: pb::SearchProjectsRequest,
    ) -> Outcome<pb::SearchProjectsResponse> {
        require_supervisor(&principal)?;
        let mut violations = Vec::new();
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        let limit = page_size(request.page_size, &mut violations);
        let stages = request
            .stages
            .iter()
            .filter_map(|stage| match pb::Stage::try_from(*stage) {
                Ok(pb::Stage::Unspecified) => None,
                Ok(stage) => Some(stage_label(stage).to_owned()),
                Err(_) => {
                    violations.push(("stages".to_owned(), format!("unknown stage {stage}")));
                    None
                }
            })
            .collect();
        let project_type = match pb::ProjectType::try_from(request.project_type) {
            Ok(pb::ProjectType::Unspecified) => None,
            Ok(project_type) => Some(type_label(project_type).to_owned()),
            Err(_) => {
                violations.push(("project_type".to_owned(), "unknown project type".to_owned()));
                None
            }
        };
        let amount_column = match pb::AmountBasis::try_from(request.amount_basis) {
            Ok(pb::AmountBasis::Unspecified) => AmountColumn::Investment,
            Ok(pb::AmountBasis::ContractPrice) => AmountColumn::ContractPrice,
            Ok(pb::AmountBasis::FinalCost) => AmountColumn::FinalCost,
            Err(_) => {
                violations.push(("amount_basis".to_owned(), "unknown amount basis".to_owned()));
                AmountColumn::Investment
            }
        };
        if let (Some(min), Some(max)) = (request.min_amount_fen, request.max_amount_fen)
            && min > max
        {
            violations.push(("max_amount_fen".to_owned(), "below min_amount_fen".to_owned()));
        }
        let active = window(request.active_period.as_ref(), "active_period", &mut violations);
        let flag_period = window(request.flag_period.as_ref(), "flag_period", &mut violations);
        // A pattern longer than any name or text it could match would only
        // make the database work (SQLite refuses very long LIKE patterns).
        for (field, value) in [
            ("owner", &request.owner),
            ("winner", &request.winner),
            ("text", &request.text),
            ("flag_rule", &request.flag_rule),
            ("source", &request.source),
        ] {
            if value.chars().count() > SEARCH_TEXT_MAX {
                violations.push((field.to_owned(), format!("at most {SEARCH_TEXT_MAX} characters")));
            }
        }
        let query = ProjectQuery {
            region_prefixes,
            stages,
            project_type,
            owner: non_empty(&request.owner),
            winner: non_empty(&request.winner),
            amount_column,
            min_amount_fen: request.min_amount_fen,
            max_amount_fen: request.max_amount_fen,
            active,
            has_flag: request.has_flag,
            flag_rule: non_empty(&request.flag_rule),
            flag_period,
            now: (self.clock)(),
            text: non_empty(&request.text),
            source: non_empty(&request.source),
        };
        let binding =
            binding(&pb::SearchProjectsRequest { page_size: 0, page_token: String::new(), ..request.clone() });
        let cursor = match decode_token(&request.page_token, &binding) {
            Ok(cursor) => cursor.map(|(first_position, project_code)| ProjectCursor { first_position, project_code }),
            Err(()) => {
                violations.push(("page_token".to_owned(), "not a token of this query".to_owned()));
                None
            }
        };
        if !violations.is_empty() {
            return Err(SupervisionError::Invalid(violations));
        }
        let hits = self.store.search_projects(&query, cursor.as_ref(), limit + 1).await?;
        let more = hits.len() > limit as usize;
        let hits = &hits[..hits.len().min(limit as usize)];
        let next_page_token = match (more, hits.last()) {
            (true, Some(last)) => encode_token(&binding, last.first_position, &last.project_code),
            _ => String::new(),
        };
        let projects =
            hits.iter().map(|hit| decode::<pb::ProjectSummary>(&hit.summary)).collect::<Result<Vec<_>, _>>()?;
        let count = projects.len() as u64;
        Ok((pb::SearchProjectsResponse { projects, next_page_token }, count))
    }

    async fn project_flags(
        &self,
        principal: &Principal,
        project_code: &str,
    ) -> Result<Vec<pb::FlagRecord>, SupervisionError> {
        let query = FlagQuery {
            region_prefixes: principal.regions.clone(),
            project_code: Some(project_code.to_owned()),
            now: (self.clock)(),
            ..FlagQuery::default()
        };
        let hits = self.store.list_flags(&query, None, 10_000).await?;
        hits.iter().map(flag_record).collect()
    }

    async fn get_project_inner(
        &self,
        principal: Arc<Principal>,
        request: pb::GetProjectRequest,
    ) -> Outcome<pb::GetProjectResponse> {
        require_supervisor(&principal)?;
        let code = request.project_code.as_str();
        self.authorize_project(&principal, code).await?;
        let parked = self.store.parked_project(code).await?.map(|parked| pb::ParkedProjection {
            event_id: parked.event_id,
            project_seq: parked.project_seq,
            reason: parked.reason,
            parked_at: Some(timestamp(parked.parked_at)),
        });
        let summary = match self.store.project_summary(View::Full, code).await? {
            Some(summary) => Some(decode(&summary)?),
            // Parked before its first rendering: the parking is the answer.
            None if parked.is_some() => None,
            None => return Err(SupervisionError::NotFound(code.to_owned())),
        };
        let timeline = self.store.timeline(View::Full, code).await?;
        let timeline =
            timeline.iter().map(|bytes| decode::<pb::TimelineEntry>(bytes)).collect::<Result<Vec<_>, _>>()?;
        let flags = self.project_flags(&principal, code).await?;
        let events = if request.include_events { self.store.load_stream(code).await? } else { Vec::new() };
        let count = timeline.len() as u64;
        Ok((pb::GetProjectResponse { summary, timeline, flags, events, parked }, count))
    }

    async fn public_view(
        &self,
        principal: Arc<Principal>,
        request: pb::GetPublicViewRequest,
    ) -> Outcome<pb::GetPublicViewResponse> {
        require_supervisor(&principal)?;
        let code = request.project_code.as_str();
        self.authorize_project(&principal, code).await?;
        let summary = self
            .store
            .project_summary(View::Public, code)
            .await?
            .ok_or_else(|| SupervisionError::NotFound(code.to_owned()))?;
        let timeline = self.store.timeline(View::Public, code).await?;
        let timeline =
            timeline.iter().map(|bytes| decode::<pb::TimelineEntry>(bytes)).collect::<Result<Vec<_>, _>>()?;
        let as_of_position = self.store.projected_position(code).await?;
        let count = timeline.len() as u64;
        Ok((pb::GetPublicViewResponse { summary: Some(decode(&summary)?), timeline, as_of_position }, count))
    }

    async fn flags(&self, principal: Arc<Principal>, request: pb::ListFlagsRequest) -> Outcome<pb::ListFlagsResponse> {
        require_supervisor(&principal)?;
        let mut violations = Vec::new();
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        let limit = page_size(request.page_size, &mut violations);
        let period = window(request.period.as_ref(), "period", &mut violations);
        let binding = binding(&pb::ListFlagsRequest { page_size: 0, page_token: String::new(), ..request.clone() });
        let cursor = decode_time_token(&request.page_token, &binding).unwrap_or_else(|()| {
            violations.push(("page_token".to_owned(), "not a token of this query".to_owned()));
            None
        });
        if !violations.is_empty() {
            return Err(SupervisionError::Invalid(violations));
        }
        let query = FlagQuery {
            region_prefixes,
            rule: non_empty(&request.rule),
            source: non_empty(&request.source),
            period,
            project_code: non_empty(&request.project_code),
            now: (self.clock)(),
        };
        let hits = self.store.list_flags(&query, cursor, limit + 1).await?;
        let more = hits.len() > limit as usize;
        let hits = &hits[..hits.len().min(limit as usize)];
        let next_page_token = match (more, hits.last()) {
            (true, Some(last)) => encode_token(&binding, last.raised_at.timestamp_micros(), &last.key),
            _ => String::new(),
        };
        let flags = hits.iter().map(flag_record).collect::<Result<Vec<_>, _>>()?;
        let count = flags.len() as u64;
        Ok((pb::ListFlagsResponse { flags, next_page_token }, count))
    }

    async fn timeliness(
        &self,
        principal: Arc<Principal>,
        request: pb::GetTimelinessRequest,
    ) -> Outcome<pb::GetTimelinessResponse> {
        require_supervisor(&principal)?;
        let mut violations = Vec::new();
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        let period = window(request.period.as_ref(), "period", &mut violations);
        if period.start.is_none() || period.end.is_none() {
            violations.push(("period".to_owned(), "both ends are required".to_owned()));
        }
        if !violations.is_empty() {
            return Err(SupervisionError::Invalid(violations));
        }
        let source = non_empty(&request.source);
        let timings = self.store.disclosure_timings(&region_prefixes, period, source.as_deref()).await?;
        let missing_query =
            FlagQuery { region_prefixes, source: source.clone(), period, now: (self.clock)(), ..FlagQuery::default() };
        let missing: Vec<FlagHit> = self
            .store
            .list_flags(&missing_query, None, 100_000)
            .await?
            .into_iter()
            .filter(|hit| hit.event_id.is_empty())
            .collect();
        let mut centers: std::collections::BTreeMap<String, Vec<(String, i64)>> = std::collections::BTreeMap::new();
        for timing in &timings {
            let delay = (timing.recorded_at - timing.occurred_at).num_seconds();
            centers.entry(timing.source.clone()).or_default().push((timing.event_type.clone(), delay));
        }
        for hit in &missing {
            centers.entry(hit.source.clone()).or_default();
        }
        let mut trading_centers: Vec<pb::TradingCenterTimeliness> = centers
            .into_iter()
            .map(|(source, mut delays)| {
                let on_time = delays.iter().filter(|(kind, delay)| *delay <= deadline_of_type(kind)).count() as u64;
                let mut by_type: std::collections::BTreeMap<String, (u64, u64)> = std::collections::BTreeMap::new();
                for (kind, delay) in &delays {
                    let entry = by_type.entry(kind.clone()).or_default();
                    entry.0 += 1;
                    entry.1 += u64::from(*delay <= deadline_of_type(kind));
                }
                delays.sort_by_key(|(_, delay)| *delay);
                let median = delays.get(delays.len() / 2).map_or(0, |(_, delay)| *delay);
                let max = delays.last().map_or(0, |(_, delay)| *delay);
                let missing = missing.iter().filter(|hit| hit.source == source).count() as u64;
                pb::TradingCenterTimeliness {
                    disclosures: delays.len() as u64,
                    on_time,
                    on_time_share_bp: share_bp(on_time, delays.len() as u64),
                    median_delay_seconds: median,
                    max_delay_seconds: max,
                    missing,
                    by_type: by_type
                        .into_iter()
                        .map(|(kind, (disclosures, on_time))| pb::TypeTimeliness {
                            r#type: kind,
                            disclosures,
                            on_time,
                            on_time_share_bp: share_bp(on_time, disclosures),
                        })
                        .collect(),
                    source,
                }
            })
            .collect();
        trading_centers
            .sort_by(|a, b| a.on_time_share_bp.cmp(&b.on_time_share_bp).then_with(|| a.source.cmp(&b.source)));
        let mut deadlines: Vec<pb::DisclosureDeadline> = deadlines()
            .iter()
            .map(|(kind, seconds)| pb::DisclosureDeadline { r#type: kind.clone(), seconds: *seconds })
            .collect();
        deadlines.push(pb::DisclosureDeadline { r#type: "*".to_owned(), seconds: DEFAULT_DEADLINE_SECONDS });
        let count = trading_centers.len() as u64;
        Ok((pb::GetTimelinessResponse { trading_centers, deadlines }, count))
    }

    async fn verify(
        &self,
        principal: Arc<Principal>,
        request: pb::VerifyProjectRequest,
    ) -> Outcome<pb::VerifyProjectResponse> {
        require_supervisor(&principal)?;
        let code = request.project_code.as_str();
        self.authorize_project(&principal, code).await?;
        let events = self.store.load_stream(code).await?;
        let Some(head) = events.last() else {
            return Err(SupervisionError::NotFound(code.to_owned()));
        };
        let broken = verify_chain(&events);
        let events_checked = broken.as_ref().map_or(events.len() as u64, |link| link.project_seq);
        Ok((
            pb::VerifyProjectResponse {
                ok: broken.is_none(),
                events_checked,
                chain_head_hash: head.hash.clone(),
                head_seq: head.project_seq,
                first_broken_link: broken,
                verified_at: Some(timestamp((self.clock)())),
            },
            events_checked,
        ))
    }

    async fn audit_records(
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

    async fn watch(&self, principal: Arc<Principal>, request: pb::WatchEventsRequest) -> Outcome<EventStream> {
        require_supervisor(&principal)?;
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        for domain in &request.domains {
            if pb::Domain::try_from(*domain).is_err() {
                return Err(SupervisionError::invalid("domains", format!("unknown domain {domain}")));
            }
        }
        if !request.project_code.is_empty() {
            self.authorize_project(&principal, &request.project_code).await?;
        }
        let cursor = self
            .store
            .feed_cursor(request.after_position)
            .await?
            .ok_or_else(|| SupervisionError::invalid("after_position", "no event has this position"))?;
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(follow(self.store.clone(), cursor, request, region_prefixes, sender));
        Ok((ReceiverStream::new(receiver), 0))
    }
}

type EventStream = ReceiverStream<Result<pb::EventEnvelope, Status>>;

/// Feeds `sender` with every event after `cursor` that matches `request`,
/// until the receiver is dropped (the client went away).
async fn follow(
    store: Store,
    mut cursor: FeedCursor,
    request: pb::WatchEventsRequest,
    regions: Vec<String>,
    sender: tokio::sync::mpsc::Sender<Result<pb::EventEnvelope, Status>>,
) {
    loop {
        let batch = match store.feed_after(cursor, 256).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "WatchEvents could not read the event store.");
                let _ = sender.send(Err(SupervisionError::Store(error).into())).await;
                return;
            }
        };
        let idle = batch.is_empty();
        for (event, region, next) in batch {
            cursor = next;
            let wanted = regions.iter().any(|prefix| region.starts_with(prefix.as_str()))
                && (request.domains.is_empty() || request.domains.contains(&event.domain))
                && (request.project_code.is_empty() || request.project_code == event.subject)
                && (request.types.is_empty() || request.types.contains(&event.r#type));
            if wanted && sender.send(Ok(event)).await.is_err() {
                return;
            }
        }
        if idle {
            tokio::select! {
                () = sender.closed() => return,
                () = tokio::time::sleep(WATCH_POLL) => {}
            }
        }
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

fn flag_record(hit: &FlagHit) -> Result<pb::FlagRecord, SupervisionError> {
    Ok(pb::FlagRecord {
        project_code: hit.project_code.clone(),
        project_name: hit.project_name.clone(),
        region_code: hit.region_code.clone(),
        source: hit.source.clone(),
        raised_by_event_id: hit.event_id.clone(),
        raised_at: Some(timestamp(hit.raised_at)),
        flag: Some(decode(&hit.flag)?),
    })
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

fn share_bp(part: u64, whole: u64) -> u32 {
    (part * 10_000).checked_div(whole).map_or(10_000, |bp| bp as u32)
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
