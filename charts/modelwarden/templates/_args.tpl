{{/*
Command-line flags of the operator container, one YAML list item per line. The operator's
`--help` documents each flag; every flag the chart sets is passed explicitly, so the chart does
not depend on the operator's defaults.
*/}}
{{- define "modelwarden.args" -}}
- --host=$(POD_IP)
- --port={{ .Values.operator.port }}
- --log-level={{ .Values.operator.logLevel }}
- --concurrency={{ .Values.operator.concurrency }}
- --resync-period={{ .Values.operator.resyncPeriod }}
- --shutdown-timeout={{ .Values.operator.shutdownTimeout }}
- --model-server-image={{ include "modelwarden.image" (dict "image" .Values.modelServer.image "context" $) }}
{{- range $format, $image := .Values.modelServer.formatImages }}
- --format-image={{ $format }}={{ $image }}
{{- end }}
{{- with .Values.watchNamespaces }}
- --namespaces={{ join "," . }}
{{- end }}
{{- if include "modelwarden.leaderElection" . }}
- --leader-elect
- --leader-election-namespace=$(POD_NAMESPACE)
- --leader-election-id={{ include "modelwarden.leaseName" . }}
- --lease-duration={{ .Values.leaderElection.leaseDuration }}
- --renew-deadline={{ .Values.leaderElection.renewDeadline }}
- --retry-period={{ .Values.leaderElection.retryPeriod }}
{{- else }}
- --no-leader-elect
{{- end }}
{{- range .Values.operator.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}
