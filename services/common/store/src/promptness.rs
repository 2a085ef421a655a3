//! The public promptness counts: how promptly each region and each trading
//! center makes facts public, kept by the fold and read by the site.
//!
//! # Kept in the fold's transaction, by difference
//!
//! Each public timeline row carries what it adds to the counts
//! ([`PromptnessRow`], computed by the projector from the public entry with
//! `gongkai_domain::promptness`), or nothing (a correction). The fold keeps
//! one `public_disclosures` row per counted entry, under its project's
//! region, and for every project it advances:
//!
//! 1. reads the project's `public_disclosures` rows;
//! 2. works out the project's new rows: all of them for a project rendered
//!    whole, the old ones with the entries that changed replaced for a
//!    carried one, each under the project's current region;
//! 3. writes the rows that differ and adds the difference (new − old) to
//!    `public_promptness` and `public_promptness_scopes`, in key order so that
//!    concurrent folds lock shared rows in one order; a count that reaches
//!    zero is deleted, so the counts are the same whatever order the events
//!    were folded in and a rebuild (which empties every table here) gives
//!    the same rows.
//!
//! An entry counts under every scope of its project's region (province,
//! prefecture, county: `region:23`, `region:2301`, `region:230113`) and of
//! its trading center (`source:<id>`), so a page reads its own scope's rows
//! only: one per month, fact type and delay bucket.
//!
//! The disclosures the statutory clocks expect (the deadline watch's rows,
//! `DeadlineRow`, whose inputs are public facts) are copied to
//! `public_expected` with the project's region: a page counts those due
//! before now.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use gongkai_domain::promptness::region_prefixes;

use crate::db::{dispatch, to_i64};
use crate::query::{self, Sql, Value};
use crate::{DeadlineRow, PublicReader, StoreError, TimelineRow};

/// What one public timeline entry adds to the promptness counts (see
/// `gongkai_domain::promptness`); its fact type is the row's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptnessRow {
    /// The trading center that submitted it.
    pub source: String,
    /// Month made public, Beijing time: `2024-03`.
    pub month: String,
    /// Its delay bucket, days (a lower bound of
    /// `gongkai_domain::promptness::DELAY_BUCKETS`).
    pub delay_days: i64,
    /// Whether it was made public within its kind's window.
    pub within_window: bool,
}

/// A `public_disclosures` row as read back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct DisclosureRow {
    project_code: String,
    project_seq: i64,
    region_code: String,
    source: String,
    month: String,
    fact_type: String,
    delay_days: i64,
    within_window: i64,
}

/// The queries for the `public_disclosures` rows of the projects `codes`.
pub(crate) fn disclosure_rows<'a>(codes: &[&'a str]) -> Vec<Sql<'a>> {
    let head = "SELECT project_code, project_seq, region_code, source, month, fact_type, delay_days, within_window \
                FROM public_disclosures WHERE project_code IN (";
    query::in_list(head, codes, ")")
}

/// One project the fold advanced, as the counts see it.
pub(crate) struct Advanced<'a> {
    pub(crate) code: &'a str,
    /// Its region code now.
    pub(crate) region_code: &'a str,
    /// Its public timeline rows: all of them when `whole`, else those that
    /// changed.
    pub(crate) timeline: &'a [TimelineRow],
    pub(crate) whole: bool,
    /// The disclosures it owes.
    pub(crate) expected: &'a [DeadlineRow],
}

/// A key of `public_promptness`: scope, month, fact type, delay bucket.
type CountKey = (String, String, String, i64);

/// What a batch changes in the counts.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct CountWrites {
    /// `public_disclosures` rows to write (insert or replace).
    upserts: Vec<DisclosureRow>,
    /// `public_disclosures` rows to delete: (project, seq).
    deletes: Vec<(String, i64)>,
    /// Differences of `public_promptness`: (disclosures, within window).
    counts: BTreeMap<CountKey, (i64, i64)>,
    /// Differences of `public_promptness_scopes`.
    scopes: BTreeMap<String, i64>,
}

