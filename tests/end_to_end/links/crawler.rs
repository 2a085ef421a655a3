//! A crawler over a site's own links: from the start pages it fetches every
//! URL on the same origin that a page links to, once, and reports what a
//! reader or a machine following those links would hit: an error status,
//! a `#fragment` with no element of that `id` (or `<a name>`) on its page, a
//! link that is not a well-formed URL, a response without a media type or
//! with another than the link announced (`type="…"`).
//!
//! It reads links in HTML (`href`, `src`, `srcset`, `action`, `poster`,
//! `data`, `xlink:href`, inline `<style>`), in CSS (`url()`, `@import`), in
//! Atom (`href`) and, in JSON and JSON Lines, string values that are absolute
//! URLs on the site; other responses are only checked. Links to other hosts
//! and schemes are listed, never fetched. It fails outright beyond `cap`
//! distinct URLs, so a page linking ever further (paging) cannot keep it
//! running.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;

use reqwest::Url;

use super::html;

/// What a fetch answered.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The `Content-Type` header, empty when there is none.
    pub(crate) content_type: String,
    /// The `Location` header of a redirection.
    pub(crate) location: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// How the crawler fetches a URL.
pub(crate) trait Fetch {
    fn get(&self, url: &Url) -> impl Future<Output = Result<Response, String>>;
}

/// What a crawl found.
#[derive(Debug, Default)]
pub(crate) struct Crawl {
    /// Every URL fetched, with its status and media type.
    pub(crate) fetched: BTreeMap<Url, (u16, String)>,
    /// Links to the site's own URLs, counted where each occurs.
    pub(crate) links: usize,
    /// Links elsewhere, not fetched.
    pub(crate) external: BTreeSet<String>,
    /// Dead links, missing anchors, malformed URLs and wrong media types.
    pub(crate) problems: Vec<String>,
}

impl Crawl {
    /// How many HTML pages answered 200.
    pub(crate) fn pages(&self) -> usize {
        self.fetched.values().filter(|(status, media)| *status == 200 && media == "text/html").count()
    }
}

/// A link as found: its text, whether it announced a media type.
struct Found {
    raw: String,
    declared_type: Option<String>,
}

