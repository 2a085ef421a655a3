//! The promptness pages: how promptly a region (`/regions/{code}/promptness`,
//! by GB/T 2260 code prefix) or a trading center
//! (`/centers/{source}/promptness`) makes facts public, and the index of
//! both (`/promptness`).
//!
//! Each page reads its scope's counts, which the projector keeps
//! (`gongkai_store::PromptnessCount`: a few hundred rows whatever the size of
//! the record), and the disclosures the statutory clocks expect that are
//! missing now. Everything is public data defined in
//! [`gongkai_domain::promptness`]: when a fact was made public, its delay,
//! its window ([`gongkai_domain::disclosure`]) and the median; no
//! supervisor's flag is read.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gongkai_domain::disclosure::deadline_of_type;
use gongkai_domain::divisions;
use gongkai_domain::promptness::{bucket_end, median_of_counts, missing_rule, region_prefix, region_prefixes};
use gongkai_proto::v1::TimelineEntry;
use gongkai_store::{PromptnessCount, PromptnessScope};
use prost::Message;

use crate::SiteState;
use crate::chrome::{LangQuery, PageMeta, html, not_found, page_meta};
use crate::home::encode;
use crate::read::unavailable;
use crate::text::{Lang, day, region_short};

/// Missing disclosures listed on a page (all are counted).
const MISSING_LISTED: u32 = 50;
/// Months shown in the table over time, newest first.
const MONTHS_SHOWN: usize = 36;
/// Longest trading-center id taken from a path.
const SOURCE_INPUT: usize = 100;
/// Regions and trading centers the home page lists, each.
pub(crate) const HOME_LISTED: usize = 8;

/// The page of a region's promptness.
pub(crate) fn region_href(prefix: &str, q: &str) -> String {
    format!("/regions/{prefix}/promptness{q}")
}

/// The page of a trading center's promptness.
pub(crate) fn center_href(source: &str, q: &str) -> String {
    format!("/centers/{}/promptness{q}", encode(source))
}

/// A scope's name for people: the region's short name, or the trading
/// center's id.
fn scope_name(lang: Lang, scope: &PromptnessScope) -> String {
    match scope {
        PromptnessScope::Region(prefix) => region_short(lang, prefix),
        PromptnessScope::Source(source) => match lang {
            Lang::Zh => format!("交易中心 {source}"),
            Lang::En => format!("Trading center {source}"),
        },
    }
}

fn scope_href(scope: &PromptnessScope, q: &str) -> String {
    match scope {
        PromptnessScope::Region(prefix) => region_href(prefix, q),
        PromptnessScope::Source(source) => center_href(source, q),
    }
}

/// The links of a project page to the promptness of its region and of the
/// trading centers that submitted its facts: (href, text).
pub(crate) fn project_links(
    lang: Lang,
    region_code: &str,
    entries: &[TimelineEntry],
    q: &str,
) -> Vec<(String, String)> {
    let mut links = Vec::new();
    if let Some(&prefix) = region_prefixes(region_code).last() {
        links.push((region_href(prefix, q), region_short(lang, prefix)));
    }
    let mut sources: Vec<String> = entries
        .iter()
        .filter_map(|entry| EventSource::decode(entry.public_event.as_slice()).ok())
        .map(|event| event.source)
        .filter(|source| !source.is_empty())
        .collect();
    sources.sort();
    sources.dedup();
    links.extend(sources.into_iter().map(|source| {
        let scope = PromptnessScope::Source(source);
        (scope_href(&scope, q), scope_name(lang, &scope))
    }));
    links
}

/// The one field of a `PublicEvent` the links need: decoding only it skips
/// the fact, by far the larger part of every entry.
#[derive(Clone, PartialEq, prost::Message)]
struct EventSource {
    /// `PublicEvent.source`.
    #[prost(string, tag = "3")]
    source: String,
}

/// Counts of one part of a scope's disclosures: how many, how many within
/// their window, and the delay histogram (bucket → count).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tally {
    disclosures: u64,
    within: u64,
    buckets: BTreeMap<i64, u64>,
}

impl Tally {
    fn add(&mut self, count: &PromptnessCount) {
        let disclosures = count.disclosures.max(0) as u64;
        self.disclosures += disclosures;
        self.within += count.within_window.max(0) as u64;
        *self.buckets.entry(count.delay_days).or_default() += disclosures;
    }

