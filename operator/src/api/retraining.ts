// Schema of `spec.retraining` and of the retraining status and model lineage.
import { Type, type Static } from '@sinclair/typebox';
import { MetricName } from './monitoring.ts';
import {
  ARTIFACT_URI_RULES,
  DateTime,
  DNS_LABEL_PATTERN,
  Duration,
  OpaqueObject,
  StringEnum,
  StringMap,
} from './schema.ts';

/** Cron expressions with 5 or 6 fields, or one of croner's nicknames. */
const CRON_PATTERN = '^(@(yearly|annually|monthly|weekly|daily|hourly)|(\\S+\\s+){4,5}\\S+)$';

/** Default of `spec.retraining.timeout`, the deadline of a retraining Job. */
export const DEFAULT_JOB_TIMEOUT = '1h';

export const RetrainingTriggers = Type.Object(
  {
    onDegradation: Type.Boolean({
      default: true,
      description: 'Start a Job when Degraded becomes True because of a metric allowed to trigger.',
    }),
    metrics: Type.Optional(
      Type.Array(MetricName, {
        maxItems: 16,
        description:
          'Metrics whose degradation may trigger retraining. When unset, every metric with ' +
          'triggersRetraining true may. Each must be listed in spec.monitoring.metrics.',
        'x-kubernetes-list-type': 'set',
      }),
    ),
    schedule: Type.Optional(
      Type.String({
        maxLength: 128,
        pattern: CRON_PATTERN,
        description:
          'Cron expression (5 or 6 fields, or @daily and similar) for periodic retraining.',
      }),
    ),
  },
  {
    description:
      'What starts a retraining Job. The annotation modelwarden.io/retrain with a new value ' +
      'also starts one.',
  },
);
export type RetrainingTriggers = Static<typeof RetrainingTriggers>;

export const JobTemplate = Type.Object(
  {
    metadata: Type.Optional(
      Type.Object(
        {
          labels: Type.Optional(
            StringMap(Type.String(), { description: 'Labels added to the Job.' }),
          ),
          annotations: Type.Optional(
            StringMap(Type.String(), { description: 'Annotations added to the Job.' }),
          ),
        },
        { description: 'Labels and annotations of the Job.' },
      ),
    ),
    spec: OpaqueObject({
      description:
        'A batch/v1 JobSpec. The operator adds env (MODELWARDEN_CURRENT_MODEL_URI, ' +
        'MODELWARDEN_CURRENT_MODEL_VERSION, MODELWARDEN_OUTPUT_URI, MODELWARDEN_TRIGGER, ' +
        'MODELWARDEN_FEEDBACK_DIR) to every container and mounts the feedback and output claims. ' +
        'The apiserver validates the JobSpec when the Job is created.',
    }),
  },
  { description: 'Template of the retraining Job.' },
);
export type JobTemplate = Static<typeof JobTemplate>;

export const RetrainingOutput = Type.Object(
  {
    claimName: Type.String({
      maxLength: 63,
      pattern: DNS_LABEL_PATTERN,
      description: 'PersistentVolumeClaim that receives new model artifacts.',
    }),
    pathPrefix: Type.String({
      default: 'models',
      maxLength: 256,
      description: 'Directory inside the claim; each version is written to PREFIX/VERSION.',
      'x-kubernetes-validations': [
        {
          rule: "!self.split('/').exists(s, s == '..') && !self.startsWith('/')",
          message: 'pathPrefix must be a relative path without ..',
        },
      ],
    }),
  },
  { description: 'Where retrained artifacts are written.' },
);

export const PromotionPolicy = Type.Object(
  {
    policy: StringEnum(['Auto', 'Manual'] as const, {
      default: 'Auto',
      description:
        'Auto rolls the new version out and verifies it. Manual records it in status.history ' +
        'and waits for the annotation modelwarden.io/promote=VERSION.',
    }),
    verificationWindow: Duration({
      default: '5m',
      description: 'Time the new version is watched after promotion before it counts as good.',
    }),
    maxRegression: Type.Number({
      default: 0,
      minimum: 0,
      description:
        'Allowed relative worsening (0.1 = 10%) of the triggering metric against the previous ' +
        'version before the operator rolls back.',
    }),
  },
  { description: 'How a retrained model replaces the serving one.' },
);

