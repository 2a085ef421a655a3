//! Amounts, times and code lists in plain Chinese and English.
//!
//! Instants are shown in Beijing time (UTC+08:00); amounts are computed in
//! integer fen and rounded half away from zero to two decimals of the unit
//! shown (亿元/万元/元, billion/million).

use chrono::{Datelike, NaiveDate, Timelike};
use gongkai_domain::clock::{Year, in_beijing, month_abbreviation};
use gongkai_proto::v1::{
    AcceptanceResult, AmendmentKind, AppraisalConclusion, ApprovalKind, CalendarDate, CompensationCategory,
    ComplaintOutcome, EiaDocumentKind, EvaluationMethod, ExpropriationKind, FundingSource, MilestoneKind,
    ObjectionStage, Organization, PaymentKind, PerformanceIssueKind, PppOperatingModel, PppPaymentMechanism,
    ProcurementCategory, ProcurementMethod, ProjectType, QualificationMode, RelocationKind, SocialRiskLevel,
    TenderFailureReason,
};
use prost_types::Timestamp;

/// An amount in Chinese: "1.80亿元", "350.00万元", "12.50元".
pub(crate) fn money_zh(fen: i64) -> String {
    gongkai_domain::money::zh(fen)
}

/// An amount in English: "CNY 1.80 billion", "CNY 3.50 million", "CNY 12.50".
pub(crate) fn money_en(fen: i64) -> String {
    gongkai_domain::money::en(fen)
}

/// A signed change in Chinese: "增加350.00万元", "减少12.00万元". The
/// magnitude is the amount written without its sign, so every i64 has one.
pub(crate) fn change_zh(fen: i64) -> String {
    let magnitude = money_zh(fen);
    if fen < 0 { format!("减少{}", &magnitude[1..]) } else { format!("增加{magnitude}") }
}

/// A signed change in English: "an increase of CNY 3.50 million".
pub(crate) fn change_en(fen: i64) -> String {
    let magnitude = money_en(fen);
    if fen < 0 { format!("a decrease of {}", &magnitude[1..]) } else { format!("an increase of {magnitude}") }
}

/// Basis points as a percentage: 420 → "4.20%".
pub(crate) fn percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}%", bp.unsigned_abs() / 100, bp.unsigned_abs() % 100)
}

/// A day in Chinese: "2024年3月26日".
struct DayZh<D>(D);

impl<D: Datelike> std::fmt::Display for DayZh<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}年{}月{}日", Year(self.0.year()), self.0.month(), self.0.day())
    }
}

/// A day in English: "26 Mar 2024".
struct DayEn<D>(D);

impl<D: Datelike> std::fmt::Display for DayEn<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.0.day(), month_abbreviation(self.0.month()), Year(self.0.year()))
    }
}

/// An instant in Chinese, Beijing time: "2024年3月26日 09:00".
pub(crate) fn instant_zh(ts: Option<&Timestamp>) -> String {
    match ts.and_then(in_beijing) {
        Some(time) => format!("{} {:02}:{:02}", DayZh(time), time.hour(), time.minute()),
        None => "（时间未载明）".to_owned(),
    }
}

/// An instant in English, Beijing time: "26 Mar 2024 09:00".
pub(crate) fn instant_en(ts: Option<&Timestamp>) -> String {
    match ts.and_then(in_beijing) {
        Some(time) => format!("{} {:02}:{:02}", DayEn(time), time.hour(), time.minute()),
        None => "(time not stated)".to_owned(),
    }
}

/// The Beijing calendar day of an instant in Chinese: "2024年3月26日".
pub(crate) fn day_zh(ts: Option<&Timestamp>) -> String {
    ts.and_then(in_beijing).map_or_else(|| "（日期未载明）".to_owned(), |time| DayZh(time).to_string())
}

/// The Beijing calendar day of an instant in English: "26 Mar 2024".
pub(crate) fn day_en(ts: Option<&Timestamp>) -> String {
    ts.and_then(in_beijing).map_or_else(|| "(date not stated)".to_owned(), |time| DayEn(time).to_string())
}

/// A calendar date as a chrono date, when valid.
pub(crate) fn naive(date: &CalendarDate) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(date.year, u32::try_from(date.month).ok()?, u32::try_from(date.day).ok()?)
}