    /// The median delay's bucket.
    fn median(&self) -> Option<i64> {
        let counts: Vec<(i64, u64)> = self.buckets.iter().map(|(bucket, n)| (*bucket, *n)).collect();
        median_of_counts(&counts)
    }
}

/// A row of a page's tables: label, disclosures, share within the window,
/// median delay.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TallyRow {
    label: String,
    disclosures: u64,
    share: String,
    median: String,
}

/// Share as a percentage with one decimal, `—` of nothing.
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_owned();
    }
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// A delay bucket in words: `当天`, `3 天`, `8–14 天`, `一年以上`.
fn bucket_text(lang: Lang, bucket: Option<i64>) -> String {
    let Some(bucket) = bucket else { return "—".to_owned() };
    match (bucket, bucket_end(bucket), lang) {
        (0, _, Lang::Zh) => "当天".to_owned(),
        (0, _, Lang::En) => "same day".to_owned(),
        (days, Some(end), Lang::Zh) if end == days => format!("{days} 天"),
        (1, Some(1), Lang::En) => "1 day".to_owned(),
        (days, Some(end), Lang::En) if end == days => format!("{days} days"),
        (days, Some(end), Lang::Zh) => format!("{days}–{end} 天"),
        (days, Some(end), Lang::En) => format!("{days}–{end} days"),
        (_, None, Lang::Zh) => "一年以上".to_owned(),
        (_, None, Lang::En) => "over a year".to_owned(),
    }
}

fn tally_row(lang: Lang, label: String, tally: &Tally) -> TallyRow {
    TallyRow {
        label,
        disclosures: tally.disclosures,
        share: share(tally.within, tally.disclosures),
        median: bucket_text(lang, tally.median()),
    }
}

/// A scope's figures: overall, per month (newest first) and per window.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Figures {
    overall: TallyRow,
    months: Vec<TallyRow>,
    windows: Vec<TallyRow>,
}

fn figures(lang: Lang, counts: &[PromptnessCount]) -> Figures {
    let mut overall = Tally::default();
    let mut months: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut windows: BTreeMap<i64, Tally> = BTreeMap::new();
    for count in counts {
        overall.add(count);
        months.entry(count.month.as_str()).or_default().add(count);
        windows.entry(deadline_of_type(&count.fact_type)).or_default().add(count);
    }
    let window_label = |seconds: i64| {
        let days = seconds / 86_400;
        match lang {
            Lang::Zh => format!("时限 {days} 日的信息"),
            Lang::En => format!("Facts with a {days}-day window"),
        }
    };
    Figures {
        overall: tally_row(lang, lang.pick("全部", "All").to_owned(), &overall),
        months: months
            .iter()
            .rev()
            .take(MONTHS_SHOWN)
            .map(|(month, tally)| tally_row(lang, (*month).to_owned(), tally))
            .collect(),
        windows: windows.iter().map(|(seconds, tally)| tally_row(lang, window_label(*seconds), tally)).collect(),
    }
}

/// One missing disclosure as listed.
#[derive(Debug)]
struct MissingView {
    project_code: String,
    project_name: String,
    what: String,
    subject: String,
    since: String,
    source: String,
}

#[derive(Template)]
#[template(path = "promptness.html")]
struct PromptnessPage {
    page: PageMeta,
    heading: String,
    figures: Figures,
    missing_count: u64,
    missing: Vec<MissingView>,
    /// Wider and narrower regions with counts: (href, name).
    related: Vec<(String, String)>,
}

pub(crate) async fn region_promptness(
    State(state): State<SiteState>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let Some(prefix) = region_prefix(&code).filter(|prefix| divisions::place(prefix).is_some()) else {
        let message = match lang {
            Lang::Zh => format!("没有代码为 {code} 的地区。"),
            Lang::En => format!("No region has the code {code}."),
        };
        return not_found(lang, by_switch, message);
    };
    scope_page(state, PromptnessScope::Region(prefix.to_owned()), lang, by_switch).await
}

pub(crate) async fn center_promptness(
    State(state): State<SiteState>,
    Path(source): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let source: String = source.chars().take(SOURCE_INPUT).collect();
    scope_page(state, PromptnessScope::Source(source), lang, by_switch).await
}

