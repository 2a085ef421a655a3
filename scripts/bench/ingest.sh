#!/usr/bin/env bash
# Ingestion through gongkai, driven over gRPC by `gongkai load`:
#   ingest.sh postgres|embedded NAME [gongkai load options...]
#
# postgres: `gongkai serve --target projects,tenders,review,awards,contracts,
#   relay,projector` on a fresh PostgreSQL database and a fresh Kafka topic
#   prefix of the shared loopback infrastructure (scripts/infra/up.sh).
# embedded: `gongkai dev` (every component) on a fresh SQLite file, the
#   event store itself as the log.
#
# The load: BENCH_CONCURRENCY (64) clients, each call one append (no refusals,
# no retries: the raw PostgreSQL bench does exactly that work), for
# BENCH_LOAD_DURATION (30s) unless the options name --count or --duration.
# Then it waits for the relay and the projector to catch up and reports how
# long that took (or how far behind they are after BENCH_DRAIN_TIMEOUT, 60 s).
# Writes $BENCH_OUT/NAME.json.
#
# BENCH_PROJECTOR=elsewhere (postgres shape): the projector does not run, as
# when it has its own machine (the chart deploys each target on its own):
# what ingestion and the relay reach without it.
# BENCH_TLOG=1 (postgres shape): the transparency log's writer runs too (the
# embedded shape always runs it), with a fresh signing key: what appending
# every event to the log and signing checkpoints costs ingestion.
#
# Extra work on the postgres shape, for the raw benches:
#   BENCH_SAMPLE_ENVELOPE=1  envelope.json (sizes of the stored envelopes) and
#                            envelope.hex (one of median size);
#   BENCH_RELAY_REPLAY=1     marks the whole outbox unpublished again and times
#                            `gongkai serve --target relay` alone publishing it
#                            to fresh topics, BENCH_RELAY_REPLAYS (3) times,
#                            by the published_at stamps: relay-replay.json
#                            (the median).

# jq programs are single-quoted on purpose: their $names are jq variables.
# shellcheck disable=SC2016
set -euo pipefail
BENCH_TAG="ingest"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 2)) || bench_die "usage: $0 postgres|embedded NAME [gongkai load options...]"
shape=$1 name=$2
shift 2
BENCH_TAG="$name"
extra=("$@")
duration=${BENCH_LOAD_DURATION:-30s}
drain_timeout=${BENCH_DRAIN_TIMEOUT:-60}

need_commands sqlite3:sqlite3 psql:postgresql-client jq:jq
build_gongkai
work='' db_url='' prefix=''
bench_tmpdir work

ingestion_targets=projects,tenders,review,awards,contracts
case $shape in
    postgres)
        ensure_infra
        fresh_database "$name" db_url
        prefix="$(run_prefix "$name")"
        forget_topics "${prefix//./\\.}.*"
        bench_log "fresh database ${db_url##*/}, topic prefix $prefix"
        GONGKAI_STORAGE__URL="$db_url" "$GONGKAI" migrate 2>"$work/migrate.err" \
            || { cat -- "$work/migrate.err" >&2; bench_die "migration failed"; }
        # A submitter credential for the load; its token is printed once.
        "$GONGKAI" credential --id bench --regions 23 >"$work/gongkai.toml" 2>/dev/null
        token=$(awk '/authorization: Bearer/ { print $NF; exit }' "$work/gongkai.toml")
        export GONGKAI_CONFIG="$work/gongkai.toml" GONGKAI_STORAGE__URL="$db_url"
        GONGKAI_LOG__URL="kafka://$(kafka_bootstrap)"
        export GONGKAI_LOG__URL GONGKAI_LOG__TOPIC_PREFIX="$prefix"
        export GONGKAI_PROJECTOR__GROUP_ID="${prefix}projector" GONGKAI_GRPC__LISTEN=127.0.0.1:0
        targets="$ingestion_targets,relay"
        [[ ${BENCH_PROJECTOR:-colocated} == elsewhere ]] || targets+=",projector"
        if [[ ${BENCH_TLOG:-0} == 1 ]]; then
            targets+=",tlog"
            GONGKAI_TLOG__SIGNING_KEY=$("$GONGKAI" tlog keygen --origin bench.gongkai/log | awk -F'"' '/^signing_key/ { print $2 }')
            export GONGKAI_TLOG__SIGNING_KEY
        fi
        # Followed facts are watched until the public website shows them.
        [[ " ${extra[*]} " == *" --watch "* ]] && targets+=",site"
        start_announcing "$work" gongkai env RUST_LOG="${BENCH_RUST_LOG:-warn}" GONGKAI_SITE__LISTEN=127.0.0.1:0 \
            "$GONGKAI" serve --target "$targets"
        described="gongkai serve --target $targets on PostgreSQL (fresh database) + Kafka (fresh topics), pool ${GONGKAI_STORAGE__MAX_CONNECTIONS:-16} connections"
        ;;
    embedded)
        export GONGKAI_STORAGE__URL="sqlite://$work/bench.db"
        start_announcing "$work" gongkai env RUST_LOG=warn \
            "$GONGKAI" dev --grpc-listen 127.0.0.1:0 --site-listen 127.0.0.1:0
        token=$(announced "$work" gongkai token)
        described="gongkai dev (every component in one process) on a fresh SQLite file with the embedded log"
        ;;
    *) bench_die "unknown shape $shape (postgres or embedded)" ;;
