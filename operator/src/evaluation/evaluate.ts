// Sustained-degradation verdicts from successive probes.
//
// Every counter the verdict depends on lives in the ModelDeployment status (metric statuses,
// probe status and the Degraded condition), so an operator that restarts or loses its lease
// continues from the same point.
import type { ConditionStatus } from '../api/model-deployment.ts';
import type { MetricName, MetricStatus, MetricThreshold, ProbeStatus } from '../api/monitoring.ts';
import type { WindowedValues } from '../probing/window.ts';
import { describeMetric, formatMetricValue } from './format.ts';

/** Reasons of the Degraded condition; the same strings are in controller/reasons.ts. */
export const DegradedReason = {
  MetricsHealthy: 'MetricsHealthy',
  ThresholdBreached: 'ThresholdBreached',
  InsufficientSamples: 'InsufficientSamples',
  ProbeFailed: 'ProbeFailed',
} as const;
export type DegradedReason = (typeof DegradedReason)[keyof typeof DegradedReason];

/** Settings of spec.monitoring that decide verdicts, with durations in milliseconds. */
export interface EvaluationPolicy {
  failureThreshold: number;
  successThreshold: number;
  /** When set, a metric must stay breached this long instead of failureThreshold probes. */
  forMs?: number;
  maxProbeErrors: number;
  minSamples: number;
}

/** Input of one probe: windowed values, or the error that prevented them. */
export type ProbeInput =
  { values: WindowedValues; targets: number } | { error: string; targets: number };

/** The Degraded condition without its bookkeeping fields. */
export interface DegradedVerdict {
  status: ConditionStatus;
  reason: DegradedReason;
  message: string;
}

/** Evaluation state read back from the last status. */
export interface EvaluationState {
  metrics: readonly MetricStatus[];
  probe: ProbeStatus | undefined;
  degraded: DegradedVerdict | undefined;
}

/** A change that gets an Event, a log line and a webhook call. */
export interface Transition {
  /** `Degraded` for the condition, otherwise the metric whose state changed. */
  subject: 'Degraded' | MetricName;
  from: string;
  to: string;
  reason: string;
  message: string;
}

export interface Evaluation {
  metrics: MetricStatus[];
  probe: ProbeStatus;
  degraded: DegradedVerdict;
  /** Metrics that count as degraded after this probe, in spec order. */
  degradedMetrics: MetricName[];
  transitions: Transition[];
}

/**
 * Folds one probe into the evaluation state. A failed probe leaves every metric as it was and
 * only counts towards maxProbeErrors. A metric below its sample minimum is Unknown and keeps
 * its counters. A metric becomes degraded after failureThreshold consecutive breaches (or
 * `for` of continuous breach) and stops being degraded after successThreshold consecutive
 * healthy probes. Degraded is True while any metric is degraded.
 */
export function evaluate(
  thresholds: readonly MetricThreshold[],
  policy: EvaluationPolicy,
  previous: EvaluationState,
  probe: ProbeInput,
  now: Date,
): Evaluation {
  const prior = new Map(previous.metrics.map((metric) => [metric.name, metric]));
  const metrics =
    'error' in probe
      ? thresholds.map(
          (threshold) =>
            prior.get(threshold.name) ?? unknownMetric(threshold, 'no probe succeeded yet'),
        )
      : thresholds.map((threshold) =>
          evaluateMetric(threshold, policy, prior.get(threshold.name), probe.values, now),
        );
  const probeStatus = nextProbeStatus(previous.probe, probe);
  const degraded = degradedVerdict(metrics, probeStatus, policy, previous.degraded);
  const transitions = metricTransitions(prior, metrics);
  if (previous.degraded?.status !== degraded.status) {
    transitions.push({
      subject: 'Degraded',
      from: previous.degraded?.status ?? 'Unknown',
      to: degraded.status,
      reason: degraded.reason,
      message: degraded.message,
    });
  }
  return {
    metrics,
    probe: probeStatus,
    degraded,
    degradedMetrics: metrics
      .filter((metric) => metric.degraded === true)
      .map((metric) => metric.name),
    transitions,
  };
}

function unknownMetric(threshold: MetricThreshold, reason: string): MetricStatus {
  return withThreshold({ name: threshold.name, state: 'Unknown', reason }, threshold);
}

function withThreshold(status: MetricStatus, threshold: MetricThreshold): MetricStatus {
  const result: MetricStatus = { ...status };
  delete result.min;
  delete result.max;
  if (threshold.min !== undefined) result.min = threshold.min;
  if (threshold.max !== undefined) result.max = threshold.max;
  return result;
}

/** Tells whether a value lies outside [min, max]. */
export function isBreach(value: number, threshold: Pick<MetricThreshold, 'min' | 'max'>): boolean {
  return (
    (threshold.min !== undefined && value < threshold.min) ||
    (threshold.max !== undefined && value > threshold.max)
  );
}

