#!/usr/bin/env bash
# `gongkai verify` over a province's public record, and the transparency log
# catching up with it:
#   verify.sh
#
# 1. BENCH_VERIFY_PROJECTS (100,000) lawful PPP lifecycles of 29 events in a
#    fresh SQLite store, built and rendered by the rebuild bench
#    (`cargo bench -p gongkai-projector --bench rebuild`: 200 lifecycles
#    through the submit path, the rest copies with their own hash chains,
#    every view rebuilt), kept for what follows;
# 2. `gongkai serve --target tlog,site` on it with a fresh signing key: the
#    log's writer appends every event and signs (timed until a checkpoint
#    covers them all: the log's append rate);
# 3. `gongkai verify --site URL`, timed: every chain recomputed from the bulk
#    download, every reveal opened, every leaf fetched from the entry bundles
#    and the tree checked against the checkpoint. Writes verify.json.
set -euo pipefail
BENCH_TAG=verify
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

need_commands jq:jq sqlite3:sqlite3
build_gongkai
work=''
bench_tmpdir work
projects=${BENCH_VERIFY_PROJECTS:-100000}
events=$((projects * 29))
db="$work/verify.db"

bench_log "building $projects projects ($events events) with the rebuild bench"
(cd "$REPO_ROOT" && GONGKAI_BENCH_EVENTS=$events GONGKAI_BENCH_STORAGE="sqlite://$db" \
    GONGKAI_BENCH_REPORT="$work/rebuild.json" cargo bench --locked -p gongkai-projector --bench rebuild) >&2 ||
    bench_die "the rebuild bench failed"

key=$("$GONGKAI" tlog keygen --origin bench.gongkai/log | awk -F'"' '/^signing_key/ { print $2 }')
started=$(date +%s.%N)
start_announcing "$work" gongkai env RUST_LOG=warn GONGKAI_STORAGE__URL="sqlite://$db" GONGKAI_TLOG__SIGNING_KEY="$key" \
    GONGKAI_GRPC__LISTEN=127.0.0.1:0 GONGKAI_SITE__LISTEN=127.0.0.1:0 "$GONGKAI" serve --target tlog,site
site=$(announced "$work" gongkai site)
[[ -n $site ]] || bench_die "no site announced"
total=$(sqlite3 -cmd '.timeout 30000' "$db" "SELECT COUNT(*) FROM events")
until [[ $(sqlite3 -cmd '.timeout 30000' "$db" "SELECT COALESCE(MAX(tree_size), 0) FROM tlog_checkpoints") -ge $total ]]; do
    sleep 1
done
logged=$(date +%s.%N)
bench_log "the log holds $total events after $(jq -n "$logged - $started | . * 10 | round / 10") s"

bench_log "gongkai verify --site ${site%/}"
timed=()
[[ -x /usr/bin/time ]] && timed=(/usr/bin/time -v)
"${timed[@]}" "$GONGKAI" verify --site "${site%/}" --state "$work/state.json" >"$work/verify.out" 2>"$work/verify.err" ||
    { cat -- "$work/verify.out" "$work/verify.err" >&2; bench_die "gongkai verify failed"; }
verified=$(date +%s.%N)
grep -q '^verified: no discrepancy' "$work/verify.out" || bench_die "gongkai verify found discrepancies"
peak_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/verify.err")

# shellcheck disable=SC2016 # jq program
emit_result verify --argjson projects "$projects" --argjson events "$total" --argjson started "$started" \
    --argjson logged "$logged" --argjson verified "$verified" --argjson peak_kb "${peak_kb:-0}" \
    --rawfile output "$work/verify.out" -- '
    ($verified - $logged) as $seconds | ($logged - $started) as $log_seconds | {
        title: "gongkai verify, \($projects) projects", value: ($events / $seconds | round), unit: "events/s",
        method: "gongkai verify --site (release build) against gongkai serve --target tlog,site on one SQLite store of \($projects) lawful PPP lifecycles (\($events) events, built and rendered by the rebuild bench), over loopback HTTP: every chain recomputed from the bulk download, every reveal opened, \($events) leaves fetched from the entry bundles and the tree checked against the signed checkpoint, in \($seconds * 10 | round / 10) s (\($projects / $seconds | round) projects/s, peak memory \($peak_kb / 1024 | round) MiB). The log writer appended and signed all \($events) events in \($log_seconds * 10 | round / 10) s (\($events / $log_seconds | round) events/s)",
        projects_per_second: ($projects / $seconds), log_append_per_second: ($events / $log_seconds), output: $output
    }'
