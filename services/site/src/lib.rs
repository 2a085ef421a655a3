//! The public website (target `site`) and the open-data interfaces.
//!
//! Server-rendered HTML that works without JavaScript, Chinese first
//! (English with `?lang=en` or `Accept-Language`). It reads only the public
//! side of the read model (`gongkai_store::public`); on PostgreSQL it connects
//! as a role that can read nothing else, so a template can never leak
//! embargoed data. The disclosure policy is applied by the projector, never
//! here.
//!
//! | path | what |
//! |---|---|
//! | `/` | search, counts by stage, latest disclosures |
//! | `/projects?q=&region=&stage=&type=&year=&page=` | project list |
//! | `/projects/{code}` | a project's timeline |
//! | `/feed.atom`, `/projects/{code}/feed.atom` | Atom feeds |
//! | `/api/v1/projects/{code}/ocds/{tender}/releases`, `…/records` | OCDS 1.1 packages |
//! | `/api/v1/projects/{code}/oc4ids` | OC4IDS 0.9 project package |
//! | `/api/v1/changes?after=<cursor>` | public change feed (see `gongkai_store::public`) |
//! | `/api/v1/bulk.jsonl` | every public project and timeline, streamed |
//!
//! Every response carries the security headers of `security`; pages,
//! feeds, exports and the bulk download are compressed (gzip, br) and carry
//! validators answered with 304s (`conditional`); the server bounds how long
//! a request head may take, how long a connection may sit silent and how
//! many are open (`server`).
//!
//! | responses | `Cache-Control` | why |
//! |---|---|---|
//! | pages (home, list, project) | `public, max-age=60` | a minute-old page is fine for a reader, and absorbs reload storms |
//! | Atom feeds, OCDS/OC4IDS exports, bulk download | `no-cache` | machines sync from them and must not miss a disclosure; revalidating costs a 304 |
//! | change feed, health | `no-store` | every answer is for one cursor or one moment |
//! | 404 pages | `no-cache` | a project published later shows at once (as in the page cache) |
//! | 503 | `no-store` | |

mod cache;
mod conditional;
pub mod opendata;
mod security;
mod server;
mod text;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use gongkai_proto::v1::{ProjectSummary, TimelineEntry};
use gongkai_store::{ChangeCursor, ProjectFilter, PublicProject, Store, StoreError};
use prost::Message;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

use cache::{CachedPage, PageCache, Variant};
use conditional::Validators;
pub use opendata::{OCID_PREFIX, ocid};
pub use server::ServerLimits;
use text::{
    Lang, STAGES, day, instant, stage_name, time_left, time_left_holds_until, type_name, when, yuan_exact, yuan_human,
};

/// Failures while running the site.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The listener's address could not be read or the server failed.
    #[error("site HTTP server failed")]
    Io(#[from] std::io::Error),
}

/// The site's clock ("公示期还剩 2 天" depends on it); injectable for tests.
pub use gongkai_domain::clock::Clock;

/// Projects per list page.
const PAGE_SIZE: u32 = 20;

/// `Cache-Control` of HTML pages.
const PAGE_CACHING: HeaderValue = HeaderValue::from_static("public, max-age=60");
/// `Cache-Control` where a client must revalidate before reuse.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");
/// `Cache-Control` of answers no cache should keep.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

#[derive(Clone)]
struct SiteState {
    store: Store,
    clock: Clock,
    /// Rendered project pages; see `cache`.
    pages: Arc<PageCache>,
}

impl std::fmt::Debug for SiteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteState").field("store", &self.store).finish_non_exhaustive()
    }
}

/// The site's routes over `store`, on the system clock.
pub fn router(store: Store) -> Router {
    router_with_clock(store, Arc::new(Utc::now))
}

/// The site's routes over `store`, telling time by `clock`.
pub fn router_with_clock(store: Store, clock: Clock) -> Router {
    router_with_cache(store, clock, cache::DEFAULT_CAPACITY_BYTES)
}