/// A calendar date in Chinese: "2024年5月1日".
pub(crate) fn date_zh(date: Option<&CalendarDate>) -> String {
    match date {
        Some(d) => format!("{}年{}月{}日", d.year, d.month, d.day),
        None => "（日期未载明）".to_owned(),
    }
}

/// A calendar date in English: "1 May 2024".
pub(crate) fn date_en(date: Option<&CalendarDate>) -> String {
    match date.and_then(naive) {
        Some(d) => DayEn(d).to_string(),
        None => match date {
            Some(d) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
            None => "(date not stated)".to_owned(),
        },
    }
}

/// An organization's name, or a placeholder.
pub(crate) fn org_zh(org: Option<&Organization>) -> String {
    org.map(|o| o.name.clone()).filter(|name| !name.is_empty()).unwrap_or_else(|| "（未载明）".to_owned())
}

/// An organization's name, or a placeholder, for English text.
pub(crate) fn org_en(org: Option<&Organization>) -> String {
    org.map(|o| o.name.clone()).filter(|name| !name.is_empty()).unwrap_or_else(|| "(not stated)".to_owned())
}

/// Names joined with "、".
pub(crate) fn names_zh<'a>(orgs: impl IntoIterator<Item = &'a Organization>) -> String {
    orgs.into_iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join("、")
}

/// Names joined with "; ".
pub(crate) fn names_en<'a>(orgs: impl IntoIterator<Item = &'a Organization>) -> String {
    orgs.into_iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join("; ")
}

/// "A1标段", "A1、B1标段", or "全部标段" for none.
pub(crate) fn lots_zh(lot_codes: &[String]) -> String {
    if lot_codes.is_empty() { "全部标段".to_owned() } else { format!("{}标段", lot_codes.join("、")) }
}

/// "lot A1", "lots A1, B1", or "all lots" for none.
pub(crate) fn lots_en(lot_codes: &[String]) -> String {
    match lot_codes {
        [] => "all lots".to_owned(),
        [one] => format!("lot {one}"),
        many => format!("lots {}", many.join(", ")),
    }
}

