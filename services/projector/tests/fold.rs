//! The live fold with memory (`runner::Folder`) writes exactly what a fold
//! without memory writes, on both store backends: views, public change feed,
//! search index, owed disclosures, heads and parked projects, after every
//! batch, whatever the batches hold (interleaved lifecycles, corrections,
//! gaps and redeliveries, an event that parks its project) and whoever else
//! folds the same projects meanwhile.

#[path = "support/streams.rs"]
mod streams;

use gongkai_domain::Body;
use gongkai_projector::runner::{self, Folder};
use gongkai_proto::v1 as pb;
use gongkai_store::{AppendOutcome, NewEvent, Pool, Projected, RebuildFrom, Store, ViewRebuild};
use gongkai_testkit::on_both_stores;
use gongkai_testkit::store::{Backend, FreshStore, fresh, views_snapshot};
use streams::Recorder;

fn code(n: usize) -> String {
    format!("2024-230113-77-01-{n:06}")
}

/// Everything the fold writes, as text, in a stable order (the feed's ids
/// and times of writing left out, its order per project kept).
async fn written(store: &Store, projects: &[String]) -> Vec<String> {
    let mut rows: Vec<String> =
        views_snapshot(store, projects).await.into_iter().map(|bytes| format!("{bytes:?}")).collect();
    macro_rules! read {
        ($pool:expr, $($query:literal => $row:ty),+ $(,)?) => {{
            $(
                let found: Vec<$row> = sqlx::query_as($query).fetch_all($pool).await.expect($query);
                rows.push($query.to_owned());
                rows.extend(found.iter().map(|row| format!("{row:?}")));
            )+
        }};
    }
    macro_rules! all {
        ($pool:expr) => {
            read!(
                $pool,
                "SELECT project_code, project_seq, change, event_id, fact_type FROM public_changes \
                 ORDER BY project_code, id"
                    => (String, i64, String, String, String),
                "SELECT project_code, project_seq, entry FROM full_timeline ORDER BY project_code, project_seq"
                    => (String, i64, Vec<u8>),
                "SELECT project_code, stage, search_text, winners, sources, owner_code, investment_fen, \
                 COALESCE(contract_price_fen, -1), COALESCE(final_cost_fen, -1), first_position \
                 FROM project_search ORDER BY project_code"
                    => (String, String, String, String, String, String, i64, i64, i64, i64),
                "SELECT project_code, rule, subject, source, flag FROM project_deadlines \
                 ORDER BY project_code, rule, subject"
                    => (String, String, String, String, Vec<u8>),
                "SELECT project_code, projected_seq, position FROM projector_heads ORDER BY project_code"
                    => (String, i64, i64),
                "SELECT project_code, event_id, project_seq, reason FROM projector_parked ORDER BY project_code"
                    => (String, String, i64, String),
                "SELECT project_code, head_seq, parked_since IS NULL FROM public_projects ORDER BY project_code"
                    => (String, i64, bool),
                "SELECT e.project_code, e.project_seq, e.position, \
                 COALESCE(e.envelope, (SELECT l.envelope FROM events l WHERE l.position = e.position)) \
                 FROM projector_events e ORDER BY e.project_code, e.project_seq"
                    => (String, i64, i64, Vec<u8>),
                "SELECT project_code, project_seq, region_code, source, month, fact_type, delay_days, within_window \
                 FROM public_disclosures ORDER BY project_code, project_seq"
                    => (String, i64, String, String, String, String, i64, i64),
                "SELECT scope, month, fact_type, delay_days, disclosures, within_window FROM public_promptness \
                 ORDER BY scope, month, fact_type, delay_days"
                    => (String, String, String, i64, i64, i64),
                "SELECT scope, disclosures FROM public_promptness_scopes ORDER BY scope" => (String, i64),
                "SELECT project_code, rule, subject, region_code, source FROM public_expected \
                 ORDER BY project_code, rule, subject"
                    => (String, String, String, String, String),
            )
        };
    }
    match store.pool() {
        Pool::Postgres(pool) => all!(pool),
        Pool::Sqlite(pool) => all!(pool),
    }
    rows
}

