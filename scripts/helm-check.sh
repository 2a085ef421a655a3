#!/usr/bin/env bash
# The chart's tests: charts/gongkai rendered with its default values and with
# every example in charts/gongkai/examples (the files values.yaml and the
# README point to), each
#   - linted (helm lint --strict) and validated (kubeconform -strict, against
#     the Kubernetes JSON schemas the PyPI package kubernetes-validate ships,
#     offline),
#   - asserted on (targets, probes, Secret, hooks, the witness, autoscaling,
#     disruption budgets, network policies, ingress, monitoring),
#   - and run through `gongkai config check --target <its target>` for each
#     Deployment and Job, as that container would load its configuration
#     (scripts/chart/check_config.py);
# and the commands of the rendered NOTES.txt run against a real `gongkai
# serve` over TLS.
#
# Usage: scripts/helm-check.sh [GONGKAI_BINARY]   (default target/debug/gongkai;
# scripts/test.sh runs it after the cargo tests built it).
#
# helm, kubeconform and grpcurl come from the gongkai cache
# (${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}/bin), built
# there with the Go toolchain when missing (helm may also be on PATH); the
# Python tools from scripts/tools/python.sh. Without any of them the check
# fails: it never passes silently.
set -euo pipefail

readonly HELM_VERSION=v3.22.0
readonly KUBECONFORM_VERSION=v0.8.0
# The oldest Kubernetes the chart supports (gRPC probes are GA from 1.27)
# and the newest kubernetes-validate has schemas of.
readonly KUBE_VERSIONS="1.27.0 1.37.0"
# No package ships the schema of the Prometheus Operator's ServiceMonitor
# offline: kubeconform skips that kind, listed here, and check_operators
# asserts on it instead.
readonly KUBECONFORM_SKIP=ServiceMonitor
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly chart="$repo_root/charts/gongkai"
readonly cache_dir="${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}"
readonly bin_dir="$cache_dir/bin"
readonly all_targets="awards contracts projector projects relay review site supervision tenders tlog"
# Enabled in values.yaml by default.
readonly default_targets="$all_targets"
gongkai="${1:-$repo_root/target/debug/gongkai}"

fail() {
    echo "helm check failed: $*" >&2
    exit 1
}

# go_install <binary> <module@version>: builds a pinned Go tool into $bin_dir.
go_install() {
    local binary="$1" module="$2"
    command -v go >/dev/null 2>&1 || fail "$binary is not at $bin_dir/$binary and there is no Go toolchain to build it"
    mkdir -p "$bin_dir"
    local log="$cache_dir/$binary-build.log"
    echo "building $module into $bin_dir (go install; this may take minutes)" >&2
    # Run outside the repository so no go.mod or go.work here can interfere.
    if ! (cd "$cache_dir" && GOBIN="$bin_dir" go install "$module") >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        fail "go install $module failed (log: $log)"
    fi
    [[ -x "$bin_dir/$binary" ]] || fail "go install $module succeeded but $bin_dir/$binary is missing"
}