impl DisclosureRow {
    fn new(code: &str, region_code: &str, row: &TimelineRow, counted: &PromptnessRow) -> Result<Self, StoreError> {
        Ok(Self {
            project_code: code.to_owned(),
            project_seq: to_i64(row.project_seq)?,
            region_code: region_code.to_owned(),
            source: counted.source.clone(),
            month: counted.month.clone(),
            fact_type: row.fact_type.clone(),
            delay_days: counted.delay_days,
            within_window: i64::from(counted.within_window),
        })
    }

    /// The row as bound, in the order of [`DISCLOSURE_COLUMNS`].
    pub(crate) fn values(&self) -> [Value<'_>; 8] {
        [
            (&self.project_code).into(),
            self.project_seq.into(),
            (&self.region_code).into(),
            (&self.source).into(),
            (&self.month).into(),
            (&self.fact_type).into(),
            self.delay_days.into(),
            self.within_window.into(),
        ]
    }

    /// The scopes the row counts in.
    fn scopes(&self) -> Vec<String> {
        scopes_of(&self.region_code, &self.source)
    }
}

/// The scopes a disclosure of a project in `region_code` made public by
/// the trading center `source` counts in.
fn scopes_of(region_code: &str, source: &str) -> Vec<String> {
    let mut scopes: Vec<String> =
        region_prefixes(region_code).into_iter().map(|prefix| format!("region:{prefix}")).collect();
    if !source.is_empty() {
        scopes.push(format!("source:{source}"));
    }
    scopes
}

/// `public_disclosures` rows counted together, as
/// [`disclosure_groups`] reads them: those of one region, trading
/// center, month, fact type and delay bucket.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct DisclosureGroup {
    region_code: String,
    source: String,
    month: String,
    fact_type: String,
    delay_days: i64,
    disclosures: i64,
    within_window: i64,
}

/// The query of every [`DisclosureGroup`] of `table` (a table of
/// `public_disclosures` rows): the database adds the rows up, and each
/// group is spread over its scopes once (a rebuild has a row for every
/// public disclosure).
pub(crate) fn disclosure_groups(table: &str) -> String {
    format!(
        "SELECT region_code, source, month, fact_type, delay_days, CAST(COUNT(*) AS BIGINT) AS disclosures, \
         CAST(SUM(within_window) AS BIGINT) AS within_window \
         FROM {table} GROUP BY region_code, source, month, fact_type, delay_days"
    )
}

