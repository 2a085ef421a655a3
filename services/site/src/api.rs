//! The open-data interfaces under `/api/v1`: a project's OC4IDS package and
//! its tenders' OCDS release and record packages (built by `opendata`), the
//! public change feed for machines that follow every disclosure, and the
//! bulk download of every public project with its timeline, streamed, whose
//! entity tag comes from the data because the body is known too late.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use gongkai_domain::clock::utc_or_epoch;
use gongkai_domain::divisions;
use gongkai_proto::v1::{CalendarDate, ContractOutcome, ProjectSummary, TimelineEntry};
use gongkai_store::{ChangeCursor, PublicProject, PublicReader, StoreError};
use prost::Message;
use serde::Deserialize;
use serde_json::json;

use crate::home::encode;
use crate::opendata::{OCID_SCHEME, OcidPrefix};
use crate::read::{decode_summary, load, unavailable};
use crate::{NO_STORE, REVALIDATE, SiteState, conditional, opendata};

/// An export: machines sync from it, so caches revalidate before reuse.
fn json_response(value: &serde_json::Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8")),
            (header::CACHE_CONTROL, REVALIDATE),
        ],
        value.to_string(),
    )
        .into_response()
}

fn api_not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::CACHE_CONTROL, REVALIDATE)],
        json!({ "error": what }).to_string(),
    )
        .into_response()
}

/// The site's own address as clients see it, for package URIs.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

pub(crate) async fn oc4ids(State(state): State<SiteState>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let (project, entries) = match load(&state.store, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => return api_not_found("unknown project"),
        Err(error) => return unavailable(error),
    };
    let base = base_url(&headers);
    let summary = decode_summary(&project.summary);
    let package = opendata::project_package(
        &format!("{base}/api/v1/projects/{code}/oc4ids"),
        &base,
        &state.ocid_prefix,
        opendata::last_change(entries.iter()),
        &summary,
        &entries,
    );
    json_response(&package)
}

/// The releases of `tender` in project `code`, and when their contents last
/// changed (the packages' `publishedDate`).
async fn ocds(
    state: &SiteState,
    code: &str,
    tender: &str,
) -> Result<(Vec<serde_json::Value>, DateTime<Utc>), Response> {
    let (project, entries) = match load(&state.store, code).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(api_not_found("unknown project")),
        Err(error) => return Err(unavailable(error)),
    };
    if !entries.iter().any(|e| e.tender_code == tender) {
        return Err(api_not_found("unknown tender project"));
    }
    let summary = decode_summary(&project.summary);
    let releases = opendata::releases(&state.ocid_prefix, &summary, &entries, tender);
    let published = opendata::last_change(entries.iter().filter(|e| opendata::in_tender(e, tender)));
    Ok((releases, published))
}

/// A file of the OCDS extension the packages declare for `planning.project`.
pub(crate) async fn ocds_extension(Path(file): Path<String>) -> Response {
    match opendata::project_extension_file(&file) {
        Some(text) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            ],
            text,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such extension file").into_response(),
    }
}