function evaluateMetric(
  threshold: MetricThreshold,
  policy: EvaluationPolicy,
  prior: MetricStatus | undefined,
  values: WindowedValues,
  now: Date,
): MetricStatus {
  const { value, samples } = values[threshold.name];
  const minSamples = threshold.minSamples ?? policy.minSamples;
  const base: MetricStatus = withThreshold(
    {
      name: threshold.name,
      state: 'Unknown',
      samples: Math.round(samples),
      consecutiveBreaches: prior?.consecutiveBreaches ?? 0,
      consecutiveHealthy: prior?.consecutiveHealthy ?? 0,
      ...(value !== null && Number.isFinite(value) ? { value } : {}),
      ...(prior?.breachedSince ? { breachedSince: prior.breachedSince } : {}),
      ...(prior?.degraded ? { degraded: true } : {}),
    },
    threshold,
  );
  if (value === null || !Number.isFinite(value)) {
    return { ...base, reason: `no ${threshold.name} value in the window` };
  }
  if (samples < minSamples) {
    return { ...base, reason: `${Math.round(samples)} of ${minSamples} samples in the window` };
  }

  if (isBreach(value, threshold)) {
    const consecutiveBreaches = (prior?.consecutiveBreaches ?? 0) + 1;
    const breachedSince = prior?.breachedSince ?? now.toISOString();
    const sustained =
      policy.forMs !== undefined
        ? now.getTime() - Date.parse(breachedSince) >= policy.forMs
        : consecutiveBreaches >= policy.failureThreshold;
    const degraded = prior?.degraded === true || sustained;
    return {
      ...base,
      state: 'Breached',
      consecutiveBreaches,
      consecutiveHealthy: 0,
      breachedSince,
      degraded,
      reason: describeMetric(threshold.name, value, threshold),
    };
  }

  const consecutiveHealthy = (prior?.consecutiveHealthy ?? 0) + 1;
  const degraded = prior?.degraded === true && consecutiveHealthy < policy.successThreshold;
  const healthy: MetricStatus = {
    ...base,
    state: 'Healthy',
    consecutiveBreaches: 0,
    consecutiveHealthy,
    degraded,
    reason: degraded
      ? `recovering: ${consecutiveHealthy} of ${policy.successThreshold} healthy probes`
      : 'within thresholds',
  };
  delete healthy.breachedSince;
  return healthy;
}

function nextProbeStatus(previous: ProbeStatus | undefined, probe: ProbeInput): ProbeStatus {
  if ('error' in probe) {
    return {
      consecutiveErrors: (previous?.consecutiveErrors ?? 0) + 1,
      lastError: probe.error,
      targets: probe.targets,
    };
  }
  return { consecutiveErrors: 0, targets: probe.targets };
}

function degradedVerdict(
  metrics: readonly MetricStatus[],
  probe: ProbeStatus,
  policy: EvaluationPolicy,
  previous: DegradedVerdict | undefined,
): DegradedVerdict {
  if (probe.consecutiveErrors >= policy.maxProbeErrors) {
    return {
      status: 'Unknown',
      reason: DegradedReason.ProbeFailed,
      message: `${probe.consecutiveErrors} consecutive probes failed, last: ${probe.lastError ?? 'unknown error'}`,
    };
  }
  if (probe.consecutiveErrors > 0 && previous) return previous;

  const degraded = metrics.filter((metric) => metric.degraded === true);
  if (degraded.length > 0) {
    return {
      status: 'True',
      reason: DegradedReason.ThresholdBreached,
      message: degraded.map(describeStatus).join('; '),
    };
  }
  if (metrics.every((metric) => metric.state === 'Unknown')) {
    // Windows without traffic keep a verdict once there was one, so quiet hours do not flap.
    if (previous?.status === 'False')
      return { ...previous, message: 'no metric has enough samples in the window' };
    return {
      status: 'Unknown',
      reason: DegradedReason.InsufficientSamples,
      message:
        metrics.map((metric) => `${metric.name}: ${metric.reason ?? 'Unknown'}`).join('; ') ||
        'no metrics',
    };
  }
  return {
    status: 'False',
    reason: DegradedReason.MetricsHealthy,
    message: metrics.map(describeStatus).join('; '),
  };
}

function describeStatus(metric: MetricStatus): string {
  if (metric.value === undefined) return `${metric.name} ${metric.state}`;
  const value = formatMetricValue(metric.name, metric.value);
  if (metric.state !== 'Breached') return `${metric.name} ${value} ${metric.state}`;
  const breaches = metric.consecutiveBreaches ?? 0;
  return `${metric.reason ?? `${metric.name} ${value}`} in ${breaches} consecutive ${breaches === 1 ? 'probe' : 'probes'}`;
}

function metricTransitions(
  prior: ReadonlyMap<MetricName, MetricStatus>,
  metrics: readonly MetricStatus[],
): Transition[] {
  const transitions: Transition[] = [];
  for (const metric of metrics) {
    const from = prior.get(metric.name)?.state ?? 'Unknown';
    if (from === metric.state) continue;
    transitions.push({
      subject: metric.name,
      from,
      to: metric.state,
      reason: `Metric${metric.state}`,
      message: `${metric.name} ${from} -> ${metric.state}: ${metric.reason ?? ''}`.trimEnd(),
    });
  }
  return transitions;
}