impl CountWrites {
    /// The writes that take the counts from `existing` (the
    /// `public_disclosures` rows of the advanced projects) to `advanced`.
    pub(crate) fn of(existing: Vec<DisclosureRow>, advanced: &[Advanced<'_>]) -> Result<Self, StoreError> {
        let mut old: HashMap<String, BTreeMap<i64, DisclosureRow>> = HashMap::new();
        for row in existing {
            old.entry(row.project_code.clone()).or_default().insert(row.project_seq, row);
        }
        let mut writes = Self::default();
        for project in advanced {
            let before = old.remove(project.code).unwrap_or_default();
            let mut after: BTreeMap<i64, DisclosureRow> = if project.whole {
                BTreeMap::new()
            } else {
                before
                    .iter()
                    .map(|(seq, row)| {
                        (*seq, DisclosureRow { region_code: project.region_code.to_owned(), ..row.clone() })
                    })
                    .collect()
            };
            for row in project.timeline {
                let seq = to_i64(row.project_seq)?;
                match &row.promptness {
                    Some(counted) => {
                        after.insert(seq, DisclosureRow::new(project.code, project.region_code, row, counted)?);
                    }
                    None => {
                        after.remove(&seq);
                    }
                }
            }
            for (seq, row) in &before {
                if !after.contains_key(seq) {
                    writes.add(row, -1);
                    writes.deletes.push((project.code.to_owned(), *seq));
                }
            }
            for (seq, row) in after {
                match before.get(&seq) {
                    Some(previous) if *previous == row => {}
                    previous => {
                        if let Some(previous) = previous {
                            writes.add(previous, -1);
                        }
                        writes.add(&row, 1);
                        writes.upserts.push(row);
                    }
                }
            }
        }
        writes.counts.retain(|_, (disclosures, within)| *disclosures != 0 || *within != 0);
        writes.scopes.retain(|_, disclosures| *disclosures != 0);
        Ok(writes)
    }

    /// Adds `row`'s counts `sign` times.
    fn add(&mut self, row: &DisclosureRow, sign: i64) {
        self.count(row.scopes(), &row.month, &row.fact_type, row.delay_days, sign, sign * row.within_window);
    }

    /// Adds `disclosures`, `within_window` of them within their window, to
    /// each of `scopes`.
    fn count(
        &mut self,
        scopes: Vec<String>,
        month: &str,
        fact_type: &str,
        delay_days: i64,
        disclosures: i64,
        within_window: i64,
    ) {
        for scope in scopes {
            let count =
                self.counts.entry((scope.clone(), month.to_owned(), fact_type.to_owned(), delay_days)).or_default();
            count.0 += disclosures;
            count.1 += within_window;
            *self.scopes.entry(scope).or_default() += disclosures;
        }
    }

    /// The statements that apply these writes.
    pub(crate) fn statements(&self) -> Vec<Sql<'_>> {
        let mut statements = Vec::new();
        for (code, seq) in &self.deletes {
            let mut delete = Sql::new("DELETE FROM public_disclosures WHERE project_code = ");
            delete.bind(code).push(" AND project_seq = ").bind(*seq);
            statements.push(delete);
        }
        statements.extend(query::insert(
            &format!("INSERT INTO public_disclosures ({DISCLOSURE_COLUMNS})"),
            "ON CONFLICT (project_code, project_seq) DO UPDATE SET region_code = excluded.region_code, \
             source = excluded.source, month = excluded.month, fact_type = excluded.fact_type, \
             delay_days = excluded.delay_days, within_window = excluded.within_window",
            &self.upserts,
            DisclosureRow::values,
        ));
        let counts: Vec<(&CountKey, &(i64, i64))> = self.counts.iter().collect();
        statements.extend(query::insert(
            &format!("INSERT INTO public_promptness ({COUNT_COLUMNS})"),
            "ON CONFLICT (scope, month, fact_type, delay_days) DO UPDATE SET \
             disclosures = public_promptness.disclosures + excluded.disclosures, \
             within_window = public_promptness.within_window + excluded.within_window",
            &counts,
            |&(key, counts)| count_values(key, counts),
        ));
        let scopes: Vec<(&String, &i64)> = self.scopes.iter().collect();
        statements.extend(query::insert(
            "INSERT INTO public_promptness_scopes (scope, disclosures)",
            "ON CONFLICT (scope) DO UPDATE SET \
             disclosures = public_promptness_scopes.disclosures + excluded.disclosures",
            &scopes,
            |&(scope, disclosures)| [scope.into(), (*disclosures).into()],
        ));
        // A count taken down may have reached zero: it goes, as if never counted.
        for ((scope, month, fact_type, delay_days), (disclosures, _)) in &self.counts {
            if *disclosures < 0 {
                let mut delete = Sql::new("DELETE FROM public_promptness WHERE disclosures = 0 AND scope = ");
                delete.bind(scope).push(" AND month = ").bind(month).push(" AND fact_type = ").bind(fact_type);
                delete.push(" AND delay_days = ").bind(*delay_days);
                statements.push(delete);
            }
        }
        for (scope, disclosures) in &self.scopes {
            if *disclosures < 0 {
                let mut delete = Sql::new("DELETE FROM public_promptness_scopes WHERE disclosures = 0 AND scope = ");
                delete.bind(scope);
                statements.push(delete);
            }
        }
        statements
    }
}

/// The `public_disclosures` rows of one project rendered whole: one per
/// public timeline entry that counts, under the project's region.
pub(crate) fn disclosures_of(
    code: &str,
    region_code: &str,
    timeline: &[TimelineRow],
) -> Result<Vec<DisclosureRow>, StoreError> {
    timeline
        .iter()
        .filter_map(|row| row.promptness.as_ref().map(|counted| DisclosureRow::new(code, region_code, row, counted)))
        .collect()
}