/// The site's routes, caching up to `cache_bytes` of rendered project pages.
/// Outside a Tokio runtime nothing follows the change feed, so nothing cached
/// is ever served.
fn router_with_cache(store: Store, clock: Clock, cache_bytes: u64) -> Router {
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
        .route("/feed.atom", get(overall_feed))
        .route("/api/v1/projects/{code}/oc4ids", get(oc4ids))
        .route("/api/v1/projects/{code}/ocds/{tender}/releases", get(ocds_releases))
        .route("/api/v1/projects/{code}/ocds/{tender}/records", get(ocds_records))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/bulk.jsonl", get(bulk))
        .route("/healthz", get(healthz))
        .fallback(fallback)
        .with_state(SiteState { store, clock, pages })
        // Innermost first: validators see the whole uncompressed body, and
        // the security headers go on everything, 304s and errors included.
        .layer(middleware::from_fn_with_state(validators, conditional::middleware))
        .layer(CompressionLayer::new())
        .layer(middleware::map_response(security::headers))
}

/// Serves the site on `listener` until `shutdown` resolves, finishing the
/// requests in flight, within the default [`ServerLimits`].
pub async fn serve<F>(store: Store, listener: TcpListener, shutdown: F) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_with_limits(store, ServerLimits::default(), listener, shutdown).await
}

/// Like [`serve`], within `limits`.
pub async fn serve_with_limits<F>(
    store: Store,
    limits: ServerLimits,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let address: SocketAddr = listener.local_addr()?;
    tracing::info!(
        %address,
        header_read_timeout = ?limits.header_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        max_connections = limits.max_connections,
        "Site listening."
    );
    server::run(router(store), limits, listener, shutdown).await
}

/// Like [`serve`], telling time by `clock` (for tests of running legal clocks).
pub async fn serve_with_clock<F>(
    store: Store,
    clock: Clock,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    server::run(router_with_clock(store, clock), ServerLimits::default(), listener, shutdown).await
}

/// Labels of the page chrome in one language.
#[derive(Debug)]
struct Labels {
    skip: &'static str,
    nav: &'static str,
    projects: &'static str,
    feed: &'static str,
    footer: &'static str,
    changes: &'static str,
    home_heading: &'static str,
    lead: &'static str,
    search_label: &'static str,
    search_hint: &'static str,
    search: &'static str,
    by_stage: &'static str,
    latest: &'static str,
    nothing: &'static str,
    filters: &'static str,
    region: &'static str,
    stage: &'static str,
    kind: &'static str,
    year: &'static str,
    any: &'static str,
    apply: &'static str,
    name: &'static str,
    code: &'static str,
    updated: &'static str,
    paging: &'static str,
    prev: &'static str,
    next: &'static str,
    owner: &'static str,
    ends: &'static str,
    figures: &'static str,
    timeline: &'static str,
    recorded: &'static str,
    superseded_by: &'static str,
    corrects: &'static str,
    what_changed: &'static str,
    field: &'static str,
    before: &'static str,
    after: &'static str,
    parties: &'static str,
    people: &'static str,
    withheld: &'static str,
    verify: &'static str,
    chain_head: &'static str,
    head_seq: &'static str,
    open_data: &'static str,
    not_found: &'static str,
    /// Read after a stage already passed (visually hidden).
    done: &'static str,
    /// Between a label and its value.
    sep: &'static str,
}

const ZH: Labels = Labels {
    skip: "跳到正文",
    nav: "网站导航",
    projects: "项目列表",
    feed: "最新公开信息",
    footer: "重大建设项目和PPP项目全过程信息公开。开放数据",
    changes: "变更流",
    home_heading: "重大建设项目和PPP项目信息公开",
    lead: "从立项到竣工的全过程信息公开：审批、招标公告、评标结果、中标、合同及履约。",
    search_label: "搜索项目（名称或项目代码）",
    search_hint: "例如：污水处理",
    search: "搜索",
    by_stage: "各阶段项目数",
    latest: "最新公开信息",
    nothing: "暂无公开信息。",
    filters: "筛选项目",
    region: "地区代码",
    stage: "阶段",
    kind: "项目类型",
    year: "年份",
    any: "全部",
    apply: "筛选",
    name: "项目名称",
    code: "项目代码",
    updated: "最近更新",
    paging: "翻页",
    prev: "上一页",
    next: "下一页",
    owner: "项目法人",
    ends: "截止于",
    figures: "金额",
    timeline: "全过程时间线",
    recorded: "登记于",
    superseded_by: "本条已被更正，见",
    corrects: "本条更正",
    what_changed: "更正内容",
    field: "字段",
    before: "更正前",
    after: "更正后",
    parties: "相关单位",
    people: "相关人员",
    withheld: "部分信息依法暂不公开。",
    verify: "核验",
    chain_head: "哈希链头",
    head_seq: "记录数",
    open_data: "开放数据",
    not_found: "未找到该项目",
    done: "（已完成）",
    sep: "：",
};

