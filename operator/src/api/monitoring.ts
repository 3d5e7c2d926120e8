// Schema of `spec.monitoring` and of the per-metric status the evaluation fills in.
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, Duration, StringEnum, StringMap } from './schema.ts';

/** Metrics the operator can compute from the model server's `/metrics` or a Prometheus query. */
/** fetch cannot send user info, and a password in the spec would show in logs and messages. */
const NO_CREDENTIALS_RULE = {
  rule: "!self.matches('^https?://[^/?#]*@')",
  message: 'url must not contain credentials (user:password@)',
};

export const METRIC_NAMES = [
  'latencyP50',
  'latencyP90',
  'latencyP99',
  'requestRate',
  'errorRate',
  'mae',
  'rmse',
  'drift',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export const MetricName = StringEnum(METRIC_NAMES, {
  description:
    'Metric to watch. latencyP50/P90/P99 are prediction latencies in seconds; requestRate is ' +
    'requests per second; errorRate is the fraction (0-1) of responses with status 5xx; mae and ' +
    'rmse are errors of predictions against ground-truth feedback, in label units; drift is the ' +
    'largest population stability index (PSI) over the input features.',
});

export const MetricThreshold = Type.Object(
  {
    name: MetricName,
    min: Type.Optional(
      Type.Number({ description: 'Lowest healthy value. A value below it is a breach.' }),
    ),
    max: Type.Optional(
      Type.Number({ description: 'Highest healthy value. A value above it is a breach.' }),
    ),
    minSamples: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Samples (requests, feedback rows or drift window rows) the window must contain before ' +
          'this metric gets a verdict; below it the metric is Unknown. Defaults to ' +
          'spec.monitoring.minSamples.',
      }),
    ),
    triggersRetraining: Type.Boolean({
      default: true,
      description:
        'Whether sustained degradation of this metric may start a retraining Job. Latency and ' +
        'error rate usually point at capacity, not at the model, so set it to false for them.',
    }),
  },
  {
    description: 'Threshold on one metric. At least one of min and max is required.',
    'x-kubernetes-validations': [
      { rule: 'has(self.min) || has(self.max)', message: 'set min, max or both' },
      {
        rule: '!has(self.min) || !has(self.max) || self.min < self.max',
        message: 'min must be less than max',
        fieldPath: '.min',
      },
    ],
  },
);
export type MetricThreshold = Static<typeof MetricThreshold>;

export const PrometheusSource = Type.Object(
  {
    url: Type.String({
      maxLength: 2048,
      pattern: '^https?://',
      description: 'Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.',
      'x-kubernetes-validations': [NO_CREDENTIALS_RULE],
    }),
    queries: Type.Optional(
      StringMap(Type.String({ maxLength: 4096 }), {
        description:
          'PromQL query per metric name, replacing the built-in query. {{namespace}}, {{name}} ' +
          'and {{window}} are replaced by the ModelDeployment namespace, name and ' +
          'spec.monitoring.window.',
        'x-kubernetes-validations': [
          {
            rule: `self.all(k, k in ${JSON.stringify(METRIC_NAMES)})`,
            message: `keys must be metric names: ${METRIC_NAMES.join(', ')}`,
          },
        ],
      }),
    ),
  },
  {
    description:
      'Read metrics from a Prometheus server instead of scraping the serving pods directly.',
  },
);

export const WebhookTarget = Type.Object(
  {
    url: Type.String({
      maxLength: 2048,
      pattern: '^https?://',
      description: 'URL that receives each health transition as a JSON POST.',
      'x-kubernetes-validations': [NO_CREDENTIALS_RULE],
    }),
  },
  { description: 'HTTP endpoint notified of health transitions.' },
);

