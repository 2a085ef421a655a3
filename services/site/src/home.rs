//! The home page (`/`: search, project counts by stage, the latest
//! disclosures, newest made public first, each saying when it happened and
//! when it was made public, and links to the promptness pages) and the project list (`/projects`), whose query parameters
//! are checked and bounded before they reach the store and echoed back into
//! the filter form and the paging links.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gongkai_domain::clock::utc_or_epoch;
use gongkai_domain::divisions;
use gongkai_domain::promptness::made_public_at;
use gongkai_domain::vocabulary::{stage_label, type_label};
use gongkai_proto::v1::TimelineEntry;
use gongkai_store::ProjectFilter;
use prost::Message;
use serde::Deserialize;

use crate::chrome::{LangQuery, PageMeta, html, page_meta};
use crate::pictures::Picture;
use crate::promptness::{HOME_LISTED, ScopeLink, scope_links};
use crate::read::unavailable;
use crate::text::{
    Lang, OFF_BAR, PROJECT_TYPES, bar_keys, day, is_type_filter, region_full, region_short, stage_name, type_name, when,
};
use crate::timeline::lag_text;
use crate::{SiteState, overview};

/// Projects per list page.
const PAGE_SIZE: u32 = 20;

/// Longest region filter kept, in characters (the longest division name is
/// under 20).
const REGION_INPUT: usize = 40;

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
    /// When it happened.
    when: String,
    iso: String,
    /// When it was made public, and how long after it happened, in words.
    public_when: String,
    public_iso: String,
    lag: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageMeta,
    stages: Vec<StageCount>,
    overview_heading: &'static str,
    /// Projects by stage and by region, and the amounts under way.
    pictures: [Picture; 3],
    latest: Vec<LatestItem>,
    /// The prefectures and trading centers with the most disclosures, for
    /// their promptness pages.
    regions: Vec<ScopeLink>,
    centers: Vec<ScopeLink>,
}

