#!/usr/bin/env bash
# Throwaway single-node Apache Kafka (KRaft, broker+controller) for tests.
#   kafka.sh up|down [--wipe]|status|url
# Jars come from Maven Central via kafka/pom.xml (no Docker, no Apache mirrors)
# and are cached per machine in
#   ${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}/kafka-<version>/libs
# Data, config, pid and logs: ${GONGKAI_INFRA_DIR:-<repo>/target/infra}/kafka.
set -euo pipefail

LOG_TAG=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT="${GONGKAI_KAFKA_PORT:-19092}"
CTRL_PORT="${GONGKAI_KAFKA_CONTROLLER_PORT:-19093}"
POM="$INFRA_SCRIPT_DIR/kafka/pom.xml"
LOG4J_CONF="$INFRA_SCRIPT_DIR/kafka/log4j2.properties"
KAFKA_VERSION="$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM")"
[[ -n "$KAFKA_VERSION" ]] || { echo "no <kafka.version> in $POM" >&2; exit 1; }
CACHE_ROOT="${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/gongkai}"
LIBS="$CACHE_ROOT/kafka-$KAFKA_VERSION/libs"
MARKER="$CACHE_ROOT/kafka-$KAFKA_VERSION/complete"
K_DIR="$INFRA_DIR/kafka"
DATA="$K_DIR/data"
LOGS="$K_DIR/logs"
OUT="$LOGS/kafka.out"          # broker stdout/stderr (WARN+ and JVM errors)
PROPS="$K_DIR/server.properties"
CLIENT_PROPS="$K_DIR/client.properties"
PIDFILE="$K_DIR/kafka.pid"
STAMP="$K_DIR/formatted-with"  # endpoints the storage was formatted for
READY_TIMEOUT=90
STOP_TIMEOUT=30

# CLI tools: small heap, C1 only and serial GC so each poll starts fast.
TOOL_JAVA=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$LOG4J_CONF"
    "-Dkafka.logs.dir=$LOGS" -Dgongkai.log.name=tools -Dgongkai.log.level=warn -cp "$LIBS/*")

usage() { echo "usage: $0 up|down [--wipe]|status|url" >&2; exit 2; }
kafka_url() { printf 'kafka://127.0.0.1:%s\n' "$KAFKA_PORT"; }
jars_ready() { [[ -f "$MARKER" && "$(<"$MARKER")" == "$(sha256sum <"$POM" | cut -d' ' -f1)" ]]; }

check_java() {
    command -v java >/dev/null || die "java not found (Kafka $KAFKA_VERSION needs Java 17+)"
    local major
    major="$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)"
    if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
        die "Java 17+ required, found: $(java -version 2>&1 | head -n 1)"
    fi
}