pub(crate) async fn ocds_releases(
    State(state): State<SiteState>,
    Path((code, tender)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match ocds(&state, &code, &tender).await {
        Ok((releases, published)) => {
            let uri = format!("{}/api/v1/projects/{code}/ocds/{}/releases", base_url(&headers), encode(&tender));
            json_response(&opendata::release_package(&uri, &base_url(&headers), published, releases))
        }
        Err(response) => response,
    }
}

pub(crate) async fn ocds_records(
    State(state): State<SiteState>,
    Path((code, tender)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match ocds(&state, &code, &tender).await {
        Ok((releases, published)) => {
            let uri = format!("{}/api/v1/projects/{code}/ocds/{}/records", base_url(&headers), encode(&tender));
            let ocid = state.ocid_prefix.ocid(&code, &tender);
            json_response(&opendata::record_package(&uri, &base_url(&headers), published, &ocid, releases))
        }
        Err(response) => response,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChangesQuery {
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/changes?after=<cursor>&limit=<n>`: public changes in feed
/// order; `next` is the cursor to pass next time (the same when nothing new).
/// Every page, empty or not, and every change carry `ocid_scheme`, so a
/// follower at the head still learns that the ocids changed.
pub(crate) async fn changes(State(state): State<SiteState>, Query(q): Query<ChangesQuery>) -> Response {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()).map(str::parse::<ChangeCursor>).transpose() {
        Ok(after) => after,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                    (header::CACHE_CONTROL, NO_STORE),
                ],
                r#"{"error":"bad cursor"}"#,
            )
                .into_response();
        }
    };
    let limit = q.limit.unwrap_or(500).clamp(1, 1000);
    let rows = match state.store.public_changes_after(after, limit).await {
        Ok(rows) => rows,
        Err(error) => return unavailable(error),
    };
    let next = rows.last().map(|r| r.cursor).or(after).unwrap_or_default();
    let changes: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            // An entry the public timeline no longer holds reads as null.
            let entry = r.entry.as_deref().map(|entry| TimelineEntry::decode(entry).unwrap_or_default());
            json!({
                "cursor": r.cursor.to_string(),
                "change": r.change,
                "project_code": r.project_code,
                "project_seq": r.project_seq,
                "event_id": r.event_id,
                "fact_type": r.fact_type,
                "recorded_at": r.recorded_at.to_rfc3339(),
                "ocid_scheme": OCID_SCHEME,
                "entry": entry.map(|entry| entry_json(&state.ocid_prefix, &r.project_code, &entry)),
            })
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8")),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        json!({ "changes": changes, "next": next.to_string(), "ocid_scheme": OCID_SCHEME }).to_string(),
    )
        .into_response()
}

/// A public timeline entry of project `project_code` as JSON; `ocid` is
/// its tender's (empty for an entry of no tender: the approval is the
/// planning release of every tender's ocid).
fn entry_json(prefix: &OcidPrefix, project_code: &str, e: &TimelineEntry) -> serde_json::Value {
    let ocid = if e.tender_code.is_empty() { String::new() } else { prefix.ocid(project_code, &e.tender_code) };
    json!({
        "event_id": e.event_id,
        "project_seq": e.project_seq,
        "type": e.r#type,
        "fact_type": e.fact_type,
        "occurred_at": utc_or_epoch(e.occurred_at.as_ref()).to_rfc3339(),
        "recorded_at": utc_or_epoch(e.recorded_at.as_ref()).to_rfc3339(),
        "title_zh": e.title_zh, "title_en": e.title_en,
        "summary_zh": e.summary_zh, "summary_en": e.summary_en,
        "tender_code": e.tender_code,
        "ocid": ocid,
        "lot_codes": e.lot_codes,
        "amounts": e.amounts.iter().map(|a| json!({"label_zh": a.label_zh, "label_en": a.label_en, "amount_fen": a.amount_fen, "lot_code": a.lot_code})).collect::<Vec<_>>(),
        "parties": e.parties.iter().map(|o| json!({"name": o.name, "unified_social_credit_code": o.unified_social_credit_code, "role": o.role().as_str_name()})).collect::<Vec<_>>(),
        "people": e.people.iter().map(|p| json!({"name": p.name, "role": p.role, "certificate_number": p.certificate_number, "employer": p.employer})).collect::<Vec<_>>(),
        "documents": e.documents.iter().map(|d| json!({"title": d.title, "url": d.url, "sha256": d.sha256})).collect::<Vec<_>>(),
        "supersedes_event_id": e.supersedes_event_id,
        "superseded_by_event_id": e.superseded_by_event_id,
        "changes": e.changes.iter().map(|c| json!({"path": c.path, "before": c.before, "after": c.after})).collect::<Vec<_>>(),
        "details_withheld": e.details_withheld,
        // What the event's hash covers (base64 of the PublicEvent's bytes),
        // and the confidential parts the policy has released, each with its
        // salt: enough to recompute the chain and check every reveal.
        "public_event": BASE64.encode(&e.public_event),
        "reveals": e.reveals.iter().map(|r| json!({"part": r.part, "value": BASE64.encode(&r.value), "salt": r.salt})).collect::<Vec<_>>(),
    })
}

fn summary_json(p: &PublicProject, s: &ProjectSummary) -> serde_json::Value {
    let place = divisions::place(&p.region_code);
    json!({
        "ocid_scheme": OCID_SCHEME,
        "project_code": p.project_code,
        "name": p.name,
        "region_code": p.region_code,
        // The division's full names (null when the data set has no such
        // code); the English one is derived, not official.
        "region_name": place.as_ref().map(|place| place.full_zh.clone()),
        "region_name_en": place.as_ref().map(|place| place.full_en.clone()),
        "project_type": p.project_type,
        "stage": p.stage,
        "owner": s.owner.as_ref().map(|o| o.name.clone()),
        "baseline_investment_fen": s.baseline_investment_fen,
        "current_contract_price_fen": s.current_contract_price_fen,
        "final_cost_fen": s.final_cost_fen,
        "contracts_price_change_fen": s.contracts_price_change_fen,
        "contracts_time_variation_days": s.contracts_time_variation_days,
        "investment_variance_fen": s.investment_variance_fen,
        "investment_variance_bp": s.investment_variance_bp,
        "end_date_variance_days": s.end_date_variance_days,
        "contract_outcomes": s.contract_outcomes.iter().map(outcome_json).collect::<Vec<_>>(),
        "chain_head_hash": s.chain_head_hash,
        "head_seq": s.head_seq,
        "last_event_at": p.last_event_at.to_rfc3339(),
    })
}

/// One contract's outcome against its signing; dates as `YYYY-MM-DD`.
fn outcome_json(o: &ContractOutcome) -> serde_json::Value {
    let date = |d: Option<&CalendarDate>| d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day));
    json!({
        "contract_code": o.contract_code,
        "tender_code": o.tender_code,
        "lot_codes": o.lot_codes,
        "signed_price_fen": o.signed_price_fen,
        "current_price_fen": o.current_price_fen,
        "settled_value_fen": o.settled_value_fen,
        "price_change_fen": o.price_change_fen,
        "price_change_bp": o.price_change_bp,
        "signed_end_date": date(o.signed_period.as_ref().and_then(|p| p.end.as_ref())),
        "current_end_date": date(o.current_end_date.as_ref()),
        "actual_completion_date": date(o.actual_completion_date.as_ref()),
        "time_variation_days": o.time_variation_days,
        "paid_fen": o.paid_fen,
    })
}

/// Projects read per query by the bulk download and its entity tag.
const BULK_PAGE: u32 = 200;

/// The bulk download's entity tag, from the data rather than the body (which
/// is streamed, so its hash would come too late for a header): the public
/// change feed's head, which moves with every new or re-rendered public
/// timeline entry, and every public project row, which changes with every
/// projected event (its summary carries the head sequence number and chain
/// head). One pass over the project rows, no timelines.
///
/// Read before the body, so the tag never describes newer data than the
/// body it goes with: the data only moves forward, so a later request that
/// computes the same tag saw no change since the tag, hence none since the
/// body either. At worst a change between tag and body costs one more
/// download.
async fn bulk_etag(store: &PublicReader, prefix: &OcidPrefix) -> Result<HeaderValue, StoreError> {
    let mut tagger = conditional::Tagger::default();
    // The line format's version: bump it when `summary_json`/`entry_json`
    // change. The ocid prefix is configuration the body depends on, and so
    // is the division data set the region names come from.
    tagger.part(b"bulk.jsonl 3").part(prefix.as_str().as_bytes()).part(divisions::data_version().as_bytes());
    tagger.part(store.public_changes_head().await?.to_string().as_bytes());
    let mut after = String::new();
    loop {
        let projects = store.public_projects_after(&after, BULK_PAGE).await?;
        for p in &projects {
            tagger.part(p.project_code.as_bytes()).part(p.name.as_bytes()).part(p.region_code.as_bytes());
            tagger.part(p.project_type.as_bytes()).part(p.stage.as_bytes());
            tagger.part(p.last_event_at.to_rfc3339().as_bytes()).part(&p.summary);
        }
        match projects.last() {
            Some(last) if projects.len() == BULK_PAGE as usize => after = last.project_code.clone(),
            _ => return Ok(tagger.finish()),
        }
    }
}

/// `GET /api/v1/bulk.jsonl`: one line per public project (with its timeline),
/// in project-code order, streamed a page of projects at a time so memory
/// stays flat however many projects there are.
pub(crate) async fn bulk(State(state): State<SiteState>) -> Response {
    let etag = match bulk_etag(&state.store, &state.ocid_prefix).await {
        Ok(etag) => etag,
        Err(error) => return unavailable(error),
    };
    let stream = futures_util::stream::unfold(Some(String::new()), move |cursor| {
        let store = state.store.clone();
        let prefix = state.ocid_prefix.clone();
        async move {
            let after = cursor?;
            let projects = match store.public_projects_after(&after, BULK_PAGE).await {
                Ok(projects) => projects,
                Err(error) => return Some((Err(std::io::Error::other(error.to_string())), None)),
            };
            if projects.is_empty() {
                return None;
            }
            let codes: Vec<String> = projects.iter().map(|p| p.project_code.clone()).collect();
            let timelines = match store.public_timelines(&codes).await {
                Ok(rows) => rows,
                Err(error) => return Some((Err(std::io::Error::other(error.to_string())), None)),
            };
            let mut by_code: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
            for (code, bytes) in timelines {
                if let Ok(entry) = TimelineEntry::decode(bytes.as_slice()) {
                    let json = entry_json(&prefix, &code, &entry);
                    by_code.entry(code).or_default().push(json);
                }
            }
            let mut chunk = String::new();
            for p in &projects {
                let mut line = summary_json(p, &decode_summary(&p.summary));
                line["timeline"] = json!(by_code.remove(&p.project_code).unwrap_or_default());
                chunk.push_str(&line.to_string());
                chunk.push('\n');
            }
            let next = codes.last().cloned();
            Some((Ok::<_, std::io::Error>(chunk), next))
        }
    });
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"gongkai-public.jsonl\"")),
            (header::CACHE_CONTROL, REVALIDATE),
            (header::ETAG, etag),
        ],
        // Fused: the compression layer's reader polls a finished body once
        // more, which a bare `unfold` answers with a panic.
        Body::from_stream(futures_util::StreamExt::fuse(stream)),
    )
        .into_response()
}