export const MonitoringSpec = Type.Object(
  {
    interval: Duration({
      default: '30s',
      description: 'Time between two probes, a Go duration such as 15s or 1m.',
    }),
    window: Duration({
      default: '5m',
      description:
        'Time span over which windowed values (percentiles, rates, MAE) are computed. Must be ' +
        'at least the interval.',
    }),
    scrapeTimeout: Type.Optional(
      Duration({
        description:
          'Time limit of one scrape of a pod or one Prometheus query; 5s, or the interval when ' +
          'that is shorter, when unset.',
      }),
    ),
    minSamples: Type.Integer({
      default: 20,
      minimum: 1,
      description: 'Default for metrics[].minSamples.',
    }),
    failureThreshold: Type.Integer({
      default: 3,
      minimum: 1,
      description:
        'Consecutive probes with a breached metric before Degraded becomes True, like Argo ' +
        "Rollouts' failureLimit and Flagger's threshold.",
    }),
    successThreshold: Type.Integer({
      default: 2,
      minimum: 1,
      description: 'Consecutive healthy probes before Degraded goes back to False.',
    }),
    for: Type.Optional(
      Duration({
        description:
          'Alternative to failureThreshold: a metric must stay breached this long before ' +
          'Degraded becomes True.',
      }),
    ),
    maxProbeErrors: Type.Integer({
      default: 3,
      minimum: 1,
      description:
        'Consecutive failed probes (timeouts, unreachable pods) before Degraded becomes Unknown. ' +
        'A failed probe never counts as a breach.',
    }),
    metrics: Type.Array(MetricThreshold, {
      maxItems: 16,
      description: 'Thresholds, at most one entry per metric name.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    prometheus: Type.Optional(PrometheusSource),
    webhook: Type.Optional(WebhookTarget),
  },
  {
    description:
      'Probing of the serving pods and thresholds that decide whether the model is degraded.',
    'x-kubernetes-validations': [
      {
        rule: 'duration(self.window) >= duration(self.interval)',
        message: 'window must be at least interval',
        fieldPath: '.window',
      },
      {
        rule: "duration(self.interval) >= duration('1s')",
        message: 'interval must be at least 1s',
        fieldPath: '.interval',
      },
      {
        rule: '!has(self.scrapeTimeout) || duration(self.scrapeTimeout) <= duration(self.interval)',
        message: 'scrapeTimeout must not exceed interval',
        fieldPath: '.scrapeTimeout',
      },
    ],
  },
);
export type MonitoringSpec = Static<typeof MonitoringSpec>;

export const METRIC_STATES = ['Healthy', 'Breached', 'Unknown'] as const;
export type MetricState = (typeof METRIC_STATES)[number];

export const MetricStatus = Type.Object(
  {
    name: MetricName,
    value: Type.Optional(Type.Number({ description: 'Value over the last window.' })),
    min: Type.Optional(Type.Number({ description: 'Threshold min in force.' })),
    max: Type.Optional(Type.Number({ description: 'Threshold max in force.' })),
    state: StringEnum(METRIC_STATES, {
      description: 'Healthy, Breached, or Unknown when there are too few samples or no data.',
    }),
    samples: Type.Optional(Type.Integer({ minimum: 0, description: 'Samples behind the value.' })),
    consecutiveBreaches: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Consecutive probes in which the metric was breached.',
      }),
    ),
    consecutiveHealthy: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Consecutive probes in which the metric was healthy.',
      }),
    ),
    breachedSince: Type.Optional(
      DateTime({ description: 'Start of the current run of breached probes.' }),
    ),
    degraded: Type.Optional(
      Type.Boolean({
        description:
          'Whether the metric counts towards Degraded: set after failureThreshold consecutive ' +
          'breaches (or the for duration), cleared after successThreshold healthy probes.',
      }),
    ),
    reason: Type.Optional(
      Type.String({
        maxLength: 1024,
        description: 'Why the state is what it is, e.g. too few samples.',
      }),
    ),
  },
  { description: 'Last evaluation of one metric.' },
);
export type MetricStatus = Static<typeof MetricStatus>;

/** Display strings for the printer columns, formatted by the evaluation. */
export const StatusSummary = Type.Object(
  {
    ready: Type.Optional(Type.String({ description: 'Ready replicas over desired, e.g. 2/3.' })),
    p99: Type.Optional(Type.String({ description: 'p99 latency for display, e.g. 12ms.' })),
    errors: Type.Optional(Type.String({ description: 'Error rate for display, e.g. 0.5%.' })),
    mae: Type.Optional(Type.String({ description: 'Live MAE for display.' })),
    drift: Type.Optional(Type.String({ description: 'Largest feature PSI for display.' })),
  },
  { description: 'Short display strings that kubectl get shows as columns.' },
);
export type StatusSummary = Static<typeof StatusSummary>;

export const ProbeStatus = Type.Object(
  {
    consecutiveErrors: Type.Integer({
      minimum: 0,
      description: 'Consecutive probes that failed (timeout, unreachable pod, bad response).',
    }),
    lastError: Type.Optional(
      Type.String({ maxLength: 4096, description: 'Error of the last failed probe.' }),
    ),
    targets: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Pods scraped in the last probe.' }),
    ),
  },
  { description: 'Outcome of recent probes.' },
);
export type ProbeStatus = Static<typeof ProbeStatus>;
