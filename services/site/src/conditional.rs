//! Validators (`ETag`, `Last-Modified`) and conditional GETs (`304`).
//!
//! A middleware inside compression tags every successful GET or HEAD whose
//! response is not `no-store`:
//!
//! * **ETag**: a handler may set its own (the page cache keeps each page's;
//!   the bulk download derives one from the data, see `bulk_etag` in the
//!   crate root); otherwise it is the SHA-256 of the body, which is whole in
//!   memory for everything but the bulk download. Tags are *weak*
//!   (`W/"…"`): compression sits outside this layer, so one tag covers the
//!   identity, gzip and br encodings of the same content, which a strong tag
//!   must not (RFC 9110 §8.8.3.3). `If-None-Match` uses the weak comparison
//!   anyway, so a weak tag loses nothing here (the site serves no ranges).
//! * **Last-Modified**: the public tables do not record when a project's
//!   public view last changed. `last_event_at` is business time, a public
//!   entry's `recorded_at` misses events that change a page without a
//!   public entry of their own (the page shows the head sequence number and
//!   chain head of *all* events) and embargoes lifted later, and none of
//!   them covers a clock text ("还剩 2 天") or a new template. Any of them
//!   would answer `If-Modified-Since` with a 304 for a page that did change.
//!   So `Last-Modified` is when this process first served the current tag at
//!   that URL (and language): never earlier than the change itself. A new
//!   tag at a URL always gets a later second than the tag before it there;
//!   while that second is still in the future, no `Last-Modified` is sent
//!   (RFC 9110 §8.8.2.1), so two versions within one second cannot share a
//!   date. The record is bounded ([`SEEN_CAPACITY`] URLs); a URL that drops
//!   out starts again at the current second, which is conservative.
//!   Replicas each keep their own, so a client switching between them may
//!   get a 200 where a 304 would do, which is harmless.
//!
//! Preconditions follow RFC 9110 §13.2.2: `If-None-Match` (weak comparison,
//! `*` matches any current representation) decides when present, otherwise
//! `If-Modified-Since` (a valid HTTP-date not in the future) does. A match
//! is a `304` with no body, carrying the validators, `Cache-Control` and
//! `Vary` the 200 would have had. `If-Match` and `If-Unmodified-Since` guard
//! writes, and the site takes none: they are ignored.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use moka::ops::compute::Op;
use sha2::{Digest, Sha256};

/// How many URL variants' first-served times are kept.
pub(crate) const SEEN_CAPACITY: u64 = 10_000;

/// Builds a weak entity tag from parts (length-prefixed, so boundaries
/// count): the first 128 bits of their SHA-256, in hex.
#[derive(Debug, Default)]
pub(crate) struct Tagger(Sha256);

impl Tagger {
    pub(crate) fn part(&mut self, part: &[u8]) -> &mut Self {
        self.0.update((part.len() as u64).to_be_bytes());
        self.0.update(part);
        self
    }

    pub(crate) fn finish(self) -> HeaderValue {
        let digest = self.0.finalize();
        HeaderValue::from_str(&format!("W/\"{}\"", hex::encode(&digest[..16]))).expect("hex is a header value")
    }
}

/// The entity tag of a whole body.
pub(crate) fn body_etag(body: &[u8]) -> HeaderValue {
    let mut tagger = Tagger::default();
    tagger.part(body);
    tagger.finish()
}

/// A representation as last seen at one URL variant.
#[derive(Debug, Clone)]
struct Seen {
    etag: HeaderValue,
    /// Whole seconds since the Unix epoch.
    last_modified: u64,
}

/// A URL (path and query) and the language of its response.
type Key = (Box<str>, Option<HeaderValue>);

/// When each URL variant's current representation was first served.
pub(crate) struct Validators {
    seen: moka::sync::Cache<Key, Seen>,
}

impl std::fmt::Debug for Validators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validators").field("entries", &self.seen.entry_count()).finish()
    }
}

impl Validators {
    pub(crate) fn new(capacity: u64) -> Validators {
        Validators { seen: moka::sync::Cache::new(capacity) }
    }

    /// The `Last-Modified` second of representation `etag` at `key`, served
    /// at `now` (seconds); `None` while it would lie in the future.
    fn last_modified(&self, key: Key, etag: &HeaderValue, now: u64) -> Option<u64> {
        let result = self.seen.entry(key).and_compute_with(|current| match current.map(|entry| entry.into_value()) {
            Some(seen) if seen.etag == *etag => Op::Nop,
            Some(before) => {
                Op::Put(Seen { etag: etag.clone(), last_modified: now.max(before.last_modified.saturating_add(1)) })
            }
            None => Op::Put(Seen { etag: etag.clone(), last_modified: now }),
        });
        let seen = result.into_entry()?.into_value();
        (seen.last_modified <= now).then_some(seen.last_modified)
    }
}

