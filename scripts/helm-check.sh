#!/usr/bin/env bash
# Lint and render charts/gongkai, then assert on the rendered manifests.
#
# helm comes from PATH, else from the gongkai cache
# (${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}/bin/helm), else it
# is built there with the Go toolchain. When helm cannot be had the script says
# why and exits 0, unless GONGKAI_REQUIRE_HELM=1 (then it exits 1).
set -euo pipefail

readonly HELM_VERSION=v3.22.0
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly chart="$repo_root/charts/gongkai"
readonly cache_dir="${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}"
readonly bin_dir="$cache_dir/bin"
readonly all_targets="awards contracts projector projects relay review site supervision tenders tlog"
# Enabled in values.yaml by default.
readonly default_targets="$all_targets"

unavailable() {
    echo "helm unavailable: $*"
    if [[ "${GONGKAI_REQUIRE_HELM:-}" == 1 ]]; then
        exit 1
    fi
    exit 0
}

fail() {
    echo "helm check failed: $*" >&2
    exit 1
}

# Sets $helm to a usable helm binary, building it if need be.
locate_helm() {
    if helm="$(command -v helm)"; then
        return
    fi
    helm="$bin_dir/helm"
    if [[ -x "$helm" ]]; then
        return
    fi
    command -v go >/dev/null 2>&1 ||
        unavailable "not on PATH nor at $helm, and no Go toolchain to build it"
    mkdir -p "$bin_dir"
    local log="$cache_dir/helm-build.log"
    echo "building helm $HELM_VERSION into $bin_dir (go install; this takes a few minutes)" >&2
    # Run outside the repository so no go.mod or go.work here can interfere.
    if ! (cd "$cache_dir" && GOBIN="$bin_dir" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        unavailable "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed (log: $log)"
    fi
    [[ -x "$helm" ]] || unavailable "go install succeeded but $helm is missing"
}

# One tab-separated row per rendered document:
# kind, name, component, liveness-grpc, readiness-grpc, secret name,
# hook, --target argument, runs migrate, holds gongkai.toml.
summarize() {
    awk '
        function flush() {
            if (kind != "")
                printf "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\n", kind, name,
                    component, live, ready, secret, hook, target, migrate, toml
            kind = name = component = secret = hook = target = probe = prev = ""
            live = ready = migrate = toml = insecret = 0
        }
        { line = $0; gsub(/"/, "", line); n = split(line, f, /[ \t]+/) }
        /^---/ { flush(); next }
        /^kind:/ { kind = f[2] }
        /^  name:/ && name == "" { name = f[3] }
        /^    app\.kubernetes\.io\/component:/ && component == "" { component = f[3] }
        line ~ /helm\.sh\/hook:/ { hook = f[n] }
        /^  gongkai\.toml:/ { toml = 1 }
        probe != "" { if (f[2] == "grpc:") { if (probe == "liveness") live = 1; else ready = 1 } probe = "" }
        /^ +livenessProbe:/ { probe = "liveness" }
        /^ +readinessProbe:/ { probe = "readiness" }
        insecret && f[2] == "name:" { secret = f[3] }
        /^ +secretKeyRef:/ { insecret = 1 }
        /^ +value(From)?:/ || /^ +- name:/ { insecret = 0 }
        prev == "--target" { target = f[n] }
        f[2] == "-" && f[3] == "migrate" { migrate = 1 }
        { prev = (f[2] == "-") ? f[3] : "" }
        END { flush() }
    '
}

# check_render <label> <expected targets, space separated> <expected secret> [helm args...]
check_render() {
    local label="$1" expected="$2" secret="$3"
    shift 3
    local rendered="$work/$label.yaml" rows="$work/$label.tsv"
    "$helm" template gongkai "$chart" --namespace gongkai "$@" >"$rendered" ||
        fail "$label: helm template failed"
    summarize <"$rendered" >"$rows"

    # The optional witness is no target: check_witness checks it.
    local want got
    want="$(tr ' ' '\n' <<<"$expected" | sort)"
    got="$(awk -F'\t' '$1 == "Deployment" && $3 != "witness" { print $3 }' "$rows" | sort)"
    [[ "$got" == "$want" ]] ||
        fail "$label: Deployment components [$(echo $got)], want [$(echo $want)]"
    got="$(awk -F'\t' '$1 == "Service" && $3 != "witness" { print $3 }' "$rows" | sort)"
    [[ "$got" == "$want" ]] ||
        fail "$label: Service components [$(echo $got)], want [$(echo $want)]"

    local bad
    bad="$(awk -F'\t' -v s="$secret" '$1 == "Deployment" && $3 != "witness" &&
        ($4 != 1 || $5 != 1 || $6 != s || $8 != $3) { print $2 }' "$rows")"
    [[ -z "$bad" ]] ||
        fail "$label: Deployments lacking grpc liveness/readiness probes, secret $secret or --target <component>: $(echo $bad)"

    awk -F'\t' -v s="$secret" '$1 == "Job" && $9 == 1 && $6 == s &&
        $7 ~ /pre-install/ && $7 ~ /pre-upgrade/ { found = 1 } END { exit !found }' "$rows" ||
        fail "$label: no pre-install,pre-upgrade hook Job running gongkai migrate with secret $secret"
    awk -F'\t' '$1 == "ConfigMap" && $10 == 1 { found = 1 } END { exit !found }' "$rows" ||
        fail "$label: no ConfigMap holding gongkai.toml"

    wc -w <<<"$expected" | tr -d ' '
}

# check_witness <label> <expected tlog.witnesses url, or "" for none>: the
# rendered witness of $work/<label>.yaml runs `gongkai witness serve` alone
# (Recreate), with its key from the Secret and its state on a kept claim,
# behind a Service; the ConfigMap names the logs it witnesses and, when the
# tlog target is in the release, lists it in tlog.witnesses.
check_witness() {
    local label="$1" url="$2"
    local rendered="$work/$label.yaml" rows="$work/$label.tsv"
    [[ "$(awk -F'\t' '$3 == "witness" { print $1 }' "$rows" | sort | tr '\n' ' ')" == \
        "Deployment PersistentVolumeClaim Service " ]] ||
        fail "$label: want a witness Deployment, PersistentVolumeClaim and Service"
    local witness
    witness="$(awk '/^---/ { keep = 0 } /^kind: Deployment/ { kind = 1 }
        kind && /app.kubernetes.io\/component: witness/ { keep = 1 } /^---/ { kind = 0 } keep' "$rendered")"
    local want
    for want in 'replicas: 1' 'type: Recreate' '- witness' '- serve' 'name: GONGKAI_WITNESS__SIGNING_KEY' \
        'key: witness-signing-key' 'value: /var/lib/gongkai-witness/state.json' 'claimName: gongkai-witness' \
        'tcpSocket:'; do
        grep -qF -- "$want" <<<"$witness" || fail "$label: the witness Deployment lacks '$want'"
    done
    grep -qF 'helm.sh/resource-policy: keep' "$rendered" ||
        fail "$label: the witness's claim is not kept on uninstall"
    grep -qE '^      logs = \["[^"]+"\]$' "$rendered" || fail "$label: gongkai.toml names no log to witness"
    if [[ -n "$url" ]]; then
        grep -qF '[[tlog.witnesses]]' "$rendered" && grep -qF "url = \"$url\"" "$rendered" &&
            grep -qE '^        key = "[^"+]+\+[0-9a-f]{8}\+' "$rendered" ||
            fail "$label: gongkai.toml does not list the witness at $url in tlog.witnesses"
    elif grep -qF '[[tlog.witnesses]]' "$rendered"; then
        fail "$label: tlog.witnesses lists a witness without a tlog target"
    fi
}

locate_helm
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$helm" lint --strict "$chart" >"$work/lint.log" 2>&1 || { cat "$work/lint.log" >&2; fail "helm lint --strict"; }

default_count="$(check_render default "$default_targets" gongkai)"

# Only tenders and site enabled, another Secret, OTLP export on.
{
    echo "secret:"
    echo "  existingSecret: gongkai-check"
    echo "config:"
    echo "  otel:"
    echo "    endpoint: http://otel-collector:4317"
    echo "targets:"
    for t in $all_targets; do
        case "$t" in tenders | site) on=true ;; *) on=false ;; esac
        echo "  $t:"
        echo "    enabled: $on"
    done
} >"$work/values-two-targets.yaml"
"$helm" lint --strict "$chart" -f "$work/values-two-targets.yaml" >"$work/lint2.log" 2>&1 ||
    { cat "$work/lint2.log" >&2; fail "helm lint --strict with the two-target values"; }
two_count="$(check_render two-targets "site tenders" gongkai-check -f "$work/values-two-targets.yaml")"

# The witness beside the log (trying it out): the tlog target submits to it.
# Public keys made with `gongkai tlog keygen` and `gongkai witness keygen`.
readonly log_key="gongkai.example.cn/log+91736ac8+AZ/Eq/aVBdSpWAb5SBVBz2pxU7dhlShEsJKOZalkAB3Z"
readonly witness_key="witness.example.org+e4568fa4+BKxud4vU7lG/arEh/J7e6MbNUIsQ5MW+/+flloCMGn5R"
{
    echo "config:"
    echo "  tlogPublicKey: \"$log_key\""
    echo "witness:"
    echo "  enabled: true"
    echo "  publicKey: \"$witness_key\""
} >"$work/values-witness.yaml"
"$helm" lint --strict "$chart" -f "$work/values-witness.yaml" >"$work/lint3.log" 2>&1 ||
    { cat "$work/lint3.log" >&2; fail "helm lint --strict with the witness"; }
check_render witness "$default_targets" gongkai -f "$work/values-witness.yaml" >/dev/null
check_witness witness "http://gongkai-witness:7380"

# The witness alone, in a second party's cluster, of another log.
{
    echo "targets:"
    for t in $all_targets; do
        echo "  $t:"
        echo "    enabled: false"
    done
    echo "witness:"
    echo "  enabled: true"
    echo "  logs:"
    echo "    - \"$log_key\""
} >"$work/values-witness-only.yaml"
check_render witness-only "" gongkai -f "$work/values-witness-only.yaml" >/dev/null
check_witness witness-only ""

# Enabled beside the tlog target without its public key: refused.
if "$helm" template gongkai "$chart" -f "$work/values-witness.yaml" --set witness.publicKey= >/dev/null 2>&1; then
    fail "a witness listed in tlog.witnesses without witness.publicKey rendered"
fi

echo "helm: lint ok, template ok ($default_count deployments; $two_count with two targets; a witness beside the log and alone)"
