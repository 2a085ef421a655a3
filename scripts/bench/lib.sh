# shellcheck shell=bash
# Shared helpers of the benchmarks in scripts/bench/. Sourced, not executed.
#
# Every bench script writes its figures as JSON files into $BENCH_OUT (the
# runner sets one directory per run; a script run on its own gets
# target/bench/single) and its progress to stderr. What a script starts —
# processes, temp dirs, PostgreSQL databases, Kafka topics — is recorded here
# and removed by the EXIT trap, whatever way the script ends.

BENCH_LIB_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$BENCH_LIB_DIR/../.." && pwd -P)"
BENCH_OUT="${BENCH_OUT:-$REPO_ROOT/target/bench/single}"
mkdir -p -- "$BENCH_OUT"
# shellcheck disable=SC2034 # used by the scripts that source this file
GONGKAI="$REPO_ROOT/target/release/gongkai"
# Clients of the ingestion benches and their raw limits (issue 7: 64).
BENCH_CONCURRENCY="${BENCH_CONCURRENCY:-64}"

bench_log() { printf '[bench %s] %s\n' "${BENCH_TAG:-}" "$*" >&2; }
bench_die() { printf '[bench %s] ERROR: %s\n' "${BENCH_TAG:-}" "$*" >&2; exit 1; }

# --- cleanup -----------------------------------------------------------------

_bench_pids=()
_bench_dirs=()
_bench_dbs=()
_bench_topics=()

bench_cleanup() {
    local pid db
    for pid in "${_bench_pids[@]}"; do stop_pid "$pid"; done
    if ((${#_bench_topics[@]})); then
        kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(kafka_bootstrap)" \
            --delete --topic "$(IFS='|'; echo "${_bench_topics[*]}")" >/dev/null 2>&1 || true
    fi
    if [[ ${BENCH_KEEP_DATABASES:-0} != 1 ]]; then
        for db in "${_bench_dbs[@]}"; do
            psql "$(pg_admin_url)" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
        done
    fi
    if ((${#_bench_dirs[@]})); then rm -rf -- "${_bench_dirs[@]}"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A temp dir removed on exit: `work=$(bench_tmpdir)` would lose the record
# in the subshell, so the name goes into the variable named by $1.
bench_tmpdir() {
    local dir
    dir="$(mktemp -d "${TMPDIR:-/tmp}/gongkai-bench.XXXXXX")"
    _bench_dirs+=("$dir")
    printf -v "$1" '%s' "$dir"
}

# Stops pid $1 (TERM, then KILL after 30 s) and reaps it.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# --- tools -------------------------------------------------------------------

# Installs the Debian packages of the commands given as command:package
# pairs whose command is missing.
need_commands() {
    local pair need=() sudo_cmd=()
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
    done
    ((${#need[@]})) || return 0
    bench_log "installing ${need[*]} from Debian"
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo -n)
    export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
    "${sudo_cmd[@]}" apt-get update -qq
    # policy-rc.d-free containers may try to start a packaged daemon (nginx
    # on port 80); the bench runs its own, so a failed start is harmless.
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# Builds the release binary once per run (the runner sets BENCH_BUILT=1).
build_gongkai() {
    [[ ${BENCH_BUILT:-0} == 1 ]] && return 0
    bench_log "building gongkai (release)"
    (cd "$REPO_ROOT" && cargo build --release --locked -p gongkai >&2)
}

# --- processes that announce themselves like `gongkai dev` ------------------

# start_announcing DIR NAME COMMAND...: runs COMMAND in the background with
# stdout in DIR/NAME.out and stderr in DIR/NAME.err, waits (60 s at most)
# for its "Press Ctrl-C" line, and leaves its pid in ANNOUNCED_PID.
start_announcing() {
    local dir=$1 name=$2 i
    shift 2
    "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
    ANNOUNCED_PID=$!
    _bench_pids+=("$ANNOUNCED_PID")
    for ((i = 0; i < 600; i++)); do
        grep -q '^Press Ctrl-C' "$dir/$name.out" 2>/dev/null && return 0
        if ! kill -0 "$ANNOUNCED_PID" 2>/dev/null; then
            cat -- "$dir/$name.out" "$dir/$name.err" >&2
            bench_die "$name exited before it was ready"
        fi
        sleep 0.1
    done
    bench_die "$name did not announce itself within 60 s"
}

# announced DIR NAME KEY: the value of a `  key: value` line it printed.
announced() { awk -v key="$3:" '$1 == key { print $2; exit }' "$1/$2.out"; }

# --- PostgreSQL and Kafka ----------------------------------------------------

# The shared loopback infrastructure (started when it is not up; never stopped).
ensure_infra() {
    [[ ${BENCH_INFRA_UP:-0} == 1 ]] && return 0
    "$REPO_ROOT/scripts/infra/up.sh" >/dev/null
    export BENCH_INFRA_UP=1
}

pg_admin_url() {
    [[ -n ${_bench_pg_url:-} ]] || _bench_pg_url="$("$REPO_ROOT/scripts/infra/postgres.sh" url)"
    printf '%s\n' "$_bench_pg_url"
}

# fresh_database LABEL VAR: creates gongkai_bench_<label>_<random> (dropped
# on exit) and puts its URL in VAR.
fresh_database() {
    local name admin
    name="gongkai_bench_${1//-/_}_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
    admin="$(pg_admin_url)"
    psql "$admin" -qc "CREATE DATABASE $name" >/dev/null
    _bench_dbs+=("$name")
    printf -v "$2" '%s/%s' "${admin%/*}" "$name"
}

kafka_bootstrap() {
    local url
    url="$("$REPO_ROOT/scripts/infra/kafka.sh" url)"
    printf '%s\n' "${url#kafka://}"
}

kafka_libs() {
    local version
    version="$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$REPO_ROOT/scripts/infra/kafka/pom.xml")"
    printf '%s\n' "${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/gongkai}/kafka-$version/libs"
}

# kafka_tool CLASS ARGS...: a Kafka CLI from the cached jars, quiet logging.
kafka_tool() {
    java -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
        "-Dlog4j2.configurationFile=$REPO_ROOT/scripts/infra/kafka/log4j2.properties" \
        "-Dkafka.logs.dir=${TMPDIR:-/tmp}" -Dgongkai.log.name=bench-tools -Dgongkai.log.level=warn \
        -cp "$(kafka_libs)/*" "$@"
}

# Records a topic name (or a regex of names) to delete on exit.
forget_topics() { _bench_topics+=("$1"); }

# A topic prefix no other run uses.
run_prefix() { printf 'bench-%s-%s.' "$1" "$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }

# --- results -----------------------------------------------------------------

# emit_result NAME JQ_ARGS... -- JQ_FILTER: writes $BENCH_OUT/NAME.json from
# `jq -n JQ_ARGS FILTER`; the filter builds {title, value, unit, method, ...}.
emit_result() {
    local name=$1 args=()
    shift
    while (($#)) && [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    jq -n --arg name "$name" "${args[@]}" "{name: \$name} + ($1)" >"$BENCH_OUT/$name.json"
    bench_log "$name: $(jq -r '"\(.value) \(.unit)"' "$BENCH_OUT/$name.json")"
}