# Sets $helm, $kubeconform, $python, $grpcurl; fails when one cannot be had.
locate_tools() {
    if ! helm="$(command -v helm)"; then
        helm="$bin_dir/helm"
        [[ -x "$helm" ]] || go_install helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    fi
    kubeconform="$bin_dir/kubeconform"
    # Built by go install, it reports its version only in its build info.
    if [[ "$(go version -m "$kubeconform" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')" != "$KUBECONFORM_VERSION" ]]; then
        go_install kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
    fi
    python="${GONGKAI_TEST_PYTHON:-$("$repo_root/scripts/tools/python.sh")}"
    grpcurl="${GONGKAI_TEST_GRPCURL:-$("$repo_root/scripts/tools/grpcurl.sh")}"
    [[ -x "$gongkai" ]] || fail "no gongkai binary at $gongkai (cargo build -p gongkai, or pass its path)"
    command -v openssl >/dev/null 2>&1 || fail "openssl makes the test certificate and is missing"
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


# The standalone, strict schemas of every kind the chart renders, written
# from kubernetes-validate's (once per cache; its version names the dir).
prepare_schemas() {
    local package_version
    package_version="$("$python" -c 'import kubernetes_validate.version as v; print(v.__version__)')" ||
        fail "kubernetes-validate is missing from $python (scripts/tools/requirements.txt)"
    schemas="$cache_dir/kube-schemas/kubernetes-validate-$package_version"
    local version
    for version in $KUBE_VERSIONS; do
        [[ -d "$schemas/v$version-standalone-strict" ]] && continue
        "$python" "$repo_root/scripts/chart/kube_schemas.py" "$schemas.partial" "$version" \
            configmap-v1.json service-v1.json serviceaccount-v1.json persistentvolumeclaim-v1.json \
            deployment-apps-v1.json job-batch-v1.json poddisruptionbudget-policy-v1.json \
            horizontalpodautoscaler-autoscaling-v2.json networkpolicy-networking-v1.json \
            ingress-networking-v1.json || fail "could not write the Kubernetes $version schemas"
        mkdir -p "$schemas"
        mv "$schemas.partial/v$version-standalone-strict" "$schemas/"
    done
    rm -rf "$schemas.partial"
}

# validate <label>: kubeconform -strict over $work/<label>.yaml, for each
# Kubernetes version; every document must have a schema but the listed skips.
validate() {
    local label="$1" version
    for version in $KUBE_VERSIONS; do
        "$kubeconform" -strict -summary -kubernetes-version "$version" -skip "$KUBECONFORM_SKIP" \
            -schema-location "$schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
            "$work/$label.yaml" >"$work/$label-kubeconform.log" 2>&1 ||
            { cat "$work/$label-kubeconform.log" >&2; fail "$label: kubeconform -strict (Kubernetes $version)"; }
    done
}

# check_example <label> [helm args...]: lint, render, validate and check the
# configuration of every gongkai container of one set of values.
check_example() {
    local label="$1"
    shift
    "$helm" lint --strict "$chart" "$@" >"$work/$label-lint.log" 2>&1 ||
        { cat "$work/$label-lint.log" >&2; fail "$label: helm lint --strict"; }
    "$helm" template gongkai "$chart" --namespace gongkai "$@" >"$work/$label.yaml" ||
        fail "$label: helm template failed"
    validate "$label"
    "$python" "$repo_root/scripts/chart/check_config.py" "$gongkai" "$work/$label.yaml" "$work/$label-root" \
        "$work/tls.crt" "$work/tls.key" >"$work/$label-config.log" 2>&1 ||
        { cat "$work/$label-config.log" >&2; fail "$label: a container's configuration does not pass gongkai config check"; }
    echo "$label: $(grep -c 'configuration OK' "$work/$label-config.log") configurations OK" >&2
}

# kinds <label> <kind>: the component label of each <kind> of the render.
components() {
    awk -F'\t' -v k="$2" '$1 == k { print $3 }' "$work/$1.tsv" | sort | tr '\n' ' '
}

# The defaults: a disruption budget for the site (2 replicas) only, no
# autoscaler, network policy, ingress or monitoring; the site reads as its
# own role.
check_defaults() {
    [[ "$(components default PodDisruptionBudget)" == "site " ]] ||
        fail "default: PodDisruptionBudgets for [$(components default PodDisruptionBudget)], want the site's alone"
    local kind
    for kind in HorizontalPodAutoscaler NetworkPolicy Ingress ServiceMonitor; do
        [[ -z "$(components default "$kind")" ]] || fail "default: a $kind, which is off by default"
    done
    local site
    site="$(awk '/^---/ { keep = 0 } /^kind: Deployment/ { kind = 1 } /^---/ { kind = 0 }
        kind && /app.kubernetes.io\/component: site/ { keep = 1 } keep' "$work/default.yaml")"
    grep -qF 'key: site-storage-url' <<<"$site" || fail "default: the site does not read with secret.keys.siteStorageUrl"
    [[ "$(grep -c 'key: site-storage-url' "$work/default.yaml")" == 1 ]] ||
        fail "default: a target other than the site reads with the site's role"
}

# The operators' example: autoscalers for tenders and the site (their
# Deployments then leave replicas to them), budgets where at least two run,
# a policy per component, the site's Ingress with TLS, the ServiceMonitor.
check_operators() {
    local rendered="$work/operators.yaml"
    [[ "$(components operators HorizontalPodAutoscaler)" == "site tenders " ]] ||
        fail "operators: autoscalers for [$(components operators HorizontalPodAutoscaler)], want site and tenders"
    [[ "$(components operators PodDisruptionBudget)" == "site tenders " ]] ||
        fail "operators: budgets for [$(components operators PodDisruptionBudget)], want site and tenders"
    [[ "$(components operators NetworkPolicy)" == "$(echo $all_targets) " ]] ||
        fail "operators: network policies for [$(components operators NetworkPolicy)], want every target"
    local replicas
    replicas="$(awk '/^---/ { d = 0 } /^kind: Deployment/ { d = 1 } d && /^  replicas:/ { n++ } END { print n + 0 }' "$rendered")"
    [[ "$replicas" == 8 ]] || fail "operators: $replicas Deployments set replicas, want the 8 not autoscaled"
    grep -qF 'averageUtilization: 70' "$rendered" || fail "operators: the autoscalers' CPU target is not 70%"
    grep -qF 'secretName: gongkai-site-tls' "$rendered" && grep -qF 'ingressClassName: nginx' "$rendered" ||
        fail "operators: the Ingress lacks its TLS Secret or class"
    # The site alone takes traffic from anywhere: one ingress rule without
    # `from`, on its http port.
    local open
    open="$(awk '/^---/ { c = "" } /app.kubernetes.io\/component:/ && c == "" { c = $2 }
        /^kind: NetworkPolicy/ { np = 1 } /^---/ { np = 0 }
        np && /^  ingress:/ { section = "in" } np && /^  egress:/ { section = "out" }
        np && section == "in" && /^    - ports:$/ { print c }' "$rendered" | sort -u | tr '\n' ' ')"
    [[ "$open" == "site " ]] || fail "operators: open to anywhere: [$open], want the site alone"
    grep -qF 'cidr: 10.20.0.0/24' "$rendered" || fail "operators: the PostgreSQL egress CIDR is missing"
    local monitor
    monitor="$(awk '/^---/ { keep = 0 } /^# Source: .*\/servicemonitor.yaml/ { keep = 1 } keep' "$rendered")"
    for want in 'apiVersion: monitoring.coreos.com/v1' 'app.kubernetes.io/name: otel-collector' \
        '- monitoring' '- port: prometheus' 'release: prometheus'; do
        grep -qF -- "$want" <<<"$monitor" || fail "operators: the ServiceMonitor lacks '$want'"
    done
}

# refused <reason> [helm args...]: those values must not render.
refused() {
    local reason="$1"
    shift
    if "$helm" template gongkai "$chart" "$@" >/dev/null 2>&1; then
        fail "rendered although $reason"
    fi
}

# The NOTES of the default install, rendered through a copy of the chart
# whose extra template includes them (helm renders NOTES.txt only on a real
# install), then each grpcurl and curl command of it run against `gongkai
# serve --target tenders,site` with TLS, its ports put for the port-forwards'.
check_notes() {
    local copy="$work/notes-chart"
    cp -r "$chart" "$copy"
    cat >"$copy/templates/zz-notes.yaml" <<'TEMPLATE'
apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  NOTES.txt: |
    {{- include (print $.Template.BasePath "/NOTES.txt") . | nindent 4 }}
TEMPLATE
    "$helm" template gongkai "$copy" --namespace gongkai -f "$chart/examples/quickstart.yaml" \
        --show-only templates/zz-notes.yaml >"$work/notes.yaml" || fail "NOTES.txt does not render"
    "$python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["NOTES.txt"])' \
        "$work/notes.yaml" >"$work/NOTES.txt"

    local storage="sqlite://$work/notes-db/gongkai.db"
    mkdir -p "$work/notes-db"
    GONGKAI_STORAGE__URL="$storage" RUST_LOG=warn "$gongkai" migrate >/dev/null 2>"$work/notes-migrate.log" ||
        { cat "$work/notes-migrate.log" >&2; fail "NOTES: gongkai migrate failed"; }
    : >"$work/serve.out"
    GONGKAI_STORAGE__URL="$storage" GONGKAI_GRPC__LISTEN=127.0.0.1:0 GONGKAI_GRPC__HEALTH_LISTEN=127.0.0.1:0 \
        GONGKAI_SITE__LISTEN=127.0.0.1:0 GONGKAI_GRPC__TLS__CERT="$work/tls.crt" GONGKAI_GRPC__TLS__KEY="$work/tls.key" \
        RUST_LOG=warn "$gongkai" serve --target tenders,site >"$work/serve.out" 2>"$work/serve.err" &
    serve_pid=$!
    local waited=0
    until grep -q '^Press Ctrl-C' "$work/serve.out"; do
        kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.err" >&2; fail "NOTES: gongkai serve stopped"; }
        ((waited++ < 300)) || fail "NOTES: gongkai serve did not start within 30 s"
        sleep 0.1
    done
    local grpc_port health_port site_port
    grpc_port="$(awk '$1 == "grpc:" { n = split($2, a, ":"); print a[n] }' "$work/serve.out")"
    health_port="$(awk '$1 == "health:" { n = split($2, a, ":"); print a[n] }' "$work/serve.out")"
    site_port="$(awk '$1 == "site:" { sub(/\/$/, "", $2); n = split($2, a, ":"); print a[n] }' "$work/serve.out")"
    grep -q '^  grpc: https://' "$work/serve.out" || fail "NOTES: gongkai serve does not speak TLS"

    # local port -> the running server's port, from each port-forward's remote side.
    local -A local_to_real=()
    local health_remote
    health_remote="$(awk '$1 == "healthPort:" { print $2 }' "$chart/values.yaml")"
    local line local_port remote
    while read -r line; do
        local_port="${line%%:*}"
        remote="${line#*:}"
        case "$remote" in
            grpc) local_to_real[$local_port]="$grpc_port" ;;
            http) local_to_real[$local_port]="$site_port" ;;
            "$health_remote") local_to_real[$local_port]="$health_port" ;;
            *) fail "NOTES: a port-forward to $remote, which this check does not know" ;;
        esac
    done < <(grep -oE 'port-forward [^ ]+ [0-9]+:[a-z0-9]+' "$work/NOTES.txt" | awk '{ print $3 }')

    local ran=0 command port
    cp "$work/tls.crt" "$work/ca.crt"
    while read -r command; do
        for port in "${!local_to_real[@]}"; do
            command="${command//localhost:$port/127.0.0.1:${local_to_real[$port]}}"
        done
        [[ "$command" != *localhost* ]] || fail "NOTES: '$command' names a port no port-forward gave"
        command="${command/#grpcurl /$grpcurl }"
        if ! (cd "$work" && eval "$command") >"$work/notes-command.out" 2>&1; then
            cat "$work/notes-command.out" >&2
            fail "NOTES: '$command' failed"
        fi
        case "$command" in
            *Health/Check*) grep -qF '"status": "SERVING"' "$work/notes-command.out" ||
                fail "NOTES: '$command' did not say SERVING: $(cat "$work/notes-command.out")" ;;
        esac
        ran=$((ran + 1))
    done < <(grep -E '^  (grpcurl|curl) ' "$work/NOTES.txt" | sed 's/^  //')
    # The TLS port, the health port and the site.
    [[ "$ran" -ge 3 ]] || fail "NOTES: $ran commands, want one for the TLS port, the health port and the site"
    grep -qE '^  grpcurl .*-cacert' "$work/NOTES.txt" && grep -qE '^  grpcurl -plaintext localhost' "$work/NOTES.txt" ||
        fail "NOTES: no grpcurl command for the TLS port and one for the health port"
    kill "$serve_pid"
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=""
    echo "NOTES: $ran commands work against gongkai serve over TLS" >&2
}

