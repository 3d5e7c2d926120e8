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
  /** The kubelet cannot pull the model-server image or the image name is invalid. */
  ImagePullFailed: 'ImagePullFailed',
  /** The kubelet cannot create the model-server container from its spec. */
  ContainerConfigInvalid: 'ContainerConfigInvalid',
  /** A new pod template is being rolled out. */
  RolloutInProgress: 'RolloutInProgress',
  /** All serving pods run the current pod template. */
  RolloutComplete: 'RolloutComplete',
  /** The Deployment did not progress within its progress deadline. */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  /** The spec cannot be turned into working objects; the message says why. */
  InvalidSpec: 'InvalidSpec',
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

  // Monitoring: the Degraded condition and metric Events.
  /** Every metric with a verdict is within its thresholds. */
  MetricsHealthy: 'MetricsHealthy',
  /** A metric breached its threshold for the sustained window. */
  ThresholdBreached: 'ThresholdBreached',
  /** No metric has enough samples in the window for a verdict. */
  InsufficientSamples: 'InsufficientSamples',
  /** maxProbeErrors consecutive probes failed. */
  ProbeFailed: 'ProbeFailed',
  /** A metric's probe state became Breached. */
  MetricBreached: 'MetricBreached',
  /** A metric's probe state became Healthy. */
  MetricHealthy: 'MetricHealthy',

  // Retraining: the Retraining condition and its Events.
  /** A retraining Job is running. */
  RetrainingJobRunning: 'RetrainingJobRunning',
  /** The last retraining Job produced a model. */
  RetrainingSucceeded: 'RetrainingSucceeded',
  /** The last retraining Job failed for a reason other than the two below. */
  RetrainingJobFailed: 'RetrainingJobFailed',
  /** The Job's pods failed more often than its backoffLimit (batch/v1 reason). */
  BackoffLimitExceeded: 'BackoffLimitExceeded',
  /** The Job ran longer than its activeDeadlineSeconds (batch/v1 reason). */
  DeadlineExceeded: 'DeadlineExceeded',
  /** maxAttempts consecutive attempts failed; retraining waits for a spec change. */
  RetrainingMaxAttempts: 'RetrainingMaxAttempts',
  /** A trained model waits for the modelwarden.io/promote annotation. */
  AwaitingPromotion: 'AwaitingPromotion',
  /** A trained model was rolled out and is being verified. */
  ModelPromoted: 'ModelPromoted',
  /** A promoted model passed its verification window. */
  ModelVerified: 'ModelVerified',
  /** A promoted model was worse than its predecessor and was replaced by it. */
  ModelRolledBack: 'ModelRolledBack',
} as const;

export type Reason = (typeof Reason)[keyof typeof Reason];
