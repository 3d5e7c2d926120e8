// Windowed metric values from the differences between successive scrapes of each pod.
import type { MetricName } from '../api/monitoring.ts';
import { addBuckets, histogramQuantile, type Buckets } from './histogram.ts';
import type { PodReading } from './readings.ts';

/** A windowed value with the number of observations behind it; `value` is null without any. */
export interface WindowedValue {
  value: number | null;
  samples: number;
}
export type WindowedValues = Record<MetricName, WindowedValue>;

/** The result of scraping one pod: a reading, or the error that prevented it. */
export interface ScrapeOutcome {
  pod: string;
  /** Pod UID: a new UID under a known name is a new pod and starts a new baseline. */
  uid: string;
  reading?: PodReading;
  error?: string;
}

/** Result of one probe across all targets. */
export interface ProbeSummary {
  at: Date;
  targets: number;
  scraped: number;
  failures: { pod: string; message: string }[];
  values: WindowedValues;
  /** Model version each scraped pod reports, by pod name. */
  modelVersions: Record<string, string>;
}

interface IntervalDelta {
  end: number;
  seconds: number;
  latency: Buckets;
  requests: number;
  serverErrors: number;
  feedbackSamples: number;
  absoluteError: number;
  squaredError: number;
}

interface PodState {
  uid: string;
  lastAt: number;
  last: PodReading;
  deltas: IntervalDelta[];
}

/**
 * Increase of a counter between two scrapes. A lower value means the process restarted and the
 * counter began again from zero, so the new value is the whole increase, as PromQL's rate()
 * assumes.
 */
export function counterIncrease(previous: number, current: number): number {
  return current >= previous ? current - previous : current;
}

function bucketIncrease(previous: Buckets, current: Buckets): Buckets {
  const inf = Number.POSITIVE_INFINITY;
  if ((current.get(inf) ?? 0) < (previous.get(inf) ?? 0)) return new Map(current);
  const increase: Buckets = new Map();
  for (const [bound, count] of current) {
    increase.set(bound, Math.max(0, count - (previous.get(bound) ?? 0)));
  }
  return increase;
}

function intervalDelta(
  previous: PodReading,
  current: PodReading,
  end: number,
  seconds: number,
): IntervalDelta {
  return {
    end,
    seconds,
    latency: bucketIncrease(previous.latency, current.latency),
    requests: counterIncrease(previous.requests, current.requests),
    serverErrors: counterIncrease(previous.serverErrors, current.serverErrors),
    feedbackSamples: counterIncrease(previous.feedbackSamples, current.feedbackSamples),
    absoluteError: counterIncrease(previous.absoluteError, current.absoluteError),
    squaredError: counterIncrease(previous.squaredError, current.squaredError),
  };
}

/**
 * Per-pod scrape history of one ModelDeployment. Each `record` call adds one probe: it stores
 * the increase since the pod's previous successful scrape and returns the values over the last
 * `windowMs`. A pod seen for the first time only sets a baseline. Pods that are no longer
 * targets are forgotten; pods whose scrape failed keep their baseline.
 */
export class ProbeWindow {
  private readonly pods = new Map<string, PodState>();
  windowMs: number;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  record(outcomes: readonly ScrapeOutcome[], now: Date): ProbeSummary {
    const at = now.getTime();
    const present = new Set(outcomes.map((outcome) => outcome.pod));
    for (const pod of this.pods.keys()) if (!present.has(pod)) this.pods.delete(pod);

    const failures: ProbeSummary['failures'] = [];
    const modelVersions: Record<string, string> = {};
    const current: PodReading[] = [];
    for (const outcome of outcomes) {
      if (!outcome.reading) {
        failures.push({ pod: outcome.pod, message: outcome.error ?? 'scrape failed' });
        continue;
      }
      current.push(outcome.reading);
      if (outcome.reading.modelVersion !== undefined) {
        modelVersions[outcome.pod] = outcome.reading.modelVersion;
      }
      this.advance(outcome.pod, outcome.uid, outcome.reading, at);
    }
    return {
      at: now,
      targets: outcomes.length,
      scraped: current.length,
      failures,
      values: this.values(current),
      modelVersions,
    };
  }

  /** Drops every pod's history, so that the next probe sets new baselines. */
  reset(): void {
    this.pods.clear();
  }

  private advance(pod: string, uid: string, reading: PodReading, at: number): void {
    const state = this.pods.get(pod);
    if (!state || state.uid !== uid) {
      this.pods.set(pod, { uid, lastAt: at, last: reading, deltas: [] });
      return;
    }
    const seconds = (at - state.lastAt) / 1000;
    if (seconds > 0) state.deltas.push(intervalDelta(state.last, reading, at, seconds));
    state.deltas = state.deltas.filter((delta) => delta.end > at - this.windowMs);
    state.last = reading;
    state.lastAt = at;
  }

  private values(current: readonly PodReading[]): WindowedValues {
    const latency: Buckets = new Map();
    let requests = 0;
    let serverErrors = 0;
    let feedbackSamples = 0;
    let absoluteError = 0;
    let squaredError = 0;
    let requestRate = 0;
    let covered = false;
    for (const state of this.pods.values()) {
      let podRequests = 0;
      let podSeconds = 0;
      for (const delta of state.deltas) {
        addBuckets(latency, delta.latency);
        podRequests += delta.requests;
        podSeconds += delta.seconds;
        serverErrors += delta.serverErrors;
        feedbackSamples += delta.feedbackSamples;
        absoluteError += delta.absoluteError;
        squaredError += delta.squaredError;
      }
      requests += podRequests;
      if (podSeconds > 0) {
        requestRate += podRequests / podSeconds;
        covered = true;
      }
    }
    const observations = latency.get(Number.POSITIVE_INFINITY) ?? 0;
    const quantile = (q: number): WindowedValue => ({
      value: observations > 0 ? histogramQuantile(q, latency) : null,
      samples: observations,
    });
    return {
      latencyP50: quantile(0.5),
      latencyP90: quantile(0.9),
      latencyP99: quantile(0.99),
      requestRate: { value: covered ? requestRate : null, samples: requests },
      errorRate: { value: requests > 0 ? serverErrors / requests : null, samples: requests },
      mae: {
        value: feedbackSamples > 0 ? absoluteError / feedbackSamples : null,
        samples: feedbackSamples,
      },
      rmse: {
        value: feedbackSamples > 0 ? Math.sqrt(squaredError / feedbackSamples) : null,
        samples: feedbackSamples,
      },
      drift: driftValue(current),
    };
  }
}

/**
 * Max over features of the PSI averaged across pods, each pod weighted by the rows behind its
 * PSI values. Pods without rows in their drift window do not count.
 */
export function driftValue(readings: readonly PodReading[]): WindowedValue {
  const weighted = new Map<string, number>();
  let samples = 0;
  for (const reading of readings) {
    const weight = reading.driftWindowSamples;
    if (weight <= 0) continue;
    samples += weight;
    for (const [feature, psi] of reading.driftPsi) {
      weighted.set(feature, (weighted.get(feature) ?? 0) + psi * weight);
    }
  }
  if (samples === 0 || weighted.size === 0) return { value: null, samples };
  return { value: Math.max(...[...weighted.values()].map((sum) => sum / samples)), samples };
}
