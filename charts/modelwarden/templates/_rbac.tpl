{{/*
Rules the operator needs wherever it watches ModelDeployments. Each rule matches a call the
operator makes; docs/install.md explains them. No rule names Secrets or uses a wildcard.
*/}}
{{- define "modelwarden.operatorRules" -}}
# Watch ModelDeployments and write their status. Finalizers are updated through the
# finalizers subresource, which owner references with blockOwnerDeletion also require.
- apiGroups: ["modelwarden.io"]
  resources: ["modeldeployments"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["modelwarden.io"]
  resources: ["modeldeployments/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["modelwarden.io"]
  resources: ["modeldeployments/finalizers"]
  verbs: ["update"]
# Children the operator owns: server-side apply (patch) creates and updates them.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Pods are read only: scrape targets, readiness and retraining results come from their status.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