/// The counts of a whole set of `public_disclosures` rows, added up group
/// by group ([`DisclosureGroup`]): what a rebuild writes to
/// `public_promptness` and `public_promptness_scopes` once every project is
/// in.
#[derive(Debug, Default)]
pub(crate) struct CountTotals(CountWrites);

impl CountTotals {
    /// Counts the rows of `group`.
    pub(crate) fn add_group(&mut self, group: &DisclosureGroup) {
        let scopes = scopes_of(&group.region_code, &group.source);
        self.0.count(scopes, &group.month, &group.fact_type, group.delay_days, group.disclosures, group.within_window);
    }

    /// The `public_promptness` rows, in the order of [`COUNT_COLUMNS`].
    pub(crate) fn counts(&self) -> Vec<[Value<'_>; 6]> {
        self.0.counts.iter().map(|(key, counts)| count_values(key, counts)).collect()
    }

    /// The `public_promptness_scopes` rows, in the order of [`SCOPE_COLUMNS`].
    pub(crate) fn scopes(&self) -> Vec<[Value<'_>; 2]> {
        self.0.scopes.iter().map(|(scope, disclosures)| [scope.into(), (*disclosures).into()]).collect()
    }
}

/// One `public_promptness` row (or difference) as bound.
fn count_values<'a>(
    (scope, month, fact_type, delay_days): &'a CountKey,
    (disclosures, within): &(i64, i64),
) -> [Value<'a>; 6] {
    [scope.into(), month.into(), fact_type.into(), (*delay_days).into(), (*disclosures).into(), (*within).into()]
}

/// The columns of `public_promptness`, in the order of [`count_values`].
pub(crate) const COUNT_COLUMNS: &str = "scope, month, fact_type, delay_days, disclosures, within_window";

/// The columns of `public_promptness_scopes`, in the order of [`CountTotals::scopes`].
pub(crate) const SCOPE_COLUMNS: &str = "scope, disclosures";

/// The columns of `public_disclosures`, in the order of [`DisclosureRow::values`].
pub(crate) const DISCLOSURE_COLUMNS: &str =
    "project_code, project_seq, region_code, source, month, fact_type, delay_days, within_window";

/// The columns of `public_expected`, in the order of [`expected_values`].
pub(crate) const EXPECTED_COLUMNS: &str = "project_code, rule, subject, region_code, source, due_at";

/// One disclosure project `code` (in `region_code`) owes, as bound.
pub(crate) fn expected_values<'a>(code: &'a str, region_code: &'a str, row: &'a DeadlineRow) -> [Value<'a>; 6] {
    [
        code.into(),
        (&row.rule).into(),
        (&row.subject).into(),
        region_code.into(),
        (&row.source).into(),
        row.due_at.into(),
    ]
}

/// The statements that replace the `public_expected` rows of `advanced`.
pub(crate) fn expected_statements<'a>(advanced: &'a [Advanced<'a>]) -> Vec<Sql<'a>> {
    let codes: Vec<&str> = advanced.iter().map(|project| project.code).collect();
    let mut statements = query::in_list("DELETE FROM public_expected WHERE project_code IN (", &codes, ")");
    let rows: Vec<(&Advanced<'_>, &DeadlineRow)> =
        advanced.iter().flat_map(|project| project.expected.iter().map(move |row| (project, row))).collect();
    statements.extend(query::insert(
        &format!("INSERT INTO public_expected ({EXPECTED_COLUMNS})"),
        "",
        &rows,
        |&(project, row)| expected_values(project.code, project.region_code, row),
    ));
    statements
}

/// What the promptness pages read: a region (by code prefix) or a trading
/// center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptnessScope {
    /// A region code prefix: 2, 4 or 6 digits.
    Region(String),
    /// A trading center's source id.
    Source(String),
}

impl PromptnessScope {
    /// The scope's key in the counts.
    pub fn key(&self) -> String {
        match self {
            Self::Region(prefix) => format!("region:{prefix}"),
            Self::Source(source) => format!("source:{source}"),
        }
    }

    /// The scope a key names, if any.
    pub fn from_key(key: &str) -> Option<Self> {
        if let Some(prefix) = key.strip_prefix("region:") {
            return Some(Self::Region(prefix.to_owned()));
        }
        key.strip_prefix("source:").map(|source| Self::Source(source.to_owned()))
    }
}

/// One row of a scope's counts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PromptnessCount {
    /// Month made public, `2024-03`.
    pub month: String,
    /// CloudEvents type of the facts.
    pub fact_type: String,
    /// Delay bucket, days.
    pub delay_days: i64,
    /// How many facts.
    pub disclosures: i64,
    /// Of which made public within their window.
    pub within_window: i64,
}

