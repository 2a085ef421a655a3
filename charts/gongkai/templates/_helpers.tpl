{{/*
Chart name, truncated to the 63 characters DNS names allow.
*/}}
{{- define "gongkai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name. Truncated to 52 characters so that
"<fullname>-<target>" (longest target: "supervision") stays within 63.
*/}}
{{- define "gongkai.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "gongkai.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every object.
*/}}
{{- define "gongkai.labels" -}}
helm.sh/chart: {{ include "gongkai.chart" . }}
{{ include "gongkai.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels shared by every object.
*/}}
{{- define "gongkai.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gongkai.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of one component's objects. Call with (dict "ctx" $ "component" $name).
*/}}
{{- define "gongkai.componentLabels" -}}
{{ include "gongkai.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: gongkai
{{- end }}

{{/*
Selector labels of one component. Call with (dict "ctx" $ "component" $name).
*/}}
{{- define "gongkai.componentSelectorLabels" -}}
{{ include "gongkai.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Name of one component's Deployment, Service and PodDisruptionBudget.
Call with (dict "ctx" $ "component" $name).
*/}}
{{- define "gongkai.componentName" -}}
{{- printf "%s-%s" (include "gongkai.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
ServiceAccount the pods run as.
*/}}
{{- define "gongkai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gongkai.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Container image reference.
*/}}
{{- define "gongkai.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Name of the existing Secret holding credentials; fails when unset.
*/}}
{{- define "gongkai.secretName" -}}
{{- required "secret.existingSecret must name an existing Secret holding the database URL" .Values.secret.existingSecret }}
{{- end }}

{{/*
Environment shared by every gongkai container: the database URL and extra
keys from the Secret, telemetry, and plain extra variables.
Call with (dict "ctx" $ "component" $name "storageUrlKey" $key).
*/}}
{{- define "gongkai.env" -}}
{{- $ctx := .ctx }}
{{- $secret := include "gongkai.secretName" $ctx -}}
- name: GONGKAI_STORAGE__URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ default $ctx.Values.secret.keys.storageUrl .storageUrlKey }}
{{- range $var, $key := $ctx.Values.secret.extraEnv }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
- name: RUST_LOG
  value: {{ $ctx.Values.config.logLevel | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "gongkai-%s" .component | quote }}
{{- with $ctx.Values.config.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $ctx.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The targets without state of their own, which a HorizontalPodAutoscaler may
scale: the five ingestion services, the site and supervision.
*/}}
{{- define "gongkai.statelessTargets" -}}
projects tenders review awards contracts site supervision
{{- end }}

{{/*
"true" when target .name (values .target) is scaled by a
HorizontalPodAutoscaler, else empty. Fails when autoscaling is asked of a
target that keeps state of its own. Call with (dict "name" $name "target" $target).
*/}}
{{- define "gongkai.autoscaled" -}}
{{- if and .target.autoscaling .target.autoscaling.enabled }}
{{- if not (has .name (splitList " " (include "gongkai.statelessTargets" .))) }}
{{- fail (printf "targets.%s.autoscaling: only %s scale on CPU" .name (include "gongkai.statelessTargets" .)) }}
{{- end }}
{{- print "true" }}
{{- end }}
{{- end }}

{{/*
The fewest replicas a target runs: replicas, or autoscaling.minReplicas.
Call with (dict "name" $name "target" $target).
*/}}
{{- define "gongkai.minReplicas" -}}
{{- if include "gongkai.autoscaled" . }}
{{- .target.autoscaling.minReplicas }}
{{- else }}
{{- .target.replicas }}
{{- end }}
{{- end }}

{{/*
The egress rules every target's NetworkPolicy has: PostgreSQL, Kafka, DNS
and networkPolicy.egress.extra.
*/}}
{{- define "gongkai.networkPolicyEgress" -}}
{{- $egress := .Values.networkPolicy.egress }}
{{- range $service := list "postgres" "kafka" "dns" }}
{{- $rule := get $egress $service }}
- ports:
    {{- range $rule.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- if eq $service "dns" }}
    - port: {{ . }}
      protocol: UDP
    {{- end }}
    {{- end }}
  {{- with $rule.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- with $egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