/// The log of the test: lifecycles of `projects`, interleaved as the load
/// generator sends them, with a correction, events out of order,
/// redeliveries, and a project that an event recorded by an earlier version
/// parks, in batches of varying sizes.
fn log(projects: &[String]) -> Vec<Vec<pb::EventEnvelope>> {
    let mut streams: Vec<Vec<pb::EventEnvelope>> = Vec::new();
    for (n, project) in projects.iter().enumerate() {
        let mut recorder = Recorder::new(project, 1 + 1000 * n as u64);
        let lifecycle = streams::lifecycle(project);
        let mut lawless = false;
        for (step, submission) in lifecycle.into_iter().enumerate() {
            recorder.record(submission, lawless).expect("lawful");
            // Project 1 corrects its tender announcement after the award.
            if n == 1 && step == 16 {
                let announcement = recorder.events[2].clone();
                let Some(Body::Fact(fact)) = announcement.body else { panic!("a fact") };
                let Some(pb::fact::Kind::TenderAnnounced(mut tender)) = fact.kind else { panic!("the announcement") };
                tender.name.push_str("（更正）");
                let correction = gongkai_domain::Submission {
                    request_id: format!("{project}-c"),
                    project_code: project.clone(),
                    occurred_at: announcement.occurred_at,
                    body: Some(Body::Correction(pb::DisclosureCorrected {
                        supersedes_event_id: announcement.event_id.clone(),
                        reason: "名称有误".to_owned(),
                        replacement: Some(pb::Fact { kind: Some(pb::fact::Kind::TenderAnnounced(tender)) }),
                        replacement_occurred_at: None,
                    })),
                };
                recorder.record(correction, true).expect("recorded");
            }
            // Project 2 gets a payment past the money bound, as an earlier
            // version may have recorded it: it parks there.
            let mut payment = recorder.events.last().cloned().expect("an event");
            if n == 2
                && step < 24
                && let Some(Body::Fact(pb::Fact { kind: Some(pb::fact::Kind::PaymentMade(made)) })) = &mut payment.body
            {
                made.amount_fen = gongkai_domain::money::AMOUNT_MAX_FEN + 1;
                let submission = gongkai_domain::Submission {
                    request_id: format!("{project}-x"),
                    project_code: project.clone(),
                    occurred_at: payment.occurred_at,
                    body: payment.body,
                };
                recorder.record(submission, true).expect("recorded");
                // What follows would be refused now; an earlier version took it.
                lawless = true;
            }
        }
        streams.push(recorder.events);
    }
    // Interleaved, a few events of each project in turn; project 3's come
    // two at a time in reverse order (a gap, then its filling), and every
    // seventh batch delivers its first event again.
    let mut order = Vec::new();
    let mut cursors = vec![0; streams.len()];
    loop {
        let mut any = false;
        for (n, stream) in streams.iter().enumerate() {
            let take = if n == 3 { 2 } else { 1 + n % 3 };
            let chunk: Vec<pb::EventEnvelope> = stream.iter().skip(cursors[n]).take(take).cloned().collect();
            cursors[n] += chunk.len();
            any |= !chunk.is_empty();
            if n == 3 {
                order.extend(chunk.into_iter().rev());
            } else {
                order.extend(chunk);
            }
        }
        if !any {
            break;
        }
    }
    let sizes = [1, 7, 3, 20, 2, 11, 5];
    let mut batches = Vec::new();
    let mut at = 0;
    for (i, size) in sizes.iter().cycle().enumerate() {
        if at >= order.len() {
            break;
        }
        let end = (at + size).min(order.len());
        let mut batch: Vec<pb::EventEnvelope> = order[at..end].to_vec();
        if i % 7 == 6 {
            batch.push(batch[0].clone());
        }
        at = end;
        batches.push(batch);
    }
    batches
}

/// Two stores of `backend`: what a fold with memory writes, and a fold
/// without.
async fn pair(backend: Backend) -> (FreshStore, FreshStore) {
    (fresh(backend).await, fresh(backend).await)
}

on_both_stores!(
    a_rebuild_beside_writes_what_the_fold_wrote,
    a_rebuild_appends_to_the_feed_what_the_live_view_lacks_or_shows_otherwise,
    what_the_live_fold_adds_during_a_rebuild_is_in_the_rebuilt_views,
    what_the_live_fold_adds_after_the_comparison_is_in_the_feed_once,
    an_unfinished_rebuild_leaves_the_live_views_and_the_next_one_starts_afresh,
    a_rebuild_of_the_stores_own_log_names_its_events,
    remembering_writes_what_forgetting_writes,
    a_rolled_back_batch_is_forgotten,
    land_reaches_the_public_tables_as_counts_and_totals_only
);

