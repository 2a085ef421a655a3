//! The public promptness counts the fold keeps, on PostgreSQL and SQLite:
//! each disclosure counted once in each scope of its project (province,
//! prefecture, county, trading center), nothing for a correction, moved
//! whole when the project's region changes, the disclosures the clocks
//! expect counted once due, and a rebuild giving the same rows.

use chrono::{Duration, Utc};
use gongkai_proto::v1::EventEnvelope;
use gongkai_store::{
    DeadlineRow, ProjectEvents, ProjectViewRows, PromptnessRow, PromptnessScope, RebuiltProject, Store, Unrenderable,
};
use gongkai_testkit::store::{bare_event, one_entry_per_event, postgres, sqlite};

const CODE: &str = "2024-230113-77-01-000001";

fn event(seq: u64) -> EventEnvelope {
    bare_event(CODE, seq)
}

/// Seq 1 made public the same day, seq 2 eight days late, seq 3 a
/// correction; from seq 4 on the project is in another region (its
/// approval corrected). One disclosure is overdue, one not yet due.
fn render(events: &[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable> {
    let mut rows = one_entry_per_event(events, "");
    for row in &mut rows.public_timeline {
        let (delay_days, within_window) = match row.project_seq {
            3 => continue,
            2 => (8, false),
            _ => (0, true),
        };
        row.promptness = Some(PromptnessRow {
            source: "center-harbin".to_owned(),
            month: "2024-03".to_owned(),
            delay_days,
            within_window,
        });
    }
    if events.len() >= 4 {
        rows.public_project.region_code = "110105".to_owned();
    }
    let due = |days: i64, subject: &str| DeadlineRow {
        rule: "GK-MISSING-RESULT".to_owned(),
        subject: subject.to_owned(),
        due_at: Utc::now() + Duration::days(days),
        source: "center-harbin".to_owned(),
        flag: Vec::new(),
    };
    rows.supervision.deadlines = vec![due(-2, "T1/L1"), due(5, "T1/L2")];
    Ok(rows)
}

/// Every count of every scope, as the site reads them.
async fn counts(store: &Store) -> Vec<(PromptnessScope, u64, Vec<(String, String, i64, i64, i64)>)> {
    let mut all = Vec::new();
    for (scope, total) in store.public().public_promptness_scopes().await.expect("scopes") {
        let rows = store.public().public_promptness(&scope).await.expect("counts");
        let rows = rows.into_iter().map(|r| (r.month, r.fact_type, r.delay_days, r.disclosures, r.within_window));
        all.push((scope, total, rows.collect()));
    }
    all
}

async fn fold(store: &Store, seqs: std::ops::RangeInclusive<u64>) {
    let batch = [ProjectEvents { project_code: CODE.to_owned(), events: seqs.map(event).collect(), rendered: None }];
    store.projections().project_batch(&batch, render).await.expect("folds");
}

async fn counts_follow_the_public_rows(store: Store) {
    fold(&store, 1..=3).await;
    let region = PromptnessScope::Region("2301".to_owned());
    let rows = store.public().public_promptness(&region).await.expect("counts");
    let seen: Vec<(i64, i64, i64)> = rows.iter().map(|r| (r.delay_days, r.disclosures, r.within_window)).collect();
    assert_eq!(seen, [(0, 1, 1), (8, 1, 0)], "two disclosures, the correction not counted");
    let scopes: Vec<(String, u64)> = store
        .public()
        .public_promptness_scopes()
        .await
        .expect("scopes")
        .into_iter()
        .map(|(scope, n)| (scope.key(), n))
        .collect();
    assert_eq!(
        scopes,
        [
            ("region:23".to_owned(), 2),
            ("region:2301".to_owned(), 2),
            ("region:230113".to_owned(), 2),
            ("source:center-harbin".to_owned(), 2)
        ]
    );
    let center = PromptnessScope::Source("center-harbin".to_owned());
    let (missing, listed) = store.public().public_expected_missing(&center, Utc::now(), 10).await.expect("expected");
    assert_eq!(missing, 1, "one disclosure is overdue, the other not yet due");
    assert_eq!((listed[0].project_code.as_str(), listed[0].subject.as_str()), (CODE, "T1/L1"));
    assert_eq!(listed[0].project_name, "测试项目");
    let (later, _) =
        store.public().public_expected_missing(&region, Utc::now() + Duration::days(6), 10).await.expect("expected");
    assert_eq!(later, 2, "both are due a week on");

    // Folding the same events again counts nothing twice.
    let before = counts(&store).await;
    fold(&store, 1..=3).await;
    assert_eq!(counts(&store).await, before);

    // The region changes: every count moves, the trading center's stay.
    fold(&store, 4..=4).await;
    let after = counts(&store).await;
    let keys: Vec<String> = after.iter().map(|(scope, total, _)| format!("{}={total}", scope.key())).collect();
    assert_eq!(keys, ["region:11=3", "region:1101=3", "region:110105=3", "source:center-harbin=3"]);
    assert!(store.public().public_promptness(&region).await.expect("counts").is_empty(), "none left in 2301");
    let (moved, _) = store
        .public()
        .public_expected_missing(&PromptnessScope::Region("1101".to_owned()), Utc::now(), 10)
        .await
        .expect("expected");
    assert_eq!(moved, 1, "the expected disclosures move with the project");

    // A rebuild gives the same counts: of the whole history at once, and of
    // a history whose events come in two batches (the second waits).
    let events: Vec<_> = (1..=4).map(event).collect();
    let whole = RebuiltProject { project_code: CODE.to_owned(), rendered: Some(render(&events)), events };
    let mut build = store.projections().rebuild_beside(gongkai_store::RebuildFrom::Elsewhere).await.expect("begins");
    build.load(std::slice::from_ref(&whole), render).await.expect("loads");
    build.finish(render).await.expect("finishes");
    assert_eq!(counts(&store).await, after);
    let mut build = store.projections().rebuild_beside(gongkai_store::RebuildFrom::Elsewhere).await.expect("begins");
    for seqs in [1..=2, 3..=4] {
        let part = RebuiltProject { project_code: CODE.to_owned(), events: seqs.map(event).collect(), rendered: None };
        build.load(&[part], render).await.expect("loads");
    }
    build.finish(render).await.expect("finishes");
    assert_eq!(counts(&store).await, after);
}

#[tokio::test]
async fn postgres_promptness_counts_follow_the_public_rows() {
    counts_follow_the_public_rows(postgres().await.store).await;
}

#[tokio::test]
async fn sqlite_promptness_counts_follow_the_public_rows() {
    let fresh = sqlite().await;
    counts_follow_the_public_rows(fresh.store.clone()).await;
}
