//! Outcomes on the project page, two measures named apart so that neither
//! reads as the other: each contract against its own signing (合同价款变化,
//! time variation; CoST IDS), shown from signing on and before any final
//! accounts, and the project against its approval (投资节余/超支), once the
//! final accounts are settled.

use gongkai_proto::v1::{CalendarDate, ContractOutcome, ProjectSummary};

use crate::text::{Lang, yuan_exact, yuan_human};

/// One row of the contract outcome table, as text.
#[derive(Debug)]
pub(crate) struct ContractRow {
    pub(crate) code: String,
    pub(crate) signed: String,
    pub(crate) current: String,
    pub(crate) settled: String,
    pub(crate) price_change: String,
    pub(crate) signed_end: String,
    pub(crate) actual_end: String,
    pub(crate) time_variation: String,
}

/// The contract outcome table of `summary`, in contract code order.
pub(crate) fn contract_rows(lang: Lang, summary: &ProjectSummary) -> Vec<ContractRow> {
    summary.contract_outcomes.iter().map(|outcome| contract_row(lang, outcome)).collect()
}

fn contract_row(lang: Lang, outcome: &ContractOutcome) -> ContractRow {
    let pending = || lang.pick("未结算", "not settled").to_owned();
    let not_yet = || lang.pick("未验收", "not accepted").to_owned();
    // Until settled the change is the disclosed variations' (price in force).
    let basis =
        if outcome.settled_value_fen.is_some() { "" } else { lang.pick("（按现合同价）", " (price in force)") };
    ContractRow {
        code: outcome.contract_code.clone(),
        signed: yuan_human(lang, outcome.signed_price_fen),
        current: yuan_human(lang, outcome.current_price_fen),
        settled: outcome.settled_value_fen.map_or_else(pending, |fen| yuan_human(lang, fen)),
        price_change: format!(
            "{}{basis}",
            signed_change(
                lang,
                outcome.price_change_fen,
                (outcome.signed_price_fen > 0).then_some(i64::from(outcome.price_change_bp))
            )
        ),
        signed_end: date(outcome.signed_period.as_ref().and_then(|period| period.end.as_ref())),
        actual_end: outcome.actual_completion_date.as_ref().map_or_else(not_yet, |d| date(Some(d))),
        time_variation: outcome.time_variation_days.map_or_else(String::new, |days| {
            let basis = if outcome.actual_completion_date.is_some() {
                ""
            } else {
                lang.pick("（按现约定）", " (as now agreed)")
            };
            format!("{}{basis}", days_text(lang, i64::from(days)))
        }),
    }
}

/// The project-level rows for the amounts list: the contracts' price change
/// and time variation in total, then 投资节余/超支 and the end date against the
/// approval once the final accounts are settled. (label, value, exact amount
/// or empty.)
pub(crate) fn project_rows(lang: Lang, summary: &ProjectSummary) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    if !summary.contract_outcomes.is_empty() {
        rows.push((
            lang.pick("合同价款变化合计（对签约价）", "Contract price change in total (against signing)").to_owned(),
            signed_change(
                lang,
                summary.contracts_price_change_fen,
                (summary.baseline_contract_price_fen > Some(0)).then_some(i64::from(summary.contracts_price_change_bp)),
            ),
            yuan_exact(summary.contracts_price_change_fen),
        ));
        if let Some(days) = summary.contracts_time_variation_days {
            rows.push((
                lang.pick("工期变化（对合同约定）", "Time variation (against the contracts)").to_owned(),
                days_text(lang, i64::from(days)),
                String::new(),
            ));
        }
    }
    if let Some(variance) = summary.investment_variance_fen {
        let (zh, en) = if variance < 0 {
            ("节余", "saving")
        } else if variance > 0 {
            ("超支", "overrun")
        } else {
            ("持平", "on budget")
        };
        let share = summary.investment_variance_bp.map_or_else(String::new, |bp| format!("（{}）", percent(bp.into())));
        let value = match lang {
            Lang::Zh => format!("{zh} {}{share}", yuan_human(lang, variance.abs())),
            Lang::En => format!("{en} of {}{share}", yuan_human(lang, variance.abs())),
        };
        rows.push((
            lang.pick(
                "投资节余/超支（决算对批复总投资）",
                "Investment saving or overrun (final cost against approval)",
            )
            .to_owned(),
            value,
            yuan_exact(variance),
        ));
    }
    if let Some(days) = summary.end_date_variance_days {
        rows.push((
            lang.pick("完工日期（对批复计划）", "End date (against the approved plan)").to_owned(),
            days_text(lang, i64::from(days)),
            String::new(),
        ));
    }
    rows
}

