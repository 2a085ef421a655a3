#!/usr/bin/env bash
# The raw limit of PostgreSQL for ingestion: the rows of one gongkai append
# committed by pgbench, without gongkai.
#   pg-commit.sh
#
# A fresh database gets gongkai's own schema (`gongkai migrate`: the same
# tables, indexes, constraints and triggers). Each pgbench transaction does
# what Store::append does on PostgreSQL (services/common/store/src/events.rs):
#   - the streams row: created for a project's first event (INSERT … ON
#     CONFLICT DO NOTHING), else the compare-and-set UPDATE from seq-1 to seq
#     with the previous head hash;
#   - the events row with a real envelope (envelope.hex from the PostgreSQL
#     ingestion bench: one of median size; else BENCH_ENVELOPE_BYTES random
#     bytes), unique event id, request key and chained hashes, RETURNING
#     position;
#   - the outbox row (with a traceparent when the schema has that column);
# in one transaction, with prepared statements like sqlx. Each client walks
# its own projects through lifecycles of 26 events, about the PPP lifecycle
# `gongkai load` walks (29 events; every other project 41 with its land).
# Clients: BENCH_PGBENCH_CLIENTS (default "$BENCH_CONCURRENCY 16": the load's
# concurrency, then gongkai's default pool size); the first is the figure.
# Each runs BENCH_PGBENCH_SECONDS (default 30). Writes pg-commit.json.
set -euo pipefail
BENCH_TAG="pg-commit"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