/// A disclosure the statutory clocks expect that has not come.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExpectedDisclosure {
    /// The project.
    pub project_code: String,
    /// Its name.
    pub project_name: String,
    /// The rule (`GK-MISSING-RESULT`, …).
    pub rule: String,
    /// What it concerns: `<tender>/<lot>`.
    pub subject: String,
    /// The trading center that owes it.
    pub source: String,
    /// Since when it is missing.
    pub due_at: DateTime<Utc>,
}

impl PublicReader {
    /// The promptness counts of `scope`, by month, fact type and delay
    /// bucket, in that order.
    pub async fn public_promptness(&self, scope: &PromptnessScope) -> Result<Vec<PromptnessCount>, StoreError> {
        let query = "SELECT month, fact_type, delay_days, disclosures, within_window FROM public_promptness \
                     WHERE scope = $1 ORDER BY month, fact_type, delay_days";
        let key = scope.key();
        Ok(dispatch!(&self.db, |pool| sqlx::query_as(query).bind(&key).fetch_all(pool).await?))
    }

    /// Every scope with counts, and how many disclosures each counts, by key.
    pub async fn public_promptness_scopes(&self) -> Result<Vec<(PromptnessScope, u64)>, StoreError> {
        let query = "SELECT scope, disclosures FROM public_promptness_scopes ORDER BY scope";
        let rows: Vec<(String, i64)> = dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .filter_map(|(key, count)| Some((PromptnessScope::from_key(&key)?, count.max(0) as u64)))
            .collect())
    }

    /// The disclosures of `scope` the statutory clocks expected by `now` and
    /// that have not come: how many, and the `limit` longest missing.
    pub async fn public_expected_missing(
        &self,
        scope: &PromptnessScope,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<(u64, Vec<ExpectedDisclosure>), StoreError> {
        let restrict = |sql: &mut Sql<'_>| {
            match scope {
                PromptnessScope::Region(prefix) => sql.like_any_prefix("e.region_code", std::slice::from_ref(prefix)),
                PromptnessScope::Source(source) => sql.push("e.source = ").bind(source.clone()),
            };
            sql.push(" AND e.due_at <= ").bind(now);
        };
        let mut count = Sql::new("SELECT COUNT(*) FROM public_expected e WHERE ");
        restrict(&mut count);
        let mut list = Sql::new(
            "SELECT e.project_code, p.name AS project_name, e.rule, e.subject, e.source, e.due_at \
             FROM public_expected e JOIN public_projects p ON p.project_code = e.project_code WHERE ",
        );
        restrict(&mut list);
        list.push(format!(" ORDER BY e.due_at, e.project_code, e.rule, e.subject LIMIT {limit}"));
        let (total, missing): (Vec<(i64,)>, Vec<ExpectedDisclosure>) =
            dispatch!(&self.db, |pool| (count.fetch_all(pool).await?, list.fetch_all(pool).await?));
        Ok((total.first().map_or(0, |(total,)| (*total).max(0) as u64), missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline_row(seq: u64, promptness: Option<PromptnessRow>) -> TimelineRow {
        TimelineRow {
            project_seq: seq,
            event_id: format!("e{seq}"),
            fact_type: "gongkai.v1.AwardAnnounced".to_owned(),
            occurred_at: DateTime::UNIX_EPOCH,
            recorded_at: DateTime::UNIX_EPOCH,
            entry: Vec::new(),
            promptness,
        }
    }

    fn counted(delay_days: i64, within_window: bool) -> Option<PromptnessRow> {
        Some(PromptnessRow {
            source: "center-harbin".to_owned(),
            month: "2024-03".to_owned(),
            delay_days,
            within_window,
        })
    }

    fn advanced<'a>(region_code: &'a str, timeline: &'a [TimelineRow], whole: bool) -> Advanced<'a> {
        Advanced { code: "P", region_code, timeline, whole, expected: &[] }
    }

    fn stored(writes: &CountWrites) -> Vec<DisclosureRow> {
        writes.upserts.clone()
    }

    #[test]
    fn a_new_project_counts_in_each_of_its_scopes_and_a_correction_not_at_all() {
        let timeline = [timeline_row(1, counted(3, true)), timeline_row(2, None), timeline_row(3, counted(8, false))];
        let writes = CountWrites::of(Vec::new(), &[advanced("230113", &timeline, true)]).expect("plans");
        assert_eq!(writes.upserts.len(), 2, "the correction (seq 2) is not a disclosure");
        assert_eq!(
            writes.scopes.iter().map(|(scope, n)| (scope.as_str(), *n)).collect::<Vec<_>>(),
            [("region:23", 2), ("region:2301", 2), ("region:230113", 2), ("source:center-harbin", 2)]
        );
        let late = ("region:2301".to_owned(), "2024-03".to_owned(), "gongkai.v1.AwardAnnounced".to_owned(), 8);
        assert_eq!(writes.counts.get(&late), Some(&(1, 0)));
        assert_eq!(writes.counts.len(), 8);
    }

    #[test]
    fn folding_again_changes_nothing_and_a_region_change_moves_every_count() {
        let timeline = [timeline_row(1, counted(0, true)), timeline_row(2, counted(1, true))];
        let first = CountWrites::of(Vec::new(), &[advanced("230113", &timeline, true)]).expect("plans");
        let again = CountWrites::of(stored(&first), &[advanced("230113", &timeline, true)]).expect("plans");
        assert_eq!(again, CountWrites::default(), "the same rendering writes nothing");
        // A carried fold that changed only seq 2's rendering, and the region.
        let changed = [timeline_row(2, counted(1, true))];
        let moved = CountWrites::of(stored(&first), &[advanced("110105", &changed, false)]).expect("plans");
        assert_eq!(moved.upserts.len(), 2, "both rows move to the new region");
        assert_eq!(moved.scopes.get("region:2301"), Some(&-2));
        assert_eq!(moved.scopes.get("region:1101"), Some(&2));
        assert_eq!(moved.scopes.get("source:center-harbin"), None, "the trading center's counts stay");
        let statements = moved.statements();
        assert!(statements.len() >= 3, "rows, counts, scopes and the clean-up of zeros");
    }

    #[test]
    fn an_entry_no_longer_rendered_is_taken_off() {
        let timeline = [timeline_row(1, counted(0, true)), timeline_row(2, counted(2, true))];
        let first = CountWrites::of(Vec::new(), &[advanced("230113", &timeline, true)]).expect("plans");
        let shorter = CountWrites::of(stored(&first), &[advanced("230113", &timeline[..1], true)]).expect("plans");
        assert_eq!(shorter.deletes, [("P".to_owned(), 2)]);
        assert_eq!(shorter.scopes.get("region:230113"), Some(&-1));
    }

    #[test]
    fn scopes_round_trip_through_their_keys() {
        for scope in [PromptnessScope::Region("2301".into()), PromptnessScope::Source("center-harbin".into())] {
            assert_eq!(PromptnessScope::from_key(&scope.key()), Some(scope));
        }
        assert_eq!(PromptnessScope::from_key("other"), None);
    }
}
