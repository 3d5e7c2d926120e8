// One probe of a ModelDeployment inside a reconcile: scrape the Ready serving pods (or query
// Prometheus) once per spec.monitoring.interval and hand the windowed values to evaluation.
import type { MetricName, MonitoringSpec } from '../api/monitoring.ts';
import type { ModelDeployment } from '../api/model-deployment.ts';
import { serverPort } from '../controller/children/deployment.ts';
import { requeueAfter, type ReconcileContext } from '../controller/context.ts';
import { errorMessage } from '../errors.ts';
import { toKubeTime } from '../util/clock.ts';
import { parseDuration } from '../util/duration.ts';
import { redactUrl } from '../util/redact.ts';
import { queryPrometheus, renderQuery, type QueryVariables } from './prometheus.ts';
import { scrapeAll, scrapeTargets } from './scrape.ts';
import { ProbeWindow, type WindowedValues } from './window.ts';
import type { ProbeInput } from '../evaluation/evaluate.ts';

/** The probe a reconcile ran, for the evaluate step of the same reconcile. */
export interface ProbeRun {
  input: ProbeInput;
  /** Model version each scraped pod reports, by pod name; empty for Prometheus. */
  modelVersions: Record<string, string>;
}

const runs = new WeakMap<ReconcileContext, ProbeRun>();
const WINDOW_KEY = 'probe-window';

/** Returns the probe this reconcile ran, or undefined when the interval had not elapsed. */
export function probeOf(context: ReconcileContext): ProbeRun | undefined {
  return runs.get(context);
}

/** Monitoring durations in milliseconds. */
export interface MonitoringTimes {
  intervalMs: number;
  windowMs: number;
  timeoutMs: number;
}

/** Scrape time limit when spec.monitoring.scrapeTimeout is unset and the interval is longer. */
const DEFAULT_SCRAPE_TIMEOUT_MS = 5000;

export function monitoringTimes(monitoring: MonitoringSpec): MonitoringTimes {
  const intervalMs = parseDuration(monitoring.interval ?? '30s');
  return {
    intervalMs,
    windowMs: parseDuration(monitoring.window ?? '5m'),
    timeoutMs:
      monitoring.scrapeTimeout === undefined
        ? Math.min(DEFAULT_SCRAPE_TIMEOUT_MS, intervalMs)
        : parseDuration(monitoring.scrapeTimeout),
  };
}

/** Drops the scrape history, e.g. after the served model changed. */
export function resetProbeWindow(context: ReconcileContext): void {
  (context.memory.get(WINDOW_KEY) as ProbeWindow | undefined)?.reset();
}

/**
 * Probes when the interval since status.lastProbeTime has elapsed, records the run for the
 * evaluate step and requests the next reconcile at the next probe time.
 */
export async function runProbe(context: ReconcileContext): Promise<void> {
  const monitoring = context.resource.spec.monitoring;
  if (!monitoring) return;
  const times = monitoringTimes(monitoring);
  const last = context.status.lastProbeTime ? Date.parse(context.status.lastProbeTime) : Number.NaN;
  const elapsed = context.now.getTime() - last;
  // One second of slack, so that a requeue that fires a little early still probes.
  if (elapsed + 1000 < times.intervalMs) {
    requeueAfter(context, times.intervalMs - elapsed);
    return;
  }

  const run = monitoring.prometheus
    ? await probePrometheus(context.resource, monitoring, times)
    : await probePods(context, times);
  runs.set(context, run);
  context.status.lastProbeTime = toKubeTime(context.now);
  requeueAfter(context, times.intervalMs);

  if ('error' in run.input) {
    const outcome = run.input.targets === 0 ? 'NoTargets' : 'ScrapeFailed';
    context.metrics.probeTotal.inc({ outcome });
    context.log.warn({ error: run.input.error, targets: run.input.targets }, 'probe failed');
  } else {
    context.metrics.probeTotal.inc({ outcome: 'Success' });
  }
}

async function probePods(context: ReconcileContext, times: MonitoringTimes): Promise<ProbeRun> {
  let window = context.memory.get(WINDOW_KEY) as ProbeWindow | undefined;
  if (!window) {
    window = new ProbeWindow(times.windowMs);
    context.memory.set(WINDOW_KEY, window);
  }
  window.windowMs = times.windowMs;

  const targets = scrapeTargets(context.pods, serverPort(context.resource));
  if (targets.length === 0) {
    return { input: { error: 'no Ready serving pod to scrape', targets: 0 }, modelVersions: {} };
  }
  const summary = window.record(await scrapeAll(targets, times.timeoutMs), context.now);
  for (const failure of summary.failures) {
    context.log.debug({ pod: failure.pod, error: failure.message }, 'scrape failed');
  }
  if (summary.scraped === 0) {
    const messages = summary.failures.map((failure) => `${failure.pod}: ${failure.message}`);
    return { input: { error: messages.join('; '), targets: targets.length }, modelVersions: {} };
  }
  return {
    input: { values: summary.values, targets: targets.length },
    modelVersions: summary.modelVersions,
  };
}

