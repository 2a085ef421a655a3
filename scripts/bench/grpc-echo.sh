#!/usr/bin/env bash
# The raw limit of gRPC for ingestion: the same `gongkai load` (same clients,
# requests and options as the ingestion benches) against the echo server of
# services/load/examples/echo-server.rs, which answers each of the five
# ingestion services at once with a fixed Receipt on gongkai's server stack.
#   grpc-echo.sh [gongkai load options...]
# Runs BENCH_LOAD_DURATION (30s) unless the options say otherwise. Writes
# grpc-echo.json.
set -euo pipefail
BENCH_TAG="grpc-echo"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

extra=("$@")
need_commands jq:jq
build_gongkai
if [[ ${BENCH_BUILT:-0} != 1 ]]; then
    (cd "$REPO_ROOT" && cargo build --release --locked -p gongkai-load --example echo-server >&2)
fi
work=''
bench_tmpdir work

start_announcing "$work" echo "$REPO_ROOT/target/release/examples/echo-server" 127.0.0.1:0
grpc=$(announced "$work" echo grpc)

options=(--concurrency "$BENCH_CONCURRENCY" --refusal-every 0 --retry-every 0)
[[ " ${extra[*]} " == *" --count "* || " ${extra[*]} " == *" --duration "* ]] \
    || options+=(--duration "${BENCH_LOAD_DURATION:-30s}")
options+=("${extra[@]}")
bench_log "gongkai load ${options[*]}"
"$GONGKAI" load --endpoint "$grpc" --token echo --output "$work/load.json" "${options[@]}" \
    >"$work/load.out" 2>"$work/load.err" || { cat -- "$work/load.err" >&2; bench_die "gongkai load failed"; }

# shellcheck disable=SC2016 # a jq program
emit_result grpc-echo --slurpfile load "$work/load.json" --arg command "gongkai load ${options[*]}" -- '
    {
        title: "gRPC echo, same requests",
        value: $load[0].accepted_per_second, unit: "calls/s",
        method: "cargo run --release -p gongkai-load --example echo-server (the five ingestion services on gongkai'"'"'s GrpcServer, a fixed Receipt at once); \($command)",
        load: $load[0]
    }'