async fn remembering_writes_what_forgetting_writes(backend: Backend) {
    let projects: Vec<String> = (0..6).map(|n| code(300 + n)).collect();
    let (remembering, forgetting) = pair(backend).await;
    let (remembering, forgetting) = (&remembering.store, &forgetting.store);
    // Two projectors with memory folding the same projects in turn (as
    // instances of one consumer group after a rebalance), and one without.
    let mut first = Folder::new(remembering.projections());
    let mut second = Folder::new(remembering.projections());
    let mut without = Folder::with_memory(forgetting.projections(), 0);
    let mut parked = false;
    for (n, batch) in log(&projects).into_iter().enumerate() {
        let folder = if n % 5 == 4 { &mut second } else { &mut first };
        let remembered = folder.fold(batch.clone()).await.expect("folds");
        let forgotten = without.fold(batch).await.expect("folds");
        assert_eq!(remembered, forgotten, "batch {n}: the same outcomes");
        parked |= forgotten.iter().any(|outcome| matches!(outcome, Projected::Parked { .. }));
        assert_eq!(written(remembering, &projects).await, written(forgetting, &projects).await, "after batch {n}");
    }
    assert!(parked, "a project parked on the way");
    let (projects_remembered, _) = first.remembered();
    assert!(projects_remembered >= 4, "the projects are remembered");
    assert_eq!(without.remembered().0, 0, "nothing remembered without memory");
}

/// Fails with the first row where `got` and `want` differ (whole rows of
/// bytes are too long to compare by eye).
fn assert_same(got: &[String], want: &[String], what: &str) {
    let clip = |row: &String| row.chars().take(300).collect::<String>();
    if let Some(at) = (0..got.len().max(want.len())).find(|&at| got.get(at) != want.get(at)) {
        let table = want[..at.min(want.len())].iter().rev().find(|row| row.starts_with("SELECT")).map(clip);
        panic!(
            "{what}: row {at} differs (after {table:?}):\n got: {:?}\nwant: {:?}",
            got.get(at).map(clip),
            want.get(at).map(clip)
        );
    }
}

/// Rebuilds `store`'s views from `batches` beside the live ones (each batch
/// as the rebuild reads it: projects it holds whole rendered at once, the
/// rest waiting for the end).
async fn rebuild_from(store: &Store, batches: &[Vec<pb::EventEnvelope>]) -> ViewRebuild {
    rebuild_read(store, batches, RebuildFrom::Elsewhere).await
}

/// [`rebuild_from`] of a log read `from` there.
async fn rebuild_read(store: &Store, batches: &[Vec<pb::EventEnvelope>], from: RebuildFrom) -> ViewRebuild {
    let mut build = store.projections().rebuild_beside(from).await.expect("begins");
    for batch in batches {
        build.load(&runner::render_whole(batch.clone()), runner::to_rows).await.expect("loads");
    }
    build
}

/// Each project's events in `batches` once (the first copy), in project
/// and seq order, as ingestion appends them.
fn once_each(batches: &[Vec<pb::EventEnvelope>]) -> Vec<pb::EventEnvelope> {
    let mut events: Vec<pb::EventEnvelope> = batches.concat();
    events.sort_by(|a, b| (&a.subject, a.project_seq).cmp(&(&b.subject, b.project_seq)));
    events.dedup_by(|a, b| (&a.subject, a.project_seq) == (&b.subject, b.project_seq));
    events
}

/// Folds `batches` one event at a time, as a projector that reads each
/// event alone: a project that parks shows up to the event before the one
/// at fault, as a rebuild shows it.
async fn fold_each(folder: &mut Folder, batches: &[Vec<pb::EventEnvelope>]) {
    for event in batches.iter().flatten() {
        folder.fold(vec![event.clone()]).await.expect("folds");
    }
}

/// A fresh store of `backend` with the log of `projects` folded one event at
/// a time: the store, the log's batches, and what the fold wrote.
async fn folded(backend: Backend, projects: &[String]) -> (FreshStore, Vec<Vec<pb::EventEnvelope>>, Vec<String>) {
    let fresh = fresh(backend).await;
    let batches = log(projects);
    fold_each(&mut Folder::new(fresh.store.projections()), &batches).await;
    let written = written(&fresh.store, projects).await;
    (fresh, batches, written)
}