/// "1 lot", "2 lots", "1 bidder", "4 bidders".
pub(crate) fn count_en(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A Chinese and an English label.
pub(crate) type Label = (&'static str, &'static str);

/// Labels of a code-list value.
pub(crate) trait Labels {
    /// (Chinese, English).
    fn labels(&self) -> Label;
}

macro_rules! labels {
    ($($ty:ident { $($variant:ident => ($zh:literal, $en:literal)),+ $(,)? })+) => {
        $(impl Labels for $ty {
            fn labels(&self) -> Label {
                match self { $($ty::$variant => ($zh, $en)),+ }
            }
        })+
    };
}

labels! {
    ApprovalKind {
        Unspecified => ("立项", "approval"),
        Examination => ("审批", "approval"),
        Ratification => ("核准", "ratification"),
        Filing => ("备案", "filing"),
    }
    ProjectType {
        Unspecified => ("项目", "project"),
        Construction => ("工程建设项目", "construction project"),
        Ppp => ("PPP项目", "PPP project"),
    }
    FundingSource {
        Unspecified => ("未载明", "not stated"),
        CentralBudget => ("中央预算内投资", "central budget"),
        LocalBudget => ("地方财政资金", "local budget"),
        SpecialBonds => ("地方政府专项债券", "special-purpose bonds"),
        GeneralBonds => ("地方政府一般债券", "general bonds"),
        BankLoan => ("银行贷款", "bank loans"),
        SelfRaised => ("企业自筹", "owner's own funds"),
        SocialCapital => ("社会资本", "private capital"),
        Foreign => ("国外贷款/赠款", "foreign loans or grants"),
        Other => ("其他", "other"),
    }
    PppOperatingModel {
        Unspecified => ("未载明", "not stated"),
        Bot => ("BOT（建设—运营—移交）", "BOT"),
        Tot => ("TOT（转让—运营—移交）", "TOT"),
        Rot => ("ROT（改建—运营—移交）", "ROT"),
        Boo => ("BOO（建设—拥有—运营）", "BOO"),
        Boot => ("BOOT（建设—拥有—运营—移交）", "BOOT"),
        Om => ("委托运营（O&M）", "O&M"),
        Mc => ("管理合同（MC）", "management contract"),
        Other => ("其他运作方式", "other model"),
    }
    PppPaymentMechanism {
        Unspecified => ("未载明", "not stated"),
        UserPays => ("使用者付费", "user pays"),
        ViabilityGap => ("可行性缺口补助", "viability-gap funding"),
        GovernmentPays => ("政府付费", "government pays"),
    }
    AppraisalConclusion {
        Unspecified => ("未载明", "not stated"),
        Passed => ("通过", "passed"),
        Failed => ("未通过", "failed"),
    }
    ProcurementMethod {
        Unspecified => ("招标", "tendering"),
        Open => ("公开招标", "open tendering"),
        Invited => ("邀请招标", "invited tendering"),
        CompetitiveNegotiation => ("竞争性谈判", "competitive negotiation"),
        CompetitiveConsultation => ("竞争性磋商", "competitive consultation"),
        SingleSource => ("单一来源采购", "single-source procurement"),
    }
    ProcurementCategory {
        Unspecified => ("工程", "works"),
        Works => ("工程", "works"),
        Goods => ("货物", "goods"),
        Services => ("服务", "services"),
    }
    QualificationMode {
        Unspecified => ("资格审查", "qualification review"),
        Prequalification => ("资格预审", "prequalification"),
        PostQualification => ("资格后审", "post-qualification"),
    }
    AmendmentKind {
        Unspecified => ("澄清/修改", "clarification or modification"),
        Clarification => ("澄清", "clarification"),
        Modification => ("修改", "modification"),
    }
    EvaluationMethod {
        Unspecified => ("未载明", "not stated"),
        Comprehensive => ("综合评估法", "comprehensive evaluation"),
        LowestEvaluatedPrice => ("经评审的最低投标价法", "lowest evaluated price"),
        Other => ("其他方法", "other method"),
    }
    ObjectionStage {
        Unspecified => ("未载明阶段", "stage not stated"),
        Documents => ("针对招标文件/资格预审文件", "about the tender documents"),
        BidOpening => ("针对开标", "about the bid opening"),
        EvaluationResult => ("针对评标结果", "about the evaluation result"),
    }
    ComplaintOutcome {
        Unspecified => ("未载明", "not stated"),
        Dismissed => ("驳回", "dismissed"),
        Upheld => ("投诉成立", "upheld"),
        PartiallyUpheld => ("部分成立", "partially upheld"),
        Withdrawn => ("撤回", "withdrawn"),
    }
    TenderFailureReason {
        Unspecified => ("未载明", "not stated"),
        FewerThanThreeBids => ("投标人少于3个", "fewer than three bids"),
        AllRejected => ("投标均被否决或有效投标不足", "all bids rejected or too few valid bids"),
        Other => ("其他原因", "other reason"),
    }
    MilestoneKind {
        Unspecified => ("履约节点", "milestone"),
        Commencement => ("开工", "commencement"),
        Interim => ("阶段性节点", "interim milestone"),
        WorksCompleted => ("完工", "works completed"),
        OperationStart => ("进入运营期", "start of operation"),
        Handover => ("移交", "handover"),
    }
    PaymentKind {
        Unspecified => ("进度款", "progress payment"),
        Advance => ("预付款", "advance payment"),
        Progress => ("进度款", "progress payment"),
        Settlement => ("结算款", "settlement payment"),
        RetentionRelease => ("质量保证金返还", "retention release"),
        GovernmentPayment => ("政府付费/可行性缺口补助", "government payment"),
    }
    PerformanceIssueKind {
        Unspecified => ("履约问题", "performance issue"),
        Delay => ("工期延误", "delay"),
        Penalty => ("违约金/罚款", "penalty"),
        Dispute => ("合同争议", "dispute"),
        Quality => ("质量问题", "quality issue"),
        Safety => ("安全事故", "safety incident"),
        Other => ("其他问题", "other issue"),
    }
    AcceptanceResult {
        Unspecified => ("未载明", "not stated"),
        Passed => ("合格", "passed"),
        PassedWithRemarks => ("合格（有整改意见）", "passed with remarks"),
        Failed => ("不合格", "failed"),
    }
    ExpropriationKind {
        Unspecified => ("征收", "expropriation"),
        CollectiveLand => ("集体土地征收", "expropriation of collective land"),
        StateLandHouses => ("国有土地上房屋征收", "expropriation of houses on state-owned land"),
    }
    SocialRiskLevel {
        Unspecified => ("未载明", "not stated"),
        Low => ("低风险", "low risk"),
        Medium => ("中风险", "medium risk"),
        High => ("高风险", "high risk"),
    }
    RelocationKind {
        Unspecified => ("搬迁", "relocation"),
        Relocation => ("搬迁", "relocation"),
        Demolition => ("拆除", "demolition"),
    }
    EiaDocumentKind {
        Unspecified => ("环境影响评价文件", "EIA document"),
        Report => ("环境影响报告书", "environmental impact report"),
        ReportForm => ("环境影响报告表", "environmental impact report form"),
        RegistrationForm => ("环境影响登记表", "environmental impact registration form"),
    }
}

impl Labels for CompensationCategory {
    fn labels(&self) -> Label {
        gongkai_domain::state::land::category_words(*self)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Dates and times are written by hand as chrono's format strings
        /// wrote them, over chrono's whole range and beyond it.
        #[test]
        fn instants_read_as_chrono_formats_them(seconds in prop_oneof![
            -8_334_601_228_800i64..8_210_266_876_799,
            -3_000_000_000i64..5_000_000_000,
            any::<i64>(),
        ]) {
            let ts = Timestamp { seconds, nanos: 0 };
            let chrono = |format: &str, placeholder: &str| {
                in_beijing(&ts).map_or_else(|| placeholder.to_owned(), |time| time.format(format).to_string())
            };
            prop_assert_eq!(instant_zh(Some(&ts)), chrono("%Y年%-m月%-d日 %H:%M", "（时间未载明）"));
            prop_assert_eq!(instant_en(Some(&ts)), chrono("%-d %b %Y %H:%M", "(time not stated)"));
            prop_assert_eq!(day_zh(Some(&ts)), chrono("%Y年%-m月%-d日", "（日期未载明）"));
            prop_assert_eq!(day_en(Some(&ts)), chrono("%-d %b %Y", "(date not stated)"));
            if let Some(day) = in_beijing(&ts).map(|time| time.date_naive()) {
                let date = CalendarDate { year: day.year(), month: day.month() as i32, day: day.day() as i32 };
                prop_assert_eq!(date_en(Some(&date)), day.format("%-d %b %Y").to_string());
            }
        }
    }

    #[test]
    fn amounts_read_naturally() {
        assert_eq!(money_zh(18_000_000_000), "1.80亿元");
        assert_eq!(money_zh(350_000_000), "350.00万元");
        assert_eq!(money_zh(1_250), "12.50元");
        assert_eq!(money_zh(-54_000_000), "-54.00万元");
        assert_eq!(money_en(18_000_000_000), "CNY 180.00 million");
        assert_eq!(money_en(480_000_000_000), "CNY 4.80 billion");
        assert_eq!(money_en(123_456_789), "CNY 1.23 million");
        assert_eq!(money_en(9_999_999), "CNY 99,999.99");
        assert_eq!(percent(420), "4.20%");
        assert_eq!(percent(-5), "-0.05%");
    }

    #[test]
    fn instants_are_shown_in_beijing_time() {
        let ts = Timestamp { seconds: 1_709_254_800, nanos: 0 }; // 2024-03-01T01:00:00Z
        assert_eq!(instant_zh(Some(&ts)), "2024年3月1日 09:00");
        assert_eq!(instant_en(Some(&ts)), "1 Mar 2024 09:00");
        assert_eq!(date_en(Some(&CalendarDate { year: 2026, month: 6, day: 30 })), "30 Jun 2026");
    }

    #[test]
    fn every_change_has_a_magnitude() {
        assert_eq!(change_zh(i64::MIN), "减少922,337,203.69亿元");
        assert_eq!(change_en(i64::MIN), "a decrease of CNY 92,233,720.37 billion");
        assert_eq!(change_zh(-350_000_000), "减少350.00万元");
        assert_eq!(change_en(350_000_000), "an increase of CNY 3.50 million");
    }
}
