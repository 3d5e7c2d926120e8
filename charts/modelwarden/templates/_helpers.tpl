{{/* Chart name, cut to the 63 characters a label value allows. */}}
{{- define "modelwarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every resource name: fullnameOverride, else the release name when it already contains
the chart name, else "<release>-<chart>".
*/}}
{{- define "modelwarden.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "modelwarden.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator pods; they never change across upgrades. */}}
{{- define "modelwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "modelwarden.labels" -}}
helm.sh/chart: {{ include "modelwarden.chart" . }}
{{ include "modelwarden.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: modelwarden
{{- end }}

{{- define "modelwarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "modelwarden.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount in the release namespace" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* True (non-empty) when the operator runs leader election. */}}
{{- define "modelwarden.leaderElection" -}}
{{- if .Values.leaderElection.enabled }}true
{{- else if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "leaderElection.enabled=false needs replicaCount 1, got %d: without a Lease every replica would reconcile the same ModelDeployments. Turn leader election on or use one replica" (int .Values.replicaCount)) }}
{{- end }}
{{- end }}

{{- define "modelwarden.leaseName" -}}
{{- default (include "modelwarden.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
Image reference from {repository, tag, digest}: a digest wins over a tag, and an empty tag means
the chart's appVersion. Call with (dict "image" IMAGE "context" $).
*/}}
{{- define "modelwarden.image" -}}
{{- $image := .image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .context.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}
