#!/usr/bin/env bash
# The site's acceptance benchmark: the project page with 100,000 public
# projects loaded, measured with `wrk` on loopback.
#
# What it loads, into a fresh SQLite database of `gongkai dev` (release build):
#   1. real lifecycles: `gongkai load` submits BENCH_SUBMISSIONS (default
#      26,000 ≈ 1,000 PPP lifecycles of 26 events) over gRPC; the projector
#      renders them into the public tables as in production;
#   2. the rest up to BENCH_PROJECTS (default 100,000): copies of those public
#      rows (public_projects and every public_timeline entry) under new,
#      distinct project codes, written with one SQL INSERT … SELECT each, so
#      every project page has a real timeline of up to 26 entries.
# Then wrk requests BENCH_URLS (default 2,000) random project pages, real and
# copied, through a small Lua script.
#
# wrk is closed-loop (no fixed-rate mode; Debian has no wrk2): BENCH_CONNECTIONS
# connections (default 16) on 2 threads each send the next request when the
# previous answer arrives, for BENCH_DURATION (default 20s). The throughput it
# reports is the most the page served at that concurrency; the latencies are
# those at that load. Installs wrk and sqlite3 from Debian when missing.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."

projects=${BENCH_PROJECTS:-100000}
submissions=${BENCH_SUBMISSIONS:-26000}
urls=${BENCH_URLS:-2000}
connections=${BENCH_CONNECTIONS:-16}
duration=${BENCH_DURATION:-20s}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if ((${#need[@]})); then
  echo "bench-site: installing ${need[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo build --release --locked -p gongkai >&2
gongkai=target/release/gongkai

work=$(mktemp -d)
db="$work/bench.db"
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

GONGKAI_STORAGE__URL="sqlite://$db" RUST_LOG=warn \
  "$gongkai" dev --grpc-listen 127.0.0.1:0 --site-listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 600); do
  grep -q '^Press Ctrl-C' "$work/out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.1
done
grpc=$(awk '$1 == "grpc:" { print $2 }' "$work/out")
token=$(awk '$1 == "token:" { print $2 }' "$work/out")
site=$(awk '$1 == "site:" { print $2 }' "$work/out")
site=${site%/}
[[ -n $grpc && -n $token && -n $site ]] || { cat "$work/out" "$work/err" >&2; exit 1; }
sql() { sqlite3 -cmd '.timeout 30000' "$db" "$@"; }

echo "bench-site: submitting $submissions events over gRPC" >&2
started=$SECONDS
"$gongkai" load --endpoint "$grpc" --token "$token" --count "$submissions" --run-id 1 \
  --refusal-every 0 --retry-every 0 >"$work/load" 2>&1 || { cat "$work/load" >&2; exit 1; }
# The projector has caught up when every accepted event is public or withheld
# and the count stops moving.
last=-1
while :; do
  now=$(sql 'SELECT COUNT(*) FROM full_timeline')
  [[ $now == "$last" ]] && break
  last=$now
  sleep 2
done
real=$(sql 'SELECT COUNT(*) FROM public_projects')
echo "bench-site: $real projects through ingest and projector ($last events) in $((SECONDS - started)) s" >&2

echo "bench-site: copying public rows up to $projects projects" >&2
started=$SECONDS
copies=$(((projects - real + real - 1) / real))
((copies <= 99)) || { echo "bench-site: $real real projects are too few to copy up to $projects" >&2; exit 1; }
sql <<SQL
CREATE TEMP TABLE copy_map AS
WITH RECURSIVE copy(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM copy WHERE n < $copies),
     source AS (SELECT project_code, ROW_NUMBER() OVER (ORDER BY project_code) AS rn FROM public_projects)
SELECT source.project_code AS old_code,
       printf('2023-%s-%02d-%06d', substr(source.project_code, 6, 9), copy.n, source.rn) AS new_code
FROM copy CROSS JOIN source
ORDER BY copy.n, source.rn
LIMIT $((projects - real));
BEGIN;
INSERT INTO public_projects (project_code, name, region_code, project_type, stage, head_seq, last_event_at, summary)
SELECT m.new_code, p.name || '（' || m.new_code || '）', p.region_code, p.project_type, p.stage, p.head_seq,
       p.last_event_at, p.summary
FROM copy_map m JOIN public_projects p ON p.project_code = m.old_code;
INSERT INTO public_timeline (project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry)
SELECT m.new_code, t.project_seq, t.event_id, t.fact_type, t.occurred_at, t.recorded_at, t.entry
FROM copy_map m JOIN public_timeline t ON t.project_code = m.old_code;
COMMIT;
ANALYZE;
SQL
total=$(sql 'SELECT COUNT(*) FROM public_projects')
entries=$(sql 'SELECT COUNT(*) FROM public_timeline')
echo "bench-site: $total public projects, $entries public timeline entries (copied in $((SECONDS - started)) s)" >&2

# Random project pages, real and copied.
sql "SELECT project_code FROM public_projects ORDER BY random() LIMIT $urls" >"$work/codes"
{
  echo 'local paths = {'
  sed 's|.*|  "/projects/&",|' "$work/codes"
  echo '}'
  cat <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
LUA
} >"$work/pages.lua"

if command -v curl >/dev/null; then
  sample=$(tail -1 "$work/codes")
  status=$(curl -s -o /dev/null -w '%{http_code}' "$site/projects/$sample")
  [[ $status == 200 ]] || { echo "bench-site: $site/projects/$sample answered $status" >&2; exit 1; }
fi

# Warm up, then measure.
wrk -t2 -c"$connections" -d3s -s "$work/pages.lua" "$site" >/dev/null
command=(wrk -t2 -c"$connections" -d"$duration" --latency -s pages.lua "$site")
echo
echo "Project page, $total public projects ($real through ingest+projector, the rest copies of their public rows), $(wc -l <"$work/codes") random URLs."
echo "Closed-loop measurement: ${command[*]}"
(cd "$work" && "${command[@]}")