/// Seconds since the Unix epoch, rounded down.
fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `If-None-Match` as received.
#[derive(Debug, PartialEq, Eq)]
enum IfNoneMatch {
    /// `*`: any current representation.
    Any,
    /// The opaque tags (quoted, without `W/`).
    Tags(Vec<String>),
}

/// Parses every `If-None-Match` field: `*`, or entity tags separated by
/// commas (which may also occur inside a tag's quotes).
fn if_none_match(headers: &HeaderMap) -> Option<IfNoneMatch> {
    let mut tags = Vec::new();
    let mut present = false;
    for value in headers.get_all(header::IF_NONE_MATCH) {
        present = true;
        let Ok(mut rest) = value.to_str() else { continue };
        // `*` stands alone (`If-None-Match = "*" / #entity-tag`).
        if rest.trim() == "*" {
            return Some(IfNoneMatch::Any);
        }
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let unprefixed = rest.strip_prefix("W/").unwrap_or(rest);
            let Some(quoted) = unprefixed.strip_prefix('"') else { break };
            let Some(end) = quoted.find('"') else { break };
            tags.push(format!("\"{}\"", &quoted[..end]));
            rest = &quoted[end + 1..];
        }
    }
    present.then_some(IfNoneMatch::Tags(tags))
}

/// The opaque part of an entity tag (`"…"`, without `W/`).
fn opaque(etag: &HeaderValue) -> &str {
    let text = etag.to_str().unwrap_or_default();
    text.strip_prefix("W/").unwrap_or(text)
}

/// Whether the client's copy is current (RFC 9110 §13.2.2, steps 3 and 4).
fn not_modified(request: &HeaderMap, etag: &HeaderValue, last_modified: Option<u64>, now: u64) -> bool {
    match if_none_match(request) {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Tags(tags)) => tags.iter().any(|tag| tag == opaque(etag)),
        None => {
            let since = request
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| httpdate::parse_http_date(text).ok())
                .map(unix_seconds);
            matches!((since, last_modified), (Some(since), Some(modified)) if since <= now && modified <= since)
        }
    }
}

/// The headers a 304 repeats from the 200 it stands for.
const KEPT_BY_304: [header::HeaderName; 6] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::ETAG,
    header::EXPIRES,
    header::LAST_MODIFIED,
    header::VARY,
];

fn is_no_store(headers: &HeaderMap) -> bool {
    headers.get_all(header::CACHE_CONTROL).iter().any(|v| v.to_str().is_ok_and(|v| v.contains("no-store")))
}

fn varies_by_encoding(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|name| name.trim().eq_ignore_ascii_case("accept-encoding"))))
}

/// The middleware: tags successful GETs and answers current copies with 304.
pub(crate) async fn middleware(State(validators): State<Arc<Validators>>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    let url: Box<str> = request.uri().path_and_query().map_or("/", |p| p.as_str()).into();
    let mut conditions = HeaderMap::new();
    for name in [header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE] {
        for value in request.headers().get_all(&name) {
            conditions.append(name.clone(), value.clone());
        }
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || is_no_store(response.headers()) {
        return response;
    }
    let (mut parts, mut body) = response.into_parts();
    let etag = match parts.headers.get(header::ETAG) {
        Some(etag) => etag.clone(),
        // A streamed body without a tag of its own stays untagged.
        None if http_body_exact(&body).is_none() => return Response::from_parts(parts, body),
        None => {
            let bytes: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::error!(error = %error, "Site response body failed.");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            };
            let etag = body_etag(&bytes);
            parts.headers.insert(header::ETAG, etag.clone());
            body = Body::from(bytes);
            etag
        }
    };
    // Compression (outside) varies the bytes by Accept-Encoding; say so on
    // the 304 too, and the compression layer will not add it twice.
    if !varies_by_encoding(&parts.headers) {
        parts.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let now = unix_seconds(SystemTime::now());
    let key = (url, parts.headers.get(header::CONTENT_LANGUAGE).cloned());
    let last_modified = validators.last_modified(key, &etag, now);
    if let Some(seconds) = last_modified {
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(seconds));
        parts.headers.insert(header::LAST_MODIFIED, HeaderValue::from_str(&date).expect("an HTTP-date is ASCII"));
    }
    if not_modified(&conditions, &etag, last_modified, now) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        for name in KEPT_BY_304 {
            for value in parts.headers.get_all(&name) {
                response.headers_mut().append(name.clone(), value.clone());
            }
        }
        return response;
    }
    Response::from_parts(parts, body)
}

