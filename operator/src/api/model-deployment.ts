// The ModelDeployment API (modelwarden.io/v1alpha1): spec root, model, server, status and
// conditions. The CRD in crds/ is generated from these schemas by scripts/generate-crd.ts.
import { Type, type Static } from '@sinclair/typebox';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { MetricStatus, MonitoringSpec, ProbeStatus, StatusSummary } from './monitoring.ts';
import { ModelHistoryEntry, RetrainingSpec, RetrainingStatus } from './retraining.ts';
import {
  ARTIFACT_URI_RULES,
  DateTime,
  DNS_LABEL_PATTERN,
  Duration,
  OpaqueObject,
  Quantity,
  StringEnum,
  StringMap,
} from './schema.ts';

export const GROUP = 'modelwarden.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ModelDeployment';
export const PLURAL = 'modeldeployments';

/** Label-value syntax, because the model name and version are copied into pod labels. */
const LABEL_VALUE_PATTERN = '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

export const MODEL_FORMATS = ['tfjs-layers'] as const;

export const ModelSpec = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: LABEL_VALUE_PATTERN,
      description:
        'Model name: the server serves the model under it (--model-name), kubectl get shows it, ' +
        'and pods carry it as the label modelwarden.io/model.',
    }),
    uri: Type.String({
      minLength: 1,
      maxLength: 2048,
      description:
        'Artifact directory: file:///PATH on the node, http(s)://HOST/PATH, or pvc://CLAIM/PATH ' +
        'for a directory inside a PersistentVolumeClaim of the same namespace, which is mounted ' +
        'read-only into the serving pods.',
      'x-kubernetes-validations': [
        {
          rule: "self.matches('^(file|https?)://.+$') || self.matches('^pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+$')",
          message: 'uri must start with file://, http://, https:// or pvc://CLAIM/PATH',
        },
        {
          rule: "!self.matches('(^|/)[.][.](/|$)')",
          message: 'uri must not contain .. path segments',
        },
        ...ARTIFACT_URI_RULES,
      ],
    }),
    sha256: Type.Optional(
      Type.String({
        pattern: '^[a-fA-F0-9]{64}$',
        description:
          "Expected SHA-256 (64 hex digits) of the artifact's model.json; a mismatch fails loading.",
      }),
    ),
    format: StringEnum(MODEL_FORMATS, {
      default: 'tfjs-layers',
      description:
        'Artifact format. tfjs-layers is a TensorFlow.js Layers model (model.json and weights).',
    }),
    version: Type.Optional(
      Type.String({
        maxLength: 63,
        pattern: LABEL_VALUE_PATTERN,
        description:
          'Version label of the artifact. A change rolls the serving pods; shown by kubectl get.',
      }),
    ),
  },
  { description: 'The model artifact to serve.' },
);
export type ModelSpec = Static<typeof ModelSpec>;

export const ResourceRequirements = Type.Object(
  {
    requests: Type.Optional(
      StringMap(Quantity(), { description: 'Minimum resources, e.g. cpu: 250m, memory: 256Mi.' }),
    ),
    limits: Type.Optional(StringMap(Quantity(), { description: 'Maximum resources.' })),
  },
  { description: 'Compute resources of the model-server container.' },
);

export const BatchingSpec = Type.Object(
  {
    maxBatchSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 4096,
        description: 'Largest number of rows run in one batch.',
      }),
    ),
    maxBatchDelayMs: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 10000,
        description: 'Longest time in milliseconds a request waits for a batch to fill.',
      }),
    ),
    maxQueueRows: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000_000,
        description: 'Rows allowed to wait for a batch; requests beyond it are rejected with 503.',
      }),
    ),
  },
  {
    description:
      "Dynamic batching of the model server. Unset fields keep the server's defaults " +
      '(model-server serve --help).',
  },
);

