#!/usr/bin/env bash
# `just bench`: every benchmark, one after another on this machine, then one
# table of each gongkai figure next to the raw limit of the same
# infrastructure doing the same work, and the targets of issues 6 and 7.
#
#   scripts/bench/run.sh                 everything (about 30 minutes)
#   BENCH_ONLY="pg-commit site" scripts/bench/run.sh
#
# Benches, in order (each a script here, runnable on its own):
#   ingest-embedded      gongkai dev under gongkai load, 64 clients    ingest.sh
#   ingest-postgres      gongkai serve on PostgreSQL + Kafka, same      ingest.sh
#                        (also relay-replay and the envelope sizes)
#   ingest-postgres-relay  the same without the projector (its own machine)
#   ingest-postgres-tlog the same as ingest-postgres, with the transparency
#                        log's writer appending and signing                ingest.sh
#   pg-commit            pgbench committing the rows of one append      pg-commit.sh
#   kafka-produce        Kafka's ProducerPerformance, relay settings    kafka-produce.sh
#   grpc-echo            gongkai load against a do-nothing server       grpc-echo.sh
#   visibility-postgres  ack → public timeline at 1,000/s               ingest.sh --watch
#   visibility-embedded  the same on the embedded shape                 ingest.sh --watch
#   rebuild              projector rebuild of 1,000,000 events (SQLite)  cargo-bench.sh
#   rebuild-postgres     the same on PostgreSQL                          cargo-bench.sh
#   fold                 live fold: 10th vs 1,000th event, throughput   cargo-bench.sh
#   search               supervisor search over 100,000 projects        cargo-bench.sh
#   site                 project page vs nginx, and at 500/s            site.sh
#   verify               gongkai verify over 100,000 projects           verify.sh
#
# Sizes (defaults in brackets): BENCH_CONCURRENCY [64], BENCH_LOAD_DURATION
# [30s], BENCH_PGBENCH_SECONDS [30], BENCH_PGBENCH_CLIENTS ["64 16"],
# BENCH_KAFKA_RECORDS [500000], BENCH_VISIBILITY_RATE [1000],
# BENCH_VISIBILITY_DURATION [30s], BENCH_REBUILD_EVENTS [1000000],
# BENCH_REBUILD_STORAGE [default|postgres], BENCH_FOLD_PROJECTS [2000],
# BENCH_FOLD_STORAGE [default|postgres], BENCH_SEARCH_PROJECTS [100000],
# BENCH_PROJECTS [100000], BENCH_SUBMISSIONS [26000], BENCH_URLS [2000],
# BENCH_WRK_DURATION [20s], BENCH_VERIFY_PROJECTS [100000], BENCH_FIXED_RATE [500], BENCH_FIXED_DURATION [30s],
# BENCH_DRAIN_TIMEOUT [60] (seconds to wait for relay and projector after a load).
# BENCH_SKIP_BUILD=1 benches the release binaries already built.
#
# Each bench's output goes to target/bench/run-<UTC>/logs/<bench>.log; the
# table goes to stdout and, with every figure and how it was measured, to
# target/bench/results-<UTC>.json and target/bench/latest.json. Uses the
# shared PostgreSQL and Kafka of scripts/infra (started when down, never
# stopped) with fresh databases and topic prefixes, removed afterwards.
set -euo pipefail
BENCH_TAG=run
stamp=$(date -u +%Y%m%dT%H%M%SZ)
export BENCH_OUT
BENCH_OUT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)/target/bench/run-$stamp"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

all="ingest-embedded ingest-postgres ingest-postgres-tlog ingest-postgres-relay pg-commit kafka-produce grpc-echo visibility-postgres visibility-embedded rebuild rebuild-postgres fold search site verify"
read -ra benches <<<"${BENCH_ONLY:-$all}"
visibility=(--rate "${BENCH_VISIBILITY_RATE:-1000}" --duration "${BENCH_VISIBILITY_DURATION:-30s}" --watch --watch-every 10)

run_bench() {
    local here=$BENCH_LIB_DIR
    case $1 in
        ingest-embedded) "$here/ingest.sh" embedded ingest-embedded ;;
        ingest-postgres) BENCH_SAMPLE_ENVELOPE=1 BENCH_RELAY_REPLAY=1 "$here/ingest.sh" postgres ingest-postgres ;;
        ingest-postgres-relay) BENCH_PROJECTOR=elsewhere "$here/ingest.sh" postgres ingest-postgres-relay ;;
        ingest-postgres-tlog) BENCH_TLOG=1 "$here/ingest.sh" postgres ingest-postgres-tlog ;;
        pg-commit) "$here/pg-commit.sh" ;;
        kafka-produce) "$here/kafka-produce.sh" ;;
        grpc-echo) "$here/grpc-echo.sh" ;;
        visibility-postgres) "$here/ingest.sh" postgres visibility-postgres "${visibility[@]}" ;;
        visibility-embedded) "$here/ingest.sh" embedded visibility-embedded "${visibility[@]}" ;;
        rebuild | fold | search) "$here/cargo-bench.sh" "$1" ;;
        rebuild-postgres) BENCH_REBUILD_STORAGE=postgres "$here/cargo-bench.sh" rebuild ;;
        site) "$here/site.sh" ;;
        verify) "$here/verify.sh" ;;
    esac
}
for bench in "${benches[@]}"; do
    [[ " $all " == *" $bench "* ]] || bench_die "unknown bench $bench (known: $all)"
done

mkdir -p -- "$BENCH_OUT/logs" "$BENCH_OUT/status"
bench_log "results in $BENCH_OUT"
# Everything built once up front, so no bench times a compile.
# BENCH_SKIP_BUILD=1 uses the release binaries already in target/release.
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    (cd "$REPO_ROOT" && cargo build --release --locked -p gongkai && cargo build --release --locked -p gongkai-load --example echo-server) \
        >"$BENCH_OUT/logs/build.log" 2>&1 || { tail -n 30 "$BENCH_OUT/logs/build.log" >&2; bench_die "the release build failed"; }
fi
export BENCH_BUILT=1
ensure_infra

failed=0
for i in "${!benches[@]}"; do
    bench=${benches[$i]}
    bench_log "$((i + 1))/${#benches[@]} $bench"
    started=$SECONDS
    rc=0
    run_bench "$bench" >"$BENCH_OUT/logs/$bench.log" 2>&1 || rc=$?
    printf '{"exit": %d, "seconds": %d}\n' "$rc" "$((SECONDS - started))" >"$BENCH_OUT/status/$bench"
    if ((rc == 0)); then
        bench_log "$bench done in $((SECONDS - started)) s"
    else
        failed=$((failed + 1))
        tail -n 15 "$BENCH_OUT/logs/$bench.log" >&2
        bench_log "$bench FAILED (exit $rc) after $((SECONDS - started)) s; log: $BENCH_OUT/logs/$bench.log"
    fi
done

echo
python3 "$BENCH_LIB_DIR/report.py" "$BENCH_OUT" "$REPO_ROOT/target/bench/results-$stamp.json"
cp -- "$REPO_ROOT/target/bench/results-$stamp.json" "$REPO_ROOT/target/bench/latest.json"
((failed == 0)) || exit 1