const EN: Labels = Labels {
    skip: "Skip to content",
    nav: "Site navigation",
    projects: "Projects",
    feed: "Latest disclosures",
    footer: "The public record of major construction and PPP projects. Open data",
    changes: "Change feed",
    home_heading: "Major construction and PPP projects, disclosed",
    lead: "From approval to completion: approvals, tender notices, evaluation results, awards, contracts and performance.",
    search_label: "Search projects (name or project code)",
    search_hint: "e.g. 污水处理",
    search: "Search",
    by_stage: "Projects by stage",
    latest: "Latest disclosures",
    nothing: "Nothing disclosed yet.",
    filters: "Filter projects",
    region: "Region code",
    stage: "Stage",
    kind: "Type",
    year: "Year",
    any: "Any",
    apply: "Filter",
    name: "Name",
    code: "Project code",
    updated: "Last update",
    paging: "Pages",
    prev: "Previous page",
    next: "Next page",
    owner: "Owner",
    ends: " ends",
    figures: "Amounts",
    timeline: "Timeline",
    recorded: "recorded",
    superseded_by: "Corrected later, see",
    corrects: "This corrects",
    what_changed: "What changed",
    field: "Field",
    before: "Before",
    after: "After",
    parties: "Parties",
    people: "People",
    withheld: "Some details are withheld by law for now.",
    verify: "Verification",
    chain_head: "Hash chain head",
    head_seq: "records",
    open_data: "Open data",
    not_found: "Project not found",
    done: " (done)",
    sep: ": ",
};

/// What every page shares.
#[derive(Debug)]
struct PageMeta {
    lang: &'static str,
    is_en: bool,
    title: String,
    t: &'static Labels,
    /// `?lang=en` when English was chosen by the switch, else empty.
    q: &'static str,
    /// `&lang=en` likewise.
    amp: &'static str,
    switch_href: String,
    switch_lang: &'static str,
    switch_label: &'static str,
}

fn page_meta(lang: Lang, by_switch: bool, title: String, path: &str) -> PageMeta {
    let explicit_en = lang == Lang::En && by_switch;
    let (switch_lang, switch_label, switch_value) = match lang {
        Lang::Zh => ("en", "English", "en"),
        Lang::En => ("zh-CN", "中文", "zh"),
    };
    PageMeta {
        lang: lang.tag(),
        is_en: lang == Lang::En,
        title,
        t: if lang == Lang::En { &EN } else { &ZH },
        q: if explicit_en { "?lang=en" } else { "" },
        amp: if explicit_en { "&lang=en" } else { "" },
        switch_href: format!("{path}?lang={switch_value}"),
        switch_lang,
        switch_label,
    }
}

#[derive(Debug, Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
}

fn html(page: impl Template, status: StatusCode, lang: Lang) -> Response {
    match page.render() {
        Ok(body) => html_bytes(status, lang, Bytes::from(body), None),
        Err(error) => template_failed(&error),
    }
}

/// A rendered page with the headers every HTML page carries, and its entity
/// tag when already known (else `conditional` computes it).
fn html_bytes(status: StatusCode, lang: Lang, body: Bytes, etag: Option<HeaderValue>) -> Response {
    let caching = if status == StatusCode::OK { PAGE_CACHING } else { REVALIDATE };
    let mut response = (
        status,
        [
            (header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag())),
            (header::VARY, HeaderValue::from_static("Accept-Language")),
            (header::CACHE_CONTROL, caching),
        ],
        Html(body),
    )
        .into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn template_failed(error: &askama::Error) -> Response {
    tracing::error!(error = %error, "Template failed.");
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CACHE_CONTROL, NO_STORE)], "template error").into_response()
}

