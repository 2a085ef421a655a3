#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests, owned by this repo.
#   postgres.sh up|down [--wipe]|status|url
#   postgres.sh replica-up|replica-down [--wipe]|replica-url
# replica-up adds a hot standby streaming from that cluster (a base backup,
# on GONGKAI_PG_REPLICA_PORT, default 54330), for reads from a replica.
# Loopback only, fsync off: never point anything valuable at it.
#
# Data lives in ${GONGKAI_INFRA_DIR:-<repo>/target/infra}/postgres. PostgreSQL
# refuses to run as root, so when run as root the server runs as the Debian
# `postgres` user: the data dir is chowned to it and any ancestor dir that user
# cannot traverse gets o+x (search only, no read) -- the smallest grant that
# works. Run as a normal user, the cluster simply belongs to that user.
set -euo pipefail

LOG_TAG=postgres
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${GONGKAI_PG_PORT:-54329}"
PG_ROLE=gongkai
PG_PASSWORD=gongkai
PG_DB=gongkai
# The site's login: it may read the public tables and nothing else (the
# migrations grant it exactly that when the role exists).
PG_SITE_ROLE=gongkai_site
PG_SITE_PASSWORD=gongkai_site
PG_DIR="$INFRA_DIR/postgres"
DATA="$PG_DIR/data"
SOCK_DIR="$PG_DIR/run"        # keeps us out of /var/run/postgresql
PG_LOG="$PG_DIR/postgres.log"
READY_TIMEOUT=60
BIN=""

usage() { echo "usage: $0 up|down [--wipe]|status|url|replica-up|replica-down [--wipe]|replica-url" >&2; exit 2; }

pg_url() {
    printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$PG_ROLE" "$PG_PASSWORD" "$PG_PORT" "$PG_DB"
}

# Binaries matching an existing cluster's version, else the newest installed.
resolve_bin() {
    if [[ -f "$DATA/PG_VERSION" ]]; then
        local v
        v="$(<"$DATA/PG_VERSION")"
        BIN="/usr/lib/postgresql/$v/bin"
        [[ -x "$BIN/postgres" ]] || die "cluster in $DATA is PostgreSQL $v but $BIN is missing; run '$0 down --wipe' or install postgresql-$v"
        return 0
    fi
    local initdb
    initdb="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)"
    BIN="${initdb:+$(dirname -- "$initdb")}"
}

psql_bin() {
    if [[ -n "$BIN" && -x "$BIN/psql" ]]; then echo "$BIN/psql"; else command -v psql || true; fi
}

# Query as the application role over TCP, exactly as the tests will connect.
app_psql() {
    local psql
    psql="$(psql_bin)"
    [[ -n "$psql" ]] || return 1
    PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$psql" -X -q -w -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" "$@"
}

# Ready = the app role logs in and the site role exists.
app_ready() {
    [[ "$(app_psql -At -c "select count(*) from pg_roles where rolname = '$PG_SITE_ROLE'" 2>/dev/null)" == 1 ]]
}

