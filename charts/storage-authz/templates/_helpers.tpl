{{- define "storage-authz.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "storage-authz.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "storage-authz.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: edge
{{- end -}}

{{- define "storage-authz.redisSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "storage-authz.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "storage-authz.tlsSecret" -}}
{{ .Values.tls.secretName | default (printf "%s-tls" (include "storage-authz.fullname" .)) }}
{{- end -}}

{{- define "storage-authz.redisPasswordSecret" -}}
{{ .Values.redis.passwordSecret.name | default (printf "%s-redis" (include "storage-authz.fullname" .)) }}
{{- end -}}

{{/* Non-root, read-only root, no capabilities: every container of the chart. */}}
{{- define "storage-authz.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "storage-authz.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* The bundled Sentinels, host:port, comma-separated. */}}
{{- define "storage-authz.bundledSentinels" -}}
{{- $name := printf "%s-redis" (include "storage-authz.fullname" .) -}}
{{- $list := list -}}
{{- range $i := until (int .Values.redis.bundled.replicas) -}}
{{- $list = append $list (printf "%s-%d.%s-headless.%s.svc:26379" $name $i $name $.Release.Namespace) -}}
{{- end -}}
{{ join "," $list }}
{{- end -}}

{{/* The edge pod's preStop hook (both containers): `storage-authz drain-edge`, as the image's ENTRYPOINT runs it. */}}
{{- define "storage-authz.drainEdge" -}}
exec:
  command:
    - node
    - /app/dist/src/main.js
    - drain-edge
    - --envoy-admin=127.0.0.1:19000
    - --min-ms={{ mul .Values.edge.drain.minSeconds 1000 }}
    - --timeout-ms={{ mul .Values.edge.drain.timeoutSeconds 1000 }}
{{- end -}}
