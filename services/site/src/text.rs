//! Languages, labels and how amounts, times and stages read on the site.

use axum::http::HeaderMap;
use chrono::{DateTime, Datelike, Timelike, Utc};
use gongkai_domain::clock::beijing;
use gongkai_domain::divisions;
use gongkai_domain::vocabulary::{stage_from_label, stage_label, type_from_label, type_label};
use gongkai_proto::v1::{ProjectType, Stage};

/// The language a page is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// Simplified Chinese, the default.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `?lang=` wins; otherwise the best of zh/en in `Accept-Language`
    /// (q-values honoured, ties to Chinese); otherwise Chinese.
    pub(crate) fn negotiate(query: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
        match query {
            Some("en") => return (Lang::En, true),
            Some("zh") => return (Lang::Zh, true),
            _ => {}
        }
        let header = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let (mut zh, mut en) = (-1.0_f32, -1.0_f32);
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q =
                pieces.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            match primary {
                "zh" => zh = zh.max(q),
                "en" => en = en.max(q),
                _ => {}
            }
        }
        (if en > 0.0 && en > zh { Lang::En } else { Lang::Zh }, false)
    }

    /// The `lang` attribute value.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the text of this language.
    pub(crate) fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The lifecycle stages the stage bar shows, in order: (stage, zh, en).
/// The last [`OPERATION_STEPS`] are a PPP project's operation and handover.
const BAR: [(Stage, &str, &str); 9] = [
    (Stage::Approval, "立项", "Approval"),
    (Stage::Tendering, "招标", "Tendering"),
    (Stage::Evaluation, "评标", "Evaluation"),
    (Stage::Award, "中标", "Award"),
    (Stage::Contract, "合同", "Contract"),
    (Stage::Performance, "履约", "Performance"),
    (Stage::Completion, "竣工", "Completion"),
    (Stage::Operation, "运营", "Operation"),
    (Stage::HandedOver, "移交", "Handover"),
];

/// How many steps at the end of [`BAR`] only a project that operates its
/// assets goes through (a PPP project, or any project in operation).
const OPERATION_STEPS: usize = 2;

/// The stages off the bar, which a project may be in all the same.
pub(crate) const OFF_BAR: [Stage; 2] = [Stage::Suspended, Stage::Cancelled];

/// The project types a list may be filtered by, in the order offered.
pub(crate) const PROJECT_TYPES: [ProjectType; 2] = [ProjectType::Ppp, ProjectType::Construction];

/// The keys (stage labels) of the stage bar, in order, operation steps
/// included.
pub(crate) fn bar_keys() -> impl Iterator<Item = &'static str> {
    BAR.iter().map(|(stage, _, _)| stage_label(*stage))
}

/// The keys of one project's stage bar: the operation steps for a PPP
/// project and for a project already in them, not for other projects.
pub(crate) fn project_bar_keys(project_type: &str, stage: &str) -> impl Iterator<Item = &'static str> {
    let operation = &BAR[BAR.len() - OPERATION_STEPS..];
    let operates = type_from_label(project_type) == Some(ProjectType::Ppp)
        || operation.iter().any(|(step, _, _)| stage_label(*step) == stage);
    let steps = if operates { BAR.len() } else { BAR.len() - OPERATION_STEPS };
    BAR[..steps].iter().map(|(stage, _, _)| stage_label(*stage))
}

/// A stage's name, including suspended and cancelled; a key that is no
/// stage's as it is.
pub(crate) fn stage_name(lang: Lang, key: &str) -> String {
    let Some(stage) = stage_from_label(key) else { return key.to_owned() };
    if let Some((_, zh, en)) = BAR.iter().find(|(on_bar, _, _)| *on_bar == stage) {
        return lang.pick(zh, en).to_owned();
    }
    match stage {
        Stage::Suspended => lang.pick("暂停", "Suspended").to_owned(),
        Stage::Cancelled => lang.pick("撤销", "Cancelled").to_owned(),
        _ => key.to_owned(),
    }
}

/// A project type's name; a key that is no type's as it is.
pub(crate) fn type_name(lang: Lang, key: &str) -> String {
    match type_from_label(key) {
        Some(ProjectType::Ppp) => lang.pick("PPP项目", "PPP").to_owned(),
        Some(ProjectType::Construction) => lang.pick("建设项目", "Construction").to_owned(),
        Some(ProjectType::Unspecified) | None => key.to_owned(),
    }
}