esac
gongkai_pid=$ANNOUNCED_PID
grpc=$(announced "$work" gongkai grpc)
[[ -n $grpc && -n $token ]] || bench_die "no gRPC endpoint or token announced"

# SQL on the bench's own store.
sql() {
    case $shape in
        postgres) psql "$db_url" -Atqc "$1" ;;
        embedded) sqlite3 -cmd '.timeout 30000' "${GONGKAI_STORAGE__URL#sqlite://}" "$1" ;;
    esac
}
# Events the relay has yet to publish plus events the projector has yet to
# fold, plus events the transparency log has yet to append when it runs.
behind() {
    local projector='(SELECT COUNT(*) FROM events) - (SELECT COALESCE(SUM(projected_seq), 0) FROM projector_heads)'
    [[ ${BENCH_PROJECTOR:-colocated} == elsewhere ]] && projector=0
    [[ $shape == embedded || ${BENCH_TLOG:-0} == 1 ]] &&
        projector+=' + (SELECT COUNT(*) FROM events) - (SELECT COUNT(*) FROM tlog_leaves)'
    case $shape in
        postgres) sql "SELECT (SELECT COUNT(*) FROM outbox WHERE published_at IS NULL) + $projector" ;;
        embedded) sql "SELECT $projector" ;;
    esac
}

# What the report shows; the endpoint, token and output file are added to run it.
# The load starts once the projector is live (on Kafka: the group has given it
# its partitions), as traffic would once a readiness probe passes: start-up
# is not what is measured.
options=(--concurrency "$BENCH_CONCURRENCY" --refusal-every 0 --retry-every 0)
[[ ${BENCH_PROJECTOR:-colocated} == elsewhere ]] || options+=(--wait-for gongkai.projector)
if [[ " ${extra[*]} " == *" --watch "* ]]; then
    site=$(announced "$work" gongkai site)
    [[ -n $site ]] || bench_die "no site announced to watch"
    options+=(--watch-site "${site%/}")
fi
[[ " ${extra[*]} " == *" --count "* || " ${extra[*]} " == *" --duration "* ]] || options+=(--duration "$duration")
options+=("${extra[@]}")
bench_log "gongkai load ${options[*]}"
"$GONGKAI" load --endpoint "$grpc" --token "$token" --output "$work/load.json" "${options[@]}" \
    >"$work/load.out" 2>"$work/load.err" || { cat -- "$work/load.err" >&2; bench_die "gongkai load failed"; }

# A pipeline that does not catch up is a finding, not a failure of the bench.
started=$SECONDS
left=$(behind)
while ((left > 0 && SECONDS - started < drain_timeout)); do
    sleep 0.5
    left=$(behind)
done
drain=$((SECONDS - started))
if ((left == 0)); then
    bench_log "relay and projector caught up $drain s after the load"
    drained="pipeline drained $drain s after the load"
else
    bench_log "warning: $left events still unpublished or unprojected $drain s after the load"
    drained="$left events still unpublished or unprojected $drain s after the load"
fi

