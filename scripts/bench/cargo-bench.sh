#!/usr/bin/env bash
# The Rust benches, each writing its figures as JSON to GONGKAI_BENCH_REPORT:
#   cargo-bench.sh rebuild   cargo bench -p gongkai-projector --bench rebuild
#                            over BENCH_REBUILD_EVENTS (1,000,000) events, on
#                            the bench's default store, or on a fresh
#                            PostgreSQL database with BENCH_REBUILD_STORAGE=postgres
#   cargo-bench.sh search    cargo bench -p gongkai-supervision --bench search
#                            over BENCH_SEARCH_PROJECTS (100,000) projects on a
#                            fresh PostgreSQL database
# Writes rebuild.json or search.json; the bench's own output goes to stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

bench=${1:-}
BENCH_TAG=$bench
need_commands jq:jq
work='' db_url=''
bench_tmpdir work
export GONGKAI_BENCH_REPORT="$work/report.json"

case $bench in
    rebuild)
        export GONGKAI_BENCH_EVENTS="${BENCH_REBUILD_EVENTS:-1000000}"
        command=(cargo bench --locked -p gongkai-projector --bench rebuild)
        storage="the bench's default store"
        if [[ ${BENCH_REBUILD_STORAGE:-default} == postgres ]]; then
            ensure_infra
            fresh_database rebuild db_url
            export GONGKAI_BENCH_STORAGE="$db_url"
            storage="a fresh PostgreSQL database"
        fi
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
    *) bench_die "usage: $0 rebuild|search" ;;
esac

bench_log "$described"
(cd "$REPO_ROOT" && "${command[@]}") >&2 || bench_die "${command[*]} failed"
[[ -s $GONGKAI_BENCH_REPORT ]] || bench_die "${command[*]} wrote no report to GONGKAI_BENCH_REPORT"

# shellcheck disable=SC2016 # jq programs
case $bench in
    rebuild)
        emit_result rebuild --slurpfile report "$GONGKAI_BENCH_REPORT" --arg described "$described" -- '
            $report[0] as $r | {
                title: "Projector rebuild", value: $r.events_per_second, unit: "events/s",
                method: "\($described): \($r.events) events of \($r.projects) projects folded in \($r.seconds * 10 | round / 10) s (\($r.storage // "store"))",
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