/// Whether `key` is a project type a list may be filtered by.
pub(crate) fn is_type_filter(key: &str) -> bool {
    PROJECT_TYPES.iter().any(|project_type| type_label(*project_type) == key)
}

/// A region code as people read it: the division's short name
/// (`哈尔滨市双城区`, `Shuangcheng District, Harbin`), or the code itself when
/// the data set has no such division.
pub(crate) fn region_short(lang: Lang, code: &str) -> String {
    match divisions::place(code) {
        Some(place) => lang.pick(&place.short_zh, &place.short_en).to_owned(),
        None => code.to_owned(),
    }
}

/// A region code with its full name: `黑龙江省哈尔滨市双城区（230113）`,
/// `Shuangcheng District, Harbin, Heilongjiang (230113)`; the code alone
/// when the data set has no such division.
pub(crate) fn region_full(lang: Lang, code: &str) -> String {
    match (divisions::place(code), lang) {
        (Some(place), Lang::Zh) => format!("{}（{code}）", place.full_zh),
        (Some(place), Lang::En) => format!("{} ({code})", place.full_en),
        (None, _) => code.to_owned(),
    }
}

/// The exact amount: `¥270,000,000.00`.
pub(crate) fn yuan_exact(fen: i64) -> String {
    gongkai_domain::money::exact(fen)
}

/// The amount for people: `2.70亿元`, `350.00万元`; `CNY 270.00 million`.
pub(crate) fn yuan_human(lang: Lang, fen: i64) -> String {
    match lang {
        Lang::Zh => gongkai_domain::money::zh(fen),
        Lang::En => gongkai_domain::money::en(fen),
    }
}

/// A time in Beijing time: `2024-03-01 09:00`.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&beijing());
    // Written by hand for the years `%Y` writes unsigned in four digits: a
    // project page has a few dozen of these, and parsing the format string
    // for each cost more than the rest of the line.
    if (0..=9999).contains(&local.year()) {
        return format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute()
        );
    }
    local.format("%Y-%m-%d %H:%M").to_string()
}

/// A date in Beijing time: `2024-03-01`.
pub(crate) fn day(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing()).format("%Y-%m-%d").to_string()
}

/// What is left of a running period: `还剩 2 天` / `2 days left` (days
/// rounded up), or hours when less than a day is left.
pub(crate) fn time_left(lang: Lang, now: DateTime<Utc>, ends_at: DateTime<Utc>) -> String {
    let seconds = (ends_at - now).num_seconds().max(0);
    if seconds >= 86_400 {
        let days = (seconds + 86_399) / 86_400;
        match lang {
            Lang::Zh => format!("还剩 {days} 天"),
            Lang::En if days == 1 => "1 day left".to_owned(),
            Lang::En => format!("{days} days left"),
        }
    } else {
        let hours = ((seconds + 3_599) / 3_600).max(1);
        match lang {
            Lang::Zh => format!("还剩 {hours} 小时"),
            Lang::En if hours == 1 => "1 hour left".to_owned(),
            Lang::En => format!("{hours} hours left"),
        }
    }
}

