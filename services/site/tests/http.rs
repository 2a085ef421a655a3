//! The site over real sockets: security headers, compression, validators
//! and 304s, the server's connection limits, the Atom feeds as a real
//! feed parser reads them, regions shown and found by name, and the log
//! status of a page as the log grows. Each test serves a fresh SQLite store, filled
//! through the real submit path (`Ingestor`) and the real projector, in
//! process.

use std::io::Read as _;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use base64::Engine as _;
use gongkai_grpc::auth::{Principal, Role};
use gongkai_ingest::Ingestor;
use gongkai_proto::v1::TimelineEntry;
use gongkai_scenarios::{Request, ppp_lifecycle};
use gongkai_site::{ServerLimits, SiteSettings};
use gongkai_store::Store;
use gongkai_testkit::store::FreshStore;
use prost::Message as _;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const CODE: &str = "2024-230113-77-01-000041";

/// A running site over its own store.
struct Site {
    base: String,
    address: SocketAddr,
    store: Store,
    ingestor: Ingestor,
    /// How far the store's events have been projected.
    projected: u64,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<Result<(), gongkai_site::SiteError>>,
    _dir: Option<tempfile::TempDir>,
}

impl Site {
    async fn start(limits: ServerLimits) -> Site {
        let FreshStore { store, dir } = gongkai_testkit::store::sqlite().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let settings = SiteSettings { limits, ..SiteSettings::default() };
        let server = tokio::spawn(gongkai_site::serve_with_settings(store.public(), settings, listener, async {
            let _ = stopped.await;
        }));
        Site {
            base: format!("http://{address}"),
            address,
            ingestor: Ingestor::new(store.events()),
            store,
            projected: 0,
            stop: Some(stop),
            server,
            _dir: dir,
        }
    }

