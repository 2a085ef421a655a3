//! The overview of all public projects that the home page and the project
//! list draw: projects by stage, by region (prefecture) and the amounts
//! under way. Read with two group-bys over the public projects' small
//! columns (`PublicReader::public_stage_totals`, `public_region_counts`)
//! and kept for [`FRESH_FOR`], one read at a time, so that a burst of home
//! pages costs the store two queries, not two per page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gongkai_domain::divisions;
use gongkai_domain::vocabulary::stage_label;
use gongkai_store::{PromptnessScope, PublicReader, RegionLevel, StageTotals, StoreError};
use tokio::sync::Mutex;

use crate::pictures::{BarRow, Fill, Picture, Scale, bar_chart};
use crate::text::{Lang, OFF_BAR, bar_keys, region_short, stage_name, yuan_human};

/// How long the totals are reused: well under the pages' `max-age`.
const FRESH_FOR: Duration = Duration::from_secs(15);
/// Regions drawn by name; the rest are one bar.
const TOP_REGIONS: u32 = 8;
/// The stages whose contracts are under way.
const UNDER_WAY: [&str; 2] = ["contract", "performance"];

/// The totals read from the store.
#[derive(Debug)]
pub(crate) struct Totals {
    /// Per stage: projects and amounts.
    pub(crate) stages: Vec<StageTotals>,
    /// The prefectures with the most projects, most first.
    pub(crate) regions: Vec<(String, u64)>,
    /// Every promptness scope with its count of disclosures.
    pub(crate) scopes: Vec<(PromptnessScope, u64)>,
}

impl Totals {
    /// How many projects are in `stage`.
    pub(crate) fn count(&self, stage: &str) -> Option<u64> {
        self.stages.iter().find(|s| s.stage == stage).map(|s| s.projects)
    }
}

/// The totals last read, and when.
#[derive(Debug, Default)]
pub(crate) struct OverviewCache {
    held: Mutex<Option<(Instant, Arc<Totals>)>>,
}

impl OverviewCache {
    /// The totals, read again when older than [`FRESH_FOR`]; concurrent
    /// callers wait for the one read.
    pub(crate) async fn totals(&self, store: &PublicReader) -> Result<Arc<Totals>, StoreError> {
        let mut held = self.held.lock().await;
        if let Some((at, totals)) = held.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(totals.clone());
        }
        let stages = store.public_stage_totals().await?;
        let regions = store.public_region_counts(RegionLevel::Prefecture, TOP_REGIONS).await?;
        let scopes = store.public_promptness_scopes().await?;
        let totals = Arc::new(Totals { stages, regions, scopes });
        *held = Some((Instant::now(), totals.clone()));
        Ok(totals)
    }
}

/// The stage keys in the order pages show them: the bar, then the stages
/// off it that hold projects.
pub(crate) fn stage_order(totals: &Totals) -> Vec<&'static str> {
    let off_bar = OFF_BAR.map(stage_label).into_iter().filter(|key| totals.count(key).is_some());
    bar_keys().chain(off_bar).collect()
}

fn projects_text(lang: Lang, count: u64) -> String {
    match lang {
        Lang::Zh => format!("{count} 个"),
        Lang::En if count == 1 => "1 project".to_owned(),
        Lang::En => format!("{count} projects"),
    }
}

/// The heading over the overview's pictures.
pub(crate) fn heading(lang: Lang) -> &'static str {
    lang.pick("全部公开项目一览", "All public projects at a glance")
}

/// Projects by stage, every stage of the bar (empty ones at zero).
pub(crate) fn by_stage(lang: Lang, totals: &Totals) -> Picture {
    let rows: Vec<BarRow> = stage_order(totals)
        .into_iter()
        .map(|key| {
            let count = totals.count(key).unwrap_or(0);
            BarRow::Bar {
                label: stage_name(lang, key),
                value: i64::try_from(count).unwrap_or(i64::MAX),
                text: projects_text(lang, count),
                fill: Fill::Solid,
            }
        })
        .collect();
    let caption = lang.pick("各阶段项目数", "Projects by stage").to_owned();
    bar_chart(lang, "by-stage-picture", caption, &rows, Scale::COUNT, false)
}

/// A prefecture's name; a municipality's districts (`1101`, which the
/// data set does not name) by their province (`北京市`); else the code.
fn prefecture_name(lang: Lang, prefix: &str) -> String {
    match prefix.get(..2) {
        Some(province) if divisions::place(prefix).is_none() && divisions::place(province).is_some() => {
            region_short(lang, province)
        }
        _ => region_short(lang, prefix),
    }
}

/// Projects by prefecture: the [`TOP_REGIONS`] with the most, by name, and
/// the rest together.
pub(crate) fn by_region(lang: Lang, totals: &Totals) -> Picture {
    let all: u64 = totals.stages.iter().map(|s| s.projects).fold(0, u64::saturating_add);
    let mut rows: Vec<BarRow> = totals
        .regions
        .iter()
        .map(|(prefix, count)| BarRow::Bar {
            label: prefecture_name(lang, prefix),
            value: i64::try_from(*count).unwrap_or(i64::MAX),
            text: projects_text(lang, *count),
            fill: Fill::Solid,
        })
        .collect();
    let shown: u64 = totals.regions.iter().map(|(_, count)| *count).fold(0, u64::saturating_add);
    let rest = all.saturating_sub(shown);
    if rest > 0 {
        rows.push(BarRow::Bar {
            label: lang.pick("其他地区", "Elsewhere").to_owned(),
            value: i64::try_from(rest).unwrap_or(i64::MAX),
            text: projects_text(lang, rest),
            fill: Fill::Plan,
        });
    }
    let caption = match lang {
        Lang::Zh => format!("项目最多的 {TOP_REGIONS} 个地市"),
        Lang::En => format!("The {TOP_REGIONS} prefectures with the most projects"),
    };
    bar_chart(lang, "by-region-picture", caption, &rows, Scale::COUNT, false)
}

/// Amounts under way: approved investment by stage, and the contract value
/// of the projects whose contracts are signed and not yet completed.
pub(crate) fn amounts(lang: Lang, totals: &Totals) -> Picture {
    let mut rows = vec![BarRow::Group(lang.pick("批复总投资，按阶段", "Approved investment by stage").to_owned())];
    for key in stage_order(totals) {
        let Some(stage) = totals.stages.iter().find(|s| s.stage == key) else { continue };
        rows.push(BarRow::Bar {
            label: stage_name(lang, key),
            value: stage.approved_investment_fen,
            text: yuan_human(lang, stage.approved_investment_fen),
            fill: Fill::Plan,
        });
    }
    let under_way = totals
        .stages
        .iter()
        .filter(|s| UNDER_WAY.contains(&s.stage.as_str()))
        .fold(0_i64, |sum, s| sum.saturating_add(s.contract_value_fen));
    rows.push(BarRow::Group(
        lang.pick("在建项目（合同、履约阶段）", "Under way (contract and performance)").to_owned(),
    ));
    rows.push(BarRow::Bar {
        label: lang.pick("现合同价合计", "Contract value in force").to_owned(),
        value: under_way,
        text: yuan_human(lang, under_way),
        fill: Fill::Hatched,
    });
    let caption =
        lang.pick("投资与在建合同金额（同一比例尺）", "Investment and contracts under way (one scale)").to_owned();
    bar_chart(lang, "amounts-picture", caption, &rows, Scale::MONEY, true)
}
