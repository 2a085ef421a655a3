//! The public website (target `site`) and the open-data interfaces.
//!
//! Server-rendered HTML that works without JavaScript, Chinese first
//! (English with `?lang=en` or `Accept-Language`). It holds only the store's
//! [`PublicReader`], which offers no way to name the full view; on PostgreSQL
//! it also connects as a role that can read nothing else, so a template can
//! never leak embargoed data. The disclosure policy is applied by the projector, never
//! here.
//!
//! | path | what |
//! |---|---|
//! | `/` | search, counts by stage, latest disclosures |
//! | `/projects?q=&region=&stage=&type=&year=&page=` | project list (`region`: a code prefix or a name, see `gongkai_domain::divisions`; `q` also matches region names) |
//! | `/projects/{code}` | a project's timeline |
//! | `/promptness` | every region and trading center with promptness figures |
//! | `/regions/{code}/promptness`, `/centers/{source}/promptness` | how promptly a region (code prefix) or a trading center discloses |
//! | `/feed.atom`, `/projects/{code}/feed.atom` | Atom feeds |
//! | `/api/v1/projects/{code}/ocds/{tender}/releases`, `…/records` | OCDS 1.1 packages |
//! | `/api/v1/projects/{code}/oc4ids` | OC4IDS 0.9 project package |
//! | `/api/v1/changes?after=<cursor>` | public change feed (see [`PublicReader::public_changes_after`]) |
//! | `/api/v1/bulk.jsonl` | every public project and timeline, streamed |
//! | `/assets/fonts/{file}` | the CJK web font's slices and their stylesheet (see `fonts`) |
//!
//! Every response carries the security headers of `security`; pages,
//! feeds, exports and the bulk download are compressed (gzip, br) and carry
//! validators answered with 304s (`conditional`); the server bounds how long
//! a request head may take, how long a connection may sit silent and how
//! many are open (`server`).
//!
//! | responses | `Cache-Control` | why |
//! |---|---|---|
//! | pages (home, list, project, promptness) | `public, max-age=60` | a minute-old page is fine for a reader, and absorbs reload storms |
//! | Atom feeds, OCDS/OC4IDS exports, bulk download | `no-cache` | machines sync from them and must not miss a disclosure; revalidating costs a 304 |
//! | change feed, health | `no-store` | every answer is for one cursor or one moment |
//! | font slices and their stylesheet | `public, max-age=31536000, immutable` | named by their content, so a name never changes meaning |
//! | 404 pages | `no-cache` | a project published later shows at once (as in the page cache) |
//! | 503 | `no-store` | |
//!
//! One module per family of routes: `home` (home page and project list),
//! `project` (the project page, its timeline arranged by `timeline`),
//! `promptness` (the promptness pages), `feeds` (Atom) and `api` (exports,
//! change feed, bulk download); `chrome` holds what every HTML page shares,
//! `pictures` the SVG pictures the pages draw (pure), `overview` the cached
//! totals behind the home page's, and `read` how handlers read the public
//! view. This file keeps the public API,
//! the routes and the `Cache-Control` values of the table above.

mod api;
mod cache;
mod chrome;
mod conditional;
mod feeds;
mod fonts;
mod home;
mod log;
pub mod opendata;
mod outcome;
mod overview;
mod pictures;
mod project;
mod promptness;
mod proof;
mod read;
mod security;
mod server;
mod text;
mod timeline;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Utc;
use gongkai_store::PublicReader;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate as _};

use api::{bulk, changes, oc4ids, ocds_records, ocds_releases};
use cache::PageCache;
use chrome::fallback;
use conditional::Validators;
use feeds::{overall_feed, project_feed};
use home::{home, project_list};
pub use opendata::{InvalidOcidPrefix, OCID_SCHEME, OcidPrefix};
use project::project_page;
pub use server::ServerLimits;

/// Failures while running the site.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The listener's address could not be read or the server failed.
    #[error("site HTTP server failed")]
    Io(#[from] std::io::Error),
}

/// The site's clock ("公示期还剩 2 天" depends on it); injectable for tests.
pub use gongkai_domain::clock::Clock;

/// `Cache-Control` of HTML pages.
const PAGE_CACHING: HeaderValue = HeaderValue::from_static("public, max-age=60");
/// `Cache-Control` where a client must revalidate before reuse.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");
/// `Cache-Control` of answers no cache should keep.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

#[derive(Clone)]
struct SiteState {
    store: PublicReader,
    clock: Clock,
    /// Rendered project pages; see `cache`.
    pages: Arc<PageCache>,
    /// The totals the home page and the list draw; see `overview`.
    overview: Arc<overview::OverviewCache>,
    /// The prefix of the ocids in the exports and feeds.
    ocid_prefix: OcidPrefix,
    /// The transparency log's public key, when this site publishes it.
    log_key: Option<Arc<str>>,
}

/// How a site runs: its server's connection limits and what its open data
/// is published under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteSettings {
    /// How the HTTP server bounds its connections.
    pub limits: ServerLimits,
    /// The deployment's ocid prefix (the default is not registered).
    pub ocid_prefix: OcidPrefix,
    /// The transparency log's public key (`<origin>+<key id>+<key>`), served
    /// at `/log/key`; none when this site does not publish one.
    pub log_key: Option<String>,
}

