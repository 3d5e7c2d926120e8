// Reasons shared by conditions, Events and metric labels. PascalCase, as metav1.Condition
// requires, and a closed set so metric labels stay bounded.

export const Reason = {
  /** First visit: the operator has not yet observed this aspect. */
  Reconciling: 'Reconciling',
  /** At least the desired number of serving pods are available. */
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  /** Fewer serving pods are available than desired. */
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
  /** spec.replicas is 0. */
  ScaledToZero: 'ScaledToZero',
  /** Serving pods run but report that the model artifact cannot be loaded. */
  ModelLoadFailed: 'ModelLoadFailed',
  /** The model-server container exits repeatedly. */
  ServerCrashLooping: 'ServerCrashLooping',
  /** A new pod template is being rolled out. */
  RolloutInProgress: 'RolloutInProgress',
  /** All serving pods run the current pod template. */
  RolloutComplete: 'RolloutComplete',
  /** The Deployment did not progress within its progress deadline. */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  /** The spec cannot be turned into working objects; the message says why. */
  InvalidSpec: 'InvalidSpec',
  /** Applying a child object failed with a transient error. */
  ApplyFailed: 'ApplyFailed',
  /** spec.monitoring is unset, so the model is never degraded. */
  MonitoringDisabled: 'MonitoringDisabled',
  /** Monitoring is configured but no probe has completed yet. */
  AwaitingProbe: 'AwaitingProbe',
  /** spec.retraining is unset or disabled. */
  RetrainingDisabled: 'RetrainingDisabled',
  /** Retraining is enabled and no Job is running. */
  RetrainingIdle: 'RetrainingIdle',
  /** A reconcile failed with an unexpected error and is retried. */
  ReconcileError: 'ReconcileError',
} as const;

export type Reason = (typeof Reason)[keyof typeof Reason];
