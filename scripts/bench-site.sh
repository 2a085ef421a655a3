#!/usr/bin/env bash
# The site's acceptance benchmark (issue 6) on its own: scripts/bench/site.sh
# loads 100,000 public projects into `gongkai dev`, measures the project page
# under wrk next to nginx serving the same pages as static files, and at a
# fixed 500 requests/s; then prints its rows of the `just bench` table.
# Sizes and options: see scripts/bench/site.sh.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
export BENCH_OUT
BENCH_OUT="$here/../target/bench/site-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p -- "$BENCH_OUT/status"
rc=0
"$here/bench/site.sh" || rc=$?
printf '{"exit": %d}\n' "$rc" >"$BENCH_OUT/status/site-page"
cp -- "$BENCH_OUT/status/site-page" "$BENCH_OUT/status/site-page-fixed"
python3 "$here/bench/report.py" "$BENCH_OUT" "$BENCH_OUT/results.json"
exit "$rc"
