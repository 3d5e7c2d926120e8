// Per-ModelDeployment health exported on the operator's /metrics, for Alertmanager rules.
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_NAMES, type MetricName, type MetricStatus } from '../api/monitoring.ts';

/** Value of modelwarden_operator_model_degraded per status of the Degraded condition. */
const DEGRADED_VALUES = { True: 1, False: 0, Unknown: -1 } as const;

/** Gauges and counters about each ModelDeployment's model health. */
export class HealthMetrics {
  readonly metricValue: Gauge<'namespace' | 'name' | 'metric'>;
  readonly metricThreshold: Gauge<'namespace' | 'name' | 'metric' | 'bound'>;
  readonly metricBreached: Gauge<'namespace' | 'name' | 'metric'>;
  readonly degraded: Gauge<'namespace' | 'name'>;
  readonly probeErrors: Gauge<'namespace' | 'name'>;
  readonly retrainingJobs: Counter<'namespace' | 'name' | 'outcome'>;
  readonly promotions: Counter<'namespace' | 'name' | 'outcome'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.metricValue = new Gauge({
      name: 'modelwarden_operator_model_metric_value',
      help: 'Last windowed value of a watched metric (seconds, ratios, label units or PSI).',
      labelNames: ['namespace', 'name', 'metric'],
      registers,
    });
    this.metricThreshold = new Gauge({
      name: 'modelwarden_operator_model_metric_threshold',
      help: 'Threshold of a watched metric; bound is min or max.',
      labelNames: ['namespace', 'name', 'metric', 'bound'],
      registers,
    });
    this.metricBreached = new Gauge({
      name: 'modelwarden_operator_model_metric_breached',
      help: '1 while the metric breaches its threshold in the last probe, else 0.',
      labelNames: ['namespace', 'name', 'metric'],
      registers,
    });
    this.degraded = new Gauge({
      name: 'modelwarden_operator_model_degraded',
      help: '1 while the Degraded condition is True, 0 when False, -1 when Unknown.',
      labelNames: ['namespace', 'name'],
      registers,
    });
    this.probeErrors = new Gauge({
      name: 'modelwarden_operator_model_probe_consecutive_errors',
      help: 'Consecutive failed probes of the ModelDeployment.',
      labelNames: ['namespace', 'name'],
      registers,
    });
    this.retrainingJobs = new Counter({
      name: 'modelwarden_operator_retraining_jobs_total',
      help: 'Retraining Jobs by outcome: started, succeeded or failed.',
      labelNames: ['namespace', 'name', 'outcome'],
      registers,
    });
    this.promotions = new Counter({
      name: 'modelwarden_operator_model_promotions_total',
      help: 'Retrained models by outcome: promoted, kept after verification or rolled back.',
      labelNames: ['namespace', 'name', 'outcome'],
      registers,
    });
  }

  /** Sets the gauges of one ModelDeployment from its evaluated metric statuses. */
  observe(
    namespace: string,
    name: string,
    metrics: readonly MetricStatus[],
    degraded: 'True' | 'False' | 'Unknown',
    consecutiveErrors: number,
  ): void {
    for (const metric of metrics) this.observeMetric(namespace, name, metric.name, metric);
    this.degraded.set({ namespace, name }, DEGRADED_VALUES[degraded]);
    this.probeErrors.set({ namespace, name }, consecutiveErrors);
  }

  /** Removes every series of a deleted ModelDeployment. */
  forget(namespace: string, name: string): void {
    for (const metric of METRIC_NAMES) {
      this.metricValue.remove({ namespace, name, metric });
      this.metricBreached.remove({ namespace, name, metric });
      for (const bound of ['min', 'max'] as const)
        this.metricThreshold.remove({ namespace, name, metric, bound });
    }
    this.degraded.remove({ namespace, name });
    this.probeErrors.remove({ namespace, name });
    for (const outcome of ['started', 'succeeded', 'failed'])
      this.retrainingJobs.remove({ namespace, name, outcome });
    for (const outcome of ['promoted', 'kept', 'rolledBack'])
      this.promotions.remove({ namespace, name, outcome });
  }

  private observeMetric(
    namespace: string,
    name: string,
    metric: MetricName,
    status: MetricStatus,
  ): void {
    const labels = { namespace, name, metric };
    if (status.value === undefined) this.metricValue.remove(labels);
    else this.metricValue.set(labels, status.value);
    this.metricBreached.set(labels, status.state === 'Breached' ? 1 : 0);
    for (const bound of ['min', 'max'] as const) {
      const value = status[bound];
      if (value === undefined) this.metricThreshold.remove({ ...labels, bound });
      else this.metricThreshold.set({ ...labels, bound }, value);
    }
  }
}

const byRegistry = new WeakMap<Registry, HealthMetrics>();

/** Returns the health metrics registered in `registry`, creating them on first use. */
export function healthMetrics(registry: Registry): HealthMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new HealthMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
