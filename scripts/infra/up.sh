#!/usr/bin/env bash
# Start the test PostgreSQL and Kafka, then print the env for the test runner:
#   eval "$(scripts/infra/up.sh)"
# stdout carries only the export lines; all progress goes to stderr.
set -euo pipefail

LOG_TAG=up
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# Both in parallel: Kafka (JVM, maybe a jar fetch) dominates, Postgres hides behind it.
"$INFRA_SCRIPT_DIR/postgres.sh" up >&2 &
pg_job=$!
kafka_rc=0
"$INFRA_SCRIPT_DIR/kafka.sh" up >&2 || kafka_rc=$?
pg_rc=0
wait "$pg_job" || pg_rc=$?
((pg_rc == 0)) || die "postgres.sh up failed (exit $pg_rc)"
((kafka_rc == 0)) || die "kafka.sh up failed (exit $kafka_rc)"

pg_url="$("$INFRA_SCRIPT_DIR/postgres.sh" url)"
kafka_url="$("$INFRA_SCRIPT_DIR/kafka.sh" url)"
printf 'export GONGKAI_TEST_POSTGRES_URL=%q\n' "$pg_url"
printf 'export GONGKAI_TEST_KAFKA_URL=%q\n' "$kafka_url"