fn unavailable(error: StoreError) -> Response {
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

fn decode_summary(bytes: &[u8]) -> ProjectSummary {
    ProjectSummary::decode(bytes).unwrap_or_default()
}

#[derive(Debug)]
struct StageCount {
    key: &'static str,
    name: String,
    count: u64,
}

#[derive(Debug)]
struct LatestItem {
    project_code: String,
    project_name: String,
    seq: u64,
    title: String,
    when: String,
    iso: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageMeta,
    stages: Vec<StageCount>,
    latest: Vec<LatestItem>,
}

async fn home(State(state): State<SiteState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let counts = match state.store.public_stage_counts().await {
        Ok(counts) => counts.into_iter().collect::<BTreeMap<_, _>>(),
        Err(error) => return unavailable(error),
    };
    let latest = match state.store.public_latest(20).await {
        Ok(latest) => latest,
        Err(error) => return unavailable(error),
    };
    let mut stages: Vec<StageCount> = STAGES
        .iter()
        .map(|(key, _, _)| StageCount {
            key,
            name: stage_name(lang, key),
            count: counts.get(*key).copied().unwrap_or(0),
        })
        .collect();
    for key in ["suspended", "cancelled"] {
        if let Some(count) = counts.get(key) {
            stages.push(StageCount { key, name: stage_name(lang, key), count: *count });
        }
    }
    let latest = latest
        .iter()
        .filter_map(|d| {
            let entry = TimelineEntry::decode(d.entry.as_slice()).ok()?;
            let at = instant(entry.occurred_at.as_ref());
            Some(LatestItem {
                project_code: d.project_code.clone(),
                project_name: d.project_name.clone(),
                seq: entry.project_seq,
                title: lang.pick(&entry.title_zh, &entry.title_en).to_owned(),
                when: when(at),
                iso: at.to_rfc3339(),
            })
        })
        .collect();
    let title =
        lang.pick("公开 gongkai · 重大建设项目和PPP项目全过程信息公开", "gongkai · public record of major projects");
    let page = page_meta(lang, by_switch, title.to_owned(), "/");
    html(HomePage { page, stages, latest }, StatusCode::OK, lang)
}

#[derive(Debug, Deserialize, Default)]
struct ListQuery {
    lang: Option<String>,
    q: Option<String>,
    region: Option<String>,
    stage: Option<String>,
    #[serde(rename = "type")]
    project_type: Option<String>,
    year: Option<String>,
    page: Option<String>,
}

#[derive(Debug, Default)]
struct FilterEcho {
    q: String,
    region: String,
    year: String,
}

#[derive(Debug)]
struct ListItem {
    code: String,
    name: String,
    stage: String,
    kind: String,
    region: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    page: PageMeta,
    filter: FilterEcho,
    stage_options: Vec<(&'static str, String, bool)>,
    type_options: Vec<(&'static str, String, bool)>,
    projects: Vec<ListItem>,
    total_text: String,
    page_text: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

async fn project_list(State(state): State<SiteState>, Query(q): Query<ListQuery>, headers: HeaderMap) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let stage_keys: Vec<&str> = STAGES.iter().map(|(key, _, _)| *key).chain(["suspended", "cancelled"]).collect();
    let stage = non_empty(&q.stage).filter(|s| stage_keys.contains(&s.as_str()));
    let project_type = non_empty(&q.project_type).filter(|t| t == "ppp" || t == "construction");
    let region = non_empty(&q.region).filter(|r| r.len() <= 6 && r.bytes().all(|b| b.is_ascii_digit()));
    let year = non_empty(&q.year).and_then(|y| y.parse::<u16>().ok()).filter(|y| (1900..=9999).contains(y));
    let text = non_empty(&q.q).map(|t| t.chars().take(100).collect::<String>());
    let page_no = q.page.as_deref().and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).clamp(1, 100_000);
    let filter = ProjectFilter {
        region_prefix: region.clone(),
        stage: stage.clone(),
        project_type: project_type.clone(),
        year,
        text: text.clone(),
    };
    let (rows, total) =
        match state.store.public_projects(&filter, (page_no - 1) * u64::from(PAGE_SIZE), PAGE_SIZE).await {
            Ok(found) => found,
            Err(error) => return unavailable(error),
        };
    let projects = rows
        .iter()
        .map(|p| ListItem {
            code: p.project_code.clone(),
            name: p.name.clone(),
            stage: stage_name(lang, &p.stage),
            kind: type_name(lang, &p.project_type),
            region: p.region_code.clone(),
            updated: day(p.last_event_at),
        })
        .collect();
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let mut params: Vec<String> = Vec::new();
    for (key, value) in [
        ("q", text.clone()),
        ("region", region.clone()),
        ("stage", stage.clone()),
        ("type", project_type.clone()),
        ("year", year.map(|y| y.to_string())),
        ("lang", (by_switch && lang == Lang::En).then(|| "en".to_owned())),
    ] {
        if let Some(value) = value {
            params.push(format!("{key}={}", encode(&value)));
        }
    }
    let href = |n: u64| {
        let mut all = params.clone();
        all.push(format!("page={n}"));
        format!("/projects?{}", all.join("&"))
    };
    let total_text = match lang {
        Lang::Zh => format!("共 {total} 个项目"),
        Lang::En => format!("{total} projects"),
    };
    let page_text = match lang {
        Lang::Zh => format!("第 {page_no} / {pages} 页"),
        Lang::En => format!("Page {page_no} of {pages}"),
    };
    let stage_options = stage_keys.iter().map(|k| (*k, stage_name(lang, k), stage.as_deref() == Some(*k))).collect();
    let type_options =
        ["ppp", "construction"].iter().map(|k| (*k, type_name(lang, k), project_type.as_deref() == Some(*k))).collect();
    let page = ListPage {
        page: page_meta(lang, by_switch, format!("{} · 公开 gongkai", lang.pick("项目列表", "Projects")), "/projects"),
        filter: FilterEcho {
            q: text.unwrap_or_default(),
            region: region.unwrap_or_default(),
            year: year.map(|y| y.to_string()).unwrap_or_default(),
        },
        stage_options,
        type_options,
        projects,
        total_text,
        page_text,
        prev_href: (page_no > 1).then(|| href(page_no - 1)),
        next_href: (page_no < pages).then(|| href(page_no + 1)),
    };
    html(page, StatusCode::OK, lang)
}

#[derive(Debug)]
struct StageStep {
    name: String,
    class: &'static str,
}

#[derive(Debug)]
struct ClockView {
    label: String,
    lot: String,
    when: String,
    iso: String,
    left: String,
}

#[derive(Debug)]
struct EntryView {
    seq: u64,
    title: String,
    summary: String,
    when: String,
    iso: String,
    recorded: String,
    superseded: bool,
    superseded_by: Option<(u64, String)>,
    corrects: Option<(u64, String)>,
    changes: Vec<(String, String, String)>,
    amounts: Vec<(String, String, String)>,
    parties: Vec<String>,
    people: Vec<String>,
    documents: Vec<(String, String, String)>,
    withheld: bool,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    page: PageMeta,
    code: String,
    name: String,
    kind: String,
    region: String,
    owner: String,
    stage_note: String,
    /// Non-empty while the projector cannot render the project's newer
    /// events (it is parked): the page shows its last good timeline and says so.
    updating: String,
    stage_bar: Vec<StageStep>,
    clocks: Vec<ClockView>,
    figures: Vec<(String, String, String)>,
    entries: Vec<EntryView>,
    chain_head: String,
    head_seq: u64,
    tenders: Vec<String>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    page: PageMeta,
    message: String,
}

fn not_found(lang: Lang, by_switch: bool, message: String) -> Response {
    let page = page_meta(lang, by_switch, format!("404 · {}", lang.pick(ZH.not_found, EN.not_found)), "/");
    html(NotFoundPage { page, message }, StatusCode::NOT_FOUND, lang)
}

async fn fallback(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    not_found(lang, by_switch, lang.pick("没有这个页面。", "There is no such page.").to_owned())
}

/// A project's public rows, decoded; `None` when the public has no such project.
async fn load(store: &Store, code: &str) -> Result<Option<(PublicProject, Vec<TimelineEntry>)>, StoreError> {
    let Some(project) = store.public_project(code).await? else {
        return Ok(None);
    };
    let entries = decode_entries(&store.timeline(gongkai_store::View::Public, code).await?);
    Ok(Some((project, entries)))
}

fn role_name(lang: Lang, role: gongkai_proto::v1::PartyRole) -> &'static str {
    use gongkai_proto::v1::PartyRole as R;
    match role {
        R::Owner => lang.pick("项目法人", "owner"),
        R::Tenderee => lang.pick("招标人", "tenderee"),
        R::TenderAgent => lang.pick("招标代理机构", "tender agent"),
        R::Bidder => lang.pick("投标人", "bidder"),
        R::Supplier => lang.pick("中标人", "winner"),
        R::Buyer => lang.pick("采购人", "buyer"),
        R::ApprovingAuthority => lang.pick("审批机关", "approving authority"),
        R::SupervisingAuthority => lang.pick("监督部门", "supervising authority"),
        R::Funder => lang.pick("出资方", "funder"),
        R::Payee => lang.pick("收款方", "payee"),
        R::ConstructionSupervisor => lang.pick("监理单位", "construction supervisor"),
        R::Designer => lang.pick("设计单位", "designer"),
        R::Auditor => lang.pick("审计单位", "auditor"),
        R::ConsortiumMember => lang.pick("联合体成员", "consortium member"),
        R::Objector => lang.pick("异议人", "objector"),
        _ => lang.pick("其他", "other"),
    }
}

/// Legal clocks still running at `now`: the latest clock of each kind per
/// tender and lot (a later amendment moves a deadline), over entries not
/// superseded by a correction.
/// Also returns the last instant at which their text still holds.
fn running_clocks(
    lang: Lang,
    entries: &[TimelineEntry],
    now: DateTime<Utc>,
) -> (Vec<ClockView>, Option<DateTime<Utc>>) {
    let mut latest: BTreeMap<(String, String, String), &gongkai_proto::v1::LegalClock> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.superseded_by_event_id.is_empty()) {
        for clock in &entry.clocks {
            latest.insert((clock.kind.clone(), entry.tender_code.clone(), clock.lot_code.clone()), clock);
        }
    }
    let mut running: Vec<(DateTime<Utc>, ClockView)> = latest
        .values()
        .filter_map(|clock| {
            let ends = instant(clock.ends_at.as_ref());
            (ends > now).then(|| {
                (
                    ends,
                    ClockView {
                        label: lang.pick(&clock.label_zh, &clock.label_en).to_owned(),
                        lot: if clock.lot_code.is_empty() {
                            String::new()
                        } else {
                            format!("{} {}", lang.pick("标段", "lot"), clock.lot_code)
                        },
                        when: when(ends),
                        iso: ends.to_rfc3339(),
                        left: time_left(lang, now, ends),
                    },
                )
            })
        })
        .collect();
    running.sort_by_key(|(ends, _)| *ends);
    let holds_until = running.iter().map(|(ends, _)| time_left_holds_until(now, *ends)).min();
    (running.into_iter().map(|(_, view)| view).collect(), holds_until)
}

