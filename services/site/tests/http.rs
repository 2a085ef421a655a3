//! The site over real sockets: security headers, compression, validators
//! and 304s, the server's connection limits, the Atom feeds as a real
//! feed parser reads them, and regions shown and found by name. Each test serves a fresh SQLite store, filled
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
