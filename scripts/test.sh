#!/usr/bin/env bash
# Runs every check and test of gongkai: formatting, lints, unit tests, and the
# integration and end-to-end tests against real PostgreSQL and real Apache
# Kafka, which it brings up on loopback when they are not already running
# (scripts/infra). Then the Helm chart checks. Safe to run again and again.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Build prerequisites"
scripts/bootstrap.sh

step "Test tools"
# Real clients the tests drive (a feed parser in Python, grpcurl); a test
# fails, never skips, without them.
GONGKAI_TEST_PYTHON="$(scripts/tools/python.sh)"
GONGKAI_TEST_GRPCURL="$(scripts/tools/grpcurl.sh)"
export GONGKAI_TEST_PYTHON GONGKAI_TEST_GRPCURL

# Infrastructure comes up in the background while Rust compiles.
infra_env=$(mktemp)
infra_log=$(mktemp)
trap 'rm -f "$infra_env" "$infra_log"' EXIT
scripts/infra/up.sh >"$infra_env" 2>"$infra_log" &
infra_pid=$!

step "Formatting"
cargo fmt --all -- --check

step "Lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Build tests"
cargo test --workspace --locked --lib --bins --tests --no-run

step "PostgreSQL and Kafka"
if ! wait "$infra_pid"; then
  cat "$infra_log" >&2
  echo "test: could not bring up PostgreSQL and Kafka (see above)" >&2
  exit 1
fi
cat "$infra_log" >&2
# shellcheck disable=SC1090
source "$infra_env"
echo "PostgreSQL: $GONGKAI_TEST_POSTGRES_URL" >&2
echo "Kafka:      $GONGKAI_TEST_KAFKA_URL" >&2
# Databases left by earlier runs' tests.
psql "$GONGKAI_TEST_POSTGRES_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'gongkai\_test\_%'" |
  while read -r stale; do
    # One in use belongs to a test run going on beside this one: left to it.
    psql "$GONGKAI_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $stale" >/dev/null 2>&1 ||
      echo "test: $stale is in use, left as it is" >&2
  done

step "Tests"
# Benchmarks (harness = false) are built by the lint step and run by `just bench`, never here.
test_log=$(mktemp)
trap 'rm -f "$infra_env" "$infra_log" "$test_log"' EXIT
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$test_log"

step "Helm chart"
# Its examples' configurations are checked by the binary the tests just built.
scripts/helm-check.sh target/debug/gongkai

step "Container image"
# The image built from the repo (image/build.sh) around the binary the tests
# just ran, started from its unpacked root file system.
scripts/image-check.sh target/debug/gongkai

# One closing line over every test binary, for people and CI alike.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$test_log"
