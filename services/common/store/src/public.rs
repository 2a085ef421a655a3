//! Readers of the public side of the read model, for the website and the open
//! data interfaces, and the public change feed: the role [`PublicReader`].
//!
//! Everything here reads `public_timeline`, `public_projects` and
//! `public_changes` only: the tables a PostgreSQL role granted nothing else
//! can read (see `migrations/postgres/0004_public_feed.sql`).
//!
//! # The change feed never skips a late commit
//!
//! The fold appends one `public_changes` row for every public timeline entry
//! that is new or whose rendering changed ([`change_statements`]), inside the
//! projector's transaction (`Projections::project_batch`), so a row is
//! visible exactly when the public rows it describes are. A row names the
//! entry (project and seq) and is read joined to the public timeline: the
//! feed says what changed and when, the timeline holds the text once.
//!
//! * **PostgreSQL.** Each row carries `transaction_id = pg_current_xact_id()`
//!   of the transaction that wrote it.
//!   [`PublicReader::public_changes_after`] returns only rows with `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`
//!   — transactions older than the oldest one still running, hence all
//!   finished — ordered by `(transaction_id, id)`, and the cursor is that
//!   pair. A transaction still running (or one that starts later) has an id at
//!   or above the horizon, which is above every cursor handed out, so when it
//!   commits its rows sort after the cursor: nothing is skipped. Rows already
//!   returned are below the cursor: nothing repeats. Order is transaction-id
//!   order, a fixed total order that agrees with commit order for the
//!   projector's per-project transactions (a project's rows are written under
//!   its head-row lock, one transaction after the other). A long-running
//!   transaction delays the feed; it never loses rows.
//! * **SQLite.** Writers are serialized (`BEGIN IMMEDIATE`) and
//!   `AUTOINCREMENT` ids only grow, so ids become visible in commit order and
//!   reading `id > cursor` is safe.
//!
//! The feed's queries for each backend are in `crate::dialect`.
//!
//! A rebuild (`views::rebuild`) appends to the feed, never replaces it: only
//! entries that are new or rendered differently from the live views it replaces,
//! so re-projecting the same events appends nothing.

use chrono::{DateTime, Utc};

use crate::db::dispatch;
use crate::query::{self, Sql};
use crate::rows::TimelineRow;
use crate::views::{self, View};
use crate::{PublicReader, StoreError};

/// Filters of the public project list. Unset filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    /// Region code prefixes: a project matches when its region code starts
    /// with any of them (a region filter given by name may stand for several
    /// divisions); `Some` of an empty list matches nothing.
    pub region_prefixes: Option<Vec<String>>,
    /// Stage, lowercase (`tendering`).
    pub stage: Option<String>,
    /// `ppp` or `construction`.
    pub project_type: Option<String>,
    /// Year of the project code (its first four digits).
    pub year: Option<u16>,
    /// Substring of the name, or of the code.
    pub text: Option<String>,
    /// Region code prefixes of the divisions `text` names: a project in
    /// one of them matches the text too (the store knows codes, not names).
    pub text_regions: Vec<String>,
}

/// One public project as listed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PublicProject {
    /// Project code.
    pub project_code: String,
    /// Name.
    pub name: String,
    /// Region code.
    pub region_code: String,
    /// `ppp` or `construction`.
    pub project_type: String,
    /// Stage, lowercase.
    pub stage: String,
    /// Business time of the latest event.
    pub last_event_at: DateTime<Utc>,
    /// The encoded public `gongkai.v1.ProjectSummary`.
    pub summary: Vec<u8>,
    /// Since when the projector could not render the project's newer events
    /// (it is parked; the views are its last good ones); `None` when current.
    pub parked_since: Option<DateTime<Utc>>,
}

/// The public projects in one stage and their amounts in total, as the
/// home page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTotals {
    /// Stage, lowercase.
    pub stage: String,
    /// How many projects are in it.
    pub projects: u64,
    /// Their approved total investment, fen, to 15 significant digits
    /// (saturating at the bounds of `i64`).
    pub approved_investment_fen: i64,
    /// Their current contract value, fen, likewise.
    pub contract_value_fen: i64,
}

/// Which level of the region code a count groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionLevel {
    /// Province (省级): the first two digits.
    Province,
    /// Prefecture (地级): the first four.
    Prefecture,
}