async fn scope_page(state: SiteState, scope: PromptnessScope, lang: Lang, by_switch: bool) -> Response {
    let counts = match state.store.public_promptness(&scope).await {
        Ok(counts) => counts,
        Err(error) => return unavailable(error),
    };
    let now = (state.clock)();
    let (missing_count, missing) = match state.store.public_expected_missing(&scope, now, MISSING_LISTED).await {
        Ok(found) => found,
        Err(error) => return unavailable(error),
    };
    let name = scope_name(lang, &scope);
    if let PromptnessScope::Source(_) = &scope
        && counts.is_empty()
        && missing_count == 0
    {
        let message = match lang {
            Lang::Zh => format!("没有{name}公开的信息。"),
            Lang::En => format!("{name} has disclosed nothing."),
        };
        return not_found(lang, by_switch, message);
    }
    let scopes = match &scope {
        PromptnessScope::Region(_) => match state.store.public_promptness_scopes().await {
            Ok(scopes) => scopes,
            Err(error) => return unavailable(error),
        },
        PromptnessScope::Source(_) => Vec::new(),
    };
    let heading = match lang {
        Lang::Zh => format!("{name}：信息公开及时性"),
        Lang::En => format!("{name}: promptness of disclosure"),
    };
    let path = scope_href(&scope, "");
    let page = page_meta(lang, by_switch, format!("{heading} · 公开 gongkai"), &path);
    let related = match &scope {
        PromptnessScope::Region(prefix) => related_regions(lang, prefix, &scopes, page.q),
        PromptnessScope::Source(_) => Vec::new(),
    };
    let missing = missing
        .into_iter()
        .map(|row| MissingView {
            what: missing_rule(&row.rule)
                .map(|rule| lang.pick(rule.title_zh, rule.title_en).to_owned())
                .unwrap_or_else(|| row.rule.clone()),
            since: day(row.due_at),
            project_code: row.project_code,
            project_name: row.project_name,
            subject: row.subject,
            source: row.source,
        })
        .collect();
    let figures = figures(lang, &counts);
    html(PromptnessPage { page, heading, figures, missing_count, missing, related }, StatusCode::OK, lang)
}

/// The regions above `prefix` and those right below it that have counts.
fn related_regions(lang: Lang, prefix: &str, scopes: &[(PromptnessScope, u64)], q: &str) -> Vec<(String, String)> {
    let mut related: Vec<(String, String)> = [2, 4]
        .into_iter()
        .filter(|len| *len < prefix.len())
        .map(|len| &prefix[..len])
        .map(|wider| (region_href(wider, q), region_short(lang, wider)))
        .collect();
    let below = prefix.len() + 2;
    related.extend(scopes.iter().filter_map(|(scope, _)| match scope {
        PromptnessScope::Region(code) if code.len() == below && code.starts_with(prefix) => {
            Some((region_href(code, q), region_short(lang, code)))
        }
        _ => None,
    }));
    related
}

/// One scope as listed: (href, name, disclosures).
pub(crate) type ScopeLink = (String, String, u64);

/// The regions (province and prefecture level, and counties under
/// `counties`) and the trading centers with counts, most disclosures first.
pub(crate) fn scope_links(
    lang: Lang,
    scopes: &[(PromptnessScope, u64)],
    q: &str,
    region_level: impl Fn(&str) -> bool,
) -> (Vec<ScopeLink>, Vec<ScopeLink>) {
    let (mut regions, mut centers) = (Vec::new(), Vec::new());
    for (scope, count) in scopes {
        let link = (scope_href(scope, q), scope_name(lang, scope), *count);
        match scope {
            PromptnessScope::Region(prefix) if region_level(prefix) => regions.push(link),
            PromptnessScope::Region(_) => {}
            PromptnessScope::Source(_) => centers.push(link),
        }
    }
    for list in [&mut regions, &mut centers] {
        list.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    }
    (regions, centers)
}

#[derive(Template)]
#[template(path = "promptness_index.html")]
struct IndexPage {
    page: PageMeta,
    regions: Vec<ScopeLink>,
    centers: Vec<ScopeLink>,
}