/// The views a rebuild puts in place are the fold's, byte for byte, in
/// every table (a parked project included: it shows as far as it renders),
/// and the public change feed gains nothing (every entry is as the feed
/// last said): whether the log comes with whole projects per batch (the
/// event store) or interleaved, out of order and redelivered (Kafka).
async fn a_rebuild_beside_writes_what_the_fold_wrote(backend: Backend) {
    let projects: Vec<String> = (0..6).map(|n| code(600 + n)).collect();
    let (fresh, batches, folded) = folded(backend, &projects).await;
    let store = &fresh.store;
    assert!(folded.iter().any(|row| row.starts_with("(\"region:23\"")), "the fold counted promptness");
    assert_eq!(store.projections().parked_projects().await.expect("reads").len(), 1, "a project parked");

    rebuild_from(store, &batches).await.finish(runner::to_rows).await.expect("finishes");
    assert_same(&written(store, &projects).await, &folded, "interleaved batches");

    let whole: Vec<pb::EventEnvelope> = batches.concat();
    rebuild_from(store, &[whole]).await.finish(runner::to_rows).await.expect("finishes");
    assert_same(&written(store, &projects).await, &folded, "one batch of whole projects");

    // The site's role reads the new public tables as it read the old ones.
    if let Pool::Postgres(pool) = store.pool() {
        let readable: Vec<(String, bool)> = sqlx::query_as(
            "SELECT t, has_table_privilege('gongkai_site', t, 'SELECT') FROM unnest(ARRAY['public_timeline', \
             'public_projects', 'public_promptness', 'public_promptness_scopes', 'public_expected']) AS t \
             WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongkai_site')",
        )
        .fetch_all(pool)
        .await
        .expect("privileges");
        assert!(readable.iter().all(|(_, granted)| *granted), "the site's grants moved with the tables: {readable:?}");
        let hidden: bool =
            sqlx::query_scalar("SELECT NOT has_table_privilege('gongkai_site', 'full_timeline', 'SELECT')")
                .fetch_one(pool)
                .await
                .unwrap_or(true);
        assert!(hidden, "and still not the full view");
        // Built with autovacuum off, the tables are live with it back on.
        let options: Vec<(String, Option<Vec<String>>)> = sqlx::query_as(
            "SELECT c.relname::text, c.reloptions FROM pg_class c \
             WHERE c.relname = ANY($1) AND c.relnamespace = to_regnamespace(current_schema()) \
             UNION ALL SELECT t.relname::text, t.reloptions FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid \
             WHERE c.relname = ANY($1) AND c.relnamespace = to_regnamespace(current_schema())",
        )
        .bind(gongkai_store::REBUILT_TABLES.as_slice())
        .fetch_all(pool)
        .await
        .expect("storage parameters");
        assert!(options.len() > gongkai_store::REBUILT_TABLES.len(), "the tables and their TOAST tables: {options:?}");
        assert!(options.iter().all(|(_, options)| options.is_none()), "autovacuum is on again: {options:?}");
    }
}