# Fetch the jars once per machine and pom content. The marker holds the pom's
# hash, so editing versions in pom.xml triggers a clean refetch.
fetch_jars() {
    jars_ready && return 0
    command -v mvn >/dev/null || die "mvn not found (needed once to fetch Kafka jars)"
    mkdir -p -- "$CACHE_ROOT"
    exec 8>"$CACHE_ROOT/kafka-$KAFKA_VERSION.lock"
    flock -w 900 8 || die "timed out waiting for another jar fetch"
    if ! jars_ready; then
        log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
        local tmp="$LIBS.tmp.$$" t0=$SECONDS
        rm -rf -- "$tmp" && mkdir -p -- "$tmp"
        if ! mvn -B -q -Dstyle.color=never -f "$POM" \
            org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
            cat -- "$tmp.log" >&2
            rm -rf -- "$tmp" "$tmp.log"
            die "mvn copy-dependencies failed (is Kafka $KAFKA_VERSION on Maven Central?)"
        fi
        # slf4j-api 1.x here would mean no logging at all (see pom.xml).
        if [[ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || ! compgen -G "$tmp/kafka-tools-*.jar" >/dev/null \
            || ! compgen -G "$tmp/slf4j-api-2.*.jar" >/dev/null; then
            rm -rf -- "$tmp" "$tmp.log"
            die "fetched jars look incomplete (or slf4j-api 1.x) in $tmp"
        fi
        # Swap in whole, then mark: a killed fetch never looks complete.
        rm -rf -- "$LIBS" "$tmp.log" && mv -- "$tmp" "$LIBS"
        sha256sum <"$POM" | cut -d' ' -f1 >"$MARKER"
        log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
    fi
    exec 8>&-
}

# Short client timeouts: a poll must fail fast, not hang for the 60 s default.
write_client_props() {
    mkdir -p -- "$K_DIR"
    cat >"$CLIENT_PROPS" <<'PROPS'
request.timeout.ms=5000
default.api.timeout.ms=10000
retry.backoff.ms=200
PROPS
}

tool() { timeout 45 "${TOOL_JAVA[@]}" "$@"; }

# Ready = a metadata + ApiVersions round trip succeeds, not just an open port.
broker_ready() {
    port_open "$KAFKA_PORT" || return 1
    write_client_props
    tool org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "127.0.0.1:$KAFKA_PORT" --command-config "$CLIENT_PROPS" >/dev/null 2>&1
}

# Our broker's pid, only if that process really is a Kafka broker (pids get
# reused after a reboot or crash).
broker_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(<"$PIDFILE")"
    pid_alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ' kafka\.Kafka ' || return 1
    echo "$pid"
}

# Version of the broker we started (recorded at launch); the Kafka protocol
# has no "server version" request.
running_version() {
    if broker_pid >/dev/null && [[ -f "$K_DIR/kafka.version" ]]; then
        cat -- "$K_DIR/kafka.version"
    else
        echo "(version unknown: not started by this script)"
    fi
}

# Starts the broker of $PROPS in the background, logging under $LOGS, and
# waits until it has written $PIDFILE.
launch_broker() {
    # setsid: own session, so the caller's Ctrl-C or job cleanup does not
    # kill it; the inner bash records its pid and execs into the JVM.
    # 8>&- 9>&-: do not inherit our lock fds; no inherited stdout either,
    # or $(up.sh) would wait for the broker to exit.
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'echo $$ >"$1"; shift; exec nohup "$@"' _ "$PIDFILE" \
        java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Djava.awt.headless=true "-Dlog4j2.configurationFile=$LOG4J_CONF" \
        "-Dkafka.logs.dir=$LOGS" -Dgongkai.log.name=server -cp "$LIBS/*" \
        kafka.Kafka "$PROPS" </dev/null >>"$OUT" 2>&1 8>&- 9>&- &
    local waited=0
    until broker_pid >/dev/null || ((waited++ >= 50)); do sleep 0.1; done
}

write_server_props() {
    mkdir -p -- "$DATA" "$LOGS"
    cat >"$PROPS" <<PROPS
# Written by scripts/infra/kafka.sh on every 'up'. Single-node test cluster.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CTRL_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CTRL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CTRL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
# One broker: every internal topic must live with replication factor 1.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests: no waiting for more group members, explicit topics only, keep data.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=3
log.retention.ms=-1
PROPS
}

format_storage() {
    local want="$KAFKA_PORT $CTRL_PORT"
    if [[ -f "$DATA/meta.properties" ]]; then
        # The KRaft voter set stores the controller endpoint at format time.
        [[ "$(cat "$STAMP" 2>/dev/null)" == "$want" ]] \
            || die "storage in $DATA was formatted for other ports; run '$0 down --wipe' first"
        return 0
    fi
    local cluster_id
    cluster_id="$(tool kafka.tools.StorageTool random-uuid 2>/dev/null)" || die "StorageTool random-uuid failed"
    log "formatting storage in $DATA (cluster id $cluster_id)"
    tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" >>"$OUT" 2>&1 \
        || { tail -n 20 -- "$OUT" >&2; die "StorageTool format failed"; }
    echo "$want" >"$STAMP"
}

show_logs() {
    log "--- tail of $LOGS/server.log ---"
    tail -n 40 -- "$LOGS/server.log" >&2 2>/dev/null || true
    log "--- tail of $OUT ---"
    tail -n 20 -- "$OUT" >&2 2>/dev/null || true
}

cmd_up() {
    check_java
    take_lock "$INFRA_DIR/kafka.lock"
    fetch_jars
    if broker_ready; then
        log "already running: Kafka $(running_version) at $(kafka_url)"
        return 0
    fi
    local start=$SECONDS
    if ! broker_pid >/dev/null; then
        port_open "$KAFKA_PORT" && die "127.0.0.1:$KAFKA_PORT is taken by something that is not a ready Kafka broker; stop it or set GONGKAI_KAFKA_PORT"
        port_open "$CTRL_PORT" && die "controller port 127.0.0.1:$CTRL_PORT is taken; set GONGKAI_KAFKA_CONTROLLER_PORT"
        write_server_props
        format_storage
        echo "$KAFKA_VERSION" >"$K_DIR/kafka.version"
        log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (logs: $LOGS)"
        printf '\n=== %s kafka.sh up ===\n' "$(date -Is)" >>"$OUT"
        launch_broker
    else
        log "broker process $(broker_pid) exists but is not ready yet; waiting"
    fi
    until broker_ready; do
        if ! broker_pid >/dev/null; then
            show_logs
            die "broker process exited during startup"
        fi
        if ((SECONDS - start >= READY_TIMEOUT)); then
            show_logs
            die "not ready after ${READY_TIMEOUT}s on 127.0.0.1:$KAFKA_PORT (process still running; see logs above)"
        fi
        sleep 1
    done
    log "ready: Kafka $(running_version) at $(kafka_url) ($((SECONDS - start))s)"
}

cmd_down() {
    local wipe=0 pid
    case "${1:-}" in --wipe) wipe=1 ;; "") ;; *) usage ;; esac
    if pid="$(broker_pid)"; then
        log "stopping broker pid $pid (SIGTERM, up to ${STOP_TIMEOUT}s)"
        kill -TERM "$pid" 2>/dev/null || true
        local t0=$SECONDS
        while pid_alive "$pid" && ((SECONDS - t0 < STOP_TIMEOUT)); do sleep 0.5; done
        if pid_alive "$pid"; then
            log "still alive after ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while pid_alive "$pid"; do sleep 0.2; done
        fi
        log "stopped"
    else
        log "not running"
        if port_open "$KAFKA_PORT"; then log "warning: something still listens on 127.0.0.1:$KAFKA_PORT; it was not started by this script"; fi
    fi
    rm -f -- "$PIDFILE"
    if ((wipe)); then
        log "wiping $K_DIR"
        rm -rf -- "$K_DIR"
    fi
}

cmd_status() {
    if ! jars_ready; then
        # Without the tools we cannot make a metadata request; say so.
        echo "Kafka down (or unknown: jars not fetched yet) on 127.0.0.1:$KAFKA_PORT" >&2
        return 1
    fi
    if broker_ready; then
        echo "Kafka $(running_version) up at $(kafka_url)"
    else
        echo "Kafka down on 127.0.0.1:$KAFKA_PORT" >&2
        return 1
    fi
}

# Sourced (by kafka-cluster.sh): the functions above, no command.
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    url) kafka_url ;;
    *) usage ;;
esac