    /// Records `requests` and projects them into the public view.
    async fn disclose(&mut self, requests: impl IntoIterator<Item = Request>) {
        let regions = vec!["11".into(), "22".into(), "23".into()];
        let principal = Principal { id: "test".into(), role: Role::Submitter, regions };
        for request in requests {
            let (domain, submission) = gongkai_testkit::submission(request);
            self.ingestor.submit(&principal, domain, submission).await.expect("accepted");
        }
        for event in self.store.log().events_after(self.projected, u32::MAX).await.expect("events") {
            gongkai_projector::project(&self.store.projections(), &event).await.expect("projected");
            self.projected = event.position;
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .expect("the site stops")
            .expect("joins")
            .expect("the site ran");
    }
}

async fn get(url: &str, headers: &[(header::HeaderName, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = request.send().await.unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.bytes().await.expect("body").to_vec())
}

fn text<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

/// Every header value of `name`, joined.
fn all(headers: &HeaderMap, name: &header::HeaderName) -> String {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(", ").to_lowercase()
}

fn assert_security_headers(what: &str, headers: &HeaderMap) {
    let policy = text(headers, &header::CONTENT_SECURITY_POLICY);
    for directive in ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"] {
        assert!(policy.contains(directive), "{what}: CSP lacks {directive}: {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{what}: {policy}");
    assert_eq!(text(headers, &header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(text(headers, &header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert_eq!(text(headers, &header::REFERRER_POLICY), "strict-origin-when-cross-origin", "{what}");
}

/// Pages, 404s, exports, feeds, the bulk download, 304s: all carry the
/// security headers, and the policy allows exactly the page's style block.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let mut site = Site::start(ServerLimits::default()).await;
    let lifecycle = ppp_lifecycle(CODE, "security");
    let tender = lifecycle.tender_code.clone();
    site.disclose(lifecycle.requests.into_iter().take(3)).await;
    let base = site.base.clone();

    let (status, headers, page) = get(&format!("{base}/projects/{CODE}"), &[]).await;
    assert_eq!(status, 200);
    assert_security_headers("a project page", &headers);
    let page = String::from_utf8(page).expect("UTF-8");
    assert!(!page.contains("<script") && !page.contains(" style=\""), "nothing inline but the style block");
    let style = page.split_once("<style>").and_then(|(_, rest)| rest.split_once("</style>")).expect("a style block").0;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style.as_bytes()));
    let policy = text(&headers, &header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains(&format!("style-src 'sha256-{hash}'")), "the page's CSS is allowed: {policy}");

    for (path, status) in [
        ("/", 200),
        ("/no/such/page", 404),
        ("/projects/2024-110000-00-01-999999", 404),
        (&format!("/api/v1/projects/{CODE}/oc4ids"), 200),
        ("/api/v1/projects/2024-110000-00-01-999999/oc4ids", 404),
        ("/api/v1/bulk.jsonl", 200),
        ("/feed.atom", 200),
        ("/api/v1/changes", 200),
        ("/api/v1/changes?after=nonsense", 400),
        ("/api/v1/ocds/extensions/project/extension.json", 200),
        ("/api/v1/ocds/extensions/project/release-schema.json", 200),
        ("/api/v1/ocds/extensions/project/other.json", 404),
        ("/log/checkpoint", 404),
        ("/log/tile/0/000", 404),
        ("/log/tile/not/a/tile", 404),
    ] {
        let (got, headers, _) = get(&format!("{base}{path}"), &[]).await;
        assert_eq!(got, status, "GET {path}");
        assert_security_headers(path, &headers);
    }
    // The extension the OCDS packages declare is served as declared.
    let (_, _, extension) = get(&format!("{base}/api/v1/ocds/extensions/project/extension.json"), &[]).await;
    let extension: serde_json::Value = serde_json::from_slice(&extension).expect("JSON");
    assert_eq!(extension["schemas"], serde_json::json!(["release-schema.json"]));
    let (_, _, releases) = get(&format!("{base}/api/v1/projects/{CODE}/ocds/{tender}/releases"), &[]).await;
    let releases: serde_json::Value = serde_json::from_slice(&releases).expect("JSON");
    assert_eq!(
        releases["extensions"][0],
        serde_json::json!(format!("{base}/api/v1/ocds/extensions/project/extension.json"))
    );
    let (_, headers, _) = get(&format!("{base}/projects/{CODE}"), &[]).await;
    let etag = text(&headers, &header::ETAG).to_owned();
    let (status, headers, _) = get(&format!("{base}/projects/{CODE}"), &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(status, 304);
    assert_security_headers("a 304", &headers);
    site.stop().await;
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip decodes");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).expect("br decodes");
    out
}

/// Pages, feeds, exports and the streamed bulk download come compressed on
/// request, and decode to exactly the uncompressed response.
#[tokio::test]
async fn gzip_and_br_bodies_decode_to_the_uncompressed_response() {
    let mut site = Site::start(ServerLimits::default()).await;
    site.disclose(ppp_lifecycle(CODE, "compression").requests.into_iter().take(3)).await;
    for path in [
        format!("/projects/{CODE}"),
        "/".to_owned(),
        format!("/projects/{CODE}/feed.atom"),
        format!("/api/v1/projects/{CODE}/oc4ids"),
        "/api/v1/bulk.jsonl".to_owned(),
    ] {
        let url = format!("{}{path}", site.base);
        let (status, headers, plain) = get(&url, &[]).await;
        assert_eq!(status, 200, "GET {path}");
        assert!(headers.get(header::CONTENT_ENCODING).is_none(), "{path}: identity unless asked");
        assert!(plain.len() > 100, "{path}: a body worth compressing");
        for (encoding, decode) in [("gzip", gunzip as fn(&[u8]) -> Vec<u8>), ("br", unbrotli)] {
            let (status, headers, body) = get(&url, &[(header::ACCEPT_ENCODING, encoding)]).await;
            assert_eq!(status, 200, "GET {path} ({encoding})");
            assert_eq!(text(&headers, &header::CONTENT_ENCODING), encoding, "{path}");
            assert!(all(&headers, &header::VARY).contains("accept-encoding"), "{path}: {headers:?}");
            assert!(body.len() < plain.len(), "{path}: {encoding} is smaller ({} ≥ {})", body.len(), plain.len());
            assert_eq!(decode(&body), plain, "{path}: {encoding} decodes to the page");
        }
    }
    site.stop().await;
}

/// The CJK web font: every page links its stylesheet, which names only
/// slices the site serves, each as WOFF2 that is cached for good, never
/// compressed again, and revalidated with a 304; the policy lets the
/// browser load them.
#[tokio::test]
async fn the_pages_font_slices_are_served_as_immutable_woff2() {
    let site = Site::start(ServerLimits::default()).await;
    let base = site.base.clone();
    let (_, headers, home) = get(&format!("{base}/?lang=en"), &[]).await;
    let policy = text(&headers, &header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("font-src 'self'") && policy.contains("'self';"), "fonts and stylesheets load: {policy}");
    let home = String::from_utf8(home).expect("UTF-8");
    let href = home
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page links the font stylesheet");
    assert!(href.starts_with("/assets/fonts/") && href.ends_with(".css"), "{href}");
    let immutable = "public, max-age=31536000, immutable";

    let (status, headers, css) = get(&format!("{base}{href}"), &[(header::ACCEPT_ENCODING, "br")]).await;
    assert_eq!(status, 200);
    assert_eq!(text(&headers, &header::CONTENT_TYPE), "text/css; charset=utf-8");
    assert_eq!(text(&headers, &header::CACHE_CONTROL), immutable);
    assert_eq!(text(&headers, &header::CONTENT_ENCODING), "br", "CSS compresses");
    let css = String::from_utf8(unbrotli(&css)).expect("UTF-8");
    let slices: Vec<&str> = css.split("url(").skip(1).filter_map(|rest| rest.split(')').next()).collect();
    assert!(slices.len() > 1, "the stylesheet declares the slices: {css}");
    assert_eq!(css.matches("@font-face").count(), slices.len());
    assert_eq!(css.matches("unicode-range:").count(), slices.len(), "each slice says what it holds");
    let mut total = 0;
    for slice in slices {
        assert!(slice.starts_with("/assets/fonts/cjk-") && slice.ends_with(".woff2"), "{slice}");
        let url = format!("{base}{slice}");
        let (status, headers, font) = get(&url, &[(header::ACCEPT_ENCODING, "gzip, br")]).await;
        assert_eq!(status, 200, "{slice} exists");
        assert_eq!(text(&headers, &header::CONTENT_TYPE), "font/woff2", "{slice}");
        assert_eq!(text(&headers, &header::CACHE_CONTROL), immutable, "{slice}");
        assert!(headers.get(header::CONTENT_ENCODING).is_none(), "{slice}: WOFF2 is compressed already");
        assert!(font.starts_with(b"wOF2"), "{slice} is WOFF2");
        assert_eq!(text(&headers, &header::CONTENT_LENGTH), font.len().to_string(), "{slice}");
        assert_security_headers(slice, &headers);
        let etag = text(&headers, &header::ETAG).to_owned();
        let (status, _, _) = get(&url, &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(status, 304, "{slice} revalidates");
        total += font.len();
    }
    println!("font slices: {total} bytes");
    for missing in ["/assets/fonts/cjk-00-000000000000.woff2", "/assets/fonts/", "/assets/fonts/../Cargo.toml"] {
        let (status, _, _) = get(&format!("{base}{missing}"), &[]).await;
        assert_eq!(status, 404, "{missing}");
    }
    site.stop().await;
}

/// GETs `url` until its ETag differs from `old`, failing after 5 s (the page
/// cache follows the change feed every 200 ms).
async fn until_changed(url: &str, old: &str) -> HeaderMap {
    let started = Instant::now();
    loop {
        let (status, headers, _) = get(url, &[]).await;
        assert_eq!(status, 200, "GET {url}");
        if text(&headers, &header::ETAG) != old {
            return headers;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{url} still has ETag {old}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A repeat request for the current content gets a 304 without a body (by
/// If-None-Match or If-Modified-Since); a changed project gets a new ETag
/// and a 200, on pages, feeds, exports and the bulk download alike.
#[tokio::test]
async fn a_current_copy_gets_a_304_and_a_changed_project_a_new_etag() {
    let mut site = Site::start(ServerLimits::default()).await;
    let mut requests = ppp_lifecycle(CODE, "validators").requests.into_iter();
    site.disclose(requests.by_ref().take(2)).await;
    let urls = [
        (format!("{}/projects/{CODE}", site.base), "public, max-age=60"),
        (format!("{}/projects/{CODE}/feed.atom", site.base), "no-cache"),
        (format!("{}/api/v1/projects/{CODE}/oc4ids", site.base), "no-cache"),
        (format!("{}/api/v1/bulk.jsonl", site.base), "no-cache"),
    ];
    let mut before = Vec::new();
    for (url, caching) in &urls {
        let (status, headers, body) = get(url, &[]).await;
        assert_eq!(status, 200, "GET {url}");
        assert_eq!(text(&headers, &header::CACHE_CONTROL), *caching, "{url}");
        let etag = text(&headers, &header::ETAG).to_owned();
        let modified = text(&headers, &header::LAST_MODIFIED).to_owned();
        assert!(!body.is_empty());

        let (status, again, body) = get(url, &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(status, 304, "{url} with If-None-Match {etag}");
        assert!(body.is_empty(), "{url}: a 304 has no body");
        assert_eq!(text(&again, &header::ETAG), etag, "{url}: the 304 names the tag");
        assert_eq!(text(&again, &header::CACHE_CONTROL), *caching, "{url}: the 304 refreshes the caching");
        let listed = format!(r#""nope", {etag}"#);
        assert_eq!(get(url, &[(header::IF_NONE_MATCH, &listed)]).await.0, 304, "{url}: a tag in a list matches");
        let (status, _, body) = get(url, &[(header::IF_MODIFIED_SINCE, &modified)]).await;
        assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0), "{url} with If-Modified-Since {modified}");
        let (status, _, body) = get(url, &[(header::IF_NONE_MATCH, r#"W/"other""#)]).await;
        assert_eq!(status, 200, "{url}: another tag gets the content");
        assert!(!body.is_empty());
        before.push((etag, modified));
    }

    // A new fact: every one of them changes.
    site.disclose(requests.next()).await;
    for ((url, _), (etag, modified)) in urls.iter().zip(&before) {
        let headers = until_changed(url, etag).await;
        let new = text(&headers, &header::ETAG).to_owned();
        let (status, _, body) = get(url, &[(header::IF_NONE_MATCH, etag)]).await;
        assert_eq!(status, 200, "{url}: the old tag {etag} no longer matches");
        assert!(!body.is_empty());
        let (status, _, _) = get(url, &[(header::IF_MODIFIED_SINCE, modified)]).await;
        assert_eq!(status, 200, "{url}: changed since {modified}");
        assert_eq!(get(url, &[(header::IF_NONE_MATCH, &new)]).await.0, 304, "{url}: the new tag {new} matches");
    }
    site.stop().await;
}

fn limits(header_read: Option<u64>, idle: Option<u64>, connections: usize) -> ServerLimits {
    ServerLimits {
        header_read_timeout: header_read.map(Duration::from_millis),
        idle_timeout: idle.map(Duration::from_millis),
        max_connections: NonZeroUsize::new(connections).expect("non-zero"),
    }
}

/// Reads until the server closes `socket`; returns after how long, or
/// `None` if it was still open after `bound`.
async fn closed_within(socket: &mut TcpStream, bound: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + bound).into(), socket.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Reads one response with a Content-Length body from `socket`; returns its
/// head.
async fn read_response(socket: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buffer))
            .await
            .expect("a response in time")
            .expect("readable");
        assert!(read > 0, "closed before a response: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse().ok())
                .expect("content-length");
            if body.len() >= length {
                return head.to_owned();
            }
        }
    }
}

const SLOWLORIS: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n";

/// A request head that never ends (first on its connection or after a
/// served request, sent at once or a byte at a time) is cut off after the
/// header read timeout, and so is a connection that never says anything;
/// the idle timeout, far longer here, plays no part.
#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off_after_the_header_timeout() {
    let site = Site::start(limits(Some(600), Some(60_000), 16)).await;
    let mut partial = TcpStream::connect(site.address).await.expect("connects");
    partial.write_all(SLOWLORIS).await.expect("writes");
    let mut silent = TcpStream::connect(site.address).await.expect("connects");
    // A kept-alive connection whose second request head never ends.
    let mut second = TcpStream::connect(site.address).await.expect("connects");
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("writes");
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"));
    second.write_all(SLOWLORIS).await.expect("writes");
    let mut trickling = TcpStream::connect(site.address).await.expect("connects");
    trickling.write_all(SLOWLORIS).await.expect("writes");
    let trickle = tokio::spawn(async move {
        // A header byte every 100 ms keeps the connection busy, not the head short.
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if trickling.write_all(b"X").await.is_err() {
                return true;
            }
        }
        false
    });
    for (what, socket) in
        [("a partial head", &mut partial), ("a silent connection", &mut silent), ("a partial second head", &mut second)]
    {
        let took = closed_within(socket, Duration::from_secs(5)).await;
        let took = took.unwrap_or_else(|| panic!("{what} is still open 5 s later"));
        assert!(took < Duration::from_secs(3), "{what} closed only after {took:?}");
        println!("{what} closed after {took:?}");
    }
    assert!(trickle.await.expect("joins"), "a trickled head is cut off too");
    // A prompt client is served.
    let mut prompt = TcpStream::connect(site.address).await.expect("connects");
    prompt.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("writes");
    assert!(read_response(&mut prompt).await.starts_with("HTTP/1.1 200"));
    site.stop().await;
}

/// A kept-alive connection is closed once it has been silent for the idle
/// timeout, while one in use stays open; the header timeout is off here, so
/// only the idle timeout can close it.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let site = Site::start(limits(None, Some(700), 16)).await;
    let mut socket = TcpStream::connect(site.address).await.expect("connects");
    for _ in 0..3 {
        socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("writes");
        let head = read_response(&mut socket).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        // Half the idle timeout: still open for the next request.
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    let took = closed_within(&mut socket, Duration::from_secs(5)).await.expect("closed within 5 s");
    assert!(took < Duration::from_secs(2), "closed only after {took:?}");
    println!("idle connection closed {took:?} after the last response plus 350 ms");
    site.stop().await;
}

/// With every connection slot taken, the next connection waits unserved
/// until one closes.
#[tokio::test]
async fn connections_beyond_the_bound_wait_until_one_closes() {
    let site = Site::start(limits(Some(10_000), Some(10_000), 1)).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut first = TcpStream::connect(site.address).await.expect("connects");
    first.write_all(request).await.expect("writes");
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
    let mut second = TcpStream::connect(site.address).await.expect("the kernel accepts it into the backlog");
    second.write_all(request).await.expect("writes");
    let mut buffer = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), second.read(&mut buffer)).await;
    assert!(early.is_err(), "served beyond the bound");
    drop(first);
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"), "served once a slot is free");
    site.stop().await;
}

/// Reads an Atom feed from stdin with Python's `feedparser` and prints what
/// a reader sees: whether the XML was malformed (`bozo`) and the titles,
/// ids, links and summaries.
const FEEDPARSER: &str = r#"
import json, sys
import feedparser
feed = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "bozo": bool(feed.bozo),
    "error": repr(feed.get("bozo_exception")),
    "title": feed.feed.get("title"),
    "entries": [
        {key: entry.get(key) for key in ("id", "title", "link", "summary")}
        for entry in feed.entries
    ],
}))
"#;

/// `text` with characters XML 1.0 forbids inside and around it.
fn tainted(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars.next().map(String::from).unwrap_or_default();
    format!("\u{b}{first}\u{0}\u{1b}{}\u{ffff}", chars.as_str())
}

/// Writes control characters into `code`'s public view straight through
/// SQL, past ingestion (which refuses them): into the project's name and
/// each entry's id, title and summary. Returns the clean name and entries.
async fn taint_public_view(store: &Store, code: &str) -> (String, Vec<TimelineEntry>) {
    let gongkai_store::Pool::Sqlite(pool) = store.pool() else { panic!("a SQLite store") };
    let name: String = sqlx::query_scalar("SELECT name FROM public_projects WHERE project_code = $1")
        .bind(code)
        .fetch_one(pool)
        .await
        .expect("the project is public");
    sqlx::query("UPDATE public_projects SET name = $1 WHERE project_code = $2")
        .bind(tainted(&name))
        .bind(code)
        .execute(pool)
        .await
        .expect("name tainted");
    let mut clean = Vec::new();
    for bytes in store.public().public_timeline(code).await.expect("timeline") {
        let entry = TimelineEntry::decode(bytes.as_slice()).expect("an entry");
        let mut dirty = entry.clone();
        dirty.event_id = tainted(&entry.event_id);
        dirty.title_zh = tainted(&entry.title_zh);
        dirty.summary_zh = tainted(&entry.summary_zh);
        sqlx::query("UPDATE public_timeline SET entry = $1 WHERE project_code = $2 AND project_seq = $3")
            .bind(dirty.encode_to_vec())
            .bind(code)
            .bind(entry.project_seq as i64)
            .execute(pool)
            .await
            .expect("entry tainted");
        clean.push(entry);
    }
    (name, clean)
}

/// A control character in the public view (`PCDATA invalid Char value 11`
/// once broke the site-wide feed) is dropped: both feeds stay well-formed
/// for a real feed parser, with every entry, title, id and link intact.
#[tokio::test]
async fn feeds_stay_well_formed_for_a_feed_parser_whatever_the_view_holds() {
    let mut site = Site::start(ServerLimits::default()).await;
    site.disclose(ppp_lifecycle(CODE, "feeds").requests.into_iter().take(3)).await;
    let (name, entries) = taint_public_view(&site.store, CODE).await;
    assert_eq!(entries.len(), 3);

    for (path, title) in [
        ("/feed.atom".to_owned(), "公开 gongkai · 最新公开信息".to_owned()),
        (format!("/projects/{CODE}/feed.atom"), format!("{name} · 公开 gongkai")),
    ] {
        let (status, headers, body) = get(&format!("{}{path}", site.base), &[]).await;
        assert_eq!(status, 200, "GET {path}");
        assert!(text(&headers, &header::CONTENT_TYPE).starts_with("application/atom+xml"), "{path}");
        let read: serde_json::Value =
            serde_json::from_str(&gongkai_testkit::tools::run_python(FEEDPARSER, &body)).expect("JSON");
        assert_eq!(read["bozo"], false, "{path} is well-formed: {}", read["error"]);
        assert!(!body.iter().any(|b| *b < 0x20 && !b"\t\n\r".contains(b)), "{path}: a C0 control is left");
        assert_eq!(read["title"], title.as_str(), "{path}");
        let got = read["entries"].as_array().expect("entries");
        assert_eq!(got.len(), entries.len(), "{path}: every entry");
        // Newest first in both feeds.
        for (got, entry) in got.iter().zip(entries.iter().rev()) {
            assert_eq!(got["id"], format!("urn:gongkai:event:{}", entry.event_id), "{path}");
            assert_eq!(got["title"], format!("{name}：{}", entry.title_zh), "{path}");
            assert_eq!(got["summary"], entry.summary_zh.as_str(), "{path}");
            assert_eq!(got["link"], format!("/projects/{CODE}#seq-{}", entry.project_seq), "{path}");
        }
    }
    site.stop().await;
}

/// The approval of a project `code` in `region`, named `name`.
fn approval_in(code: &str, region: &str, name: &str) -> Request {
    match ppp_lifecycle(code, code).requests.into_iter().next() {
        Some(Request::RecordApproval(mut request)) => {
            let fact = request.fact.as_mut().expect("a fact");
            fact.region_code = region.into();
            fact.project_name = name.into();
            if let Some(location) = fact.location.as_mut() {
                location.region_code = region.into();
            }
            Some(Request::RecordApproval(request))
        }
        _ => None,
    }
    .expect("the lifecycle starts with its approval")
}

async fn page(url: &str) -> String {
    let (status, _, body) = get(url, &[]).await;
    assert_eq!(status, 200, "GET {url}");
    String::from_utf8(body).expect("UTF-8")
}

/// Which of `codes` a list page links.
fn listed<'a>(list: &str, codes: &[&'a str]) -> Vec<&'a str> {
    codes.iter().copied().filter(|code| list.contains(&format!("/projects/{code}"))).collect()
}