/// Crawls from `starts` over their origin, fetching at most `cap` distinct
/// URLs; `Err` when there are more.
pub(crate) async fn crawl(fetch: &impl Fetch, starts: &[Url], cap: usize) -> Result<Crawl, String> {
    let origin = starts.first().ok_or("no start page")?.origin();
    let mut crawl = Crawl::default();
    // Each URL queued, with the page that first linked it.
    let mut referrer: BTreeMap<Url, Option<Url>> = starts.iter().map(|url| (url.clone(), None)).collect();
    let mut queue: VecDeque<Url> = starts.iter().cloned().collect();
    // Ids of each HTML page; a fragment is checked once every page is in.
    let mut anchors: BTreeMap<Url, BTreeSet<String>> = BTreeMap::new();
    let mut fragments: Vec<(Url, String, Url)> = Vec::new();
    let mut declared: Vec<(Url, String, Url)> = Vec::new();
    let linked_from = |referrer: &BTreeMap<Url, Option<Url>>, url: &Url| match referrer.get(url) {
        Some(Some(from)) => format!(" (linked from {from})"),
        _ => String::new(),
    };

    while let Some(url) = queue.pop_front() {
        let response = match fetch.get(&url).await {
            Ok(response) => response,
            Err(error) => {
                crawl.problems.push(format!("GET {url} failed: {error}{}", linked_from(&referrer, &url)));
                continue;
            }
        };
        let media = media_type(&response.content_type);
        crawl.fetched.insert(url.clone(), (response.status, media.clone()));
        if response.status >= 400 {
            crawl.problems.push(format!("GET {url}: {}{}", response.status, linked_from(&referrer, &url)));
            continue;
        }
        let found = if (300..400).contains(&response.status) {
            let location = response.location.clone().unwrap_or_default();
            vec![Found { raw: location, declared_type: None }]
        } else {
            if media.is_empty() {
                crawl.problems.push(format!("GET {url}: no Content-Type"));
            }
            let body = String::from_utf8_lossy(&response.body);
            if media == "text/html" {
                anchors.insert(url.clone(), html_anchors(&body));
            }
            links_in(&media, &body)
        };
        for Found { raw, declared_type } in found {
            let target = match resolve(&url, &raw) {
                Ok(target) => target,
                Err(why) => {
                    crawl.problems.push(format!("malformed link {raw:?} on {url}: {why}"));
                    continue;
                }
            };
            if target.origin() != origin {
                crawl.external.insert(target.to_string());
                continue;
            }
            crawl.links += 1;
            let mut page = target.clone();
            page.set_fragment(None);
            if let Some(fragment) = target.fragment().filter(|fragment| !fragment.is_empty()) {
                fragments.push((page.clone(), percent_decode(fragment), url.clone()));
            }
            if let Some(media) = declared_type {
                declared.push((page.clone(), media, url.clone()));
            }
            if !referrer.contains_key(&page) {
                if referrer.len() >= cap {
                    return Err(format!("more than {cap} distinct URLs (the last from {url}): a link without end?"));
                }
                referrer.insert(page.clone(), Some(url.clone()));
                queue.push_back(page);
            }
        }
    }

    for (page, fragment, from) in fragments {
        match (anchors.get(&page), crawl.fetched.get(&page)) {
            (Some(ids), _) if ids.contains(&fragment) => {}
            (Some(_), _) => crawl.problems.push(format!("{page} has no id {fragment:?} (linked from {from})")),
            // Already reported.
            (None, Some((status, _))) if *status >= 400 => {}
            (None, _) => crawl.problems.push(format!("{page}#{fragment} points into a non-HTML response ({from})")),
        }
    }
    for (page, want, from) in declared {
        let got = crawl.fetched.get(&page).map(|(_, media)| media.as_str()).unwrap_or_default();
        if !got.is_empty() && media_type(&want) != got {
            crawl.problems.push(format!("{page} is {got}, announced as {want} on {from}"));
        }
    }
    Ok(crawl)
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The ids on an HTML page, and the names of its `<a name>` anchors.
fn html_anchors(body: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for tag in html::tags(body) {
        ids.extend(tag.attribute("id").map(str::to_owned));
        if tag.name == "a" {
            ids.extend(tag.attribute("name").map(str::to_owned));
        }
    }
    ids
}

/// The attributes holding one URL.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "action", "poster", "data", "xlink:href"];

/// The links in a response of type `media`.
fn links_in(media: &str, body: &str) -> Vec<Found> {
    let link = |raw: &str| Found { raw: raw.to_owned(), declared_type: None };
    match media {
        "text/html" | "application/xhtml+xml" | "application/atom+xml" | "image/svg+xml" => {
            let mut found = Vec::new();
            for tag in html::tags(body) {
                let declared_type = tag.attribute("type").filter(|_| tag.name == "a" || tag.name == "link");
                for (name, value) in &tag.attributes {
                    if URL_ATTRIBUTES.contains(&name.as_str()) {
                        found.push(Found { raw: value.clone(), declared_type: declared_type.map(str::to_owned) });
                    } else if name == "srcset" {
                        // `url descriptor, url descriptor`.
                        found.extend(value.split(',').filter_map(|c| c.split_whitespace().next()).map(link));
                    }
                }
                if tag.name == "style" {
                    found.extend(css_urls(tag.raw_text.as_deref().unwrap_or_default()).into_iter().map(|u| link(&u)));
                }
            }
            found
        }
        "text/css" => css_urls(body).into_iter().map(|u| link(&u)).collect(),
        "application/json" | "application/x-ndjson" | "application/jsonl" | "application/json-seq" => {
            let mut strings = Vec::new();
            for line in if media == "application/json" { vec![body] } else { body.lines().collect() } {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(line) {
                    absolute_urls(&value, &mut strings);
                }
            }
            strings.iter().map(|u| link(u)).collect()
        }
        media if media.ends_with("+json") => links_in("application/json", body),
        _ => Vec::new(),
    }
}

/// The string values in `value` that are absolute http(s) URLs.
fn absolute_urls(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) if text.starts_with("http://") || text.starts_with("https://") => {
            into.push(text.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| absolute_urls(item, into)),
        serde_json::Value::Object(fields) => fields.values().for_each(|item| absolute_urls(item, into)),
        _ => {}
    }
}

