#!/usr/bin/env bash
# Throwaway three-broker Apache Kafka cluster (KRaft; each node a broker and a
# controller of one static quorum) on loopback, for the tests that lose a
# broker. Replication factor 3 and min.insync.replicas=2 for every topic, so
# an acknowledged record (acks=all) survives one broker's death.
#   kafka-cluster.sh up|down [--wipe]|status|url
#   kafka-cluster.sh stop NODE [--kill]    (SIGKILL with --kill: a crash)
#   kafka-cluster.sh start NODE
# Nodes are 1..3. Ports: GONGKAI_KAFKA_CLUSTER_PORTS (three broker ports,
# comma-separated, default 19192,19292,19392); each node's controller listens
# one port above its broker. Data: ${GONGKAI_INFRA_DIR}/kafka-cluster/node-N.
# Jars, Java checks and readiness are kafka.sh's.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=kafka.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/kafka.sh"
LOG_TAG=kafka-cluster

IFS=, read -r -a BROKER_PORTS <<<"${GONGKAI_KAFKA_CLUSTER_PORTS:-19192,19292,19392}"
((${#BROKER_PORTS[@]} == 3)) || die "GONGKAI_KAFKA_CLUSTER_PORTS must name three ports"
CLUSTER_DIR="$INFRA_DIR/kafka-cluster"

usage() { echo "usage: $0 up|down [--wipe]|status|url|stop NODE [--kill]|start NODE" >&2; exit 2; }
cluster_url() {
    local port list=()
    for port in "${BROKER_PORTS[@]}"; do list+=("127.0.0.1:$port"); done
    (IFS=,; printf 'kafka://%s\n' "${list[*]}")
}
voters() {
    local i list=()
    for i in 1 2 3; do list+=("$i@127.0.0.1:$((BROKER_PORTS[i - 1] + 1))"); done
    (IFS=,; echo "${list[*]}")
}

# Points kafka.sh's per-broker globals (those launch_broker and the
# readiness checks read) at node $1.
node() {
    local n=$1
    [[ $n =~ ^[123]$ ]] || die "no node $n (nodes are 1, 2 and 3)"
    NODE=$n
    KAFKA_PORT=${BROKER_PORTS[n - 1]}
    CTRL_PORT=$((KAFKA_PORT + 1))
    K_DIR="$CLUSTER_DIR/node-$n"
    DATA="$K_DIR/data"
    LOGS="$K_DIR/logs"
    OUT="$LOGS/kafka.out"
    PROPS="$K_DIR/server.properties"
    CLIENT_PROPS="$K_DIR/client.properties"
    PIDFILE="$K_DIR/kafka.pid"
    STAMP="$K_DIR/formatted-with"
}

write_server_props() {
    mkdir -p -- "$DATA" "$LOGS"
    cat >"$PROPS" <<PROPS
# Written by scripts/infra/kafka-cluster.sh on every 'up'. Node $NODE of three.
process.roles=broker,controller
node.id=$NODE
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CTRL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CTRL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
# Every topic, gongkai's and the internal ones, on all three brokers; a
# write is acknowledged once two hold it.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
# An unclean leader could lose acknowledged records.
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=3
log.retention.ms=-1
PROPS
}

format_node() {
    local cluster_id=$1 want
    want="$(voters)"
    if [[ -f "$DATA/meta.properties" ]]; then
        [[ "$(cat "$STAMP" 2>/dev/null)" == "$want" ]] \
            || die "node $NODE's storage was formatted for other ports; run '$0 down --wipe' first"
        return 0
    fi
    tool kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >>"$OUT" 2>&1 \
        || { tail -n 20 -- "$OUT" >&2; die "StorageTool format failed on node $NODE"; }
    echo "$want" >"$STAMP"
}

launch_node() {
    broker_pid >/dev/null && return 0
    port_open "$KAFKA_PORT" && die "127.0.0.1:$KAFKA_PORT (node $NODE) is taken"
    log "starting node $NODE on 127.0.0.1:$KAFKA_PORT (logs: $LOGS)"
    printf '\n=== %s kafka-cluster.sh start ===\n' "$(date -Is)" >>"$OUT"
    launch_broker
}

wait_ready() {
    local start=$SECONDS n
    for n in "$@"; do
        node "$n"
        until broker_ready; do
            broker_pid >/dev/null || { show_logs; die "node $n exited during startup"; }
            ((SECONDS - start < READY_TIMEOUT)) || { show_logs; die "node $n not ready after ${READY_TIMEOUT}s"; }
            sleep 1
        done
    done
}

cmd_up() {
    check_java
    take_lock "$CLUSTER_DIR.lock"
    fetch_jars
    local n cluster_id=''
    mkdir -p -- "$CLUSTER_DIR"
    [[ -f "$CLUSTER_DIR/cluster-id" ]] || tool kafka.tools.StorageTool random-uuid >"$CLUSTER_DIR/cluster-id" 2>/dev/null
    cluster_id=$(<"$CLUSTER_DIR/cluster-id")
    [[ -n $cluster_id ]] || die "StorageTool random-uuid failed"
    local start=$SECONDS
    # All three first: a node is ready only once a majority of the quorum runs.
    for n in 1 2 3; do
        node "$n"
        broker_pid >/dev/null && continue
        write_server_props
        format_node "$cluster_id"
        echo "$KAFKA_VERSION" >"$K_DIR/kafka.version"
        launch_node
    done
    wait_ready 1 2 3
    log "ready: three brokers at $(cluster_url) ($((SECONDS - start))s)"
}

cmd_down() {
    local n
    for n in 1 2 3; do
        node "$n"
        (LOG_TAG="kafka-cluster node $n" && stop_node_now term)
    done
    if [[ ${1:-} == --wipe ]]; then
        log "wiping $CLUSTER_DIR"
        rm -rf -- "$CLUSTER_DIR"
    fi
}

# Stops the current node: SIGTERM and wait (term), or SIGKILL (kill).
stop_node_now() {
    local pid
    pid="$(broker_pid)" || { rm -f -- "$PIDFILE"; return 0; }
    if [[ $1 == kill ]]; then
        kill -KILL "$pid" 2>/dev/null || true
    else
        kill -TERM "$pid" 2>/dev/null || true
        local t0=$SECONDS
        while pid_alive "$pid" && ((SECONDS - t0 < STOP_TIMEOUT)); do sleep 0.5; done
        pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    while pid_alive "$pid"; do sleep 0.2; done
    rm -f -- "$PIDFILE"
    log "node $NODE stopped ($1)"
}

cmd_status() {
    jars_ready || { echo "Kafka cluster down (jars not fetched yet)" >&2; return 1; }
    local n down=0
    for n in 1 2 3; do
        node "$n"
        if broker_ready; then echo "node $n up at 127.0.0.1:$KAFKA_PORT"; else echo "node $n down" >&2; down=1; fi
    done
    return "$down"
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    url) cluster_url ;;
    stop)
        node "${2:-}"
        case "${3:-}" in --kill) stop_node_now kill ;; "") stop_node_now term ;; *) usage ;; esac ;;
    start)
        node "${2:-}"
        launch_node
        wait_ready "$2" ;;
    *) usage ;;
esac
