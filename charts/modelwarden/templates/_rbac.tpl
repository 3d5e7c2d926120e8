{{/*
Rules the operator needs wherever it watches ModelDeployments, one per kind of call it makes.
No rule names Secrets or uses a wildcard; docs/install.md explains each one.
*/}}
{{- define "modelwarden.operatorRules" -}}
# Informers list and watch ModelDeployments, reconcile reads one, status is written with PUT.
- apiGroups: ["modelwarden.io"]
  resources: ["modeldeployments"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["modelwarden.io"]
  resources: ["modeldeployments/status"]
  verbs: ["update"]
# Children carry owner references with blockOwnerDeletion, which the
# OwnerReferencesPermissionEnforcement admission plugin allows only with this right.
- apiGroups: ["modelwarden.io"]
  resources: ["modeldeployments/finalizers"]
  verbs: ["update"]
# Serving Deployments and Services are written with server-side apply (a patch that creates the
# object when it is missing); the garbage collector deletes them through owner references.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch", "create", "patch"]
# Retraining Jobs are created once and read back for their result.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create"]
# Pods are only read: scrape targets, readiness and the retraining pod's termination message.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
# Events are created, and repeats are merged into the first one's series with a patch.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