/// The URLs in a stylesheet's `url(…)`s and `@import "…"`s, but `data:`.
fn css_urls(css: &str) -> Vec<String> {
    let unquote = |text: &str| text.trim().trim_matches(['"', '\'']).to_owned();
    let mut urls = Vec::new();
    for piece in css.split("url(").skip(1) {
        urls.push(unquote(&piece[..piece.find(')').unwrap_or(piece.len())]));
    }
    for piece in css.split("@import").skip(1) {
        let piece = piece.trim_start();
        if piece.starts_with(['"', '\'']) {
            urls.push(unquote(piece.split([';', '\n']).next().unwrap_or_default()));
        }
    }
    urls.retain(|url| !url.starts_with("data:"));
    urls
}

/// `raw` (an attribute's value) resolved against the page at `base`, or why
/// it is not a well-formed URL: HTML strips the whitespace around it, and
/// inside it no whitespace, control character or backslash belongs, nor a
/// `%` that starts no escape.
fn resolve(base: &Url, raw: &str) -> Result<Url, String> {
    let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    if let Some(bad) = raw.chars().find(|&c| c.is_whitespace() || c.is_control() || c == '\\') {
        return Err(format!("contains {bad:?}"));
    }
    let bytes = raw.as_bytes();
    for (at, _) in raw.match_indices('%') {
        if !bytes.get(at + 1..at + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
            return Err(format!("a '%' at {at} starts no escape"));
        }
    }
    base.join(raw).map_err(|error| error.to_string())
}

/// `text` with its `%XX` escapes decoded (as UTF-8).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes.get(at + 1..at + 3).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                at += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Fetches over HTTP, following no redirection (the crawler does).
pub(crate) struct Http(reqwest::Client);

impl Http {
    pub(crate) fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Self(client)
    }
}