locate_tools
work="$(mktemp -d)"
serve_pid=""
trap '[[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null; rm -rf "$work"' EXIT
prepare_schemas
# The test certificate, for the service the NOTES name.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=gongkai-tenders.gongkai.svc \
    -addext "subjectAltName=DNS:gongkai-tenders.gongkai.svc" -keyout "$work/tls.key" -out "$work/tls.crt" \
    >/dev/null 2>&1 || fail "openssl could not make the test certificate"

check_example default
summarize <"$work/default.yaml" >"$work/default.tsv"
default_count="$(check_render default "$default_targets" gongkai)"
check_defaults

examples=0
for example in "$chart"/examples/*.yaml; do
    label="$(basename "$example" .yaml)"
    check_example "$label" -f "$example"
    summarize <"$work/$label.yaml" >"$work/$label.tsv"
    examples=$((examples + 1))
done
check_render quickstart "$default_targets" gongkai -f "$chart/examples/quickstart.yaml" >/dev/null
check_render extra-settings "$default_targets" gongkai -f "$chart/examples/extra-settings.yaml" >/dev/null
grep -qF 'group_id = "gongkai-projector-hlj"' "$work/extra-settings.yaml" ||
    fail "extra-settings: config.extra does not reach gongkai.toml"
two_count="$(check_render two-targets "site tenders" gongkai-check -f "$chart/examples/two-targets.yaml")"
check_render witness-beside-log "$default_targets" gongkai -f "$chart/examples/witness-beside-log.yaml" >/dev/null
check_witness witness-beside-log "http://gongkai-witness:7380"
check_render witness-only "" gongkai -f "$chart/examples/witness-only.yaml" >/dev/null
check_witness witness-only ""
check_render operators "$default_targets" gongkai -f "$chart/examples/operators.yaml" >/dev/null
check_operators

# Values the chart refuses rather than render something that cannot run.
refused "a witness listed in tlog.witnesses has no witness.publicKey" \
    -f "$chart/examples/witness-beside-log.yaml" --set witness.publicKey=
refused "the relay keeps state and cannot autoscale" \
    --set-json 'targets.relay.autoscaling={"enabled":true,"minReplicas":1,"maxReplicas":2,"targetCPUUtilizationPercentage":50}'
refused "a ServiceMonitor without OTLP export has nothing to scrape" \
    --set metrics.serviceMonitor.enabled=true --set metrics.serviceMonitor.selector.app=otel
refused "an Ingress needs the site" -f "$chart/examples/two-targets.yaml" --set targets.site.enabled=false \
    --set ingress.enabled=true
# What helm cannot know, the configuration check refuses: the old example's
# `projector.group` (crash-looping every pod) fails it, naming the setting.
"$helm" template gongkai "$chart" --namespace gongkai --set config.extra.projector.group=gongkai-projector \
    >"$work/unknown-field.yaml" || fail "unknown-field: helm template failed"
if "$python" "$repo_root/scripts/chart/check_config.py" "$gongkai" "$work/unknown-field.yaml" \
    "$work/unknown-field-root" "$work/tls.crt" "$work/tls.key" >"$work/unknown-field.log" 2>&1; then
    fail "config.extra.projector.group passed gongkai config check"
fi
grep -qF 'projector.group: unknown field' "$work/unknown-field.log" ||
    { cat "$work/unknown-field.log" >&2; fail "the check of config.extra.projector.group does not name it"; }

check_notes

echo "helm: lint, kubeconform ($KUBE_VERSIONS) and gongkai config check ok on the defaults ($default_count deployments) and $examples examples ($two_count with two targets; a witness beside the log and alone); NOTES commands work"
