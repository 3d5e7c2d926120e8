{{/*
Command-line flags of the operator container, one YAML list item per line. `operator --help`
documents each flag.
*/}}
{{- define "modelwarden.args" -}}
- --host=$(POD_IP)
- --port={{ .Values.operator.port }}
- --log-level={{ .Values.operator.logLevel }}
- --model-server-image={{ include "modelwarden.image" (dict "image" .Values.modelServer.image "context" $) }}
{{- with .Values.watchNamespaces }}
- --namespaces={{ join "," . }}
{{- end }}
{{- if include "modelwarden.leaderElection" . }}
- --leader-elect
- --leader-election-namespace=$(POD_NAMESPACE)
- --leader-election-id={{ include "modelwarden.leaseName" . }}
{{- end }}
{{- range .Values.operator.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}