/// The last instant at which [`time_left`] still reads as it does at `now`
/// (and the clock, ending at `ends_at`, is still running): pages showing it
/// are cached until then.
pub(crate) fn time_left_holds_until(now: DateTime<Utc>, ends_at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = (ends_at - now).num_seconds().max(0);
    // The text depends on whole seconds left; it holds while at least `floor` are.
    let floor = if seconds >= 86_400 {
        let days = (seconds + 86_399) / 86_400;
        ((days - 1) * 86_400 + 1).max(86_400)
    } else {
        let hours = ((seconds + 3_599) / 3_600).max(1);
        if hours == 1 {
            // The last hour reads the same until the clock stops running.
            return ends_at - chrono::Duration::nanoseconds(1);
        }
        (hours - 1) * 3_600 + 1
    };
    ends_at - chrono::Duration::seconds(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_their_format_writes_them() {
        for seconds in [0, -1, 1_709_254_800, 253_402_271_999, 253_402_272_000, -62_167_219_201, -62_135_625_600] {
            let at = DateTime::from_timestamp(seconds, 0).expect("in range");
            let by_format = at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M").to_string();
            assert_eq!(when(at), by_format, "{at}");
        }
        assert_eq!(when(DateTime::from_timestamp(1_709_254_800, 0).expect("in range")), "2024-03-01 09:00");
    }

    #[test]
    fn amounts_read_for_people_and_exactly() {
        assert_eq!(yuan_human(Lang::Zh, 27_000_000_000), "2.70亿元");
        assert_eq!(yuan_exact(27_000_000_000), "¥270,000,000.00");
        assert_eq!(yuan_human(Lang::Zh, 350_000_000), "350.00万元");
        assert_eq!(yuan_human(Lang::Zh, 1_250), "12.50元");
        assert_eq!(yuan_human(Lang::En, 27_000_000_000), "CNY 270.00 million");
        assert_eq!(yuan_exact(-105), "-¥1.05");
    }

    #[test]
    fn language_follows_the_switch_then_accept_language() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &headers).0, Lang::Zh);
        headers.insert("accept-language", "en-US,en;q=0.9,zh-CN;q=0.5".parse().expect("header"));
        assert_eq!(Lang::negotiate(None, &headers).0, Lang::En);
        assert_eq!(Lang::negotiate(Some("zh"), &headers).0, Lang::Zh);
        headers.insert("accept-language", "zh-CN,zh;q=0.9,en;q=0.8".parse().expect("header"));
        assert_eq!(Lang::negotiate(None, &headers).0, Lang::Zh);
        assert_eq!(Lang::negotiate(Some("en"), &headers), (Lang::En, true));
    }

    #[test]
    fn stages_and_types_are_named_by_their_labels() {
        let bar: Vec<&str> = bar_keys().collect();
        let construction = ["approval", "tendering", "evaluation", "award", "contract", "performance", "completion"];
        assert_eq!(bar[..7], construction);
        assert_eq!(bar[7..], ["operation", "handed_over"]);
        assert_eq!(project_bar_keys("construction", "completion").collect::<Vec<_>>(), construction);
        assert_eq!(project_bar_keys("ppp", "approval").collect::<Vec<_>>(), bar);
        assert_eq!(project_bar_keys("construction", "operation").collect::<Vec<_>>(), bar);
        assert_eq!(stage_name(Lang::Zh, "operation"), "运营");
        assert_eq!(stage_name(Lang::En, "handed_over"), "Handover");
        assert_eq!(stage_name(Lang::Zh, "tendering"), "招标");
        assert_eq!(stage_name(Lang::En, "cancelled"), "Cancelled");
        assert_eq!(stage_name(Lang::En, "unspecified"), "unspecified");
        assert_eq!(stage_name(Lang::En, "TENDERING"), "TENDERING");
        assert_eq!(type_name(Lang::Zh, "ppp"), "PPP项目");
        assert_eq!(type_name(Lang::En, "unspecified"), "unspecified");
        assert!(is_type_filter("construction") && !is_type_filter("unspecified"));
    }

    #[test]
    fn regions_read_as_names_or_as_their_code() {
        assert_eq!(region_short(Lang::Zh, "230113"), "哈尔滨市双城区");
        assert_eq!(region_short(Lang::En, "230113"), "Shuangcheng District, Harbin");
        assert_eq!(region_full(Lang::Zh, "230113"), "黑龙江省哈尔滨市双城区（230113）");
        assert_eq!(region_full(Lang::En, "230113"), "Shuangcheng District, Harbin, Heilongjiang (230113)");
        for lang in [Lang::Zh, Lang::En] {
            assert_eq!(region_short(lang, "230199"), "230199");
            assert_eq!(region_full(lang, "<b>"), "<b>");
        }
    }

    #[test]
    fn days_left_round_up() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        assert_eq!(time_left(Lang::Zh, now, now + chrono::Duration::hours(36)), "还剩 2 天");
        assert_eq!(time_left(Lang::En, now, now + chrono::Duration::hours(5)), "5 hours left");
    }

    #[test]
    fn a_clock_text_holds_until_the_instant_it_changes() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        for left in [90_000_i64, 86_400, 86_401, 200_000, 7_200, 7_201, 3_601, 3_600, 5] {
            let ends = now + chrono::Duration::seconds(left) + chrono::Duration::milliseconds(300);
            let until = time_left_holds_until(now, ends);
            assert!(until >= now, "{left}: holds until before now");
            assert_eq!(time_left(Lang::En, until, ends), time_left(Lang::En, now, ends), "{left} s left");
            let after = until + chrono::Duration::nanoseconds(1);
            assert!(
                after >= ends || time_left(Lang::En, after, ends) != time_left(Lang::En, now, ends),
                "{left} s left: the text still holds after {until}"
            );
        }
    }
}