impl std::fmt::Debug for SiteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteState").field("store", &self.store).finish_non_exhaustive()
    }
}

/// The site's routes over the public reader `store`, on the system clock,
/// publishing under `ocid_prefix`.
pub fn router(store: PublicReader, ocid_prefix: OcidPrefix) -> Router {
    router_with_clock(store, Arc::new(Utc::now), ocid_prefix)
}

/// The site's routes over `store`, telling time by `clock`.
pub fn router_with_clock(store: PublicReader, clock: Clock, ocid_prefix: OcidPrefix) -> Router {
    router_with_cache(store, clock, ocid_prefix, None, cache::DEFAULT_CAPACITY_BYTES)
}

/// The site's routes, caching up to `cache_bytes` of rendered project pages.
/// Outside a Tokio runtime nothing follows the change feed, so nothing cached
/// is ever served.
fn router_with_cache(
    store: PublicReader,
    clock: Clock,
    ocid_prefix: OcidPrefix,
    log_key: Option<String>,
    cache_bytes: u64,
) -> Router {
    let pages = Arc::new(PageCache::new(cache_bytes));
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        // Ends once the router, holding the only strong reference, is dropped.
        runtime.spawn(cache::follow(store.clone(), Arc::downgrade(&pages)));
    }
    let validators = Arc::new(Validators::new(conditional::SEEN_CAPACITY));
    Router::new()
        .route("/", get(home))
        .route("/projects", get(project_list))
        .route("/projects/{code}", get(project_page))
        .route("/projects/{code}/feed.atom", get(project_feed))
        .route("/promptness", get(promptness::promptness_index))
        .route("/regions/{code}/promptness", get(promptness::region_promptness))
        .route("/centers/{source}/promptness", get(promptness::center_promptness))
        .route("/feed.atom", get(overall_feed))
        .route("/api/v1/projects/{code}/oc4ids", get(oc4ids))
        .route("/api/v1/projects/{code}/ocds/{tender}/releases", get(ocds_releases))
        .route("/api/v1/projects/{code}/ocds/{tender}/records", get(ocds_records))
        .route("/api/v1/ocds/extensions/project/{file}", get(api::ocds_extension))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/bulk.jsonl", get(bulk))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/log/key", get(log::key))
        .route("/log/tile/{*path}", get(log::tile))
        .route("/assets/fonts/{file}", get(fonts::asset))
        .route("/healthz", get(healthz))
        .fallback(fallback)
        .with_state(SiteState {
            store,
            clock,
            pages,
            overview: Arc::default(),
            ocid_prefix,
            log_key: log_key.map(Arc::from),
        })
        // Innermost first: validators see the whole uncompressed body, and
        // the security headers go on everything, 304s and errors included.
        .layer(middleware::from_fn_with_state(validators, conditional::middleware))
        // WOFF2 is compressed already.
        .layer(
            CompressionLayer::new().compress_when(DefaultPredicate::new().and(NotForContentType::const_new("font/"))),
        )
        .layer(middleware::map_response(security::headers))
}

/// Serves the site on `listener` until `shutdown` resolves, finishing the
/// requests in flight, with the default [`SiteSettings`].
pub async fn serve<F>(store: PublicReader, listener: TcpListener, shutdown: F) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_with_settings(store, SiteSettings::default(), listener, shutdown).await
}

/// Like [`serve`], with `settings`.
pub async fn serve_with_settings<F>(
    store: PublicReader,
    settings: SiteSettings,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let SiteSettings { limits, ocid_prefix, log_key } = settings;
    let address: SocketAddr = listener.local_addr()?;
    tracing::info!(
        %address,
        header_read_timeout = ?limits.header_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        max_connections = limits.max_connections,
        ocid_prefix = ocid_prefix.as_str(),
        "Site listening."
    );
    if ocid_prefix.as_str() == OcidPrefix::UNREGISTERED_DEFAULT {
        tracing::warn!(
            ocid_prefix = ocid_prefix.as_str(),
            "The OCDS exports use the default ocid prefix, which is not registered: register one with the Open \
             Contracting Partnership and set site.ocid_prefix."
        );
    }
    let router = router_with_cache(store, Arc::new(Utc::now), ocid_prefix, log_key, cache::DEFAULT_CAPACITY_BYTES);
    server::run(router, limits, listener, shutdown).await
}

/// Like [`serve`], telling time by `clock` (for tests of running legal clocks).
pub async fn serve_with_clock<F>(
    store: PublicReader,
    clock: Clock,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let router = router_with_clock(store, clock, OcidPrefix::default());
    server::run(router, ServerLimits::default(), listener, shutdown).await
}

/// Serves any `router` on `listener` within `limits` until `shutdown`
/// resolves, then lets the open connections finish: the site's own server
/// loop (request-head and idle timeouts, a bound on open connections), for
/// gongkai's other HTTP servers (the witness).
pub async fn serve_router<F>(
    router: Router,
    limits: ServerLimits,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    server::run(router, limits, listener, shutdown).await
}

/// Ready when the store answers.
async fn healthz(State(state): State<SiteState>) -> impl IntoResponse {
    let (status, text) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::warn!(error = %error, "Site health check failed.");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    };
    (status, [(header::CACHE_CONTROL, NO_STORE)], text)
}
