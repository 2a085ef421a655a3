#!/usr/bin/env bash
# The site's project page with 100,000 public projects loaded, under wrk on
# loopback, next to nginx serving the very same pages as static files.
#   site.sh
#
# Loading, into a fresh SQLite database of `gongkai dev` (release build):
#   1. real lifecycles: `gongkai load` submits BENCH_SUBMISSIONS (default
#      32,000: about 1,100 projects, PPP lifecycles of 29 events and
#      expropriation ones of 41, some stopped part way) over gRPC; the
#      projector renders them into the public tables as in production (the
#      copies below need at least 1/99 of the projects to be real);
#   2. the rest up to BENCH_PROJECTS (default 100,000): copies of those public
#      rows (public_projects and every public_timeline entry) under new,
#      distinct project codes, written with one SQL INSERT … SELECT each, so
#      every project page has a real timeline of up to 26 entries.
# BENCH_URLS (default 2,000) random project pages, real and copied, are
# requested through a Lua script; nginx (Debian's, unprivileged, on its own
# loopback port, config and prefix in a temp dir) serves the same pages,
# fetched once from gongkai and saved as files under the same paths.
#
# Measurements (wrk, 2 threads, BENCH_CONNECTIONS (16) connections):
#   site-page, site-nginx     closed loop for BENCH_WRK_DURATION (20s) after a
#                             3 s warm-up: each connection sends the next
#                             request when the answer arrives, so requests/s
#                             is the most each served at that concurrency;
#   site-page-fixed, site-nginx-fixed
#                             a fixed BENCH_FIXED_RATE (500) requests/s for
#                             BENCH_FIXED_DURATION (30s): Debian has no wrk2,
#                             so each connection waits connections/rate
#                             (32 ms) before its next request (wrk's delay());
#                             the achieved rate is reported and checked;
#   site-page-miss-fixed      the same fixed rate, every request a page not
#                             requested before (distinct projects outside
#                             the BENCH_URLS set, in order, one per request),
#                             so each one misses the page cache and renders
#                             from the store.
# Installs wrk, sqlite3, curl and nginx from Debian when missing. Writes the
# four results, and prints wrk's own output to stderr.

# jq programs are single-quoted on purpose: their $names are jq variables.
# shellcheck disable=SC2016
set -euo pipefail
BENCH_TAG=site
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

projects=${BENCH_PROJECTS:-100000}
submissions=${BENCH_SUBMISSIONS:-32000}
urls=${BENCH_URLS:-2000}
connections=${BENCH_CONNECTIONS:-16}
duration=${BENCH_WRK_DURATION:-20s}
fixed_rate=${BENCH_FIXED_RATE:-500}
fixed_connections=${BENCH_FIXED_CONNECTIONS:-16}
fixed_duration=${BENCH_FIXED_DURATION:-30s}

need_commands wrk:wrk sqlite3:sqlite3 curl:curl jq:jq nginx:nginx
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
build_gongkai
work=''
bench_tmpdir work
db="$work/bench.db"

# --- gongkai with 100,000 public projects ------------------------------------

GONGKAI_STORAGE__URL="sqlite://$db" start_announcing "$work" gongkai env RUST_LOG=warn \
    "$GONGKAI" dev --grpc-listen 127.0.0.1:0 --site-listen 127.0.0.1:0
grpc=$(announced "$work" gongkai grpc)
token=$(announced "$work" gongkai token)
site=$(announced "$work" gongkai site)
site=${site%/}
[[ -n $grpc && -n $token && -n $site ]] || bench_die "gongkai dev did not announce its endpoints"
sql() { sqlite3 -cmd '.timeout 30000' "$db" "$@"; }

bench_log "submitting $submissions events over gRPC"
started=$SECONDS
"$GONGKAI" load --endpoint "$grpc" --token "$token" --count "$submissions" --run-id 1 \
    --refusal-every 0 --retry-every 0 >"$work/load.out" 2>&1 || { cat -- "$work/load.out" >&2; bench_die "gongkai load failed"; }
# The projector has caught up when the count of projected events stops moving.
last=-1
while :; do
    now=$(sql 'SELECT COUNT(*) FROM full_timeline')
    [[ $now == "$last" ]] && break
    last=$now
    sleep 2
done
real=$(sql 'SELECT COUNT(*) FROM public_projects')
bench_log "$real projects through ingest and projector ($last events) in $((SECONDS - started)) s"
((real > 0)) || bench_die "no public project after the load"

bench_log "copying public rows up to $projects projects"
started=$SECONDS
copies=$(((projects - real + real - 1) / real))
((copies <= 99)) || bench_die "$real real projects are too few to copy up to $projects"
if ((projects > real)); then
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
INSERT INTO public_projects (project_code, name, region_code, project_type, stage, head_seq, last_event_at,
                             approved_investment_fen, contract_value_fen, summary)
SELECT m.new_code, p.name || '（' || m.new_code || '）', p.region_code, p.project_type, p.stage, p.head_seq,
       p.last_event_at, p.approved_investment_fen, p.contract_value_fen, p.summary