export const RetrainingSpec = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Whether the operator may start retraining Jobs.',
    }),
    triggers: Type.Optional(RetrainingTriggers),
    jobTemplate: Type.Optional(JobTemplate),
    output: Type.Optional(RetrainingOutput),
    baseDataset: Type.Optional(
      Type.String({
        maxLength: 2048,
        description: 'URI of a dataset the trainer combines with the captured feedback rows.',
        'x-kubernetes-validations': [
          {
            rule: "!self.matches('(^|/)[.][.](/|$)')",
            message: 'baseDataset must not contain .. path segments',
          },
          ...ARTIFACT_URI_RULES,
        ],
      }),
    ),
    cooldown: Duration({
      default: '30m',
      description: 'Minimum time between the start of two retraining Jobs.',
    }),
    maxAttempts: Type.Integer({
      default: 3,
      minimum: 1,
      description:
        'Consecutive failed Jobs after which the operator stops retraining until the spec changes.',
    }),
    backoff: Duration({
      default: '5m',
      description: 'Wait after a failed Job, doubled after each further consecutive failure.',
    }),
    timeout: Duration({
      default: DEFAULT_JOB_TIMEOUT,
      description:
        'Run time after which a retraining Job fails with DeadlineExceeded, set as the ' +
        "Job's activeDeadlineSeconds. An activeDeadlineSeconds in jobTemplate.spec wins.",
      'x-kubernetes-validations': [
        {
          rule: "duration(self) >= duration('1m') && duration(self) <= duration('168h')",
          message: 'timeout must be from 1m to 168h',
        },
      ],
    }),
    promotion: Type.Optional(PromotionPolicy),
  },
  {
    description: 'Retraining Jobs started on degradation, on a schedule or by annotation.',
    'x-kubernetes-validations': [
      {
        rule: '!self.enabled || has(self.jobTemplate)',
        message: 'jobTemplate is required when retraining is enabled',
        fieldPath: '.jobTemplate',
      },
      {
        rule: '!self.enabled || has(self.output)',
        message: 'output is required when retraining is enabled',
        fieldPath: '.output',
      },
    ],
  },
);
export type RetrainingSpec = Static<typeof RetrainingSpec>;

export const RetrainingStatus = Type.Object(
  {
    attempts: Type.Integer({
      minimum: 0,
      description: 'Consecutive failed attempts since the last success.',
    }),
    totalJobs: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Jobs started over the lifetime.' }),
    ),
    lastJobName: Type.Optional(Type.String({ description: 'Name of the last Job started.' })),
    lastTrigger: Type.Optional(
      Type.String({ description: 'What started the last Job: Degradation, Schedule or Manual.' }),
    ),
    lastAttemptTime: Type.Optional(DateTime({ description: 'When the last Job was started.' })),
    lastSuccessTime: Type.Optional(DateTime({ description: 'When a Job last succeeded.' })),
    lastScheduleTime: Type.Optional(DateTime({ description: 'Last cron tick that was handled.' })),
    lastManualRequest: Type.Optional(
      Type.String({ description: 'Last handled value of the modelwarden.io/retrain annotation.' }),
    ),
    nextAttemptAfter: Type.Optional(
      DateTime({ description: 'Earliest start of the next Job (cooldown or backoff).' }),
    ),
    candidate: Type.Optional(
      Type.Object(
        {
          uri: Type.String({ description: 'Artifact URI the Job reported.' }),
          version: Type.String({ description: 'Version label of the artifact.' }),
          sha256: Type.Optional(
            Type.String({ description: 'SHA-256 of the artifact model.json.' }),
          ),
        },
        {
          description:
            'Model produced by the last successful Job and not yet promoted or rejected.',
        },
      ),
    ),
    verification: Type.Optional(
      Type.Object(
        {
          version: Type.String({ description: 'Version under verification.' }),
          startedAt: DateTime({ description: 'Start of the verification window.' }),
          metric: Type.Optional(MetricName),
          baseline: Type.Optional(
            Type.Number({ description: 'Value of the metric on the previous version.' }),
          ),
          previousUri: Type.Optional(Type.String({ description: 'URI to roll back to.' })),
          previousVersion: Type.Optional(Type.String({ description: 'Version to roll back to.' })),
        },
        { description: 'A promoted version being watched before it counts as good.' },
      ),
    ),
  },
  { description: 'Progress of retraining.' },
);
export type RetrainingStatus = Static<typeof RetrainingStatus>;

export const HISTORY_OUTCOMES = [
  'Active',
  'Superseded',
  'RolledBack',
  'Rejected',
  'Pending',
] as const;

export const ModelHistoryEntry = Type.Object(
  {
    version: Type.String({ description: 'Version label.' }),
    uri: Type.String({ description: 'Artifact URI.' }),
    sha256: Type.Optional(Type.String({ description: 'SHA-256 of the artifact model.json.' })),
    reason: Type.Optional(
      Type.String({
        description: 'Why this version exists: Spec, Degradation, Schedule or Manual.',
      }),
    ),
    jobName: Type.Optional(Type.String({ description: 'Job that trained it.' })),
    trainedAt: Type.Optional(DateTime({ description: 'When the Job finished training it.' })),
    promotedAt: Type.Optional(DateTime({ description: 'When it started serving.' })),
    rolledBackAt: Type.Optional(DateTime({ description: 'When it was replaced by a rollback.' })),
    outcome: StringEnum(HISTORY_OUTCOMES, {
      description:
        'Active (serving), Superseded (replaced by a newer good version), RolledBack (worse than ' +
        'its predecessor), Rejected (not promoted) or Pending (awaiting manual promotion).',
    }),
  },
  { description: 'One model version in the lineage.' },
);
export type ModelHistoryEntry = Static<typeof ModelHistoryEntry>;