export const FeedbackSpec = Type.Object(
  {
    capture: Type.Boolean({
      default: false,
      description:
        'Append each prediction with its ground-truth feedback as NDJSON for retraining.',
    }),
    claimName: Type.Optional(
      Type.String({
        maxLength: 63,
        pattern: DNS_LABEL_PATTERN,
        description:
          'PersistentVolumeClaim mounted at /var/lib/modelwarden/feedback that receives the ' +
          'captured rows. Without it the rows go to an emptyDir and are lost with the pod.',
      }),
    ),
    maxBytes: Type.Optional(
      Quantity({
        description: 'Size limit of the captured rows per pod, e.g. 64Mi; older rows go first.',
        'x-kubernetes-validations': [
          {
            // The server takes a whole number of bytes that a double holds exactly.
            rule:
              "quantity(string(self)).isInteger() && quantity(string(self)).compareTo(quantity('1Ki')) >= 0 " +
              "&& quantity(string(self)).compareTo(quantity('1Pi')) <= 0",
            message: 'maxBytes must be a whole number of bytes from 1Ki to 1Pi, e.g. 64Mi',
          },
        ],
      }),
    ),
    maxAge: Type.Optional(
      Duration({
        description: 'Captured rows older than this are discarded; at least 1m.',
        'x-kubernetes-validations': [
          { rule: "duration(self) >= duration('1m')", message: 'maxAge must be at least 1m' },
        ],
      }),
    ),
  },
  { description: 'Capture of labelled predictions.' },
);

export const EnvVar = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Variable name.' }),
    value: Type.Optional(Type.String({ maxLength: 32_768, description: 'Literal value.' })),
    valueFrom: Type.Optional(
      OpaqueObject({ description: 'Source of the value, as in a core/v1 EnvVarSource.' }),
    ),
  },
  { description: 'Environment variable of the model-server container.' },
);