# Run as the cluster owner. cd first: the caller's cwd (e.g. /root) may be
# unreadable for postgres, and initdb/pg_ctl complain about that.
as_pg() {
    if ((EUID == 0)); then
        (cd -- "$PG_DIR" && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

install_pg() {
    ((EUID == 0)) || die "no PostgreSQL server under /usr/lib/postgresql and not root: install the Debian 'postgresql' package"
    export DEBIAN_FRONTEND=noninteractive
    # apt-get update only when the package lists do not know postgresql yet.
    if ! apt-cache policy postgresql 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        log "apt-get update"
        apt-get update -q >&2
    fi
    log "installing Debian package postgresql"
    apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        postgresql >&2
}

# Give the postgres user search access to every ancestor of PG_DIR, top-down
# so a dir is only touched when it is really the one blocking.
ensure_reachable() {
    mkdir -p -- "$PG_DIR"
    ((EUID == 0)) || return 0
    id -u postgres >/dev/null 2>&1 || die "OS user 'postgres' missing (the postgresql package creates it)"
    local path="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${PG_DIR#/}"
    for part in "${parts[@]:0:${#parts[@]}-1}"; do
        [[ -n "$part" ]] || continue
        path+="/$part"
        if ! runuser -u postgres -- test -x "$path"; then
            log "chmod o+x $path (search only) so the postgres user can reach $PG_DIR"
            chmod o+x -- "$path"
        fi
    done
    chown postgres:postgres -- "$PG_DIR"
    chmod 700 -- "$PG_DIR"
    runuser -u postgres -- test -w "$PG_DIR" || die "postgres user still cannot write $PG_DIR"
}

write_file_as_owner() { # path, content from stdin
    cat >"$1"
    if ((EUID == 0)); then chown postgres:postgres -- "$1"; fi
    chmod 600 -- "$1"
}

init_cluster() {
    [[ -f "$DATA/PG_VERSION" ]] && return 0
    local locale=C
    # C.UTF-8 gives byte-order collation plus Unicode ctype, where available.
    if locale -a 2>/dev/null | grep -qix 'c.utf-\?8'; then locale=C.UTF-8; fi
    log "initdb ($("$BIN/postgres" --version)) in $DATA"
    rm -rf -- "$DATA"
    if ! as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale="$locale" --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        die "initdb failed"
    fi
    # Our settings live in one file we own and rewrite on every start.
    echo "include_if_exists 'gongkai.conf'" >>"$DATA/postgresql.conf"
}

write_config() {
    # Unix socket paths are limited to 107 bytes.
    local sock="$SOCK_DIR/.s.PGSQL.$PG_PORT"
    ((${#sock} < 100)) || die "socket path too long ($sock); set GONGKAI_INFRA_DIR to a shorter path"
    [[ "$PG_DIR" != *"'"* ]] || die "data path must not contain a single quote: $PG_DIR"
    mkdir -p -- "$SOCK_DIR"
    if ((EUID == 0)); then chown postgres:postgres -- "$SOCK_DIR"; fi
    chmod 700 -- "$SOCK_DIR"
    write_file_as_owner "$DATA/gongkai.conf" <<CONF
# Written by scripts/infra/postgres.sh on every 'up'. Test cluster only.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCK_DIR'
max_connections = 200
password_encryption = 'scram-sha-256'
# Durability off: tests do not need crash safety, and these make them faster.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    # The socket dir is private (0700), so trust on it reaches only root and
    # postgres; everyone else must log in with a password over 127.0.0.1.
    write_file_as_owner "$DATA/pg_hba.conf" <<'HBA'
# Written by scripts/infra/postgres.sh.
local   all           all                  trust
local   replication   all                  trust
host    all           all   127.0.0.1/32   scram-sha-256
HBA
}

# The postmaster of our cluster is alive (by its postmaster.pid). Not
# `pg_ctl status`: that trusts kill(pid, 0), which a zombie or a reused pid
# after a crash or reboot also passes.
cluster_running() {
    local pidfile="$DATA/postmaster.pid" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(head -n 1 -- "$pidfile")"
    pid_alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]]
}

# A postmaster.pid whose pid is dead, a zombie or someone else would make
# postgres refuse to start ("lock file already exists"). After a kill -9 the
# old postmaster lingers as a zombie until PID 1 reaps it (~2 s here), and its
# pid is also in the socket lock file, which we do not touch: wait it out.
clear_stale_pidfile() {
    local pid t0=$SECONDS
    [[ -f "$DATA/postmaster.pid" ]] || return 0
    pid="$(head -n 1 -- "$DATA/postmaster.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && ! pid_alive "$pid"; then
        log "waiting for defunct postmaster $pid to be reaped"
        while kill -0 "$pid" 2>/dev/null && ((SECONDS - t0 < 30)); do sleep 0.5; done
    fi
    if ! cluster_running; then
        log "removing stale $DATA/postmaster.pid"
        rm -f -- "$DATA/postmaster.pid"
    fi
}

# Idempotent: role gongkai (password gongkai, CREATEDB so sqlx::test can make
# per-test databases) owning database gongkai, and the site's login role
# gongkai_site. Superuser over the socket.
bootstrap_role() {
    "$BIN/psql" -X -q -w -v ON_ERROR_STOP=1 -h "$SOCK_DIR" -p "$PG_PORT" -U postgres -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE $PG_ROLE' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE')
\gexec
ALTER ROLE $PG_ROLE WITH LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
SELECT 'CREATE ROLE $PG_SITE_ROLE' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_SITE_ROLE')
\gexec
ALTER ROLE $PG_SITE_ROLE WITH LOGIN NOINHERIT NOCREATEDB PASSWORD '$PG_SITE_PASSWORD';
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_ROLE' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DB')
\gexec
SQL
}

server_version() { app_psql -At -c 'show server_version' 2>/dev/null; }

cmd_up() {
    if app_ready; then
        log "already running: PostgreSQL $(server_version) at $(pg_url)"
        return 0
    fi
    take_lock "$INFRA_DIR/postgres.lock"
    # Another `up` may have finished while we waited for the lock.
    if app_ready; then
        log "already running: PostgreSQL $(server_version) at $(pg_url)"
        return 0
    fi
    resolve_bin
    if [[ -z "$BIN" ]]; then
        install_pg
        resolve_bin
        [[ -n "$BIN" ]] || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
    fi
    local start=$SECONDS
    if ! cluster_running; then
        if port_open "$PG_PORT"; then
            die "127.0.0.1:$PG_PORT is taken by something that does not accept $PG_ROLE/$PG_PASSWORD; stop it or set GONGKAI_PG_PORT"
        fi
        ensure_reachable
        init_cluster
        write_config
        clear_stale_pidfile
        log "starting on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
        # Retry: right after a crash, dying children of the old server can
        # still hold its shared memory for a moment.
        local attempt
        for attempt in 1 2 3; do
            # 9>&-: the server must not inherit (and hold forever) our lock fd.
            as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$PG_LOG" -w -t "$READY_TIMEOUT" -s >&2 9>&- && break
            if ((attempt == 3)); then
                tail -n 30 -- "$PG_LOG" >&2 || true
                die "pg_ctl start failed"
            fi
            log "pg_ctl start failed; retrying"
            sleep 2
        done
    fi
    # Ready = accepting connections AND a real login as the app role works;
    # the role is (re)created once the server accepts connections.
    local bootstrapped=0
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && app_ready; do
        if ((!bootstrapped)) && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
            bootstrap_role || die "could not create role/database $PG_ROLE via $SOCK_DIR"
            bootstrapped=1
            continue
        fi
        if ((SECONDS - start >= READY_TIMEOUT)); then
            tail -n 30 -- "$PG_LOG" >&2 || true
            die "not ready after ${READY_TIMEOUT}s on 127.0.0.1:$PG_PORT"
        fi
        if ! cluster_running; then
            tail -n 30 -- "$PG_LOG" >&2 || true
            die "server process exited"
        fi
        sleep 0.5
    done
    log "ready: PostgreSQL $(server_version) at $(pg_url) ($((SECONDS - start))s)"
}

cmd_down() {
    local wipe=0
    case "${1:-}" in --wipe) wipe=1 ;; "") ;; *) usage ;; esac
    resolve_bin
    if cluster_running; then
        log "stopping (fast)"
        as_pg "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 -s >&2 || die "pg_ctl stop failed"
    else
        log "not running"
        if app_ready; then log "warning: a server on 127.0.0.1:$PG_PORT still answers; it is not the one in $DATA"; fi
    fi
    if ((wipe)); then
        log "wiping $PG_DIR"
        rm -rf -- "$PG_DIR"
    fi
}

