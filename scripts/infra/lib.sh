# shellcheck shell=bash
# Shared helpers for the scripts in scripts/infra/. Sourced, not executed.

# Repo root = two levels above this file, whatever the caller's cwd is.
INFRA_SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$INFRA_SCRIPT_DIR/../.." && pwd -P)"
INFRA_DIR="${GONGKAI_INFRA_DIR:-$REPO_ROOT/target/infra}"
# Absolute, so paths written into config files do not depend on cwd.
case "$INFRA_DIR" in /*) ;; *) INFRA_DIR="$PWD/$INFRA_DIR" ;; esac

# All progress goes to stderr: up.sh's stdout must stay eval-able.
log() { printf '[%s] %s\n' "${LOG_TAG:-infra}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-infra}" "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1 (cheap pre-check
# before starting a JVM or psql; not a readiness test by itself).
port_open() {
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash, on purpose
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Take an exclusive lock on file $1 via fd 9 so that two concurrent `up`s
# cannot race. Daemons must be started with `9>&-` or they would keep it.
take_lock() {
    mkdir -p -- "$(dirname -- "$1")"
    exec 9>"$1"
    flock -w 300 9 || die "timed out waiting for lock $1"
}

# True when pid $1 is a live process. kill -0 alone also succeeds for a
# zombie, and an orphaned daemon stays one until PID 1 gets round to reaping.
pid_alive() {
    local state
    [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
    state="$(sed -n 's/^.*) \([A-Za-z]\) .*$/\1/p' "/proc/$1/stat" 2>/dev/null)"
    [[ -n "$state" && "$state" != Z ]]
}