export const ServerSpec = Type.Object(
  {
    image: Type.Optional(
      Type.String({
        maxLength: 512,
        description:
          "Model-server image. Defaults to the operator's --model-server-image, " +
          'modelwarden/model-server:0.1.0 unless configured otherwise.',
      }),
    ),
    imagePullPolicy: Type.Optional(
      StringEnum(['Always', 'IfNotPresent', 'Never'] as const, {
        description: 'Image pull policy.',
      }),
    ),
    port: Type.Integer({
      default: 8080,
      minimum: 1024,
      maximum: 65535,
      description:
        'HTTP port of the model server (unprivileged, because the server runs as non-root).',
    }),
    // Optional in the type, so manifests written before the field existed still type-check;
    // the apiserver applies the default.
    shutdownDelaySeconds: Type.Optional(
      Type.Integer({
        default: 5,
        minimum: 0,
        maximum: 300,
        description:
          'Seconds a terminating pod keeps serving with readiness failing, so that clients and ' +
          'load balancers stop sending to it before it closes its port. The pod then drains ' +
          'in-flight requests for up to 20 s; terminationGracePeriodSeconds covers both.',
      }),
    ),
    batching: Type.Optional(BatchingSpec),
    feedback: Type.Optional(FeedbackSpec),
    env: Type.Optional(
      Type.Array(EnvVar, {
        maxItems: 64,
        description: 'Extra environment variables; MODEL_SERVER_<FLAG> variables set server flags.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
  },
  { description: 'Model-server container settings.' },
);
export type ServerSpec = Static<typeof ServerSpec>;

export const ModelDeploymentSpec = Type.Object(
  {
    model: ModelSpec,
    replicas: Type.Integer({
      default: 1,
      minimum: 0,
      maximum: 1000,
      description: 'Number of serving pods. kubectl scale sets it through the scale subresource.',
    }),
    resources: Type.Optional(ResourceRequirements),
    server: Type.Optional(ServerSpec),
    monitoring: Type.Optional(MonitoringSpec),
    retraining: Type.Optional(RetrainingSpec),
  },
  {
    description: 'Desired state of a monitored model deployment.',
    'x-kubernetes-validations': [
      {
        rule:
          '!has(self.retraining) || !has(self.retraining.triggers) || ' +
          '!has(self.retraining.triggers.metrics) || (has(self.monitoring) && ' +
          'self.retraining.triggers.metrics.all(m, self.monitoring.metrics.exists(t, t.name == m)))',
        message: 'retraining.triggers.metrics must only name metrics listed in monitoring.metrics',
        fieldPath: '.retraining.triggers.metrics',
      },
      {
        rule:
          '!has(self.retraining) || !self.retraining.enabled || has(self.retraining.baseDataset) || ' +
          '(has(self.server) && has(self.server.feedback) && self.server.feedback.capture && ' +
          'has(self.server.feedback.claimName))',
        message:
          'retraining needs data: set server.feedback.capture with server.feedback.claimName, ' +
          'or retraining.baseDataset',
        fieldPath: '.retraining',
      },
    ],
  },
);
export type ModelDeploymentSpec = Static<typeof ModelDeploymentSpec>;

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

/** The metav1.Condition shape. */
export const Condition = Type.Object(
  {
    type: Type.String({
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      description: 'Condition type: Available, Progressing, Degraded or Retraining.',
    }),
    status: StringEnum(CONDITION_STATUSES, { description: 'True, False or Unknown.' }),
    observedGeneration: Type.Optional(
      Type.Integer({
        format: 'int64',
        minimum: 0,
        description: 'metadata.generation the condition was computed from.',
      }),
    ),
    lastTransitionTime: DateTime({ description: 'When the status last changed.' }),
    reason: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      description:
        'PascalCase reason for the last transition, shared with Events and metric labels.',
    }),
    message: Type.String({ maxLength: 32768, description: 'Human-readable detail.' }),
  },
  { description: 'Observation of one aspect of the current state.' },
);
export type Condition = Static<typeof Condition>;

export const MODEL_SOURCES = ['Spec', 'Promotion', 'Rollback'] as const;

export const ActiveModel = Type.Object(
  {
    uri: Type.String({ description: 'Artifact URI the serving pods are configured with.' }),
    version: Type.Optional(Type.String({ description: 'Version label of that artifact.' })),
    sha256: Type.Optional(Type.String({ description: 'Expected SHA-256 of its model.json.' })),
    source: Type.Optional(
      StringEnum(MODEL_SOURCES, {
        description:
          'Spec when the model comes from spec.model; Promotion or Rollback when retraining chose it.',
      }),
    ),
    specUri: Type.Optional(
      Type.String({
        description:
          'spec.model.uri at the time retraining chose this model. When spec.model.uri changes, ' +
          'spec.model wins again.',
      }),
    ),
  },
  { description: 'The model the serving pods run.' },
);
export type ActiveModel = Static<typeof ActiveModel>;

export const HEALTH_STATES = [
  'Healthy',
  'Degraded',
  'Progressing',
  'Unavailable',
  'Unknown',
] as const;
export type Health = (typeof HEALTH_STATES)[number];

export const ModelDeploymentStatus = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({ format: 'int64', description: 'metadata.generation the status reflects.' }),
    ),
    replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'Serving pods that exist.' })),
    readyReplicas: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Serving pods that are ready.' }),
    ),
    updatedReplicas: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Serving pods that run the current pod template.' }),
    ),
    availableReplicas: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Serving pods ready for at least minReadySeconds.' }),
    ),
    selector: Type.Optional(
      Type.String({
        description: 'Label selector of the serving pods, for the scale subresource.',
      }),
    ),
    activeModel: Type.Optional(ActiveModel),
    health: Type.Optional(
      StringEnum(HEALTH_STATES, { description: 'One-word summary of the conditions.' }),
    ),
    conditions: Type.Optional(
      Type.Array(Condition, {
        maxItems: 16,
        description: 'Available, Progressing, Degraded and Retraining.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    metrics: Type.Optional(
      Type.Array(MetricStatus, {
        maxItems: 16,
        description: 'Last evaluation of each metric in spec.monitoring.metrics.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    summary: Type.Optional(StatusSummary),
    lastProbeTime: Type.Optional(
      DateTime({ description: 'When the serving pods were last probed.' }),
    ),
    probe: Type.Optional(ProbeStatus),
    retraining: Type.Optional(RetrainingStatus),
    history: Type.Optional(
      Type.Array(ModelHistoryEntry, {
        maxItems: 50,
        description: 'Model lineage, oldest first; the operator keeps the latest entries.',
      }),
    ),
  },
  { description: 'Observed state, written by the operator.' },
);
export type ModelDeploymentStatus = Static<typeof ModelDeploymentStatus>;

/** A ModelDeployment as read from the apiserver. */
export interface ModelDeployment {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: V1ObjectMeta;
  spec: ModelDeploymentSpec;
  status?: ModelDeploymentStatus;
}
