//! The Atom feeds: the latest public disclosures site-wide (`/feed.atom`)
//! and one project's timeline (`/projects/{code}/feed.atom`), in Chinese,
//! each entry linking to its place on the project page.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use gongkai_domain::clock::utc_or_epoch;
use gongkai_proto::v1::TimelineEntry;
use prost::Message;

use crate::read::{load, unavailable};
use crate::{REVALIDATE, SiteState};

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn atom(id: &str, title: &str, self_href: &str, items: &[(String, String, &TimelineEntry)]) -> Response {
    let updated =
        items.iter().map(|(_, _, e)| utc_or_epoch(e.recorded_at.as_ref())).max().unwrap_or(DateTime::UNIX_EPOCH);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">\n\
         <id>{}</id><title>{}</title><updated>{}</updated><link rel=\"self\" href=\"{}\"/><author><name>公开 gongkai</name></author>\n",
        xml_escape(id),
        xml_escape(title),
        updated.to_rfc3339(),
        xml_escape(self_href)
    );
    for (project_code, project_name, e) in items {
        xml.push_str(&format!(
            "<entry><id>urn:gongkai:event:{}</id><title>{}：{}</title><updated>{}</updated><published>{}</published>\
             <link href=\"/projects/{}#seq-{}\"/><summary>{}</summary></entry>\n",
            xml_escape(&e.event_id),
            xml_escape(project_name),
            xml_escape(&e.title_zh),
            utc_or_epoch(e.recorded_at.as_ref()).to_rfc3339(),
            utc_or_epoch(e.occurred_at.as_ref()).to_rfc3339(),
            xml_escape(project_code),
            e.project_seq,
            xml_escape(&e.summary_zh),
        ));
    }
    xml.push_str("</feed>\n");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/atom+xml; charset=utf-8")),
            (header::CACHE_CONTROL, REVALIDATE),
        ],
        xml,
    )
        .into_response()
}

pub(crate) async fn overall_feed(State(state): State<SiteState>) -> Response {
    let latest = match state.store.public_latest(50).await {
        Ok(latest) => latest,
        Err(error) => return unavailable(error),
    };
    let entries: Vec<(String, String, TimelineEntry)> = latest
        .into_iter()
        .filter_map(|d| Some((d.project_code, d.project_name, TimelineEntry::decode(d.entry.as_slice()).ok()?)))
        .collect();
    let items: Vec<(String, String, &TimelineEntry)> =
        entries.iter().map(|(c, n, e)| (c.clone(), n.clone(), e)).collect();
    atom("urn:gongkai:feed", "公开 gongkai · 最新公开信息", "/feed.atom", &items)
}

pub(crate) async fn project_feed(State(state): State<SiteState>, Path(code): Path<String>) -> Response {
    let (project, entries) = match load(&state.store, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, REVALIDATE)], "unknown project").into_response();
        }
        Err(error) => return unavailable(error),
    };
    let items: Vec<(String, String, &TimelineEntry)> =
        entries.iter().rev().map(|e| (code.clone(), project.name.clone(), e)).collect();
    atom(
        &format!("urn:gongkai:project:{code}"),
        &format!("{} · 公开 gongkai", project.name),
        &format!("/projects/{code}/feed.atom"),
        &items,
    )
}
