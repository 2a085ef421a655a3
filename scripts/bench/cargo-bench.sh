#!/usr/bin/env bash
# The Rust benches, each writing its figures as JSON to GONGKAI_BENCH_REPORT:
#   cargo-bench.sh rebuild   cargo bench -p gongkai-projector --bench rebuild
#                            over BENCH_REBUILD_EVENTS (1,000,000) events, on
#                            the bench's default store, or on a fresh
#                            PostgreSQL database with BENCH_REBUILD_STORAGE=postgres
#   cargo-bench.sh search    cargo bench -p gongkai-supervision --bench search
#                            over BENCH_SEARCH_PROJECTS (100,000) projects on a
#                            fresh PostgreSQL database
#   cargo-bench.sh fold      cargo bench -p gongkai-projector --bench fold: the
#                            live fold's time for the 10th, 100th and 1,000th
#                            event of a project, and its throughput over
#                            BENCH_FOLD_PROJECTS (2,000) lifecycles, on the
#                            bench's default store, or on a fresh PostgreSQL
#                            database with BENCH_FOLD_STORAGE=postgres
# Writes rebuild.json, search.json or fold.json; the bench's own output goes to stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

bench=${1:-}
BENCH_TAG=$bench
need_commands jq:jq
work='' db_url=''
bench_tmpdir work
export GONGKAI_BENCH_REPORT="$work/report.json"

# on_storage CHOICE NAME: the bench's default store, or with CHOICE=postgres
# a fresh PostgreSQL database (NAME in its name); $storage says which.
on_storage() {
    storage="the bench's default store"
    if [[ $1 == postgres ]]; then
        ensure_infra
        fresh_database "$2" db_url
        export GONGKAI_BENCH_STORAGE="$db_url"
        storage="a fresh PostgreSQL database"
    fi
}

case $bench in
    rebuild)
        export GONGKAI_BENCH_EVENTS="${BENCH_REBUILD_EVENTS:-1000000}"
        command=(cargo bench --locked -p gongkai-projector --bench rebuild)
        on_storage "${BENCH_REBUILD_STORAGE:-default}" rebuild
        described="GONGKAI_BENCH_EVENTS=$GONGKAI_BENCH_EVENTS ${command[*]} on $storage"
        ;;
    search)
        export GONGKAI_BENCH_PROJECTS="${BENCH_SEARCH_PROJECTS:-100000}"
        ensure_infra
        fresh_database search db_url
        export GONGKAI_BENCH_STORAGE="$db_url"
        command=(cargo bench --locked -p gongkai-supervision --bench search)
        described="GONGKAI_BENCH_PROJECTS=$GONGKAI_BENCH_PROJECTS ${command[*]} on a fresh PostgreSQL database"
        ;;
    fold)
        export GONGKAI_BENCH_PROJECTS="${BENCH_FOLD_PROJECTS:-2000}"
        command=(cargo bench --locked -p gongkai-projector --bench fold)
        on_storage "${BENCH_FOLD_STORAGE:-default}" fold
        described="GONGKAI_BENCH_PROJECTS=$GONGKAI_BENCH_PROJECTS ${command[*]} on $storage"
        ;;
    *) bench_die "usage: $0 rebuild|search|fold" ;;
esac

bench_log "$described"
(cd "$REPO_ROOT" && "${command[@]}") >&2 || bench_die "${command[*]} failed"
[[ -s $GONGKAI_BENCH_REPORT ]] || bench_die "${command[*]} wrote no report to GONGKAI_BENCH_REPORT"

# shellcheck disable=SC2016 # jq programs
case $bench in
    rebuild)
        # rebuild (SQLite) or rebuild-postgres, and the raw load of its rows.
        name=rebuild
        [[ ${BENCH_REBUILD_STORAGE:-default} == postgres ]] && name=rebuild-postgres
        emit_result "$name-raw" --slurpfile report "$GONGKAI_BENCH_REPORT" --arg described "$described" -- '
            $report[0] as $r | {
                title: "Raw load of the rows a rebuild writes", value: $r.raw_load_events_per_second, unit: "events/s",
                method: "after \($described): \($r.raw_load_rows) rows of every table the rebuild writes loaded again into empty tables with the same indexes, \(if $r.storage == "postgres" then "COPY … FROM STDIN (FORMAT binary) of \($r.raw_load_bytes) bytes" else "INSERT … SELECT in one transaction" end), in \($r.raw_load_seconds * 100 | round / 100) s, per event of the log",
                report: $r
            }'
        emit_result "$name" --slurpfile report "$GONGKAI_BENCH_REPORT" --arg described "$described" -- '
            $report[0] as $r | {
                title: "Projector rebuild (\($r.storage))", value: $r.events_per_second, unit: "events/s",
                method: "\($described): \($r.events) events of \($r.projects) projects folded in \($r.seconds * 10 | round / 10) s (\($r.storage // "store")); the raw load of the same rows into tables with the same indexes runs at \($r.raw_load_events_per_second | round) events/s, so the rebuild is at \($r.share_of_raw_load * 100 | round) % of it; a second rebuild beside the live views took \($r.beside_seconds * 10 | round / 10) s while readers were answered \($r.reader_reads) times, \($r.reader_failures) failed, p99 \($r.reader_p99_ms * 100 | round / 100) ms",
                report: $r
            }'
        ;;
    fold)
        emit_result fold --slurpfile report "$GONGKAI_BENCH_REPORT" --arg described "$described" -- '
            $report[0] as $r | ($r.per_event["10"].warm_p50_us) as $tenth | ($r.per_event["1000"].warm_p50_us) as $thousandth | {
                title: "Projector fold, 1,000th event of a project", value: ($thousandth / 1000), unit: "ms",
                method: "\($described): one event per transaction by a projector that folded the ones before, p50 over \($r.per_event["1000"].samples) samples (\($r.storage)): the 10th event \($tenth / 1000 * 100 | round / 100) ms, the 100th \($r.per_event["100"].warm_p50_us / 1000 * 100 | round / 100) ms, the 1,000th \($thousandth / 1000 * 100 | round / 100) ms; by one that never saw the project \($r.per_event["1000"].cold_p50_us / 1000 * 100 | round / 100) ms; without memory (read and render the whole project, as before) \($r.per_event["10"].without_memory_p50_us / 1000 * 100 | round / 100) ms, \($r.per_event["100"].without_memory_p50_us / 1000 * 100 | round / 100) ms and \($r.per_event["1000"].without_memory_p50_us / 1000 * 100 | round / 100) ms. Throughput: \($r.throughput.events) events of \($r.throughput.projects) lifecycles, \($r.throughput.in_flight) in flight, batches of 500: \($r.throughput.events_per_second | round) events/s",
                report: $r
            }'
        ;;
    search)
        emit_result search --slurpfile report "$GONGKAI_BENCH_REPORT" --arg described "$described" -- '
            $report[0] as $r | {
                title: "Supervisor search p99", value: $r.p99_ms, unit: "ms",
                method: "\($described): \($r.queries) SearchProjects calls over \($r.projects) projects, one client over loopback gRPC, audit included (p50 \($r.p50_ms) ms, max \($r.max_ms) ms)",
                report: $r
            }'
        ;;
esac