/// A signed amount with its share: `+350.00万元（+4.00%）`.
fn signed_change(lang: Lang, fen: i64, bp: Option<i64>) -> String {
    let sign = if fen > 0 {
        "+"
    } else if fen < 0 {
        "−"
    } else {
        "±"
    };
    let share = bp.map_or_else(String::new, |bp| format!("（{}）", percent(bp)));
    format!("{sign}{}{share}", yuan_human(lang, fen.abs()))
}

/// Basis points as a signed percentage: 420 → "+4.20%".
fn percent(bp: i64) -> String {
    let sign = if bp > 0 {
        "+"
    } else if bp < 0 {
        "−"
    } else {
        ""
    };
    format!("{sign}{}.{:02}%", bp.unsigned_abs() / 100, bp.unsigned_abs() % 100)
}

/// Days late or early: `晚 30 天` / `30 days late`, `按期` / `on time`.
fn days_text(lang: Lang, days: i64) -> String {
    let magnitude = days.unsigned_abs();
    match (lang, days.signum()) {
        (Lang::Zh, 1) => format!("晚 {magnitude} 天"),
        (Lang::Zh, -1) => format!("早 {magnitude} 天"),
        (Lang::Zh, _) => "按期".to_owned(),
        (Lang::En, 1) => format!("{magnitude} days late"),
        (Lang::En, -1) => format!("{magnitude} days early"),
        (Lang::En, _) => "on time".to_owned(),
    }
}

/// A calendar date as `2024-03-01`, or a dash.
fn date(date: Option<&CalendarDate>) -> String {
    date.map_or_else(|| "—".to_owned(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
}

#[cfg(test)]
mod tests {
    use gongkai_proto::v1::DateRange;

    use super::*;

    fn date_of(year: i32, month: i32, day: i32) -> CalendarDate {
        CalendarDate { year, month, day }
    }

    #[test]
    fn a_contract_reads_against_its_signing_and_says_what_is_not_final_yet() {
        let outcome = ContractOutcome {
            contract_code: "HT-A1".to_owned(),
            signed_price_fen: 10_000_000_000,
            current_price_fen: 10_400_000_000,
            price_change_fen: 400_000_000,
            price_change_bp: 400,
            signed_period: Some(DateRange { start: Some(date_of(2024, 1, 1)), end: Some(date_of(2025, 6, 30)) }),
            time_variation_days: Some(30),
            ..ContractOutcome::default()
        };
        let row = contract_row(Lang::Zh, &outcome);
        assert_eq!(row.settled, "未结算");
        assert_eq!(row.actual_end, "未验收");
        assert!(row.price_change.starts_with('+') && row.price_change.contains("+4.00%"), "{}", row.price_change);
        assert!(row.price_change.ends_with("（按现合同价）"), "{}", row.price_change);
        assert_eq!(row.time_variation, "晚 30 天（按现约定）");
        assert_eq!(row.signed_end, "2025-06-30");

        let settled = ContractOutcome {
            settled_value_fen: Some(9_800_000_000),
            price_change_fen: -200_000_000,
            price_change_bp: -200,
            actual_completion_date: Some(date_of(2025, 6, 20)),
            time_variation_days: Some(-10),
            ..outcome
        };
        let row = contract_row(Lang::En, &settled);
        assert!(row.price_change.starts_with('−') && row.price_change.contains("−2.00%"), "{}", row.price_change);
        assert!(!row.price_change.contains("price in force"));
        assert_eq!(row.time_variation, "10 days early");
        assert_eq!(row.actual_end, "2025-06-20");
    }

    #[test]
    fn the_investment_is_named_saving_or_overrun_and_only_once_settled() {
        let mut summary = ProjectSummary::default();
        assert!(project_rows(Lang::Zh, &summary).is_empty());
        summary.investment_variance_fen = Some(-2_000_000_000);
        summary.investment_variance_bp = Some(-400);
        summary.end_date_variance_days = Some(0);
        let rows = project_rows(Lang::Zh, &summary);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].0.starts_with("投资节余/超支"));
        assert!(rows[0].1.starts_with("节余 ") && rows[0].1.ends_with("（−4.00%）"), "{}", rows[0].1);
        assert_eq!(rows[1].1, "按期");
        summary.investment_variance_fen = Some(5);
        summary.investment_variance_bp = None;
        assert!(project_rows(Lang::En, &summary)[0].1.starts_with("overrun of "));
    }
}