pub(crate) async fn home(State(state): State<SiteState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let totals = match state.overview.totals(&state.store).await {
        Ok(totals) => totals,
        Err(error) => return unavailable(error),
    };
    // Newest made public first (`promptness::made_public_at`: when recorded).
    let latest = match state.store.public_latest(20).await {
        Ok(latest) => latest,
        Err(error) => return unavailable(error),
    };
    let stages: Vec<StageCount> = overview::stage_order(&totals)
        .into_iter()
        .map(|key| StageCount { key, name: stage_name(lang, key), count: totals.count(key).unwrap_or(0) })
        .collect();
    let latest = latest
        .iter()
        .filter_map(|d| {
            let entry = TimelineEntry::decode(d.entry.as_slice()).ok()?;
            let at = utc_or_epoch(entry.occurred_at.as_ref());
            let public_at = utc_or_epoch(made_public_at(&entry).as_ref());
            Some(LatestItem {
                project_code: d.project_code.clone(),
                project_name: d.project_name.clone(),
                seq: entry.project_seq,
                title: lang.pick(&entry.title_zh, &entry.title_en).to_owned(),
                when: when(at),
                iso: at.to_rfc3339(),
                public_when: when(public_at),
                public_iso: public_at.to_rfc3339(),
                lag: lag_text(lang, &entry),
            })
        })
        .collect();
    let title =
        lang.pick("公开 gongkai · 重大建设项目和PPP项目全过程信息公开", "gongkai · public record of major projects");
    let page = page_meta(lang, by_switch, title.to_owned(), "/");
    let pictures =
        [overview::by_stage(lang, &totals), overview::by_region(lang, &totals), overview::amounts(lang, &totals)];
    let overview_heading = overview::heading(lang);
    let (mut regions, mut centers) = scope_links(lang, &totals.scopes, page.q, |prefix| prefix.len() == 4);
    regions.truncate(HOME_LISTED);
    centers.truncate(HOME_LISTED);
    html(HomePage { page, stages, overview_heading, pictures, latest, regions, centers }, StatusCode::OK, lang)
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ListQuery {
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
    /// Which divisions the region filter stands for, or that it names none.
    region_note: String,
    total_text: String,
    page_text: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    overview_heading: &'static str,
    /// All public projects by stage and by region, below the list.
    pictures: [Picture; 2],
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The region filter `input` as code prefixes, and what to tell the reader
/// about it. Up to 6 digits are a code prefix (`2301`); anything else is a
/// name, standing for every division so called (`朝阳区`: Beijing's and
/// Changchun's), or for none.
fn region_filter(lang: Lang, input: &str) -> (Vec<String>, String) {
    if input.len() <= 6 && input.bytes().all(|b| b.is_ascii_digit()) {
        let note = match divisions::place(input) {
            Some(place) => match lang {
                Lang::Zh => format!("地区 {input}：{}", place.full_zh),
                Lang::En => format!("Region {input}: {}", place.full_en),
            },
            None => String::new(),
        };
        return (vec![input.to_owned()], note);
    }
    let prefixes: Vec<String> = divisions::prefixes_named(input).into_iter().map(str::to_owned).collect();
    let note = if prefixes.is_empty() {
        match lang {
            Lang::Zh => format!("没有名为“{input}”的地区。"),
            Lang::En => format!("No region is called “{input}”."),
        }
    } else {
        let names: Vec<String> = prefixes.iter().map(|p| region_full(lang, p)).collect();
        match lang {
            Lang::Zh => format!("地区“{input}”：{}", names.join("、")),
            Lang::En => format!("Region “{input}”: {}", names.join("; ")),
        }
    };
    (prefixes, note)
}

/// Percent-encodes a query value or a path segment (everything but the
/// unreserved characters).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

pub(crate) async fn project_list(
    State(state): State<SiteState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let stage_keys: Vec<&str> = bar_keys().chain(OFF_BAR.map(stage_label)).collect();
    let stage = non_empty(&q.stage).filter(|s| stage_keys.contains(&s.as_str()));
    let project_type = non_empty(&q.project_type).filter(|t| is_type_filter(t));
    let region = non_empty(&q.region).map(|r| r.chars().take(REGION_INPUT).collect::<String>());
    let (region_prefixes, region_note) = match &region {
        Some(input) => {
            let (prefixes, note) = region_filter(lang, input);
            (Some(prefixes), note)
        }
        None => (None, String::new()),
    };
    let year = non_empty(&q.year).and_then(|y| y.parse::<u16>().ok()).filter(|y| (1900..=9999).contains(y));
    let text = non_empty(&q.q).map(|t| t.chars().take(100).collect::<String>());
    let page_no = q.page.as_deref().and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).clamp(1, 100_000);
    // The search box finds projects in the regions it names too.
    let text_regions = text
        .as_deref()
        .map(|t| divisions::prefixes_named(t).into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    let filter = ProjectFilter {
        region_prefixes,
        stage: stage.clone(),
        project_type: project_type.clone(),
        year,
        text: text.clone(),
        text_regions,
    };
    let (rows, total) =
        match state.store.public_projects(&filter, (page_no - 1) * u64::from(PAGE_SIZE), PAGE_SIZE).await {
            Ok(found) => found,
            Err(error) => return unavailable(error),
        };
    let totals = match state.overview.totals(&state.store).await {
        Ok(totals) => totals,
        Err(error) => return unavailable(error),
    };
    let projects = rows
        .iter()
        .map(|p| ListItem {
            code: p.project_code.clone(),
            name: p.name.clone(),
            stage: stage_name(lang, &p.stage),
            kind: type_name(lang, &p.project_type),
            region: region_short(lang, &p.region_code),
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
    let type_options = PROJECT_TYPES
        .map(type_label)
        .into_iter()
        .map(|k| (k, type_name(lang, k), project_type.as_deref() == Some(k)))
        .collect();
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
        region_note,
        total_text,
        page_text,
        prev_href: (page_no > 1).then(|| href(page_no - 1)),
        next_href: (page_no < pages).then(|| href(page_no + 1)),
        overview_heading: overview::heading(lang),
        pictures: [overview::by_stage(lang, &totals), overview::by_region(lang, &totals)],
    };
    html(page, StatusCode::OK, lang)
}