impl RegionLevel {
    fn digits(self) -> u8 {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::Prefecture => 4,
        }
    }
}

/// One public timeline entry with its project's name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PublicDisclosure {
    /// Project code.
    pub project_code: String,
    /// Project name.
    pub project_name: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The encoded public `gongkai.v1.TimelineEntry`.
    pub entry: Vec<u8>,
}

/// A position in the public change feed. Opaque to clients: its text form is
/// `<transaction id>-<id>` (transaction id 0 on SQLite).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeCursor {
    /// The writing transaction's id (PostgreSQL `xid8`; 0 on SQLite).
    pub transaction_id: u64,
    /// The row id.
    pub id: i64,
}

impl std::fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.transaction_id, self.id)
    }
}

impl std::str::FromStr for ChangeCursor {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::InvalidEvent(format!("`{text}` is not a change-feed cursor"));
        let (xid, id) = text.split_once('-').ok_or_else(bad)?;
        let cursor =
            ChangeCursor { transaction_id: xid.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? };
        if cursor.id < 0 {
            return Err(bad());
        }
        Ok(cursor)
    }
}

/// One entry of the public change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicChange {
    /// Where the feed stands after this change.
    pub cursor: ChangeCursor,
    /// Project code.
    pub project_code: String,
    /// The entry's project_seq.
    pub project_seq: u64,
    /// The entry's event id.
    pub event_id: String,
    /// `published` or `updated`.
    pub change: String,
    /// The fact's message name.
    pub fact_type: String,
    /// When the event was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The encoded public `gongkai.v1.TimelineEntry` as the public timeline
    /// holds it now (a later change of the same entry has its own feed row
    /// after this one); `None` once the timeline no longer holds it (a
    /// rebuild under another rendering rule withheld it).
    pub entry: Option<Vec<u8>>,
}

/// A row of the public change feed as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct ChangeRow {
    id: i64,
    transaction_id: i64,
    project_code: String,
    project_seq: i64,
    event_id: String,
    change: String,
    fact_type: String,
    recorded_at: DateTime<Utc>,
    entry: Option<Vec<u8>>,
}

impl From<ChangeRow> for PublicChange {
    fn from(row: ChangeRow) -> Self {
        PublicChange {
            cursor: ChangeCursor { transaction_id: row.transaction_id.max(0) as u64, id: row.id },
            project_code: row.project_code,
            project_seq: row.project_seq.max(0) as u64,
            event_id: row.event_id,
            change: row.change,
            fact_type: row.fact_type,
            recorded_at: row.recorded_at,
            entry: row.entry,
        }
    }
}

/// One row to append to the public change feed: project, seq, `published`
/// or `updated`, and the entry as now rendered (the feed row names it; its
/// text is the public timeline's).
pub(crate) type FeedChange<'a> = (&'a str, i64, &'static str, &'a TimelineRow);

/// The statements that append `changes` to the public change feed. Run
/// inside the transaction that writes the public rows; see the module docs.
pub(crate) fn change_statements<'a>(changes: &[FeedChange<'a>]) -> Vec<Sql<'a>> {
    let head = "INSERT INTO public_changes (project_code, project_seq, event_id, change, fact_type, recorded_at)";
    query::insert(head, "", changes, |&(code, seq, change, row)| {
        [
            code.into(),
            seq.into(),
            (&row.event_id).into(),
            change.into(),
            (&row.fact_type).into(),
            row.recorded_at.into(),
        ]
    })
}

impl ProjectFilter {
    /// Adds the filter's conditions to `sql`.
    fn restrict<'a>(&'a self, sql: &mut Sql<'a>) {
        if let Some(regions) = &self.region_prefixes {
            sql.and().like_any_prefix("region_code", regions);
        }
        if let Some(stage) = &self.stage {
            sql.and().push("stage = ").bind(stage);
        }
        if let Some(project_type) = &self.project_type {
            sql.and().push("project_type = ").bind(project_type);
        }
        if let Some(year) = self.year {
            sql.and().push("project_code LIKE ").bind(format!("{year:04}-%"));
        }
        if let Some(text) = &self.text {
            sql.and().push("(").like_contains("name", text).push(" OR ").like_contains("project_code", text);
            if !self.text_regions.is_empty() {
                sql.push(" OR ").like_any_prefix("region_code", &self.text_regions);
            }
            sql.push(")");
        }
    }
}