async fn project_page(
    State(state): State<SiteState>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let variant = Variant::of(lang, by_switch);
    let now = (state.clock)();
    if let Some(page) = state.pages.get(&code, variant, now) {
        return html_bytes(StatusCode::OK, page.lang, page.body.clone(), Some(page.etag.clone()));
    }
    // Taken before reading, so an eviction during the render is noticed.
    let generation = state.pages.generation();
    let (project, entries) = match load(&state.store, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let message = match lang {
                Lang::Zh => format!("没有项目代码为 {code} 的公开项目。请核对代码，或在项目列表中搜索。"),
                Lang::En => {
                    format!("No public project has the code {code}. Check the code or search the project list.")
                }
            };
            return not_found(lang, by_switch, message);
        }
        Err(error) => return unavailable(error),
    };
    let summary = decode_summary(&project.summary);
    let current = STAGES.iter().position(|(key, _, _)| *key == project.stage);
    let stage_bar = STAGES
        .iter()
        .enumerate()
        .map(|(i, (key, _, _))| StageStep {
            name: stage_name(lang, key),
            class: match current {
                Some(c) if i < c => "done",
                Some(c) if i == c => "current",
                _ => "todo",
            },
        })
        .collect();
    let stage_note = if current.is_none() {
        format!("{}：{}", lang.pick("项目状态", "Project status"), stage_name(lang, &project.stage))
    } else {
        String::new()
    };
    let seq_of: BTreeMap<&str, u64> = entries.iter().map(|e| (e.event_id.as_str(), e.project_seq)).collect();
    let record = |seq: u64| match lang {
        Lang::Zh => format!("第{seq}号记录"),
        Lang::En => format!("record no. {seq}"),
    };
    let views = entries
        .iter()
        .map(|e| {
            let at = instant(e.occurred_at.as_ref());
            EntryView {
                seq: e.project_seq,
                title: lang.pick(&e.title_zh, &e.title_en).to_owned(),
                summary: lang.pick(&e.summary_zh, &e.summary_en).to_owned(),
                when: when(at),
                iso: at.to_rfc3339(),
                recorded: when(instant(e.recorded_at.as_ref())),
                superseded: !e.superseded_by_event_id.is_empty(),
                superseded_by: seq_of.get(e.superseded_by_event_id.as_str()).map(|s| (*s, record(*s))),
                corrects: seq_of.get(e.supersedes_event_id.as_str()).map(|s| (*s, record(*s))),
                changes: e.changes.iter().map(|c| (c.path.clone(), c.before.clone(), c.after.clone())).collect(),
                amounts: e
                    .amounts
                    .iter()
                    .map(|a| {
                        let label = lang.pick(&a.label_zh, &a.label_en);
                        let label = if a.lot_code.is_empty() {
                            label.to_owned()
                        } else {
                            format!("{label}（{} {}）", lang.pick("标段", "lot"), a.lot_code)
                        };
                        (label, yuan_human(lang, a.amount_fen), yuan_exact(a.amount_fen))
                    })
                    .collect(),
                parties: e.parties.iter().map(|o| format!("{}（{}）", o.name, role_name(lang, o.role()))).collect(),
                people: e
                    .people
                    .iter()
                    .map(|p| if p.role.is_empty() { p.name.clone() } else { format!("{}（{}）", p.name, p.role) })
                    .collect(),
                documents: e.documents.iter().map(|d| (d.title.clone(), d.url.clone(), d.sha256.clone())).collect(),
                withheld: e.details_withheld,
            }
        })
        .collect();
    let mut figures = Vec::new();
    let mut figure = |label: (&str, &str), fen: i64| {
        figures.push((lang.pick(label.0, label.1).to_owned(), yuan_human(lang, fen), yuan_exact(fen)));
    };
    if summary.baseline_investment_fen != 0 {
        figure(("批复总投资", "Approved total investment"), summary.baseline_investment_fen);
    }
    if let Some(fen) = summary.current_contract_price_fen {
        figure(("当前合同价", "Current contract value"), fen);
    }
    if let Some(fen) = summary.final_cost_fen {
        figure(("决算总投资", "Final cost"), fen);
    }
    let (clocks, valid_until) = running_clocks(lang, &entries, now);
    let page = ProjectPage {
        page: page_meta(lang, by_switch, format!("{} · 公开 gongkai", project.name), &format!("/projects/{code}")),
        name: project.name.clone(),
        kind: type_name(lang, &project.project_type),
        region: project.region_code.clone(),
        owner: summary.owner.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        stage_note,
        updating: project
            .parked_since
            .map(|_| {
                lang.pick(
                    "本项目时间线正在更新，最新的披露暂未显示；以下为此前已公开的内容。",
                    "This timeline is being updated: the latest disclosures are not shown yet; below is what was public before.",
                )
                .to_owned()
            })
            .unwrap_or_default(),
        stage_bar,
        clocks,
        figures,
        entries: views,
        chain_head: summary.chain_head_hash.clone(),
        head_seq: summary.head_seq,
        tenders: opendata::tender_codes(&entries),
        code,
    };
    let body = match page.render() {
        Ok(body) => Bytes::from(body),
        Err(error) => return template_failed(&error),
    };
    let etag = conditional::body_etag(&body);
    state.pages.insert(
        &page.code,
        variant,
        generation,
        CachedPage { lang, body: body.clone(), etag: etag.clone(), valid_until },
    );
    html_bytes(StatusCode::OK, lang, body, Some(etag))
}

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