/// A rebuild appends to the public change feed, in key order, every public
/// entry the live view lacks ("published") or holds rendered otherwise
/// ("updated"), and nothing for the entries it shows as they are.
async fn a_rebuild_appends_to_the_feed_what_the_live_view_lacks_or_shows_otherwise(backend: Backend) {
    let projects: Vec<String> = (0..3).map(|n| code(700 + n)).collect();
    let (fresh, batches, _) = folded(backend, &projects).await;
    let store = &fresh.store;
    let (changed, missing) = (&projects[0], &projects[1]);
    macro_rules! feed_after {
        ($pool:expr, $id:expr) => {
            sqlx::query_as::<_, (String, i64, String)>(sqlx::AssertSqlSafe(format!(
                "SELECT project_code, project_seq, change FROM public_changes WHERE id > {} ORDER BY id",
                $id
            )))
            .fetch_all($pool)
            .await
            .expect("the feed")
        };
    }
    macro_rules! check {
        ($pool:expr) => {{
            let pool = $pool;
            let before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM public_changes")
                .fetch_one(pool)
                .await
                .expect("the feed's last id");
            // One entry as an older rendering left it, one project never shown.
            let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE public_timeline SET entry = entry || entry WHERE project_code = '{changed}' AND project_seq = \
                 (SELECT MIN(project_seq) FROM public_timeline WHERE project_code = '{changed}')"
            )))
            .execute(pool)
            .await
            .expect("an entry changed");
            assert_eq!(updated.rows_affected(), 1);
            let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM public_timeline WHERE project_code = '{missing}'"
            )))
            .execute(pool)
            .await
            .expect("a project removed");
            assert!(deleted.rows_affected() > 0);

            rebuild_from(store, &batches).await.finish(runner::to_rows).await.expect("finishes");
            let shown: Vec<(String, i64)> = sqlx::query_as(
                "SELECT project_code, project_seq FROM public_timeline ORDER BY project_code, project_seq",
            )
            .fetch_all(pool)
            .await
            .expect("the rebuilt public timeline");
            let first_of_changed = shown.iter().find(|(code, _)| code == changed).map(|(_, seq)| *seq);
            let mut want = vec![(changed.clone(), first_of_changed.expect("the changed project is shown"), "updated")];
            want.extend(
                shown.iter().filter(|(code, _)| code == missing).map(|(code, seq)| (code.clone(), *seq, "published")),
            );
            let want: Vec<(String, i64, String)> =
                want.into_iter().map(|(code, seq, change)| (code, seq, change.to_owned())).collect();
            assert_eq!(want.len() as u64, 1 + deleted.rows_affected(), "every removed entry is shown again");
            assert_eq!(feed_after!(pool, before), want);

            // Rebuilt again, every entry is as the feed last said.
            let before: i64 = sqlx::query_scalar("SELECT MAX(id) FROM public_changes")
                .fetch_one(pool)
                .await
                .expect("the feed's last id");
            rebuild_from(store, &batches).await.finish(runner::to_rows).await.expect("finishes");
            assert_eq!(feed_after!(pool, before), Vec::new());
        }};
    }
    match store.pool() {
        Pool::Postgres(pool) => check!(pool),
        Pool::Sqlite(pool) => check!(pool),
    }
}

/// A rebuild of the store's own log keeps each event by its position alone,
/// and what it puts in place, the events the fold reads back included, is
/// what the live fold wrote.
async fn a_rebuild_of_the_stores_own_log_names_its_events(backend: Backend) {
    let projects: Vec<String> = (0..4).map(|n| code(900 + n)).collect();
    let fresh = fresh(backend).await;
    let store = &fresh.store;
    let events = once_each(&log(&projects));
    for event in &events {
        // The log repeats a request id on purpose (a retry); here each is new.
        let envelope =
            pb::EventEnvelope { request_id: format!("{}#{}", event.subject, event.project_seq), ..event.clone() };
        let new = NewEvent {
            envelope,
            region_code: "230113".to_owned(),
            request_digest: [7; 32],
            topic: "gongkai.projects.v1".to_owned(),
            traceparent: None,
        };
        let outcome = store.events().append(&new).await.expect("appends");
        assert!(matches!(outcome, AppendOutcome::Appended { .. }), "appended: {outcome:?}");
    }
    let logged = store.log().events_after(0, 10_000).await.expect("reads the log");
    assert_eq!(logged.len(), events.len());
    let batches: Vec<Vec<pb::EventEnvelope>> = logged.chunks(7).map(<[_]>::to_vec).collect();
    fold_each(&mut Folder::new(store.projections()), &batches).await;
    let folded = written(store, &projects).await;

    rebuild_read(store, &batches, RebuildFrom::ThisStore).await.finish(runner::to_rows).await.expect("finishes");
    let named = "SELECT COUNT(*) FROM projector_events WHERE envelope IS NULL";
    let named: i64 = match store.pool() {
        Pool::Postgres(pool) => sqlx::query_scalar(named).fetch_one(pool).await,
        Pool::Sqlite(pool) => sqlx::query_scalar(named).fetch_one(pool).await,
    }
    .expect("counts");
    assert_eq!(named as usize, events.len(), "every event kept by its position alone");
    assert_same(&written(store, &projects).await, &folded, "the store's own log");
    // The fold reads named events back from the log: the parked project,
    // named again by a redelivery, is rendered again from everything kept.
    let parked = store.projections().parked_projects().await.expect("reads");
    let [parked] = parked.as_slice() else { panic!("one project parks: {parked:?}") };
    let redelivered: Vec<pb::EventEnvelope> =
        logged.iter().filter(|event| event.subject == parked.project_code).take(1).cloned().collect();
    Folder::new(store.projections()).fold(redelivered).await.expect("folds a redelivery");
    assert_same(&written(store, &projects).await, &folded, "after a redelivery");
}

