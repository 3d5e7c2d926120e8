// Labels and annotations the operator sets on its children and reads from ModelDeployments.

export const FIELD_MANAGER = 'modelwarden';

export const Label = {
  managedBy: 'app.kubernetes.io/managed-by',
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  /** Name of the owning ModelDeployment; the serving pods' selector. */
  modelDeployment: 'modelwarden.io/model-deployment',
  model: 'modelwarden.io/model',
  modelVersion: 'modelwarden.io/model-version',
} as const;

export const Annotation = {
  modelUri: 'modelwarden.io/model-uri',
  modelVersion: 'modelwarden.io/model-version',
  modelSha256: 'modelwarden.io/model-sha256',
  /** Set on a ModelDeployment to a new value (e.g. a timestamp) to start a retraining Job. */
  retrain: 'modelwarden.io/retrain',
  /** Set on a ModelDeployment to a pending version to promote it under the Manual policy. */
  promote: 'modelwarden.io/promote',
} as const;

export const MANAGED_BY = 'modelwarden';

/** Selects every object the operator manages, for the informers of owned kinds. */
export const MANAGED_SELECTOR = `${Label.managedBy}=${MANAGED_BY}`;