cmd_status() {
    local v
    if v="$(server_version)" && [[ -n "$v" ]]; then
        echo "PostgreSQL $v up at $(pg_url)"
    else
        echo "PostgreSQL down on 127.0.0.1:$PG_PORT" >&2
        return 1
    fi
}

# --- the replica -------------------------------------------------------------

PRIMARY_PORT=$PG_PORT
PRIMARY_SOCK_DIR=$SOCK_DIR
PRIMARY_DATA=$DATA

# Points the globals above at the replica, so the same start, stop and
# readiness code serves it.
use_replica() {
    PG_PORT="${GONGKAI_PG_REPLICA_PORT:-54330}"
    PG_DIR="$INFRA_DIR/postgres-replica"
    DATA="$PG_DIR/data"
    SOCK_DIR="$PG_DIR/run"
    PG_LOG="$PG_DIR/postgres.log"
}

# The primary lets its superuser stream over the socket (clusters made before
# this line was written get it now, and a reload).
allow_replication() {
    grep -q '^local *replication' "$PRIMARY_DATA/pg_hba.conf" && return 0
    log "allowing local replication on the primary"
    echo 'local   replication   all                  trust' >>"$PRIMARY_DATA/pg_hba.conf"
    as_pg "$BIN/pg_ctl" reload -D "$PRIMARY_DATA" -s >&2
}

cmd_replica_up() {
    app_ready || die "the primary on 127.0.0.1:$PRIMARY_PORT is not up; run '$0 up' first"
    resolve_bin
    use_replica
    if app_ready; then
        log "replica already running at $(pg_url)"
        return 0
    fi
    take_lock "$INFRA_DIR/postgres-replica.lock"
    local start=$SECONDS
    if ! cluster_running; then
        port_open "$PG_PORT" && die "127.0.0.1:$PG_PORT is taken; set GONGKAI_PG_REPLICA_PORT"
        ensure_reachable
        allow_replication
        if [[ ! -f "$DATA/standby.signal" ]]; then
            log "base backup of 127.0.0.1:$PRIMARY_PORT into $DATA"
            rm -rf -- "$DATA"
            as_pg "$BIN/pg_basebackup" -D "$DATA" -h "$PRIMARY_SOCK_DIR" -p "$PRIMARY_PORT" -U postgres \
                -X stream -R --no-sync -c fast >&2 || die "pg_basebackup failed"
        fi
        write_config
        write_file_as_owner "$DATA/gongkai-replica.conf" <<CONF
# Written by scripts/infra/postgres.sh: a hot standby that reports its
# oldest snapshot to the primary, so replayed vacuums do not cancel reads.
hot_standby = on
hot_standby_feedback = on
CONF
        grep -q "gongkai-replica.conf" "$DATA/postgresql.conf" ||
            echo "include_if_exists 'gongkai-replica.conf'" >>"$DATA/postgresql.conf"
        clear_stale_pidfile
        log "starting the replica on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
        as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$PG_LOG" -w -t "$READY_TIMEOUT" -s >&2 9>&- ||
            { tail -n 30 -- "$PG_LOG" >&2; die "the replica did not start"; }
    fi
    until app_ready; do
        ((SECONDS - start < READY_TIMEOUT)) || { tail -n 30 -- "$PG_LOG" >&2; die "replica not ready"; }
        sleep 0.5
    done
    log "ready: replica at $(pg_url), streaming from 127.0.0.1:$PRIMARY_PORT ($((SECONDS - start))s)"
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    url) pg_url ;;
    replica-up) cmd_replica_up ;;
    replica-down) shift; use_replica; cmd_down "$@" ;;
    replica-url) use_replica; pg_url ;;
    *) usage ;;
esac
