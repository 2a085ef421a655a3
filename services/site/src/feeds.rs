//! The Atom feeds: the latest public disclosures site-wide (`/feed.atom`)
//! and one project's timeline (`/projects/{code}/feed.atom`), in Chinese,
//! each entry linking to its place on the project page.
//!
//! Feeds are written by an XML writer (`quick-xml`, which escapes markup),
//! and every text and attribute value passes [`xml_text`] on its way in,
//! which drops what XML 1.0 does not allow: one such character makes a
//! reader refuse the whole feed. Ingestion refuses them already; this holds
//! for whatever the public view contains.

use std::borrow::Cow;
use std::io;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use gongkai_domain::clock::utc_or_epoch;
use gongkai_proto::v1::TimelineEntry;
use prost::Message;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::read::{load, unavailable};
use crate::{REVALIDATE, SiteState};

const ATOM_NAMESPACE: &str = "http://www.w3.org/2005/Atom";

/// Whether XML 1.0 allows `c` (its `Char` production; a `char` is never a
/// surrogate).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` without the characters XML 1.0 does not allow.
pub(crate) fn xml_text(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| is_xml_char(*c)).collect())
    }
}

/// An XML document being written, whose text and attribute values all
/// pass [`xml_text`]. Element and attribute names are the feed's own.
struct Document {
    writer: Writer<Vec<u8>>,
}

impl Document {
    fn new() -> io::Result<Self> {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        Ok(Self { writer })
    }

    fn start(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.writer.write_event(Event::Start(tag(name, attributes)))
    }

    fn end(&mut self, name: &str) -> io::Result<()> {
        self.writer.write_event(Event::End(BytesEnd::new(name)))
    }

    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.writer.write_event(Event::Empty(tag(name, attributes)))
    }

    /// `<name>text</name>`.
    fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.writer.create_element(name).write_text_content(BytesText::new(&xml_text(text)))?;
        Ok(())
    }

    fn finish(self) -> Vec<u8> {
        let mut xml = self.writer.into_inner();
        xml.push(b'\n');
        xml
    }
}

fn tag<'a>(name: &'a str, attributes: &[(&str, &str)]) -> BytesStart<'a> {
    let mut tag = BytesStart::new(name);
    for (key, value) in attributes {
        tag.push_attribute((*key, xml_text(value)));
    }
    tag
}

/// The feed document: `items` are (project code, project name, entry).
fn feed(id: &str, title: &str, self_href: &str, items: &[(&str, &str, &TimelineEntry)]) -> io::Result<Vec<u8>> {
    let updated =
        items.iter().map(|(_, _, e)| utc_or_epoch(e.recorded_at.as_ref())).max().unwrap_or(DateTime::UNIX_EPOCH);
    let mut xml = Document::new()?;
    xml.start("feed", &[("xmlns", ATOM_NAMESPACE), ("xml:lang", "zh-CN")])?;
    xml.text("id", id)?;
    xml.text("title", title)?;
    xml.text("updated", &updated.to_rfc3339())?;
    xml.empty("link", &[("rel", "self"), ("href", self_href)])?;
    xml.start("author", &[])?;
    xml.text("name", "公开 gongkai")?;
    xml.end("author")?;
    for (project_code, project_name, e) in items {
        xml.start("entry", &[])?;
        xml.text("id", &format!("urn:gongkai:event:{}", e.event_id))?;
        xml.text("title", &format!("{project_name}：{}", e.title_zh))?;
        xml.text("updated", &utc_or_epoch(e.recorded_at.as_ref()).to_rfc3339())?;
        xml.text("published", &utc_or_epoch(e.occurred_at.as_ref()).to_rfc3339())?;
        xml.empty("link", &[("href", &format!("/projects/{project_code}#seq-{}", e.project_seq))])?;
        xml.text("summary", &e.summary_zh)?;
        xml.end("entry")?;
    }
    xml.end("feed")?;
    Ok(xml.finish())
}

fn atom(id: &str, title: &str, self_href: &str, items: &[(&str, &str, &TimelineEntry)]) -> Response {
    let xml = feed(id, title, self_href, items).expect("writing to memory cannot fail");
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
    let items: Vec<(&str, &str, &TimelineEntry)> =
        entries.iter().map(|(c, n, e)| (c.as_str(), n.as_str(), e)).collect();
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
    let items: Vec<(&str, &str, &TimelineEntry)> =
        entries.iter().rev().map(|e| (code.as_str(), project.name.as_str(), e)).collect();
    atom(
        &format!("urn:gongkai:project:{code}"),
        &format!("{} · 公开 gongkai", project.name),
        &format!("/projects/{code}/feed.atom"),
        &items,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_drops_what_xml_forbids_and_keeps_the_rest() {
        assert!(matches!(xml_text("项目名称 <A&B> 🏗"), Cow::Borrowed(_)), "clean text is not copied");
        let kept = "\t\n\r 汉字\u{85}\u{7f}\u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}";
        assert_eq!(xml_text(kept), kept, "tab, line breaks and every other Char stay");
        assert_eq!(xml_text("说明\u{b}文字\u{0}\u{1b}[31m\u{1f}"), "说明文字[31m");
        assert_eq!(xml_text("\u{FFFE}a\u{FFFF}"), "a");
        assert_eq!(xml_text("\u{1}\u{8}"), "");
    }

    #[test]
    fn feeds_carry_no_character_xml_forbids_anywhere() {
        let entry = TimelineEntry {
            event_id: "0190\u{0}-e".into(),
            project_seq: 3,
            title_zh: "招标\u{b}公告 <一>".into(),
            summary_zh: "金额 & 日期\u{c}\u{FFFF}".into(),
            ..TimelineEntry::default()
        };
        let items = [("2024-230113-77-01-000041\u{1}", "道路\u{1b}工程", &entry)];
        let xml = feed("urn:gongkai:feed\u{2}", "最新\u{7}", "/feed.atom\u{3}", &items).expect("written");
        let xml = String::from_utf8(xml).expect("UTF-8");
        assert!(xml.chars().all(is_xml_char), "{xml:?}");
        for expected in [
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">",
            "<id>urn:gongkai:feed</id>",
            "<title>最新</title>",
            "<link rel=\"self\" href=\"/feed.atom\"/>",
            "<id>urn:gongkai:event:0190-e</id>",
            "<title>道路工程：招标公告 &lt;一&gt;</title>",
            "<link href=\"/projects/2024-230113-77-01-000041#seq-3\"/>",
            "<summary>金额 &amp; 日期</summary>",
        ] {
            assert!(xml.contains(expected), "{expected} in {xml}");
        }
    }
}