const PREDICTION_ROUTES = 'route=~".*(predict|infer).*"';
const POD_SELECTOR = 'namespace="{{namespace}}",pod=~"{{name}}-[a-z0-9]+-[a-z0-9]+"';

/**
 * Built-in PromQL per metric: the value, and the sample count behind it. They assume the
 * serving pods are scraped with `namespace` and `pod` target labels, as a PodMonitor sets them.
 */
export const DEFAULT_QUERIES: Record<MetricName, { value: string; samples: string }> = {
  latencyP50: latencyQuery(0.5),
  latencyP90: latencyQuery(0.9),
  latencyP99: latencyQuery(0.99),
  requestRate: {
    value: `sum(rate(modelwarden_http_requests_total{${POD_SELECTOR},${PREDICTION_ROUTES}}[{{window}}]))`,
    samples: `sum(increase(modelwarden_http_requests_total{${POD_SELECTOR},${PREDICTION_ROUTES}}[{{window}}]))`,
  },
  errorRate: {
    value:
      // Without any 5xx response the numerator is an empty vector, which `or vector(0)` makes 0.
      `(sum(increase(modelwarden_http_requests_total{${POD_SELECTOR},${PREDICTION_ROUTES},status_code=~"5.."}[{{window}}])) or vector(0))` +
      ` / sum(increase(modelwarden_http_requests_total{${POD_SELECTOR},${PREDICTION_ROUTES}}[{{window}}]))`,
    samples: `sum(increase(modelwarden_http_requests_total{${POD_SELECTOR},${PREDICTION_ROUTES}}[{{window}}]))`,
  },
  mae: {
    value:
      `sum(increase(modelwarden_feedback_absolute_error_total{${POD_SELECTOR}}[{{window}}]))` +
      ` / sum(increase(modelwarden_feedback_samples_total{${POD_SELECTOR}}[{{window}}]))`,
    samples: `sum(increase(modelwarden_feedback_samples_total{${POD_SELECTOR}}[{{window}}]))`,
  },
  rmse: {
    value:
      `sqrt(sum(increase(modelwarden_feedback_squared_error_total{${POD_SELECTOR}}[{{window}}]))` +
      ` / sum(increase(modelwarden_feedback_samples_total{${POD_SELECTOR}}[{{window}}])))`,
    samples: `sum(increase(modelwarden_feedback_samples_total{${POD_SELECTOR}}[{{window}}]))`,
  },
  drift: {
    value:
      `max(sum by (feature) (modelwarden_drift_psi{${POD_SELECTOR}} * on (pod) group_left modelwarden_drift_window_samples{${POD_SELECTOR}})` +
      ` / scalar(sum(modelwarden_drift_window_samples{${POD_SELECTOR}})))`,
    samples: `sum(modelwarden_drift_window_samples{${POD_SELECTOR}})`,
  },
};

function latencyQuery(q: number): { value: string; samples: string } {
  return {
    value: `histogram_quantile(${q}, sum by (le) (increase(modelwarden_http_request_duration_seconds_bucket{${POD_SELECTOR},${PREDICTION_ROUTES}}[{{window}}])))`,
    samples: `sum(increase(modelwarden_http_request_duration_seconds_count{${POD_SELECTOR},${PREDICTION_ROUTES}}[{{window}}]))`,
  };
}

/**
 * Queries Prometheus for every metric with a threshold. A custom query replaces the built-in
 * value query; the sample count still comes from the built-in samples query. Any failed query
 * fails the whole probe, so that a half-answered probe never produces a verdict.
 */
export async function probePrometheus(
  resource: ModelDeployment,
  monitoring: MonitoringSpec,
  times: MonitoringTimes,
): Promise<ProbeRun> {
  const prometheus = monitoring.prometheus;
  if (!prometheus) throw new Error('spec.monitoring.prometheus is not set');
  const variables: QueryVariables = {
    namespace: resource.metadata.namespace ?? '',
    name: resource.metadata.name ?? '',
    windowMs: times.windowMs,
  };
  const values = emptyValues();
  try {
    await Promise.all(
      monitoring.metrics.map(async ({ name }) => {
        const template = prometheus.queries?.[name] ?? DEFAULT_QUERIES[name].value;
        const [value, samples] = await Promise.all([
          queryPrometheus(prometheus.url, renderQuery(template, variables), times.timeoutMs),
          queryPrometheus(
            prometheus.url,
            renderQuery(DEFAULT_QUERIES[name].samples, variables),
            times.timeoutMs,
          ),
        ]);
        values[name] = {
          value: value !== null && Number.isFinite(value) ? value : null,
          samples: samples ?? 0,
        };
      }),
    );
  } catch (error) {
    return {
      input: {
        error: `Prometheus at ${redactUrl(prometheus.url)}: ${errorMessage(error)}`,
        targets: 1,
      },
      modelVersions: {},
    };
  }
  return { input: { values, targets: 1 }, modelVersions: {} };
}

function emptyValues(): WindowedValues {
  const none = { value: null, samples: 0 };
  return {
    latencyP50: none,
    latencyP90: none,
    latencyP99: none,
    requestRate: none,
    errorRate: none,
    mae: none,
    rmse: none,
    drift: none,
  };
}
