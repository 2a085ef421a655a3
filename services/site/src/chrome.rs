//! What every HTML page shares: the labels of the page chrome in Chinese and
//! English, the [`PageMeta`] every template starts from (title, language and
//! the language switch), the response around a rendered page (its
//! `Content-Language`, `Vary` and `Cache-Control`), the answer when a
//! template fails, and the 404 page, which also serves every unknown path.

use askama::Template;
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::text::Lang;
use crate::{NO_STORE, PAGE_CACHING, REVALIDATE};

/// Labels of the page chrome in one language.
#[derive(Debug)]
pub(crate) struct Labels {
    pub(crate) skip: &'static str,
    pub(crate) nav: &'static str,
    pub(crate) projects: &'static str,
    pub(crate) feed: &'static str,
    pub(crate) footer: &'static str,
    pub(crate) changes: &'static str,
    pub(crate) home_heading: &'static str,
    pub(crate) lead: &'static str,
    pub(crate) search_label: &'static str,
    pub(crate) search_hint: &'static str,
    pub(crate) search: &'static str,
    pub(crate) by_stage: &'static str,
    pub(crate) latest: &'static str,
    pub(crate) nothing: &'static str,
    pub(crate) filters: &'static str,
    pub(crate) region: &'static str,
    /// The region filter's label: it takes a name or a code.
    pub(crate) region_filter: &'static str,
    pub(crate) stage: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) year: &'static str,
    pub(crate) any: &'static str,
    pub(crate) apply: &'static str,
    pub(crate) name: &'static str,
    pub(crate) code: &'static str,
    pub(crate) updated: &'static str,
    pub(crate) paging: &'static str,
    pub(crate) prev: &'static str,
    pub(crate) next: &'static str,
    pub(crate) owner: &'static str,
    pub(crate) ends: &'static str,
    pub(crate) figures: &'static str,
    pub(crate) land: &'static str,
    pub(crate) outcomes: &'static str,
    /// Column heads of the contract outcome table, in order.
    pub(crate) outcome_columns: [&'static str; 8],
    pub(crate) timeline: &'static str,
    pub(crate) recorded: &'static str,
    pub(crate) superseded_by: &'static str,
    pub(crate) corrects: &'static str,
    pub(crate) what_changed: &'static str,
    pub(crate) field: &'static str,
    pub(crate) before: &'static str,
    pub(crate) after: &'static str,
    pub(crate) parties: &'static str,
    pub(crate) people: &'static str,
    pub(crate) withheld: &'static str,
    pub(crate) verify: &'static str,
    pub(crate) chain_head: &'static str,
    pub(crate) head_seq: &'static str,
    pub(crate) log_checkpoint: &'static str,
    pub(crate) log_key: &'static str,
    pub(crate) open_data: &'static str,
    pub(crate) not_found: &'static str,
    /// Read after a stage already passed (visually hidden).
    pub(crate) done: &'static str,
    /// Between a label and its value.
    pub(crate) sep: &'static str,
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
    search_label: "搜索项目（名称、项目代码或地区）",
    search_hint: "例如：污水处理",
    search: "搜索",
    by_stage: "各阶段项目数",
    latest: "最新公开信息",
    nothing: "暂无公开信息。",
    filters: "筛选项目",
    region: "地区",
    region_filter: "地区（名称或代码）",
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
    land: "征地拆迁与环评",
    outcomes: "合同结果：合同价款变化与工期变化（对签约）",
    outcome_columns: [
        "合同",
        "签约合同价",
        "现合同价（含变更）",
        "结算价款",
        "合同价款变化",
        "约定竣工日期",
        "实际竣工日期",
        "工期变化",
    ],
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
    log_checkpoint: "最新日志检查点",
    log_key: "日志公钥",
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
    search_label: "Search projects (name, project code or region)",
    search_hint: "e.g. 污水处理",
    search: "Search",
    by_stage: "Projects by stage",
    latest: "Latest disclosures",
    nothing: "Nothing disclosed yet.",
    filters: "Filter projects",
    region: "Region",
    region_filter: "Region (name or code)",
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
    land: "Land, resettlement and environment",
    outcomes: "Contract outcomes: price change and time variation (against signing)",
    outcome_columns: [
        "Contract",
        "Signed price",
        "Current price (with variations)",
        "Settled value",
        "Price change",
        "Contract end date",
        "Actual completion",
        "Time variation",
    ],
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
    log_checkpoint: "Latest log checkpoint",
    log_key: "Log public key",
    open_data: "Open data",
    not_found: "Project not found",
    done: " (done)",
    sep: ": ",
};

/// What every page shares.
#[derive(Debug)]
pub(crate) struct PageMeta {
    pub(crate) lang: &'static str,
    pub(crate) is_en: bool,
    pub(crate) title: String,
    pub(crate) t: &'static Labels,
    /// `?lang=en` when English was chosen by the switch, else empty.
    pub(crate) q: &'static str,
    /// `&lang=en` likewise.
    pub(crate) amp: &'static str,
    pub(crate) switch_href: String,
    pub(crate) switch_lang: &'static str,
    pub(crate) switch_label: &'static str,
}

pub(crate) fn page_meta(lang: Lang, by_switch: bool, title: String, path: &str) -> PageMeta {
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
pub(crate) struct LangQuery {
    pub(crate) lang: Option<String>,
}

pub(crate) fn html(page: impl Template, status: StatusCode, lang: Lang) -> Response {
    match page.render() {
        Ok(body) => html_bytes(status, lang, Bytes::from(body), None),
        Err(error) => template_failed(&error),
    }
}

/// A rendered page with the headers every HTML page carries, and its entity
/// tag when already known (else `conditional` computes it).
pub(crate) fn html_bytes(status: StatusCode, lang: Lang, body: Bytes, etag: Option<HeaderValue>) -> Response {
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

pub(crate) fn template_failed(error: &askama::Error) -> Response {
    tracing::error!(error = %error, "Template failed.");
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CACHE_CONTROL, NO_STORE)], "template error").into_response()
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    page: PageMeta,
    message: String,
}

pub(crate) fn not_found(lang: Lang, by_switch: bool, message: String) -> Response {
    let page = page_meta(lang, by_switch, format!("404 · {}", lang.pick(ZH.not_found, EN.not_found)), "/");
    html(NotFoundPage { page, message }, StatusCode::NOT_FOUND, lang)
}

pub(crate) async fn fallback(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    not_found(lang, by_switch, lang.pick("没有这个页面。", "There is no such page.").to_owned())
}