/// Events the live projector folds while a rebuild runs (after it read the
/// log) are in the views the rebuild puts in place.
async fn what_the_live_fold_adds_during_a_rebuild_is_in_the_rebuilt_views(backend: Backend) {
    let projects: Vec<String> = (0..6).map(|n| code(700 + n)).collect();
    let (live, reference) = pair(backend).await;
    let (live, reference) = (&live.store, &reference.store);
    let batches = log(&projects);
    let half = batches.len() / 2;
    let mut folder = Folder::new(live.projections());
    let mut all = Folder::new(reference.projections());
    fold_each(&mut all, &batches).await;
    fold_each(&mut folder, &batches[..half]).await;
    let build = rebuild_from(live, &batches[..half]).await;
    fold_each(&mut folder, &batches[half..]).await;
    build.finish(runner::to_rows).await.expect("finishes");
    assert_same(&written(live, &projects).await, &written(reference, &projects).await, "with the live fold's");
    // And the live projector goes on folding into the rebuilt views.
    let late = streams::long_project(&code(799), 3, 90_000);
    folder.fold(late).await.expect("folds into the new tables");
    assert_eq!(live.projections().projected_projects().await.expect("counts"), projects.len() as u64 + 1);
}

/// A live projector that lags behind the rebuild and folds, after the
/// rebuild compared the timelines for the change feed, what the rebuild
/// already shows: the feed names each entry once, from the live fold, and
/// the rebuild appends nothing of those projects (each moved its head since
/// the comparison, and is compared again when the views are put in place).
async fn what_the_live_fold_adds_after_the_comparison_is_in_the_feed_once(backend: Backend) {
    let projects: Vec<String> = (0..4).map(|n| code(750 + n)).collect();
    let (live, reference) = pair(backend).await;
    let (live, reference) = (&live.store, &reference.store);
    let batches = log(&projects);
    let half = batches.len() / 2;
    fold_each(&mut Folder::new(reference.projections()), &batches).await;
    let mut folder = Folder::new(live.projections());
    fold_each(&mut folder, &batches[..half]).await;
    // The rebuild reads each project whole (as from the event store), so
    // it renders them before it compares.
    let events = once_each(&batches);
    let whole: Vec<Vec<pb::EventEnvelope>> =
        events.chunk_by(|a, b| a.subject == b.subject).map(<[_]>::to_vec).collect();
    let mut build = rebuild_from(live, &whole).await;
    build.prepare(&runner::to_rows).await.expect("indexes and compares");
    fold_each(&mut folder, &batches[half..]).await;
    let last = "SELECT COALESCE(MAX(id), 0) FROM public_changes";
    let appended = "SELECT COUNT(*) FROM public_changes WHERE id > $1";
    let repeated = "SELECT COUNT(*) FROM (SELECT project_code, project_seq, change FROM public_changes \
                    GROUP BY project_code, project_seq, change HAVING COUNT(*) > 1) r";
    let before: i64 = match live.pool() {
        Pool::Postgres(pool) => sqlx::query_scalar(last).fetch_one(pool).await,
        Pool::Sqlite(pool) => sqlx::query_scalar(last).fetch_one(pool).await,
    }
    .expect("the feed's last id");
    assert!(before > 0, "the live fold fed the feed");
    build.finish(runner::to_rows).await.expect("finishes");
    assert_same(&written(live, &projects).await, &written(reference, &projects).await, "with the live fold's");
    let (appended, repeated): (i64, i64) = match live.pool() {
        Pool::Postgres(pool) => (
            sqlx::query_scalar(appended).bind(before).fetch_one(pool).await.expect("counts"),
            sqlx::query_scalar(repeated).fetch_one(pool).await.expect("counts"),
        ),
        Pool::Sqlite(pool) => (
            sqlx::query_scalar(appended).bind(before).fetch_one(pool).await.expect("counts"),
            sqlx::query_scalar(repeated).fetch_one(pool).await.expect("counts"),
        ),
    };
    assert_eq!(appended, 0, "the rebuild shows every entry as the live fold last fed it");
    assert_eq!(repeated, 0, "no entry is fed twice as the same change");
}