/// The exact length of `body`, when known before reading it.
fn http_body_exact(body: &Body) -> Option<u64> {
    axum::body::HttpBody::size_hint(body).exact()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name, HeaderValue::from_str(value).expect("value"));
        }
        headers
    }

    #[test]
    fn if_none_match_lists_parse_like_rfc_9110() {
        let parsed =
            if_none_match(&request(&[(header::IF_NONE_MATCH, r#"W/"a", "b,c""#), (header::IF_NONE_MATCH, r#" "d" "#)]));
        assert_eq!(parsed, Some(IfNoneMatch::Tags(vec![r#""a""#.into(), r#""b,c""#.into(), r#""d""#.into()])));
        assert_eq!(if_none_match(&request(&[(header::IF_NONE_MATCH, "*")])), Some(IfNoneMatch::Any));
        assert_eq!(if_none_match(&request(&[])), None);
        assert_eq!(if_none_match(&request(&[(header::IF_NONE_MATCH, "garbage")])), Some(IfNoneMatch::Tags(vec![])));
    }

    #[test]
    fn if_none_match_compares_weakly_and_wins_over_if_modified_since() {
        let etag = body_etag(b"page");
        let strong = opaque(&etag).to_owned();
        let now = 2_000_000_000;
        let long_ago = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1));
        let later = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(now));
        assert!(not_modified(&request(&[(header::IF_NONE_MATCH, &strong)]), &etag, None, now));
        assert!(not_modified(&request(&[(header::IF_NONE_MATCH, etag.to_str().unwrap())]), &etag, None, now));
        let other = request(&[(header::IF_NONE_MATCH, r#""other""#), (header::IF_MODIFIED_SINCE, &later)]);
        assert!(!not_modified(&other, &etag, Some(now), now), "If-Modified-Since is ignored beside If-None-Match");
        assert!(not_modified(&request(&[(header::IF_MODIFIED_SINCE, &later)]), &etag, Some(now), now));
        assert!(!not_modified(&request(&[(header::IF_MODIFIED_SINCE, &long_ago)]), &etag, Some(now), now));
        assert!(!not_modified(&request(&[(header::IF_MODIFIED_SINCE, &later)]), &etag, None, now), "no date sent");
        assert!(!not_modified(&request(&[(header::IF_MODIFIED_SINCE, "yesterday")]), &etag, Some(1), now));
        let future = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(now + 10));
        assert!(!not_modified(&request(&[(header::IF_MODIFIED_SINCE, &future)]), &etag, Some(now), now));
    }

    #[test]
    fn a_new_tag_at_a_url_gets_a_later_second_never_one_in_the_future() {
        let validators = Validators::new(100);
        let key = || ("/projects/x".into(), Some(HeaderValue::from_static("zh-CN")));
        let (v1, v2, v3) = (body_etag(b"1"), body_etag(b"2"), body_etag(b"3"));
        assert_eq!(validators.last_modified(key(), &v1, 100), Some(100));
        assert_eq!(validators.last_modified(key(), &v1, 105), Some(100), "unchanged content keeps its date");
        assert_eq!(validators.last_modified(key(), &v2, 105), Some(105));
        assert_eq!(
            validators.last_modified(key(), &v3, 105),
            None,
            "a second change within the second has no date yet"
        );
        assert_eq!(validators.last_modified(key(), &v3, 106), Some(106));
        let english = ("/projects/x".into(), Some(HeaderValue::from_static("en")));
        assert_eq!(validators.last_modified(english, &v1, 107), Some(107), "each language is its own variant");
    }

    #[test]
    fn tags_are_weak_and_tell_contents_apart() {
        assert!(body_etag(b"a").to_str().unwrap().starts_with("W/\""));
        assert_ne!(body_etag(b"a"), body_etag(b"b"));
        let tag = |a: &[u8], b: &[u8]| {
            let mut tagger = Tagger::default();
            tagger.part(a).part(b);
            tagger.finish()
        };
        assert_ne!(tag(b"ab", b"c"), tag(b"a", b"bc"), "boundaries count");
    }
}