const PROJECT_COLUMNS: &str =
    "project_code, name, region_code, project_type, stage, last_event_at, summary, parked_since";

impl PublicReader {
    /// Public projects matching `filter`, latest activity first (then code),
    /// `limit` of them after skipping `offset`; and how many match in all.
    pub async fn public_projects(
        &self,
        filter: &ProjectFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<PublicProject>, u64), StoreError> {
        let mut list = Sql::new(format!("SELECT {PROJECT_COLUMNS} FROM public_projects"));
        filter.restrict(&mut list);
        list.push(format!(" ORDER BY last_event_at DESC, project_code LIMIT {limit} OFFSET {offset}"));
        let mut count = Sql::new("SELECT COUNT(*) FROM public_projects");
        filter.restrict(&mut count);
        let (projects, total): (Vec<PublicProject>, Vec<(i64,)>) =
            dispatch!(&self.db, |pool| (list.fetch_all(pool).await?, count.fetch_all(pool).await?));
        Ok((projects, total.first().map_or(0, |(total,)| (*total).max(0) as u64)))
    }

    /// One public project, if the public may see it.
    pub async fn public_project(&self, project_code: &str) -> Result<Option<PublicProject>, StoreError> {
        let query =
            sqlx::AssertSqlSafe(format!("SELECT {PROJECT_COLUMNS} FROM public_projects WHERE project_code = $1"));
        Ok(dispatch!(&self.db, |pool| sqlx::query_as(query).bind(project_code).fetch_optional(pool).await?))
    }

    /// Public projects with a code above `after`, in code order, at most
    /// `limit`: keyset paging for bulk exports.
    pub async fn public_projects_after(&self, after: &str, limit: u32) -> Result<Vec<PublicProject>, StoreError> {
        let query = sqlx::AssertSqlSafe(format!(
            "SELECT {PROJECT_COLUMNS} FROM public_projects WHERE project_code > $1 ORDER BY project_code LIMIT {limit}"
        ));
        Ok(dispatch!(&self.db, |pool| sqlx::query_as(query).bind(after).fetch_all(pool).await?))
    }

