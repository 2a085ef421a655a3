#!/usr/bin/env bash
# The raw limit of Kafka for the relay's work: Kafka's own ProducerPerformance
# (org.apache.kafka.tools.ProducerPerformance from the cached 4.x jars)
# against the shared loopback broker.
#   kafka-produce.sh
#
# Same as the relay (services/common/bus/src/kafka.rs ProducerSettings):
# enable.idempotence=true, acks=all, linger.ms=5, batch.size=1 MiB, lz4;
# records of the average envelope size of the PostgreSQL ingestion bench
# (envelope.json; else BENCH_ENVELOPE_BYTES, default 600), keyed over many
# projects, into a fresh topic with gongkai's partition count (3). The relay
# also sends CloudEvents headers, which this tool cannot: a slightly smaller
# message. BENCH_KAFKA_RECORDS (default 500,000) records as fast as it can,
# the first tenth as warm-up. Writes kafka-produce.json.
set -euo pipefail
BENCH_TAG="kafka-produce"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

records=${BENCH_KAFKA_RECORDS:-500000}
partitions=${GONGKAI_LOG__PARTITIONS:-3}
need_commands java:openjdk-17-jre-headless jq:jq
ensure_infra
work=''
bench_tmpdir work

if [[ -s $BENCH_OUT/envelope.json ]]; then
    size=$(jq .avg_bytes "$BENCH_OUT/envelope.json")
    size_from="the average envelope of the PostgreSQL ingestion bench"
else
    size=${BENCH_ENVELOPE_BYTES:-600}
    size_from="BENCH_ENVELOPE_BYTES (run the PostgreSQL ingestion bench first for the real size)"
fi

bootstrap=$(kafka_bootstrap)
topic="$(run_prefix kafka-produce)perf"
forget_topics "$topic"
kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create --topic "$topic" \
    --partitions "$partitions" --replication-factor 1 >/dev/null

settings=(enable.idempotence=true acks=all linger.ms=5 batch.size=1048576 compression.type=lz4)
command=(ProducerPerformance --topic "$topic" --num-records "$records" --warmup-records "$((records / 10))"
    --record-size "$size" --throughput -1 --key-distribution random --record-key-range 100000
    --command-property "${settings[@]}")
bench_log "${command[*]}"
kafka_tool org.apache.kafka.tools.ProducerPerformance "${command[@]:1}" bootstrap.servers="$bootstrap" \
    >"$work/perf.out" 2>"$work/perf.err" || { cat -- "$work/perf.out" "$work/perf.err" >&2; bench_die "ProducerPerformance failed"; }
# The steady-state summary (after the warm-up) when printed, else the overall one.
summary=$(grep 'records sent' "$work/perf.out" | tail -n 1)
[[ -n $summary ]] || { cat -- "$work/perf.out" >&2; bench_die "no summary from ProducerPerformance"; }
bench_log "$summary"
rate=$(sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p' <<<"$summary")
p99=$(sed -n 's/.* \([0-9.]*\) ms 99th.*/\1/p' <<<"$summary")

# shellcheck disable=SC2016 # a jq program
emit_result kafka-produce --argjson rate "$rate" --argjson size "$size" --arg size_from "$size_from" \
    --arg summary "$summary" --arg command "${command[*]}" --argjson p99 "${p99:-null}" --argjson partitions "$partitions" -- '
    {
        title: "Kafka producer, same settings",
        value: $rate, unit: "records/s",
        method: "\($command) (\($size)-byte records: \($size_from); topic of \($partitions) partitions)",
        record_bytes: $size, p99_ms: $p99, summary: $summary
    }'