# gongkai load follows every n-th accepted fact (--watch-every, default 10)
# and leaves out those not public within 60 s: count them.
watch_every=10
for ((i = 0; i < ${#options[@]} - 1; i++)); do
    [[ ${options[$i]} == --watch-every ]] && watch_every=${options[$((i + 1))]}
done
emit_result "$name" --argjson watch_every "$watch_every" --slurpfile load "$work/load.json" --arg shape "$shape" --arg described "$described" \
    --arg command "gongkai load ${options[*]}" --argjson drain "$drain" --argjson left "$left" --arg drained "$drained" -- '
    $load[0] as $l | (if $shape == "postgres" then "PostgreSQL + Kafka" else "embedded (SQLite)" end) as $on
    | {
        method: "\($described); \($command) (each client sends its next fact when the previous is acknowledged, or at its share of --rate; every call one append): \($l.accepted) accepted at \($l.accepted_per_second | floor)/s, ack p50 \($l.ack_latency_ms.p50) ms p99 \($l.ack_latency_ms.p99) ms; \($drained)",
        errors: $l.errors, drain_seconds: $drain, behind_after_drain: $left, load: $l
    } + if $l.visible_latency_ms == null then {
        title: "Ingestion, \($on)", value: $l.accepted_per_second, unit: "accepted/s"
    } else
        ($l.page_latency_ms // $l.visible_latency_ms) as $seen
        | (($l.accepted / $watch_every | floor) - $seen.count) as $missed | {
        title: "Ack → public page, \($on)", value: $seen.p99, unit: "ms p99",
        missed: $missed, lower_bound: ($missed > 0),
        method_visible: "every \($watch_every)th accepted fact followed until the projector has it (p50 \($l.visible_latency_ms.p50) ms, p99 \($l.visible_latency_ms.p99) ms, max \($l.visible_latency_ms.max) ms over \($l.visible_latency_ms.count) facts)\(if $l.page_latency_ms then " and then until the project page on the public website shows it (GET /projects/CODE every ~2 ms while waiting; p50 \($l.page_latency_ms.p50) ms, p99 \($l.page_latency_ms.p99) ms, max \($l.page_latency_ms.max) ms over \($l.page_latency_ms.count) facts)" else "" end)\(if $missed > 0 then "; \($missed) followed facts were not public within 60 s and are left out, so the p99 is a lower bound" else "" end)"
    } end
    | .method += if .method_visible then "; " + .method_visible else "" end | del(.method_visible)'
(($(jq .load.errors "$BENCH_OUT/$name.json") == 0)) || bench_log "warning: $(jq .load.errors "$BENCH_OUT/$name.json") submissions failed"

[[ $shape == postgres ]] || exit 0

if [[ ${BENCH_SAMPLE_ENVELOPE:-0} == 1 ]]; then
    sql "SELECT json_build_object('events', COUNT(*), 'avg_bytes', ROUND(AVG(length(envelope))),
           'p50_bytes', percentile_disc(0.5) WITHIN GROUP (ORDER BY length(envelope)),
           'min_bytes', MIN(length(envelope)), 'max_bytes', MAX(length(envelope)),
           'avg_key_bytes', ROUND(AVG(length(project_code))))
         FROM events" >"$BENCH_OUT/envelope.json"
    sql "SELECT encode(envelope, 'hex') FROM events
         ORDER BY abs(length(envelope) - (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY length(envelope)) FROM events))
         LIMIT 1" >"$BENCH_OUT/envelope.hex"
    bench_log "envelopes: $(cat -- "$BENCH_OUT/envelope.json")"
fi

if [[ ${BENCH_RELAY_REPLAY:-0} == 1 ]]; then
    stop_pid "$gongkai_pid"
    replays=${BENCH_RELAY_REPLAYS:-3}
    runs='[]'
    for ((replay = 1; replay <= replays; replay++)); do
        # Every replay starts alike: the whole outbox unpublished, the table
        # vacuumed and analysed, fresh topics.
        sql "UPDATE outbox SET published_at = NULL" >/dev/null
        sql "VACUUM ANALYZE outbox" >/dev/null
        total=$(sql "SELECT COUNT(*) FROM outbox")
        export GONGKAI_LOG__TOPIC_PREFIX="${prefix}replay$replay."
        start_announcing "$work" relay env RUST_LOG=warn "$GONGKAI" serve --target relay
        relay_pid=$ANNOUNCED_PID
        started=$SECONDS
        while left=$(sql "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") && ((left > 0)); do
            ((SECONDS - started < drain_timeout)) || bench_die "the relay left $left of $total rows unpublished"
            sleep 0.2
        done
        stop_pid "$relay_pid"
        # The relay stamps the rows of one mark with one time. From the first
        # mark to the last, the rows marked after the first: topic creation
        # and producer start-up are not throughput, and the rate is read
        # from the store afterwards, not by polling the relay's machine.
        run=$(sql "SELECT json_build_object('events', COUNT(*) FILTER (WHERE published_at > first),
                     'seconds', EXTRACT(EPOCH FROM MAX(published_at) - first))
                   FROM outbox, (SELECT MIN(published_at) AS first FROM outbox) AS f GROUP BY first")
        bench_log "replay $replay: $(jq -r '"\(.events) events in \(.seconds) s"' <<<"$run")"
        runs=$(jq -c --argjson run "$run" '. + [$run]' <<<"$runs")
    done
    emit_result relay-replay --argjson total "$total" --argjson runs "$runs" -- '
        [$runs[] | select(.seconds > 0) | .events / .seconds] | sort as $rates | {
            title: "Relay, outbox → Kafka",
            value: (if $rates == [] then null else $rates[($rates | length - 1) / 2 | floor] end), unit: "events/s",
            method: "the \($total) outbox rows of the PostgreSQL ingestion bench marked unpublished again (table vacuumed), then gongkai serve --target relay alone publishing them to fresh topics (idempotent producer, acks=all, linger 5 ms, lz4, batch 1 MiB; batches of 2,000 read ahead, up to 10,000 rows in flight); rate from the first mark to the last by the published_at stamps, the median of \($runs | length) replays (\($rates | map(floor) | map(tostring) | join(", ")) events/s)",
            events: $total, runs: $runs
        }'
fi
