//! The group-commit batch writer behind [`crate::EventStore::append_all`]: a
//! batch written in rounds, one savepoint each, with each append's refusal
//! found by looking (see "Group commit" and "How refusals are classified" in
//! the `events` module docs).

use std::collections::{HashMap, HashSet, VecDeque};

use sqlx::{Connection, Database, Executor, FromRow};

use super::{Row, invalid};
use crate::db::to_u64;
use crate::query::{self, Bind, Sql, Value};
use crate::{AppendOutcome, StoreError};

/// One append of a batch: where its outcome goes, its columns, and its
/// event id as the backend binds it.
pub(super) struct Pending<'a> {
    pub(super) at: usize,
    pub(super) row: Row<'a>,
    pub(super) event_id: Value<'static>,
}

/// The most appends one statement carries (13 binds each for `events`).
const MAX_ROUND: usize = 1_000;

/// What one try at writing a round did.
enum Attempt {
    /// Every append of the round has its outcome (in round order), and the
    /// appended ones are written.
    Written(Vec<Result<AppendOutcome, StoreError>>),
    /// These appends (index in the round, outcome) found a key of theirs
    /// taken when their `events` row went in: the round's writes must be
    /// undone and the round written again without them.
    Refused(Vec<(usize, Result<AppendOutcome, StoreError>)>),
}

