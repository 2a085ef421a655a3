#!/usr/bin/env bash
# Stop the test Kafka and PostgreSQL. `down.sh --wipe` also deletes their data.
set -euo pipefail

LOG_TAG=down
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in --wipe | "") ;; *) die "usage: $0 [--wipe]" ;; esac

# Stop both even if one fails, then report.
rc=0
"$INFRA_SCRIPT_DIR/kafka.sh" down "$@" || rc=1
"$INFRA_SCRIPT_DIR/postgres.sh" down "$@" || rc=1
exit "$rc"