    /// How many public projects are in each stage, and their amounts in
    /// total: one scan of the project rows' small columns.
    pub async fn public_stage_totals(&self) -> Result<Vec<StageTotals>, StoreError> {
        // Summed as floating point: 100,000 amounts each within the domain's
        // bound can pass i64, and an integer SUM then fails (SQLite) or
        // needs NUMERIC (PostgreSQL); a picture needs no more than 15 digits.
        let query = "SELECT stage, COUNT(*), SUM(CAST(approved_investment_fen AS DOUBLE PRECISION)), \
                     SUM(CAST(contract_value_fen AS DOUBLE PRECISION)) FROM public_projects GROUP BY stage ORDER BY stage";
        let rows: Vec<(String, i64, Option<f64>, Option<f64>)> =
            dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(stage, count, investment, contracts)| StageTotals {
                stage,
                projects: count.max(0) as u64,
                // `as` saturates (and takes NaN to 0).
                approved_investment_fen: investment.unwrap_or(0.0) as i64,
                contract_value_fen: contracts.unwrap_or(0.0) as i64,
            })
            .collect())
    }

    /// How many public projects each region at `level` has (grouped by the
    /// region code's leading digits), most first (then by code), at most
    /// `limit` regions.
    pub async fn public_region_counts(&self, level: RegionLevel, limit: u32) -> Result<Vec<(String, u64)>, StoreError> {
        let query = sqlx::AssertSqlSafe(format!(
            "SELECT substr(region_code, 1, {}) AS prefix, COUNT(*) AS projects FROM public_projects \
             GROUP BY prefix ORDER BY projects DESC, prefix LIMIT {limit}",
            level.digits()
        ));
        let rows: Vec<(String, i64)> = dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(prefix, count)| (prefix, count.max(0) as u64)).collect())
    }

    /// The latest public disclosures over all projects, newest recorded first.
    pub async fn public_latest(&self, limit: u32) -> Result<Vec<PublicDisclosure>, StoreError> {
        let query = sqlx::AssertSqlSafe(format!(
            "SELECT t.project_code, p.name AS project_name, t.recorded_at, t.entry FROM public_timeline t \
             JOIN public_projects p ON p.project_code = t.project_code \
             ORDER BY t.recorded_at DESC, t.project_code, t.project_seq DESC LIMIT {limit}"
        ));
        Ok(dispatch!(&self.db, |pool| sqlx::query_as(query).fetch_all(pool).await?))
    }

    /// A project's public timeline, as encoded `TimelineEntry` messages in
    /// seq order.
    pub async fn public_timeline(&self, project_code: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        views::read::timeline(&self.db, View::Public, project_code).await
    }

    /// Public timelines of several projects at once: (code, encoded entries in
    /// seq order), for bulk exports.
    pub async fn public_timelines(&self, project_codes: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let head = "SELECT project_code, entry FROM public_timeline WHERE project_code IN (";
        let mut rows = Vec::new();
        for statement in query::in_list(head, project_codes, ") ORDER BY project_code, project_seq") {
            rows.extend(dispatch!(&self.db, |pool| statement.fetch_all::<(String, Vec<u8>), _>(pool).await?));
        }
        Ok(rows)
    }

    /// A signal that fires when the public change feed may have grown (see
    /// [`ChangeSignal`](crate::ChangeSignal)): what lets a follower read the
    /// feed as changes commit instead of polling it often.
    pub async fn public_changes_signal(&self) -> crate::ChangeSignal {
        let local = self.changes.subscribe();
        dispatch!(&self.signal, |pool, dialect| dialect::public_change_signal(pool, local).await)
    }

    /// Where the public change feed ends now: the cursor of its last row that
    /// [`PublicReader::public_changes_after`] would already return (the start
    /// when the feed is empty), so a follower can begin there without reading
    /// history.
    pub async fn public_changes_head(&self) -> Result<ChangeCursor, StoreError> {
        let row: Option<(i64, i64)> = dispatch!(&self.db, |pool, dialect| sqlx::query_as(dialect::PUBLIC_CHANGES_HEAD)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(xid, id)| ChangeCursor { transaction_id: xid.max(0) as u64, id }).unwrap_or_default())
    }

    /// The public change feed after `after` (the start when `None`), at most
    /// `limit` changes, in feed order; see the module docs for why a late
    /// commit is never skipped.
    pub async fn public_changes_after(
        &self,
        after: Option<ChangeCursor>,
        limit: u32,
    ) -> Result<Vec<PublicChange>, StoreError> {
        let after = after.unwrap_or_default();
        let rows = dispatch!(&self.db, |pool, dialect| dialect::public_changes_after(pool, after, limit).await?);
        Ok(rows.into_iter().map(PublicChange::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restricted(filter: &ProjectFilter) -> String {
        let mut sql = Sql::new("SELECT 1 FROM public_projects");
        filter.restrict(&mut sql);
        sql.builder::<sqlx::Postgres>().sql().as_str().to_owned()
    }

    #[test]
    fn a_region_filter_matches_any_of_its_prefixes_and_an_empty_one_nothing() {
        let several =
            ProjectFilter { region_prefixes: Some(vec!["110105".into(), "220104".into()]), ..Default::default() };
        assert_eq!(
            restricted(&several),
            r"SELECT 1 FROM public_projects WHERE (region_code LIKE $1 ESCAPE '\' OR region_code LIKE $2 ESCAPE '\')"
        );
        let none = ProjectFilter { region_prefixes: Some(Vec::new()), ..Default::default() };
        assert_eq!(restricted(&none), "SELECT 1 FROM public_projects WHERE FALSE");
        assert_eq!(restricted(&ProjectFilter::default()), "SELECT 1 FROM public_projects");
    }

    #[test]
    fn text_also_matches_the_regions_it_names() {
        let text =
            ProjectFilter { text: Some("哈尔滨".into()), text_regions: vec!["2301".into()], ..Default::default() };
        assert_eq!(
            restricted(&text),
            r"SELECT 1 FROM public_projects WHERE (name LIKE $1 ESCAPE '\' OR project_code LIKE $2 ESCAPE '\' OR (region_code LIKE $3 ESCAPE '\'))"
        );
        let plain = ProjectFilter { text: Some("污水".into()), ..Default::default() };
        assert_eq!(
            restricted(&plain),
            r"SELECT 1 FROM public_projects WHERE (name LIKE $1 ESCAPE '\' OR project_code LIKE $2 ESCAPE '\')"
        );
    }
}