pub(crate) async fn promptness_index(
    State(state): State<SiteState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let scopes = match state.store.public_promptness_scopes().await {
        Ok(scopes) => scopes,
        Err(error) => return unavailable(error),
    };
    let title = lang.pick("信息公开及时性 · 公开 gongkai", "Promptness of disclosure · gongkai");
    let page = page_meta(lang, by_switch, title.to_owned(), "/promptness");
    let (mut regions, centers) = scope_links(lang, &scopes, page.q, |_| true);
    // Listed as the divisions nest: province, its prefectures, their counties.
    regions.sort_by(|a, b| a.0.cmp(&b.0));
    html(IndexPage { page, regions, centers }, StatusCode::OK, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(month: &str, fact_type: &str, delay_days: i64, disclosures: i64, within: i64) -> PromptnessCount {
        PromptnessCount {
            month: month.to_owned(),
            fact_type: fact_type.to_owned(),
            delay_days,
            disclosures,
            within_window: within,
        }
    }

    #[test]
    fn figures_give_shares_and_medians_overall_by_month_and_by_window() {
        let counts = [
            count("2024-03", "gongkai.v1.AwardAnnounced", 0, 3, 3),
            count("2024-03", "gongkai.v1.AwardAnnounced", 8, 1, 0),
            count("2024-04", "gongkai.v1.ContractSigned", 15, 2, 0),
        ];
        let zh = figures(Lang::Zh, &counts);
        assert_eq!(zh.overall.disclosures, 6);
        assert_eq!(zh.overall.share, "50.0%");
        assert_eq!(zh.overall.median, "8–14 天");
        let months: Vec<(&str, &str, &str)> =
            zh.months.iter().map(|m| (m.label.as_str(), m.share.as_str(), m.median.as_str())).collect();
        assert_eq!(months, [("2024-04", "0.0%", "15–30 天"), ("2024-03", "75.0%", "当天")]);
        let windows: Vec<&str> = zh.windows.iter().map(|w| w.label.as_str()).collect();
        assert_eq!(windows, ["时限 3 日的信息", "时限 7 日的信息"]);
        let en = figures(Lang::En, &counts);
        assert_eq!(en.months[1].median, "same day");
        assert_eq!(en.windows[1].label, "Facts with a 7-day window");
        assert_eq!(figures(Lang::En, &[]).overall.share, "—");
    }

    #[test]
    fn buckets_and_shares_read_for_people() {
        assert_eq!(bucket_text(Lang::Zh, Some(3)), "3 天");
        assert_eq!(bucket_text(Lang::En, Some(1)), "1 day");
        assert_eq!(bucket_text(Lang::En, Some(31)), "31–60 days");
        assert_eq!(bucket_text(Lang::Zh, Some(366)), "一年以上");
        assert_eq!(bucket_text(Lang::Zh, None), "—");
        assert_eq!(share(1, 3), "33.3%");
        assert_eq!(share(2, 3), "66.7%");
        assert_eq!(share(u64::MAX, u64::MAX), "100.0%");
    }

    #[test]
    fn a_region_links_its_wider_regions_and_those_right_below() {
        let scopes = [
            (PromptnessScope::Region("23".into()), 5),
            (PromptnessScope::Region("2301".into()), 5),
            (PromptnessScope::Region("230113".into()), 5),
            (PromptnessScope::Source("center-harbin".into()), 5),
        ];
        let links = related_regions(Lang::Zh, "2301", &scopes, "");
        assert_eq!(
            links,
            [
                ("/regions/23/promptness".to_owned(), "黑龙江省".to_owned()),
                ("/regions/230113/promptness".to_owned(), "哈尔滨市双城区".to_owned())
            ]
        );
        assert_eq!(center_href("center a/b", "?lang=en"), "/centers/center%20a%2Fb/promptness?lang=en");
    }

    #[test]
    fn the_links_name_each_source_of_the_public_events_once() {
        use gongkai_proto::v1::{Fact, PublicEvent, fact, public_event};
        let entry = |source: &str| {
            let fact = Fact { kind: Some(fact::Kind::ProjectApproved(Default::default())) };
            let event = PublicEvent {
                source: source.to_owned(),
                subject: "2024-1".to_owned(),
                body: Some(public_event::Body::Fact(fact)),
                ..Default::default()
            };
            TimelineEntry { public_event: event.encode_to_vec(), ..Default::default() }
        };
        let entries = [entry("center-b"), entry("center-a"), entry(""), entry("center-b")];
        let links = project_links(Lang::En, "230113", &entries, "");
        let hrefs: Vec<&str> = links.iter().map(|(href, _)| href.as_str()).collect();
        assert_eq!(hrefs.len(), 3, "{links:?}");
        assert!(hrefs[1].contains("center-a") && hrefs[2].contains("center-b"), "{links:?}");
    }
}