impl Fetch for Http {
    async fn get(&self, url: &Url) -> Result<Response, String> {
        let response = self.0.get(url.clone()).send().await.map_err(|error| error.to_string())?;
        let header = |name| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let location = header(reqwest::header::LOCATION);
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| error.to_string())?.to_vec();
        Ok(Response { status, content_type, location, body })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A site in memory: path and query → (status, media type, body).
    struct Site(HashMap<&'static str, (u16, &'static str, String)>);

    impl Fetch for Site {
        async fn get(&self, url: &Url) -> Result<Response, String> {
            let key = &url.as_str()["http://site.test".len()..];
            let (status, content_type, body) =
                self.0.get(key).cloned().unwrap_or((404, "text/html", "<p>no such page</p>".to_owned()));
            Ok(Response { status, content_type: content_type.to_owned(), location: None, body: body.into_bytes() })
        }
    }

    fn start() -> Vec<Url> {
        vec![Url::parse("http://site.test/").expect("URL")]
    }

    const HTML: &str = "text/html; charset=utf-8";

    #[tokio::test]
    async fn a_dead_link_and_a_missing_anchor_fail_the_crawl() {
        let site = Site(HashMap::from([
            (
                "/",
                (
                    200,
                    HTML,
                    r##"<a href="/a#here">a</a> <a href="a?x=1&amp;y=2">a again</a> <a href="#top-of-page">self</a>
                        <a href="/b#gone">b</a> <a href="/dead">dead</a> <a href="https://example.org/x">out</a>
                        <link rel="stylesheet" href="/s.css"><h1 id="top-of-page">Home</h1>"##
                        .to_owned(),
                ),
            ),
            ("/a", (200, HTML, r#"<p id="here">A</p><a name="old">x</a>"#.to_owned())),
            ("/a?x=1&y=2", (200, HTML, r#"<a href="/a#old">old anchor</a>"#.to_owned())),
            (
                "/b",
                (200, HTML, r#"<p id="there">B</p><a href="/feed.json" type="application/json">feed</a>"#.to_owned()),
            ),
            ("/s.css", (200, "text/css", "@font-face{src:url(/f.woff2) format(\"woff2\")}".to_owned())),
            ("/f.woff2", (200, "font/woff2", "wOF2".to_owned())),
            (
                "/feed.json",
                (200, "application/json", r#"{"self": "http://site.test/b", "doc": "https://x.test/d"}"#.to_owned()),
            ),
        ]));
        let found = crawl(&site, &start(), 100).await.expect("within the cap");
        assert_eq!(
            found.problems,
            [
                "GET http://site.test/dead: 404 (linked from http://site.test/)",
                "http://site.test/b has no id \"gone\" (linked from http://site.test/)",
            ],
            "exactly the dead link and the missing anchor"
        );
        assert_eq!(found.pages(), 4, "/, /a, /a?x=1&y=2, /b: {:?}", found.fetched.keys());
        assert_eq!(found.fetched.len(), 8, "and the 404, the stylesheet, its font, the JSON");
        assert_eq!(found.external, BTreeSet::from(["https://example.org/x".to_owned(), "https://x.test/d".to_owned()]));
        assert_eq!(found.links, 10);
    }

    #[tokio::test]
    async fn a_clean_site_passes_and_malformed_links_and_wrong_types_do_not() {
        let clean = Site(HashMap::from([
            ("/", (200, HTML, r#"<a href="/p">p</a><a href="/p#x">x</a>"#.to_owned())),
            ("/p", (200, HTML, r#"<b id="x">x</b><a href="/">home</a>"#.to_owned())),
        ]));
        let clean = crawl(&clean, &start(), 10).await.expect("within the cap");
        assert!(clean.problems.is_empty(), "{:?}", clean.problems);
        assert_eq!((clean.pages(), clean.links), (2, 3));

        let broken = Site(HashMap::from([
            (
                "/",
                (
                    200,
                    HTML,
                    r#"<a href="/p q">space</a><a href="/p%zz">escape</a><a href="/j" type="application/atom+xml">j</a>
                       <a href="/j#a">into JSON</a>"#
                        .to_owned(),
                ),
            ),
            ("/j", (200, "application/json", "{}".to_owned())),
        ]));
        let problems = crawl(&broken, &start(), 10).await.expect("within the cap").problems;
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(
            problems[0].starts_with("malformed link \"/p q\"") && problems[1].starts_with("malformed link \"/p%zz\"")
        );
        assert_eq!(problems[2], "http://site.test/j#a points into a non-HTML response (http://site.test/)");
        assert_eq!(
            problems[3],
            "http://site.test/j is application/json, announced as application/atom+xml on http://site.test/"
        );
    }

    /// Endless paging: each page links the next.
    struct Endless;

    impl Fetch for Endless {
        async fn get(&self, url: &Url) -> Result<Response, String> {
            let page: u64 = url.query().and_then(|q| q.strip_prefix("page=")).and_then(|n| n.parse().ok()).unwrap_or(1);
            let body = format!(r#"<a href="/?page={}">next</a>"#, page + 1).into_bytes();
            Ok(Response { status: 200, content_type: HTML.to_owned(), location: None, body })
        }
    }

    #[tokio::test]
    async fn a_crawl_without_end_stops_at_the_cap() {
        let error = crawl(&Endless, &start(), 50).await.expect_err("beyond the cap");
        assert!(error.starts_with("more than 50 distinct URLs"), "{error}");
    }
}