async fn oc4ids(State(state): State<SiteState>, Path(code): Path<String>, headers: HeaderMap) -> Response {
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
        opendata::last_change(entries.iter()),
        &summary,
        &project.stage,
        &project.project_type,
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
    let releases = opendata::releases(&summary, &entries, tender);
    let published = opendata::last_change(entries.iter().filter(|e| opendata::in_tender(e, tender)));
    Ok((releases, published))
}

async fn ocds_releases(
    State(state): State<SiteState>,
    Path((code, tender)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match ocds(&state, &code, &tender).await {
        Ok((releases, published)) => {
            let uri = format!("{}/api/v1/projects/{code}/ocds/{tender}/releases", base_url(&headers));
            json_response(&opendata::release_package(&uri, published, releases))
        }
        Err(response) => response,
    }
}

async fn ocds_records(
    State(state): State<SiteState>,
    Path((code, tender)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match ocds(&state, &code, &tender).await {
        Ok((releases, published)) => {
            let uri = format!("{}/api/v1/projects/{code}/ocds/{tender}/records", base_url(&headers));
            json_response(&opendata::record_package(&uri, published, &ocid(&tender), releases))
        }
        Err(response) => response,
    }
}

#[derive(Debug, Deserialize)]
struct ChangesQuery {
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/changes?after=<cursor>&limit=<n>`: public changes in feed
/// order; `next` is the cursor to pass next time (the same when nothing new).
async fn changes(State(state): State<SiteState>, Query(q): Query<ChangesQuery>) -> Response {
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
            let entry = TimelineEntry::decode(r.entry.as_slice()).unwrap_or_default();
            json!({
                "cursor": r.cursor.to_string(),
                "change": r.change,
                "project_code": r.project_code,
                "project_seq": r.project_seq,
                "event_id": r.event_id,
                "fact_type": r.fact_type,
                "recorded_at": r.recorded_at.to_rfc3339(),
                "entry": entry_json(&entry),
            })
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8")),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        json!({ "changes": changes, "next": next.to_string() }).to_string(),
    )
        .into_response()
}

/// A public timeline entry as JSON.
fn entry_json(e: &TimelineEntry) -> serde_json::Value {
    json!({
        "event_id": e.event_id,
        "project_seq": e.project_seq,
        "type": e.r#type,
        "fact_type": e.fact_type,
        "occurred_at": instant(e.occurred_at.as_ref()).to_rfc3339(),
        "recorded_at": instant(e.recorded_at.as_ref()).to_rfc3339(),
        "title_zh": e.title_zh, "title_en": e.title_en,
        "summary_zh": e.summary_zh, "summary_en": e.summary_en,
        "tender_code": e.tender_code,
        "lot_codes": e.lot_codes,
        "amounts": e.amounts.iter().map(|a| json!({"label_zh": a.label_zh, "label_en": a.label_en, "amount_fen": a.amount_fen, "lot_code": a.lot_code})).collect::<Vec<_>>(),
        "parties": e.parties.iter().map(|o| json!({"name": o.name, "unified_social_credit_code": o.unified_social_credit_code, "role": o.role().as_str_name()})).collect::<Vec<_>>(),
        "people": e.people.iter().map(|p| json!({"name": p.name, "role": p.role, "certificate_number": p.certificate_number, "employer": p.employer})).collect::<Vec<_>>(),
        "documents": e.documents.iter().map(|d| json!({"title": d.title, "url": d.url, "sha256": d.sha256})).collect::<Vec<_>>(),
        "supersedes_event_id": e.supersedes_event_id,
        "superseded_by_event_id": e.superseded_by_event_id,
        "changes": e.changes.iter().map(|c| json!({"path": c.path, "before": c.before, "after": c.after})).collect::<Vec<_>>(),
        "details_withheld": e.details_withheld,
    })
}

fn summary_json(p: &PublicProject, s: &ProjectSummary) -> serde_json::Value {
    json!({
        "project_code": p.project_code,
        "name": p.name,
        "region_code": p.region_code,
        "project_type": p.project_type,
        "stage": p.stage,
        "owner": s.owner.as_ref().map(|o| o.name.clone()),
        "baseline_investment_fen": s.baseline_investment_fen,
        "current_contract_price_fen": s.current_contract_price_fen,
        "final_cost_fen": s.final_cost_fen,
        "chain_head_hash": s.chain_head_hash,
        "head_seq": s.head_seq,
        "last_event_at": p.last_event_at.to_rfc3339(),
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
async fn bulk_etag(store: &Store) -> Result<HeaderValue, StoreError> {
    let mut tagger = conditional::Tagger::default();
    // The line format's version: bump it when `summary_json`/`entry_json` change.
    tagger.part(b"bulk.jsonl 1");
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
async fn bulk(State(state): State<SiteState>) -> Response {
    let etag = match bulk_etag(&state.store).await {
        Ok(etag) => etag,
        Err(error) => return unavailable(error),
    };
    let stream = futures_util::stream::unfold(Some(String::new()), move |cursor| {
        let store = state.store.clone();
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
                    by_code.entry(code).or_default().push(entry_json(&entry));
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

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn atom(id: &str, title: &str, self_href: &str, items: &[(String, String, &TimelineEntry)]) -> Response {
    let updated = items.iter().map(|(_, _, e)| instant(e.recorded_at.as_ref())).max().unwrap_or(DateTime::UNIX_EPOCH);
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
            instant(e.recorded_at.as_ref()).to_rfc3339(),
            instant(e.occurred_at.as_ref()).to_rfc3339(),
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

async fn overall_feed(State(state): State<SiteState>) -> Response {
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

async fn project_feed(State(state): State<SiteState>, Path(code): Path<String>) -> Response {
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
