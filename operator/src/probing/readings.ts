// Extraction of the series the operator relies on from one scrape of a model-server pod.
import type { Buckets } from './histogram.ts';
import { parseFloatValue, type Sample } from './text-format.ts';

/** Series names of the model server's metrics contract (docs/architecture.md). */
export const SERIES = {
  requestDuration: 'modelwarden_http_request_duration_seconds',
  requests: 'modelwarden_http_requests_total',
  feedbackSamples: 'modelwarden_feedback_samples_total',
  absoluteError: 'modelwarden_feedback_absolute_error_total',
  squaredError: 'modelwarden_feedback_squared_error_total',
  driftPsi: 'modelwarden_drift_psi',
  driftWindowSamples: 'modelwarden_drift_window_samples',
  modelInfo: 'modelwarden_model_info',
} as const;

/** Cumulative counters and current gauges of one pod at one scrape. */
export interface PodReading {
  /** Request latency buckets in seconds, summed over the prediction routes. */
  latency: Buckets;
  /** Requests on the prediction routes. */
  requests: number;
  /** Requests on the prediction routes answered with a 5xx status. */
  serverErrors: number;
  feedbackSamples: number;
  absoluteError: number;
  squaredError: number;
  /** PSI per input feature over the server's recent input window. */
  driftPsi: Map<string, number>;
  /** Rows behind the PSI values. */
  driftWindowSamples: number;
  /** `version` label of modelwarden_model_info, when the pod exports it. */
  modelVersion: string | undefined;
}

/**
 * Tells whether a `route` label value is a prediction route. The model server labels routes
 * with their fastify patterns: `/v1/models/:name:predict` (TF Serving REST) and
 * `/v2/models/:name/infer` (Open Inference Protocol).
 */
export function isPredictionRoute(route: string): boolean {
  return /predict|infer/i.test(route);
}

/** Builds a pod's reading from its parsed samples. Series it does not export count as zero. */
export function readPod(samples: readonly Sample[]): PodReading {
  const reading: PodReading = {
    latency: new Map(),
    requests: 0,
    serverErrors: 0,
    feedbackSamples: 0,
    absoluteError: 0,
    squaredError: 0,
    driftPsi: new Map(),
    driftWindowSamples: 0,
    modelVersion: undefined,
  };
  for (const sample of samples) addSample(reading, sample);
  return reading;
}

function addSample(reading: PodReading, { name, labels, value }: Sample): void {
  const route = labels.route;
  switch (name) {
    case `${SERIES.requestDuration}_bucket`: {
      if (route === undefined || !isPredictionRoute(route)) return;
      const bound = parseFloatValue(labels.le ?? '');
      if (bound === undefined || Number.isNaN(bound)) return;
      reading.latency.set(bound, (reading.latency.get(bound) ?? 0) + value);
      return;
    }
    case SERIES.requests:
      if (route === undefined || !isPredictionRoute(route)) return;
      reading.requests += value;
      if ((labels.status_code ?? '').startsWith('5')) reading.serverErrors += value;
      return;
    case SERIES.feedbackSamples:
      reading.feedbackSamples += value;
      return;
    case SERIES.absoluteError:
      reading.absoluteError += value;
      return;
    case SERIES.squaredError:
      reading.squaredError += value;
      return;
    case SERIES.driftPsi:
      if (labels.feature !== undefined && Number.isFinite(value)) {
        reading.driftPsi.set(labels.feature, value);
      }
      return;
    case SERIES.driftWindowSamples:
      reading.driftWindowSamples += value;
      return;
    case SERIES.modelInfo:
      if (value === 1 && labels.version !== undefined) reading.modelVersion = labels.version;
      return;
  }
}
