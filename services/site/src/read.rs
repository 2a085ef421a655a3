//! How handlers read the public side of the read model: a project with its
//! timeline entries decoded, a summary decoded, and the 503 (with
//! `Retry-After`, never stored) that every handler answers while the store
//! cannot be read.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gongkai_proto::v1::{ProjectSummary, TimelineEntry};
use gongkai_store::{PublicProject, PublicReader, StoreError};
use prost::Message;

use crate::NO_STORE;

pub(crate) fn unavailable(error: StoreError) -> Response {
    tracing::warn!(error = %error, "Site could not read the public view.");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("5")), (header::CACHE_CONTROL, NO_STORE)],
        "public view unavailable",
    )
        .into_response()
}

fn decode_entries(rows: &[Vec<u8>]) -> Vec<TimelineEntry> {
    rows.iter().filter_map(|bytes| TimelineEntry::decode(bytes.as_slice()).ok()).collect()
}

pub(crate) fn decode_summary(bytes: &[u8]) -> ProjectSummary {
    ProjectSummary::decode(bytes).unwrap_or_default()
}

/// A project's public rows, decoded; `None` when the public has no such project.
pub(crate) async fn load(
    store: &PublicReader,
    code: &str,
) -> Result<Option<(PublicProject, Vec<TimelineEntry>)>, StoreError> {
    let Some(project) = store.public_project(code).await? else {
        return Ok(None);
    };
    let entries = decode_entries(&store.public_timeline(code).await?);
    Ok(Some((project, entries)))
}