/// A rebuild abandoned, or stopped before it finished (a crash), leaves
/// the live views as they were; the next rebuild drops what it left.
async fn an_unfinished_rebuild_leaves_the_live_views_and_the_next_one_starts_afresh(backend: Backend) {
    let projects: Vec<String> = (0..3).map(|n| code(800 + n)).collect();
    let (fresh, batches, folded) = folded(backend, &projects).await;
    let store = &fresh.store;
    let crashed = rebuild_from(store, &batches[..2]).await;
    drop(crashed);
    assert_same(&written(store, &projects).await, &folded, "a rebuild that stopped changed nothing");
    rebuild_from(store, &batches[..3]).await.abandon().await.expect("abandons");
    assert_same(&written(store, &projects).await, &folded, "an abandoned rebuild changed nothing");
    rebuild_from(store, &batches).await.finish(runner::to_rows).await.expect("finishes");
    assert_same(&written(store, &projects).await, &folded, "the next rebuild is whole");
}

/// A reader that holds the old tables when the rebuild puts the new ones in
/// place delays it (past PostgreSQL's lock timeout the last transaction is
/// tried again) and does not fail it.
#[tokio::test]
async fn postgres_a_reader_of_the_old_views_delays_the_swap_and_does_not_fail_it() {
    let projects: Vec<String> = (0..2).map(|n| code(900 + n)).collect();
    let (fresh, batches, folded) = folded(Backend::Postgres, &projects).await;
    let store = &fresh.store;
    let Pool::Postgres(pool) = store.pool() else { panic!("a PostgreSQL store") };
    let mut reader = pool.begin().await.expect("a reader");
    let _: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public_timeline").fetch_one(&mut *reader).await.expect("reads");
    let build = rebuild_from(store, &batches).await;
    let started = std::time::Instant::now();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
        reader.rollback().await.expect("the reader ends");
    });
    build.finish(runner::to_rows).await.expect("finishes once the reader is done");
    release.await.expect("released");
    assert!(started.elapsed() >= std::time::Duration::from_secs(7), "the swap waited for the reader");
    assert_same(&written(store, &projects).await, &folded, "after waiting");
}