/// Writes `pending` in rounds: round `k` holds the `k`-th append of each
/// project in the batch, so that a project's appends go in the order given,
/// each against the head the previous round left, and a round names each
/// project once. Every append's outcome goes to `outcomes[at]`.
pub(super) async fn write_batch<C>(
    conn: &mut C,
    pending: &[Pending<'_>],
    outcomes: &mut [Result<AppendOutcome, StoreError>],
    savepoints: bool,
    lost_lock_race: fn(&sqlx::Error) -> bool,
) -> Result<(), StoreError>
where
    C: Connection<Database: Bind>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'r> (String,): FromRow<'r, <C::Database as Database>::Row>,
    for<'r> (String, i64): FromRow<'r, <C::Database as Database>::Row>,
    for<'r> (i64, i64): FromRow<'r, <C::Database as Database>::Row>,
{
    let mut rounds: Vec<Vec<&Pending<'_>>> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for append in pending {
        let round = seen.entry(append.row.project_code).or_insert(0);
        if rounds.len() == *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(append);
        *round += 1;
    }
    // Queued parts of rounds, each written in its own savepoint. A part whose
    // statement fails is written again one append at a time, so the failure
    // is the one append's.
    let mut queue: VecDeque<Vec<&Pending<'_>>> = VecDeque::new();
    for mut round in rounds {
        // Row locks in one order, which spares concurrent batches a deadlock
        // PostgreSQL would have to break.
        round.sort_by_key(|append| append.row.project_code);
        queue.extend(round.chunks(MAX_ROUND).map(<[_]>::to_vec));
    }
    while let Some(mut part) = queue.pop_front() {
        loop {
            if savepoints {
                Sql::new("SAVEPOINT append_round").execute(&mut *conn).await?;
            }
            match write_round(&mut *conn, &part).await {
                Ok(Attempt::Written(written)) => {
                    if savepoints {
                        Sql::new("RELEASE SAVEPOINT append_round").execute(&mut *conn).await?;
                    }
                    for (append, outcome) in part.iter().zip(written) {
                        outcomes[append.at] = outcome;
                    }
                    break;
                }
                Ok(Attempt::Refused(refused)) => {
                    if savepoints {
                        undo_round(&mut *conn).await?;
                    }
                    let mut keep = vec![true; part.len()];
                    for (index, outcome) in refused {
                        keep[index] = false;
                        outcomes[part[index].at] = outcome;
                    }
                    let mut keep = keep.into_iter();
                    part.retain(|_| keep.next().unwrap_or(false));
                    if part.is_empty() {
                        break;
                    }
                }
                Err(error) => {
                    if savepoints {
                        undo_round(&mut *conn).await?;
                    }
                    if part.len() > 1 {
                        for alone in part.iter().rev() {
                            queue.push_front(vec![*alone]);
                        }
                        break;
                    }
                    let lost = match &error {
                        StoreError::Query(error) => lost_lock_race(error),
                        _ => false,
                    };
                    outcomes[part[0].at] = if lost { Ok(AppendOutcome::Conflict) } else { Err(error) };
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Undoes a round's writes and ends its savepoint (a savepoint rolled back
/// to stays open; ending it keeps the transaction at one level below).
async fn undo_round<C>(conn: &mut C) -> Result<(), StoreError>
where
    C: Connection<Database: Bind>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    Sql::new("ROLLBACK TO SAVEPOINT append_round").execute(&mut *conn).await?;
    Sql::new("RELEASE SAVEPOINT append_round").execute(&mut *conn).await?;
    Ok(())
}

/// One try at writing `round` (distinct projects): the compare-and-set of
/// every stream head, then the events, outbox rows and flags of the appends
/// that advanced their head.
async fn write_round<C>(conn: &mut C, round: &[&Pending<'_>]) -> Result<Attempt, StoreError>
where
    C: Connection<Database: Bind>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'r> (String,): FromRow<'r, <C::Database as Database>::Row>,
    for<'r> (String, i64): FromRow<'r, <C::Database as Database>::Row>,
    for<'r> (i64, i64): FromRow<'r, <C::Database as Database>::Row>,
{
    // The optimistic-concurrency check: open the streams at seq 1 (ON
    // CONFLICT waits for a concurrent opener, then does nothing), advance
    // the others from `project_seq - 1` and their head hash (under READ
    // COMMITTED a concurrent advance makes this wait for the row lock and
    // re-check the condition on the committed row).
    let (openers, advancers): (Vec<&Pending<'_>>, Vec<&Pending<'_>>) =
        round.iter().copied().partition(|append| append.row.project_seq == 1);
    let mut advanced: HashSet<String> = HashSet::with_capacity(round.len());
    if !openers.is_empty() {
        let mut open = Sql::new("INSERT INTO streams (project_code, region_code, last_seq, head_hash) VALUES ");
        for (index, append) in openers.iter().enumerate() {
            let row = &append.row;
            open.push(if index == 0 { "(" } else { ", (" })
                .list::<Value<'_>>([
                    row.project_code.into(),
                    row.region_code.into(),
                    row.project_seq.into(),
                    (&row.hash).into(),
                ])
                .push(")");
        }
        open.push(" ON CONFLICT (project_code) DO NOTHING RETURNING project_code");
        let opened: Vec<(String,)> = open.fetch_all(&mut *conn).await?;
        advanced.extend(opened.into_iter().map(|(code,)| code));
    }
    if !advancers.is_empty() {
        let mut advance = Sql::new("WITH proposed (code, seq, new_hash, old_hash) AS (VALUES ");
        for (index, append) in advancers.iter().enumerate() {
            let row = &append.row;
            advance
                .push(if index == 0 { "(" } else { ", (" })
                .list::<Value<'_>>([
                    row.project_code.into(),
                    row.project_seq.into(),
                    (&row.hash).into(),
                    (&row.prev_hash).into(),
                ])
                .push(")");
        }
        advance.push(
            ") UPDATE streams SET last_seq = proposed.seq, head_hash = proposed.new_hash FROM proposed \
             WHERE streams.project_code = proposed.code AND streams.last_seq = proposed.seq - 1 \
             AND streams.head_hash = proposed.old_hash RETURNING project_code",
        );
        let moved: Vec<(String,)> = advance.fetch_all(&mut *conn).await?;
        advanced.extend(moved.into_iter().map(|(code,)| code));
    }
    // Why a head did not move: a stream that moved on or does not exist is
    // a conflict; one at `project_seq - 1` with another head hash means the
    // caller chained the event wrongly.
    let stuck: Vec<&str> =
        advancers.iter().map(|append| append.row.project_code).filter(|code| !advanced.contains(*code)).collect();
    let mut heads: HashMap<String, i64> = HashMap::new();
    if !stuck.is_empty() {
        let mut sql = Sql::new("SELECT project_code, last_seq FROM streams WHERE project_code IN (");
        sql.list(stuck).push(")");
        let found: Vec<(String, i64)> = sql.fetch_all(&mut *conn).await?;
        heads.extend(found);
    }
    // The appends that advanced their head are answered below, once written.
    let mut outcomes: Vec<Result<AppendOutcome, StoreError>> = round
        .iter()
        .map(|append| {
            let row = &append.row;
            match heads.get(row.project_code) {
                Some(last_seq) if row.project_seq > 1 && *last_seq == row.project_seq - 1 => {
                    Err(StoreError::ChainMismatch {
                        project_code: row.project_code.to_owned(),
                        project_seq: row.project_seq as u64,
                    })
                }
                _ => Ok(AppendOutcome::Conflict),
            }
        })
        .collect();
    let winners: Vec<(usize, &Pending<'_>)> =
        round.iter().copied().enumerate().filter(|(_, append)| advanced.contains(append.row.project_code)).collect();
    if winners.is_empty() {
        return Ok(Attempt::Written(outcomes));
    }

    // The events, each taking its position. A key already taken (the
    // request, the project's seq, the event id) skips the row instead of
    // failing the statement, so that the appends that lost can be told
    // apart from the others by looking.
    let mut insert = Sql::new(
        "INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id, \
         request_digest, occurred_at, recorded_at, prev_hash, hash, envelope) VALUES ",
    );
    for (index, (_, append)) in winners.iter().enumerate() {
        let row = &append.row;
        insert
            .push(if index == 0 { "(" } else { ", (" })
            .list::<Value<'_>>([
                append.event_id.clone(),
                row.project_code.into(),
                row.project_seq.into(),
                row.event_type.into(),
                row.domain.into(),
                row.source.into(),
                row.request_id.into(),
                row.request_digest.into(),
                row.occurred_at.into(),
                row.recorded_at.into(),
                (&row.prev_hash).into(),
                (&row.hash).into(),
                (&row.envelope).into(),
            ])
            .push(")");
    }
    insert.push(" ON CONFLICT DO NOTHING RETURNING project_code, position");
    let inserted: HashMap<String, i64> = insert.fetch_all::<(String, i64), _>(&mut *conn).await?.into_iter().collect();
    let mut refused = Vec::new();
    for (index, append) in &winners {
        if !inserted.contains_key(append.row.project_code) {
            refused.push((*index, taken_key(&mut *conn, &append.row).await?));
        }
    }
    if !refused.is_empty() {
        return Ok(Attempt::Refused(refused));
    }

    let mut outbox = Sql::new("INSERT INTO outbox (position, topic, traceparent) VALUES ");
    let mut flags: Vec<(&Pending<'_>, &str, &[u8])> = Vec::new();
    for (index, (at, append)) in winners.iter().enumerate() {
        let row = &append.row;
        let position = inserted.get(row.project_code).copied().unwrap_or_default();
        // An empty traceparent is stored as none (NULLIF), like a missing one.
        outbox
            .push(if index == 0 { "(" } else { ", (" })
            .bind(position)
            .push(", ")
            .bind(row.topic)
            .push(", NULLIF(")
            .bind(row.traceparent.unwrap_or_default())
            .push(", ''))");
        flags.extend(row.flags.iter().map(|(rule, flag)| (*append, *rule, flag.as_slice())));
        outcomes[*at] = Ok(AppendOutcome::Appended { position: to_u64(position)? });
    }
    outbox.execute(&mut *conn).await?;
    let head = "INSERT INTO compliance_flags (event_id, project_code, rule, flag, raised_at)";
    for statement in query::insert(head, "", &flags, |&(append, rule, flag)| {
        [
            append.event_id.clone(),
            append.row.project_code.into(),
            rule.into(),
            flag.into(),
            append.row.recorded_at.into(),
        ]
    }) {
        statement.execute(&mut *conn).await?;
    }
    Ok(Attempt::Written(outcomes))
}

/// Which key of `row` an earlier row holds, found by looking (PostgreSQL's
/// `ON CONFLICT DO NOTHING` has waited for the writer of that row to commit,
/// and SQLite's writers are serialized, so the row is visible here): the
/// request is a duplicate; the project's seq is a conflict; otherwise only
/// the event id is left, which only a caller's bug reuses.
async fn taken_key<C>(conn: &mut C, row: &Row<'_>) -> Result<Result<AppendOutcome, StoreError>, StoreError>
where
    C: Connection<Database: Bind>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'r> (i64, i64): FromRow<'r, <C::Database as Database>::Row>,
{
    let mut sql = Sql::new("SELECT (SELECT COUNT(*) FROM events WHERE source = ");
    sql.bind(row.source)
        .push(" AND request_id = ")
        .bind(row.request_id)
        .push("), (SELECT COUNT(*) FROM events WHERE project_code = ")
        .bind(row.project_code)
        .push(" AND project_seq = ")
        .bind(row.project_seq)
        .push(")");
    let taken: Vec<(i64, i64)> = sql.fetch_all(&mut *conn).await?;
    Ok(match taken.first() {
        Some((request, _)) if *request > 0 => Ok(AppendOutcome::DuplicateRequest),
        Some((_, seq)) if *seq > 0 => Ok(AppendOutcome::Conflict),
        _ => Err(invalid(format!("event_id {} is already recorded", row.event_id))),
    })
}