/// Region codes read as names on every page in both languages, a code the
/// data set does not know as itself; the region filter and the search box
/// take names (a shared one stands for every division so called) as well as
/// codes; the exports carry the names beside the codes.
#[tokio::test]
async fn regions_read_as_names_and_filters_take_names() {
    let mut site = Site::start(ServerLimits::default()).await;
    let (beijing, changchun, unknown) =
        ("2024-110105-77-01-000042", "2024-220104-77-01-000043", "2024-230199-77-01-000044");
    site.disclose([
        approval_in(CODE, "230113", "污水处理厂一期"),
        approval_in(beijing, "110105", "道路改造工程"),
        approval_in(changchun, "220104", "供热管网工程"),
        approval_in(unknown, "230199", "桥梁维修工程"),
    ])
    .await;
    let base = site.base.clone();
    let all = [CODE, beijing, changchun, unknown];

    let list = page(&format!("{base}/projects")).await;
    for name in ["哈尔滨市双城区", "北京市朝阳区", "长春市朝阳区", ">230199<", "地区（名称或代码）"]
    {
        assert!(list.contains(name), "the list shows {name}");
    }
    assert!(!list.contains("地区代码"), "no more bare region codes");
    let english = page(&format!("{base}/projects?lang=en")).await;
    for name in ["Shuangcheng District, Harbin", "Chaoyang District, Beijing", "Chaoyang District, Changchun"] {
        assert!(english.contains(name), "the English list shows {name}");
    }
    let project = page(&format!("{base}/projects/{CODE}")).await;
    assert!(project.contains("地区：黑龙江省哈尔滨市双城区（230113）"), "the project page names its region");
    let project = page(&format!("{base}/projects/{CODE}?lang=en")).await;
    assert!(project.contains("Region: Shuangcheng District, Harbin, Heilongjiang (230113)"), "and in English");
    assert!(page(&format!("{base}/projects/{unknown}")).await.contains("地区：230199"), "an unknown code as it is");

    // The region filter, by name, in Chinese and English, and by code.
    let chaoyang = page(&format!("{base}/projects?region=朝阳区")).await;
    assert_eq!(listed(&chaoyang, &all), [beijing, changchun], "both districts called 朝阳区");
    assert!(chaoyang.contains("北京市朝阳区（110105）、吉林省长春市朝阳区（220104）"), "the filter says what it took");
    assert!(chaoyang.contains(r#"value="朝阳区""#), "the filter is echoed");
    let harbin = page(&format!("{base}/projects?region=哈尔滨")).await;
    assert_eq!(listed(&harbin, &all), [CODE, unknown], "all of Harbin, its unknown code included");
    let harbin = page(&format!("{base}/projects?region=Harbin&lang=en")).await;
    assert_eq!(listed(&harbin, &all), [CODE, unknown], "by the English name");
    assert!(harbin.contains("Harbin, Heilongjiang (2301)"));
    let by_code = page(&format!("{base}/projects?region=110105")).await;
    assert_eq!(listed(&by_code, &all), [beijing], "a code still filters");
    assert!(by_code.contains("地区 110105：北京市朝阳区"), "and is named");
    let nowhere = page(&format!("{base}/projects?region=不存在的地方")).await;
    assert!(listed(&nowhere, &all).is_empty() && nowhere.contains("共 0 个项目"), "an unknown name matches nothing");
    assert!(nowhere.contains("没有名为“不存在的地方”的地区"));
    let hostile = page(&format!("{base}/projects?region=%3Cscript%3E{}", "区".repeat(500))).await;
    assert!(!hostile.contains("<script>") && hostile.contains("共 0 个项目"), "hostile input is escaped and bounded");

    // The search box finds projects by their region's name too.
    let search = page(&format!("{base}/projects?q=哈尔滨市双城区")).await;
    assert_eq!(listed(&search, &all), [CODE]);
    let search = page(&format!("{base}/projects?q=chaoyang&lang=en")).await;
    assert_eq!(listed(&search, &all), [beijing, changchun]);
    let search = page(&format!("{base}/projects?q=道路")).await;
    assert_eq!(listed(&search, &all), [beijing], "and by name as before");

    // Exports: names beside the code.
    let oc4ids: Value =
        serde_json::from_str(&page(&format!("{base}/api/v1/projects/{CODE}/oc4ids")).await).expect("JSON");
    assert_eq!(
        oc4ids["projects"][0]["locations"],
        json!([{
            "id": "1",
            "description": "黑龙江省哈尔滨市双城区",
            "gazetteer": { "scheme": "CN-GBT2260", "identifiers": ["230113"] },
            "address": { "region": "黑龙江省", "locality": "哈尔滨市双城区", "countryName": "中国" },
        }])
    );
    let oc4ids: Value =
        serde_json::from_str(&page(&format!("{base}/api/v1/projects/{unknown}/oc4ids")).await).expect("JSON");
    assert_eq!(
        oc4ids["projects"][0]["locations"][0]["address"],
        json!({ "region": "230199", "countryName": "中国" }),
        "an unknown code stays the region"
    );
    let bulk = page(&format!("{base}/api/v1/bulk.jsonl")).await;
    let lines: Vec<Value> = bulk.lines().map(|line| serde_json::from_str(line).expect("JSON line")).collect();
    let named: Vec<(&str, &Value, &Value)> = lines
        .iter()
        .map(|l| (l["region_code"].as_str().unwrap_or_default(), &l["region_name"], &l["region_name_en"]))
        .collect();
    assert_eq!(
        named,
        [
            ("110105", &json!("北京市朝阳区"), &json!("Chaoyang District, Beijing")),
            ("220104", &json!("吉林省长春市朝阳区"), &json!("Chaoyang District, Changchun, Jilin")),
            ("230113", &json!("黑龙江省哈尔滨市双城区"), &json!("Shuangcheng District, Harbin, Heilongjiang")),
            ("230199", &Value::Null, &Value::Null),
        ]
    );
    site.stop().await;
}

/// The `<figure id="{id}">` of a page, whole.
fn figure<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!(r#"<figure class="picture" id="{id}">"#)).unwrap_or_else(|| panic!("no {id}"));
    let end = page[start..].find("</figure>").unwrap_or_else(|| panic!("{id} unclosed")) + start;
    &page[start..end]
}

/// The project page draws the schedule and the money of a PPP lifecycle,
/// each an inline SVG named by its caption with the same figures in a
/// table, in both languages, directly under the stage bar; the home page
/// and the list draw projects by stage and region and the amounts under
/// way, with the right counts.
#[tokio::test]
async fn pages_draw_the_schedule_the_money_and_the_overview() {
    let mut site = Site::start(ServerLimits::default()).await;
    let lifecycle = ppp_lifecycle(CODE, "pictures");
    site.disclose(lifecycle.requests).await;
    let other = "2024-110105-77-01-000045";
    site.disclose([approval_in(other, "110105", "道路改造工程")]).await;
    let base = site.base.clone();

    for (lang, schedule, money, contract, signed) in [
        ("zh", "工期：计划与实际", "金额（同一比例尺）", "合同 ", "签约合同价"),
        ("en", "Schedule: planned and actual", "Amounts (one scale)", "Contract ", "Signed"),
    ] {
        let page = page(&format!("{base}/projects/{CODE}?lang={lang}")).await;
        let stages = page.find(r#"<ol class="stages""#).expect("the stage bar");
        let pictures = page.find(r#"<div class="pictures">"#).expect("the pictures");
        let figures = page.find(r#"<dl>"#).expect("the amounts list");
        assert!(stages < pictures && pictures < figures, "{lang}: pictures right under the stage bar");
        for (id, caption) in [("schedule", schedule), ("money", money)] {
            let figure = figure(&page, id);
            assert!(figure.contains(&format!(r#"<figcaption id="{id}-caption">{caption}</figcaption>"#)), "{figure}");
            assert!(figure.contains(&format!(r#"<svg role="img" aria-labelledby="{id}-caption""#)), "{figure}");
            assert!(figure.contains(r#"viewBox="0 0 400 "#) && figure.contains(r#"width="100%""#), "{figure}");
            assert!(figure.contains(&format!("<title>{caption}</title>")), "{figure}");
            assert!(figure.contains(r#"<table class="vh"><caption>"#), "{lang} {id}: a text alternative");
            assert!(figure.contains(contract), "{lang} {id}: names the contracts");
        }
        let schedule = figure(&page, "schedule");
        let today = gongkai_domain::clock::beijing();
        let today = chrono::Utc::now().with_timezone(&today).format("%Y-%m-%d").to_string();
        assert!(schedule.contains(&today), "{lang}: today is marked");
        assert!(schedule.contains("2024-03-01"), "{lang}: the tender's business day or the plan");
        let money = figure(&page, "money");
        assert!(money.contains(signed), "{lang}: signed prices");
        let summary = site.store.public().public_project(CODE).await.expect("reads").expect("public");
        let summary = <gongkai_proto::v1::ProjectSummary as prost::Message>::decode(summary.summary.as_slice())
            .expect("a summary");
        assert!(!summary.contract_outcomes.is_empty(), "the lifecycle signs contracts");
        for outcome in &summary.contract_outcomes {
            let exact = gongkai_domain::money::exact(outcome.signed_price_fen);
            assert!(money.contains(&format!("<td>{exact}</td>")), "{lang}: {exact} in the table");
            assert!(money.contains(&outcome.contract_code), "{lang}: {}", outcome.contract_code);
        }
        let investment = gongkai_domain::money::exact(summary.baseline_investment_fen);
        assert!(money.contains(&investment), "{lang}: the approved investment");
    }

    let home = page(&format!("{base}/")).await;
    let by_stage = figure(&home, "by-stage-picture");
    assert!(by_stage.contains("<th scope=\"row\">立项</th><td>1 个</td>"), "{by_stage}");
    assert!(by_stage.contains("<th scope=\"row\">评标</th><td>0 个</td>"), "every stage, empty ones too");
    let by_region = figure(&home, "by-region-picture");
    assert!(by_region.contains("<th scope=\"row\">哈尔滨市</th><td>1 个</td>"), "{by_region}");
    assert!(by_region.contains("<th scope=\"row\">北京市</th><td>1 个</td>"), "{by_region}");
    let amounts = figure(&home, "amounts-picture");
    assert!(amounts.contains("批复总投资，按阶段") && amounts.contains("现合同价合计"), "{amounts}");
    let english = page(&format!("{base}/projects?lang=en")).await;
    let by_stage = figure(&english, "by-stage-picture");
    assert!(by_stage.contains("<th scope=\"row\">Approval</th><td>1 project</td>"), "{by_stage}");
    assert!(figure(&english, "by-region-picture").contains("Beijing"), "regions by name in English");
    site.stop().await;
}

/// The public entries of `code`, decoded, in seq order.
async fn public_entries(store: &Store, code: &str) -> Vec<TimelineEntry> {
    let rows = store.public().public_timeline(code).await.expect("timeline");
    rows.iter().map(|bytes| TimelineEntry::decode(bytes.as_slice()).expect("an entry")).collect()
}

/// The seqs of the entries a page part shows (`<li id="seq-N"`), in order.
fn shown_seqs(part: &str) -> Vec<u64> {
    part.split(r#"<li id="seq-"#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("id ends")].parse().expect("a seq"))
        .collect()
}

/// The correction of `code`'s approval (its event `supersedes`), renaming it.
fn approval_correction(code: &str, supersedes: &str) -> Request {
    let Some(Request::RecordApproval(approval)) = ppp_lifecycle(code, code).requests.into_iter().next() else {
        panic!("the lifecycle starts with its approval");
    };
    let mut fact = approval.fact.expect("a fact");
    fact.project_name = "双城区污水处理及配套管网PPP项目（更正）".into();
    Request::CorrectDisclosure(
        gongkai_proto::v1::Domain::Projects,
        gongkai_proto::v1::CorrectDisclosureRequest {
            request_id: format!("{code}-fix"),
            project_code: code.into(),
            occurred_at: approval.occurred_at,
            fact: Some(gongkai_proto::v1::DisclosureCorrected {
                supersedes_event_id: supersedes.into(),
                reason: "项目名称有误".into(),
                replacement: Some(gongkai_proto::v1::Fact {
                    kind: Some(gongkai_proto::v1::fact::Kind::ProjectApproved(fact)),
                }),
                replacement_occurred_at: None,
            }),
        },
    )
}

/// The timeline of a project with two lots: grouped by lot, the project's
/// own facts first; each group in the order things happened; the
/// correction right after the entry it corrects, marked; each entry saying
/// when it happened and when it was made public, in both languages; long
/// groups folded with every anchor kept; the home page's latest
/// disclosures saying the same and linking to entries that exist.
#[tokio::test]
async fn the_timeline_reads_in_the_order_things_happened_grouped_by_lot() {
    let mut site = Site::start(ServerLimits::default()).await;
    site.disclose(ppp_lifecycle(CODE, "timeline").requests).await;
    let approval = public_entries(&site.store, CODE).await.remove(0);
    site.disclose([approval_correction(CODE, &approval.event_id)]).await;
    let entries = public_entries(&site.store, CODE).await;
    let correction = entries.last().expect("the correction").clone();
    assert_eq!(correction.supersedes_event_id, approval.event_id);

    let project = page(&format!("{}/projects/{CODE}", site.base)).await;
    let timeline =
        project.split(r#"<ol class="timeline""#).nth(1).expect("a timeline").split("</ol>").next().expect("end");
    let mut shown = shown_seqs(timeline);
    assert_eq!(shown.len(), entries.len(), "every entry shown once");
    shown.sort_unstable();
    assert_eq!(shown, entries.iter().map(|e| e.project_seq).collect::<Vec<_>>());

    // Groups: the project, then the tender's lots.
    let groups: Vec<&str> = timeline.split(r#"<li class="group">"#).skip(1).collect();
    let headings: Vec<&str> =
        groups.iter().map(|g| g.split("<h3>").nth(1).expect("heading").split("</h3>").next().expect("end")).collect();
    let tender = &entries.iter().find(|e| !e.tender_code.is_empty()).expect("a tender").tender_code;
    assert_eq!(headings[0], "项目层面：立项、PPP、征地与环评、状态、决算");
    assert!(headings.contains(&format!("招标项目 {tender} · 标段 A1").as_str()), "{headings:?}");
    assert!(headings.contains(&format!("招标项目 {tender} · 标段 B1").as_str()), "{headings:?}");
    // Each group in the order things happened (corrections aside).
    let by_seq = |seq: u64| entries.iter().find(|e| e.project_seq == seq).expect("an entry");
    for group in &groups {
        let happened: Vec<(i64, u64)> = shown_seqs(group)
            .into_iter()
            .map(by_seq)
            .filter(|e| e.supersedes_event_id.is_empty())
            .map(|e| (e.occurred_at.expect("a time").seconds, e.project_seq))
            .collect();
        assert!(happened.windows(2).all(|w| w[0] <= w[1]), "in the order things happened: {happened:?}");
    }
    // The correction right after what it corrects, which is marked.
    let project_group = shown_seqs(groups[0]);
    let at = project_group.iter().position(|seq| *seq == approval.project_seq).expect("the approval");
    assert_eq!(project_group.get(at + 1), Some(&correction.project_seq), "{project_group:?}");
    assert!(groups[0].contains(&format!(r#"<li id="seq-{}" class="superseded">"#, approval.project_seq)));
    assert!(groups[0].contains(&format!(
        r#"<ul class="corrections">
<li id="seq-{}" class="correction">"#,
        correction.project_seq
    )));
    assert!(groups[0].contains("更正内容"), "what changed, beside it");
    // A long group folds its older entries, anchors and all.
    let folded = timeline.split(r#"<li class="older"><details>"#).nth(1).expect("a folded part");
    assert!(!shown_seqs(folded.split("</details>").next().expect("end")).is_empty(), "folded entries keep anchors");
    assert!(project.contains(r#"<details class="more"><summary>"#), "bulky details fold");

    // When it happened and when it was made public.
    let lag = |entry: &TimelineEntry| {
        gongkai_domain::promptness::lag(&entry.occurred_at.expect("time"), &entry.recorded_at.expect("time"))
    };
    let gongkai_domain::promptness::Lag::Later { days } = lag(&approval) else { panic!("made public later") };
    assert!(project.contains(&format!("发生 · {days} 天后公开（登记于 ")), "the approval's delay in days");
    let english = page_en(&format!("{}/projects/{CODE}", site.base)).await;
    assert!(english.contains(&format!("· made public {days} days later (recorded ")), "in English too");
    assert!(english.contains("Tender ") && english.contains(", lot A1</h3>"), "groups in English");

    // Home: the latest disclosures say the same, newest made public first,
    // linking to entries the page shows.
    let home = page(&format!("{}/", site.base)).await;
    let latest = home.split(r#"aria-labelledby="latest">"#).nth(1).expect("latest").split("</ol>").next().expect("end");
    assert!(latest.starts_with(&format!("\n<li><h3><a href=\"/projects/{CODE}#seq-{}\"", correction.project_seq)));
    assert!(latest.contains("天后公开（登记于 <time datetime="), "{latest}");
    for link in latest.split("#seq-").skip(1) {
        let seq: u64 = link[..link.find('"').expect("ends")].parse().expect("a seq");
        assert!(project.contains(&format!(r#"<li id="seq-{seq}""#)), "#seq-{seq} exists on the project page");
    }
    site.stop().await;
}

/// GETs `url` in English, as chosen by the switch.
async fn page_en(url: &str) -> String {
    page(&format!("{url}?lang=en")).await
}

/// Promptness in public: a region's pages at each level, a trading
/// center's, the index, in both languages, counting each disclosure once
/// (a correction is none) and the disclosures the clocks expect and miss;
/// linked from the project and home pages; unknown scopes are 404s.
#[tokio::test]
async fn promptness_pages_count_disclosures_and_what_is_missing() {
    let mut site = Site::start(ServerLimits::default()).await;
    site.disclose(ppp_lifecycle(CODE, "prompt").requests).await;
    let approval = public_entries(&site.store, CODE).await.remove(0);
    site.disclose([approval_correction(CODE, &approval.event_id)]).await;
    // A second project stops at the candidate publicity: its result is missing.
    let second = "2024-230113-77-01-000042";
    let requests = ppp_lifecycle(second, "second").requests;
    let publicity = requests.iter().position(|r| matches!(r, Request::PublicizeCandidates(_))).expect("publicity");
    site.disclose(requests.into_iter().take(publicity + 1)).await;
    let mut disclosures = 0;
    for code in [CODE, second] {
        disclosures +=
            public_entries(&site.store, code).await.iter().filter(|e| e.supersedes_event_id.is_empty()).count();
    }

    for prefix in ["230113", "2301", "23"] {
        let region = page(&format!("{}/regions/{prefix}/promptness", site.base)).await;
        assert!(region.contains("：信息公开及时性</h1>"), "{prefix}");
        assert!(region.contains(&format!(r#"<dd class="count">{disclosures}</dd>"#)), "{prefix}: every fact, once");
        assert!(region.contains(r#"<table class="months""#), "{prefix}: month by month");
        assert!(region.contains("中标候选人公示期满后未见中标结果"), "{prefix}: the missing result");
        assert!(region.contains(&format!(r#"<a href="/projects/{second}">"#)), "{prefix}: links the project");
    }
    let county = page(&format!("{}/regions/230113/promptness", site.base)).await;
    assert!(county.contains("<h1>哈尔滨市双城区：信息公开及时性</h1>"));
    assert!(county.contains(r#"<a href="/regions/2301/promptness">哈尔滨市</a>"#), "links the wider region");
    assert!(!county.contains(r#"<dd class="missing">0</dd>"#), "something is missing");
    let english = page_en(&format!("{}/regions/230113/promptness", site.base)).await;
    assert!(english.contains("<h1>Shuangcheng District, Harbin: promptness of disclosure</h1>"));
    assert!(english.contains("Month by month") && english.contains("No award result after the candidate publicity"));
    assert!(english.contains(r#"href="/regions/2301/promptness?lang=en""#), "links keep the language");
    let center = page(&format!("{}/centers/test/promptness", site.base)).await;
    assert!(center.contains(&format!(r#"<dd class="count">{disclosures}</dd>"#)), "the submitting center's");
    let index = page(&format!("{}/promptness", site.base)).await;
    assert!(index.contains(r#"<a href="/regions/230113/promptness">哈尔滨市双城区</a>"#));
    assert!(index.contains(r#"<a href="/centers/test/promptness">交易中心 test</a>"#));
    let project = page(&format!("{}/projects/{CODE}", site.base)).await;
    assert!(project.contains(r#"<a href="/regions/230113/promptness">哈尔滨市双城区</a>"#));
    assert!(project.contains(r#"<a href="/centers/test/promptness">交易中心 test</a>"#));
    let home = page(&format!("{}/", site.base)).await;
    assert!(home.contains(r#"<a href="/regions/2301/promptness">哈尔滨市</a>"#), "the home page lists regions");
    assert!(home.contains(r#"<a href="/promptness">"#));
    for missing in ["/regions/999999/promptness", "/regions/abc/promptness", "/centers/nobody/promptness"] {
        let (status, _, _) = get(&format!("{}{missing}", site.base), &[]).await;
        assert_eq!(status, 404, "{missing}");
    }
    site.stop().await;
}

/// Appends every event of `store` to its transparency log and signs the
/// grown tree; the signed size.
async fn log_and_sign(store: &Store) -> u64 {
    let log = store.transparency_log();
    let mut writer = gongkai_transparency::Writer::open(&log).await.expect("the log opens");
    while writer.append_next(&log).await.expect("appends") > 0 {}
    let signer = gongkai_tlog::note::Signer::from_seed("gongkai.test/log", &[5; 32]).expect("a key");
    gongkai_transparency::sign(&log, writer.size(), &writer.root(), &signer).await.expect("signs");
    writer.size()
}

/// The verification section: a page whose record waits for a checkpoint is
/// drawn again as soon as the log signs one over it (the page cache follows
/// the log's size), and a page whose record is included names the
/// checkpoint that first included it, so its bytes stay as the log grows,
/// on this site and on any other drawing it afresh.
#[tokio::test]
async fn a_page_names_the_checkpoint_that_includes_its_record_and_stops_waiting_when_one_is_signed() {
    let mut site = Site::start(ServerLimits::default()).await;
    site.disclose(ppp_lifecycle(CODE, "log-a").requests.into_iter().take(3)).await;
    let url = format!("{}/projects/{CODE}", site.base);
    assert!(page(&url).await.contains("本项目最新一条记录尚未纳入公开透明日志的检查点"));

    let size = log_and_sign(&site.store).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let (etag, included) = loop {
        let (status, headers, body) = get(&url, &[]).await;
        assert_eq!(status, 200);
        let body = String::from_utf8(body).expect("UTF-8");
        if !body.contains("尚未纳入") {
            break (text(&headers, &header::ETAG).to_owned(), body);
        }
        assert!(Instant::now() < deadline, "the page still waits for a checkpoint of {size} records");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let expected = format!("是公开透明日志的第 {size} 条，已包含在共 {size} 条记录的日志检查点中：gongkai.test/log 于");
    assert!(included.contains(&expected), "{included}");

    // The log grows by another project and signs a larger tree.
    site.disclose(ppp_lifecycle("2024-230113-77-01-000042", "log-b").requests.into_iter().take(3)).await;
    let grown = log_and_sign(&site.store).await;
    assert!(grown > size);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, headers, body) = get(&url, &[]).await;
    assert_eq!(
        (text(&headers, &header::ETAG), String::from_utf8(body).expect("UTF-8")),
        (etag.as_str(), included.clone())
    );
    // Another site over the same store draws the very same bytes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let other = format!("http://{}/projects/{CODE}", listener.local_addr().expect("address"));
    let server = tokio::spawn(gongkai_site::serve(site.store.public(), listener, std::future::pending()));
    assert_eq!(page(&other).await, included, "a page drawn afresh names the same checkpoint");
    server.abort();
    site.stop().await;
}