pgbench=${BENCH_PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
seconds=${BENCH_PGBENCH_SECONDS:-30}
read -ra clients <<<"${BENCH_PGBENCH_CLIENTS:-$BENCH_CONCURRENCY 16}"

[[ -x $pgbench ]] || need_commands pgbench:postgresql
[[ -x $pgbench ]] || pgbench=$(command -v pgbench)
need_commands psql:postgresql-client jq:jq
build_gongkai
ensure_infra
work='' db_url=''
bench_tmpdir work

if [[ -s $BENCH_OUT/envelope.hex ]]; then
    payload=$(<"$BENCH_OUT/envelope.hex")
    payload_from="a real envelope of median size from the PostgreSQL ingestion bench"
else
    payload=$(od -An -v -tx1 -N "${BENCH_ENVELOPE_BYTES:-600}" /dev/urandom | tr -d ' \n')
    payload_from="random bytes (run the PostgreSQL ingestion bench first for a real envelope)"
fi
bytes=$((${#payload} / 2))

fresh_database pg_commit db_url
GONGKAI_STORAGE__URL="$db_url" "$GONGKAI" migrate 2>"$work/migrate.err" \
    || { cat -- "$work/migrate.err" >&2; bench_die "migration failed"; }
outbox_columns="position, topic" outbox_values=":position, 'gongkai.tenders.v1'"
if [[ $(psql "$db_url" -Atqc "SELECT COUNT(*) FROM information_schema.columns
        WHERE table_name = 'outbox' AND column_name = 'traceparent'") == 1 ]]; then
    outbox_columns+=", traceparent"
    outbox_values+=", '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'"
fi

# :seq and :n persist per client between transactions (pgbench keeps each
# client's variables); -D starts them at 0. Codes are 24 characters like real
# ones; hashes chain per project so the compare-and-set really compares.
cat >"$work/append.sql" <<SQL
\\if :seq >= 26
\\set seq 0
\\set n :n + 1
\\endif
\\set seq :seq + 1
\\set project :client_id * 100000 + :n
BEGIN;
\\if :seq = 1
INSERT INTO streams (project_code, region_code, last_seq, head_hash)
VALUES ('2024-230113-99-' || lpad((:project)::text, 9, '0'), '230113', 1,
        sha256(convert_to(lpad((:project)::text, 9, '0') || '/1', 'UTF8')))
ON CONFLICT (project_code) DO NOTHING;
\\else
UPDATE streams SET last_seq = :seq, head_hash = sha256(convert_to(lpad((:project)::text, 9, '0') || '/' || :seq, 'UTF8'))
WHERE project_code = '2024-230113-99-' || lpad((:project)::text, 9, '0') AND last_seq = :seq - 1
  AND head_hash = sha256(convert_to(lpad((:project)::text, 9, '0') || '/' || (:seq - 1), 'UTF8'));
\\endif
INSERT INTO events (event_id, project_code, project_seq, event_type, domain, source, request_id,
                    request_digest, occurred_at, recorded_at, prev_hash, hash, envelope)
VALUES (gen_random_uuid(), '2024-230113-99-' || lpad((:project)::text, 9, '0'), :seq, 'gongkai.v1.TenderAnnounced',
        'tenders', 'bench', 'load-' || :project || '-' || :seq,
        sha256(convert_to('request/' || :project || '/' || :seq, 'UTF8')), now(), now(),
        CASE WHEN :seq = 1 THEN ''::bytea
             ELSE sha256(convert_to(lpad((:project)::text, 9, '0') || '/' || (:seq - 1), 'UTF8')) END,
        sha256(convert_to(lpad((:project)::text, 9, '0') || '/' || :seq, 'UTF8')), :payload)
RETURNING position \\gset
INSERT INTO outbox ($outbox_columns) VALUES ($outbox_values);
COMMIT;
SQL

runs=()
for c in "${clients[@]}"; do
    # A fresh event log per run: each starts from the same empty tables.
    psql "$db_url" -qc "TRUNCATE outbox, compliance_flags, events, streams" >/dev/null
    command=("$pgbench" -n -M prepared -c "$c" -j 2 -T "$seconds" -f append.sql -D seq=0 -D n=0)
    bench_log "${command[*]} -D payload=<$bytes bytes> <db>"
    (cd "$work" && "${command[@]}" -D "payload=\\x$payload" "$db_url") >"$work/pgbench-$c.out" 2>"$work/pgbench-$c.err" \
        || { cat -- "$work/pgbench-$c.out" "$work/pgbench-$c.err" >&2; bench_die "pgbench failed"; }
    tps=$(awk '/^tps = / { print $3; exit }' "$work/pgbench-$c.out")
    latency=$(awk '/^latency average = / { print $4; exit }' "$work/pgbench-$c.out")
    failed=$(awk '/^number of failed transactions: / { print $5; exit }' "$work/pgbench-$c.out")
    rows=$(psql "$db_url" -Atqc "SELECT COUNT(*) FROM events")
    [[ -n $tps ]] || { cat -- "$work/pgbench-$c.out" >&2; bench_die "no tps in pgbench's output"; }
    bench_log "$c clients: $tps commits/s, $rows events rows, latency $latency ms"
    runs+=("$(jq -nc --argjson clients "$c" --argjson tps "$tps" --argjson latency "${latency:-null}" \
        --argjson failed "${failed:-0}" --argjson rows "$rows" --arg command "${command[*]}" \
        '{clients: $clients, commits_per_second: $tps, latency_avg_ms: $latency, failed: $failed, events_rows: $rows, command: $command}')")
done

# shellcheck disable=SC2016 # a jq program
emit_result pg-commit --argjson runs "$(printf '%s\n' "${runs[@]}" | jq -s .)" --argjson bytes "$bytes" \
    --arg payload_from "$payload_from" --arg seconds "$seconds" --arg pgbench "$("$pgbench" --version)" -- '
    {
        title: "PostgreSQL commits of one append",
        value: $runs[0].commits_per_second, unit: "commits/s",
        method: "\($pgbench), \($runs | map("\(.clients) clients: \(.commits_per_second | floor)/s") | join(", ")) for \($seconds) s each (-M prepared -j 2) on a fresh database with gongkai'"'"'s schema; one transaction = streams compare-and-set (or insert for seq 1) + events row with \($bytes)-byte envelope (\($payload_from)) + outbox row, like Store::append",
        envelope_bytes: $bytes, runs: $runs
    }'