FROM copy_map m JOIN public_projects p ON p.project_code = m.old_code;
INSERT INTO public_timeline (project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry)
SELECT m.new_code, t.project_seq, t.event_id, t.fact_type, t.occurred_at, t.recorded_at, t.entry
FROM copy_map m JOIN public_timeline t ON t.project_code = m.old_code;
COMMIT;
ANALYZE;
SQL
fi
total=$(sql 'SELECT COUNT(*) FROM public_projects')
entries=$(sql 'SELECT COUNT(*) FROM public_timeline')
bench_log "$total public projects, $entries public timeline entries (copied in $((SECONDS - started)) s)"

# --- the same pages as static files under nginx ------------------------------

sql "SELECT project_code FROM public_projects ORDER BY random() LIMIT $urls" >"$work/codes"
www="$work/www"
mkdir -p -- "$www/projects"
# One curl for every page: url/output pairs in a config file.
sed "s|.*|url = \"$site/projects/&\"\noutput = \"$www/projects/&\"|" "$work/codes" >"$work/curl.conf"
curl -sS --fail --config "$work/curl.conf" || bench_die "saving the project pages failed"
page_bytes=$(($(cat -- "$www"/projects/* | wc -c) / $(wc -l <"$work/codes")))
content_type=$(curl -s -o /dev/null -w '%{content_type}' "$site/projects/$(head -n 1 "$work/codes")")
bench_log "saved $(wc -l <"$work/codes") pages, $page_bytes bytes on average, $content_type"

ngx="$work/nginx"
mkdir -p -- "$ngx/tmp"
nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$ngx/nginx.conf" <<CONF
# A static twin of the project page: same paths, same bytes, same content
# type, as many workers as cores, no access log (gongkai logs no requests).
worker_processes auto;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type ${content_type%%;*};
    charset utf-8;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_body_temp_path $ngx/tmp/client;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $www;
        location / { try_files \$uri =404; }
    }
}
CONF
nginx_cmd=("$nginx_bin" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" -g 'daemon off;')
if ((EUID == 0)); then
    # Unprivileged: the whole nginx, master included, runs as nobody.
    chmod 755 "$work" "$www" "$www/projects"
    chown -R nobody:nogroup "$ngx"
    nginx_cmd=(setpriv --reuid=nobody --regid=nogroup --clear-groups -- "${nginx_cmd[@]}")
fi
"${nginx_cmd[@]}" >"$work/nginx.out" 2>&1 &
_bench_pids+=("$!")
nginx="http://127.0.0.1:$nginx_port"
for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$nginx/" 2>/dev/null && break
    sleep 0.1
done
sample=$(tail -n 1 "$work/codes")
cmp -s <(curl -s "$site/projects/$sample") <(curl -s "$nginx/projects/$sample") \
    || { cat -- "$work/nginx.out" "$ngx/error.log" >&2 2>/dev/null; bench_die "nginx does not serve the saved page"; }

# --- wrk ---------------------------------------------------------------------

# Random pages; done() prints the figures as one JSON line (latencies in µs).
{
    echo 'local paths = {'
    sed 's|.*|  "/projects/&",|' "$work/codes"
    echo '}'
    cat <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"requests_per_second":%.2f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
} >"$work/pages.lua"
# Paced: each of wrk's 2 threads hands out send times on a schedule of
# rate/2 per second, and delay() makes the connection asking wait for its
# slot. So each connection waits about connections/rate (32 ms) minus the
# answer time, and the achieved rate stays at the target even when answers
# take a few ms (a fixed 32 ms delay would fall short by the latency).
# Behind schedule by more than 100 ms, it restarts the schedule instead of
# sending a burst. wrk is built with LuaJIT: ffi reads the monotonic clock.
fixed_delay=$(((fixed_connections * 1000 + fixed_rate / 2) / fixed_rate))
{
    cat -- "$work/pages.lua"
    cat <<LUA
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local period = 2 * 1000 / $fixed_rate
local next_at = nil
delay = function()
  local now = now_ms()
  if next_at == nil or now - next_at > 100 then next_at = now end
  next_at = next_at + period
  return math.max(0, next_at - now)
end
LUA
} >"$work/fixed.lua"

# run_wrk NAME URL SCRIPT CONNECTIONS DURATION: wrk's output to stderr, its
# JSON line to NAME.wrk.json.
run_wrk() {
    local name=$1 url=$2 script=$3 c=$4 d=$5
    bench_log "wrk -t2 -c$c -d$d --latency -s $script $url"
    (cd "$work" && wrk -t2 -c"$c" -d"$d" --latency -s "$script" "$url") >"$work/$name.wrk" \
        || bench_die "wrk failed against $url"
    grep -v '^WRK_JSON ' "$work/$name.wrk" >&2
    sed -n 's/^WRK_JSON //p' "$work/$name.wrk" >"$work/$name.wrk.json"
}

# Cache misses: pages never asked for, each once. wrk's threads take
# alternate codes of one list in order.
miss_seconds=${fixed_duration%s}
miss_urls=$(((fixed_rate * (miss_seconds + 3) * 12 + 9) / 10))
sql "CREATE TEMP TABLE warm(code TEXT PRIMARY KEY); $(sed "s/.*/INSERT INTO warm VALUES ('&');/" "$work/codes")
     SELECT project_code FROM public_projects WHERE project_code NOT IN (SELECT code FROM warm)
     ORDER BY random() LIMIT $miss_urls" >"$work/miss-codes"
(($(wc -l <"$work/miss-codes") >= fixed_rate * miss_seconds)) || bench_die "too few projects for $fixed_duration of cache misses"
{
    echo 'local paths = {'
    sed 's|.*|  "/projects/&",|' "$work/miss-codes"
    echo '}'
    sed -n '/^done = function/,$p' "$work/pages.lua"
    sed -n '/^local ffi/,$p' "$work/fixed.lua"
    cat <<'LUA'
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("first", threads)
end
local taken = 0
request = function()
  local index = first + 2 * taken
  taken = taken + 1
  if index > #paths then error("out of cache-miss pages") end
  return wrk.format("GET", paths[index])
end
LUA
} >"$work/miss.lua"

loaded="$total public projects ($real through ingest + projector, the rest copies of their public rows), $(wc -l <"$work/codes") random project pages of $page_bytes bytes on average"
for target in page nginx; do
    url=$site
    [[ $target == nginx ]] && url=$nginx
    (cd "$work" && wrk -t2 -c"$connections" -d3s -s pages.lua "$url" >/dev/null)
    run_wrk "$target" "$url" pages.lua "$connections" "$duration"
    run_wrk "$target-fixed" "$url" fixed.lua "$fixed_connections" "$fixed_duration"
done
run_wrk page-miss-fixed "$site" miss.lua "$fixed_connections" "$fixed_duration"

for target in page nginx; do
    if [[ $target == page ]]; then
        title="Project page (gongkai site)" what="gongkai dev's site, $loaded"
    else
        title="Same page, static under nginx" what="$("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'), unprivileged, the same pages saved as files under the same paths"
    fi
    emit_result "site-$target" --slurpfile w "$work/$target.wrk.json" --arg title "$title" --arg what "$what" \
        --arg command "wrk -t2 -c$connections -d$duration --latency -s pages.lua" -- '
        $w[0] as $w | {
            title: $title, value: $w.requests_per_second, unit: "requests/s",
            method: "\($what); closed loop: \($command) (each connection sends its next request when the answer arrives) after a 3 s warm-up; p99 \($w.p99_us / 1000) ms",
            p99_ms: ($w.p99_us / 1000), wrk: $w
        }'
    emit_result "site-$target-fixed" --slurpfile w "$work/$target-fixed.wrk.json" --arg title "$title at $fixed_rate/s" \
        --arg what "$what" --argjson rate "$fixed_rate" --argjson delay "$fixed_delay" \
        --arg command "wrk -t2 -c$fixed_connections -d$fixed_duration --latency -s fixed.lua" -- '
        $w[0] as $w | {
            title: $title, value: ($w.p99_us / 1000), unit: "ms p99",
            method: "\($what); fixed rate: \($command), aiming at \($rate)/s (each wrk thread paces its connections on a schedule of rate/2 via delay(): about \($delay) ms between a connection'"'"'s requests): achieved \($w.requests_per_second | floor)/s, p50 \($w.p50_us / 1000) ms, p99 \($w.p99_us / 1000) ms, max \($w.max_us / 1000) ms",
            target_rate: $rate, achieved_rate: $w.requests_per_second,
            rate_ok: ($w.requests_per_second >= 0.95 * $rate and $w.requests_per_second <= 1.05 * $rate),
            wrk: $w
        }'
    ok=$(jq .rate_ok "$BENCH_OUT/site-$target-fixed.json")
    [[ $ok == true ]] || bench_log "warning: the fixed-rate run achieved $(jq .achieved_rate "$BENCH_OUT/site-$target-fixed.json")/s, not ~$fixed_rate/s"
done
emit_result "site-page-miss-fixed" --slurpfile w "$work/page-miss-fixed.wrk.json" \
    --arg title "Project page at $fixed_rate/s, every request a cache miss" \
    --arg what "gongkai dev's site, $loaded; each request a distinct page not requested before, so every one renders from the store" \
    --argjson rate "$fixed_rate" --argjson bytes "$page_bytes" \
    --arg command "wrk -t2 -c$fixed_connections -d$fixed_duration --latency -s miss.lua" -- '
    $w[0] as $w | {
        title: $title, value: ($w.p99_us / 1000), unit: "ms p99",
        method: "\($what); fixed rate: \($command), paced as site-page-fixed: achieved \($w.requests_per_second | floor)/s, p50 \($w.p50_us / 1000) ms, p99 \($w.p99_us / 1000) ms, max \($w.max_us / 1000) ms; pages of \($bytes) bytes on average",
        target_rate: $rate, achieved_rate: $w.requests_per_second, page_bytes: $bytes,
        rate_ok: ($w.requests_per_second >= 0.95 * $rate and $w.requests_per_second <= 1.05 * $rate),
        wrk: $w
    }'