/// A reader that holds one old table and then asks for another
/// (supervision's full timeline joined to the public one) while the swap
/// waits for the first is never caught in a deadlock with it: the swap holds
/// no other old table while it waits, the reader's query goes on, and the
/// swap happens after it.
#[tokio::test]
async fn postgres_a_reader_between_two_old_tables_goes_on_and_the_swap_follows() {
    let projects: Vec<String> = (0..2).map(|n| code(950 + n)).collect();
    let (fresh, batches, folded) = folded(Backend::Postgres, &projects).await;
    let store = &fresh.store;
    let Pool::Postgres(pool) = store.pool() else { panic!("a PostgreSQL store") };
    let mut reader = pool.begin().await.expect("a reader");
    let _: i64 = sqlx::query_scalar("SELECT count(*) FROM full_timeline").fetch_one(&mut *reader).await.expect("reads");
    let build = rebuild_from(store, &batches).await;
    let watcher = pool.clone();
    let reading = tokio::spawn(async move {
        // Once the swap waits for the old full timeline the reader holds…
        let waiting = "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                       WHERE c.relname = 'full_timeline' AND c.relnamespace = 'public'::regnamespace \
                       AND l.mode = 'AccessExclusiveLock' AND NOT l.granted)";
        let started = std::time::Instant::now();
        while !sqlx::query_scalar::<_, bool>(waiting).fetch_one(&watcher).await.expect("reads the locks") {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the swap never waited for the full timeline"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // …the reader asks for the public timeline.
        let read: Result<i64, sqlx::Error> =
            sqlx::query_scalar("SELECT count(*) FROM public_timeline").fetch_one(&mut *reader).await;
        reader.rollback().await.expect("the reader ends");
        read
    });
    build.finish(runner::to_rows).await.expect("finishes after the reader");
    let read = reading.await.expect("the reader ran");
    assert!(read.is_ok(), "the reader's query went on: {read:?}");
    assert_same(&written(store, &projects).await, &folded, "after giving way");
}

async fn a_rolled_back_batch_is_forgotten(backend: Backend) {
    let projects: Vec<String> = (0..2).map(|n| code(400 + n)).collect();
    let (remembering, forgetting) = pair(backend).await;
    let (remembering, forgetting) = (&remembering.store, &forgetting.store);
    let mut with = Folder::new(remembering.projections());
    let mut without = Folder::with_memory(forgetting.projections(), 0);
    let stream = streams::long_project(&projects[0], 26, 1);
    for event in &stream[..20] {
        with.fold(vec![event.clone()]).await.expect("folds");
        without.fold(vec![event.clone()]).await.expect("folds");
    }
    // A batch that fails after the remembered project was carried: an event
    // of another project at a position the database cannot hold.
    let mut broken = streams::long_project(&projects[1], 1, 1).remove(0);
    broken.position = u64::MAX;
    let batch = vec![stream[20].clone(), broken];
    assert!(with.fold(batch.clone()).await.is_err(), "the batch fails");
    assert!(without.fold(batch).await.is_err(), "the batch fails");
    for event in &stream[20..] {
        let remembered = with.fold(vec![event.clone()]).await.expect("folds");
        assert_eq!(remembered, without.fold(vec![event.clone()]).await.expect("folds"));
        assert_eq!(remembered, [Projected::Advanced { head: event.project_seq }]);
    }
    assert_eq!(written(remembering, &projects).await, written(forgetting, &projects).await);
}

/// Given the lifecycle with land folded into a store, the public tables
/// (timeline, summary, change feed) hold no household's name, ID number or
/// phone, the full timeline holds all of them, and the public project reads
/// as operating with its land figures.
async fn land_reaches_the_public_tables_as_counts_and_totals_only(backend: Backend) {
    use prost::Message as _;
    let fresh = fresh(backend).await;
    let store = &fresh.store;
    let project = code(500);
    let mut recorder = Recorder::new(&project, 1);
    for submission in streams::expropriation_lifecycle(&project) {
        recorder.record(submission, false).expect("lawful");
    }
    let mut folder = Folder::new(store.projections());
    for batch in recorder.events.chunks(5) {
        folder.fold(batch.to_vec()).await.expect("folds");
    }
    let canaries: Vec<String> = (1..=3)
        .flat_map(|n| [gongkai_scenarios::land::resident_id(n), format!("1390451000{}", n - 1)])
        .chain(["王建国", "李秀英", "张志强"].map(str::to_owned))
        .collect();
    let public = store.supervision().timeline(gongkai_store::View::Public, &project).await.expect("public");
    let full = store.supervision().timeline(gongkai_store::View::Full, &project).await.expect("full");
    let row = store.public().public_project(&project).await.expect("reads").expect("public project");
    // The feed holds back rows of transactions older than the oldest still
    // running anywhere on the server, such as other tests': wait for them.
    let mut changes = Vec::new();
    for _ in 0..200 {
        changes = store.public().public_changes_after(None, 10_000).await.expect("public changes");
        if changes.len() >= public.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(changes.len() >= public.len(), "a feed row for every public entry: {} for {}", changes.len(), public.len());
    for change in &changes {
        let entry = change.entry.as_deref().expect("the feed reads the entry from the public timeline");
        assert_eq!(entry, public[change.project_seq as usize - 1], "the feed names the entry as it stands");
    }
    let changes: Vec<Vec<u8>> = changes.into_iter().filter_map(|change| change.entry).collect();
    let public_bytes: Vec<u8> = public.iter().chain(&changes).chain([&row.summary]).flatten().copied().collect();
    let full_bytes: Vec<u8> = full.concat();
    // The full side keeps only what it adds to the public one, yet reads whole.
    let stored: Vec<Vec<u8>> = match store.pool() {
        Pool::Postgres(pool) => sqlx::query_scalar("SELECT entry FROM full_timeline").fetch_all(pool).await,
        Pool::Sqlite(pool) => sqlx::query_scalar("SELECT entry FROM full_timeline").fetch_all(pool).await,
    }
    .expect("stored full entries");
    let stored_bytes: usize = stored.iter().map(Vec::len).sum();
    assert!(stored_bytes * 3 < full_bytes.len(), "the full side keeps {stored_bytes} of {} bytes", full_bytes.len());
    for canary in &canaries {
        let needle = canary.as_bytes();
        assert!(!public_bytes.windows(needle.len()).any(|w| w == needle), "{canary} in a public table");
        assert!(full_bytes.windows(needle.len()).any(|w| w == needle), "{canary} missing from the full view");
    }
    assert_eq!(row.stage, "operation");
    let summary = pb::ProjectSummary::decode(row.summary.as_slice()).expect("summary");
    let land = summary.land.expect("land figures");
    assert_eq!((land.households_with_results, land.compensation_paid_fen), (3, 326_500_000));
    assert!(summary.environmental_approval.is_some());
    fresh.store.close().await;
}
