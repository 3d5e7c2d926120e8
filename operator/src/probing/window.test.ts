import { describe, expect, it } from 'vitest';
import type { PodReading } from './readings.ts';
import { readPod } from './readings.ts';
import { parseTextFormat } from './text-format.ts';
import { counterIncrease, driftValue, ProbeWindow, type ScrapeOutcome } from './window.ts';

const ROUTE = '/v1/models/:name:predict';

/** Builds a /metrics body as the model server exports it. */
function exposition(options: {
  requests: number;
  errors?: number;
  fast?: number;
  feedback?: number;
  absolute?: number;
  squared?: number;
  psi?: Record<string, number>;
  window?: number;
  version?: string;
}): string {
  const {
    requests,
    errors = 0,
    fast = requests,
    feedback = 0,
    absolute = 0,
    squared = 0,
  } = options;
  const lines = [
    '# TYPE modelwarden_http_request_duration_seconds histogram',
    `modelwarden_http_request_duration_seconds_bucket{le="0.01",route="${ROUTE}"} ${fast}`,
    `modelwarden_http_request_duration_seconds_bucket{le="0.1",route="${ROUTE}"} ${requests}`,
    `modelwarden_http_request_duration_seconds_bucket{le="+Inf",route="${ROUTE}"} ${requests}`,
    `modelwarden_http_request_duration_seconds_sum{route="${ROUTE}"} 1`,
    `modelwarden_http_request_duration_seconds_count{route="${ROUTE}"} ${requests}`,
    `modelwarden_http_request_duration_seconds_bucket{le="0.01",route="/metrics"} 0`,
    `modelwarden_http_request_duration_seconds_bucket{le="0.1",route="/metrics"} 0`,
    `modelwarden_http_request_duration_seconds_bucket{le="+Inf",route="/metrics"} 50`,
    `modelwarden_http_requests_total{route="${ROUTE}",method="POST",status_code="200"} ${requests - errors}`,
    `modelwarden_http_requests_total{route="${ROUTE}",method="POST",status_code="503"} ${errors}`,
    `modelwarden_http_requests_total{route="/metrics",method="GET",status_code="500"} 9`,
    `modelwarden_feedback_samples_total ${feedback}`,
    `modelwarden_feedback_absolute_error_total ${absolute}`,
    `modelwarden_feedback_squared_error_total ${squared}`,
    `modelwarden_drift_window_samples ${options.window ?? 0}`,
    `modelwarden_model_info{name="cars",version="${options.version ?? 'v1'}",backend="cpu"} 1`,
  ];
  for (const [feature, psi] of Object.entries(options.psi ?? {})) {
    lines.push(`modelwarden_drift_psi{feature="${feature}"} ${psi}`);
  }
  return lines.join('\n');
}

const reading = (options: Parameters<typeof exposition>[0]): PodReading =>
  readPod(parseTextFormat(exposition(options)));
const ok = (pod: string, r: PodReading, uid = `${pod}-uid`): ScrapeOutcome => ({
  pod,
  uid,
  reading: r,
});
const at = (seconds: number): Date => new Date(Date.UTC(2025, 0, 1) + seconds * 1000);

describe('readPod', () => {
  it('counts only prediction routes', () => {
    const r = reading({ requests: 10, errors: 2 });
    expect(r.requests).toBe(10);
    expect(r.serverErrors).toBe(2);
    expect(r.latency.get(Infinity)).toBe(10);
    expect(r.modelVersion).toBe('v1');
  });
});

describe('counterIncrease', () => {
  it.each([
    [10, 15, 5],
    [10, 10, 0],
    [10, 3, 3],
    [0, 0, 0],
  ])('from %d to %d is %d', (previous, current, expected) => {
    expect(counterIncrease(previous, current)).toBe(expected);
  });
});

describe('ProbeWindow', () => {
  it('sets a baseline on the first scrape', () => {
    const window = new ProbeWindow(60_000);
    const summary = window.record(
      [ok('a', reading({ requests: 100, feedback: 10, absolute: 30 }))],
      at(0),
    );
    expect(summary.values.mae).toEqual({ value: null, samples: 0 });
    expect(summary.values.requestRate.value).toBeNull();
    expect(summary.scraped).toBe(1);
  });

  it('computes rates, errors and MAE from differences', () => {
    const window = new ProbeWindow(60_000);
    window.record(
      [ok('a', reading({ requests: 100, feedback: 10, absolute: 30, squared: 90 }))],
      at(0),
    );
    const summary = window.record(
      [ok('a', reading({ requests: 120, errors: 5, feedback: 30, absolute: 70, squared: 250 }))],
      at(10),
    );
    expect(summary.values.requestRate).toEqual({ value: 2, samples: 20 });
    expect(summary.values.errorRate).toEqual({ value: 0.25, samples: 20 });
    expect(summary.values.mae).toEqual({ value: 2, samples: 20 });
    expect(summary.values.rmse.value).toBeCloseTo(Math.sqrt(160 / 20), 10);
  });

  it('interpolates latency quantiles from bucket differences', () => {
    const window = new ProbeWindow(60_000);
    window.record([ok('a', reading({ requests: 100, fast: 100 }))], at(0));
    const summary = window.record([ok('a', reading({ requests: 200, fast: 150 }))], at(10));
    // 50 of the 100 new requests took up to 10 ms, the other 50 between 10 and 100 ms.
    expect(summary.values.latencyP50.value).toBeCloseTo(0.01, 10);
    expect(summary.values.latencyP99.value).toBeCloseTo(0.01 + 0.09 * (49 / 50), 10);
    expect(summary.values.latencyP99.samples).toBe(100);
  });

  it('takes a lower counter as a restart', () => {
    const window = new ProbeWindow(60_000);
    window.record([ok('a', reading({ requests: 500, feedback: 100, absolute: 900 }))], at(0));
    const summary = window.record(
      [ok('a', reading({ requests: 8, feedback: 4, absolute: 4 }))],
      at(10),
    );
    expect(summary.values.requestRate.samples).toBe(8);
    expect(summary.values.mae).toEqual({ value: 1, samples: 4 });
    expect(summary.values.latencyP50.samples).toBe(8);
  });

  it('starts a new baseline for a new pod under a known name', () => {
    const window = new ProbeWindow(60_000);
    window.record([ok('a', reading({ requests: 10 }), 'uid-1')], at(0));
    const summary = window.record([ok('a', reading({ requests: 50 }), 'uid-2')], at(10));
    expect(summary.values.requestRate.value).toBeNull();
  });

  it('forgets pods that are gone', () => {
    const window = new ProbeWindow(60_000);
    window.record([ok('a', reading({ requests: 0 })), ok('b', reading({ requests: 0 }))], at(0));
    window.record([ok('a', reading({ requests: 10 })), ok('b', reading({ requests: 10 }))], at(10));
    const summary = window.record([ok('a', reading({ requests: 20 }))], at(20));
    expect(summary.values.requestRate).toEqual({ value: 1, samples: 20 });
  });

  it('aggregates pods weighted by their samples', () => {
    const window = new ProbeWindow(60_000);
    window.record([ok('a', reading({ requests: 0 })), ok('b', reading({ requests: 0 }))], at(0));
    const summary = window.record(
      [
        ok('a', reading({ requests: 10, feedback: 10, absolute: 10 })),
        ok('b', reading({ requests: 30, feedback: 30, absolute: 90 })),
      ],
      at(10),
    );
    expect(summary.values.mae).toEqual({ value: 2.5, samples: 40 });
    expect(summary.values.requestRate).toEqual({ value: 4, samples: 40 });
  });

  it('drops differences older than the window', () => {
    const window = new ProbeWindow(25_000);
    window.record([ok('a', reading({ requests: 0, feedback: 0 }))], at(0));
    window.record([ok('a', reading({ requests: 100, feedback: 100, absolute: 1000 }))], at(10));
    window.record([ok('a', reading({ requests: 110, feedback: 110, absolute: 1010 }))], at(20));
    const summary = window.record(
      [ok('a', reading({ requests: 120, feedback: 120, absolute: 1020 }))],
      at(40),
    );
    expect(summary.values.mae).toEqual({ value: 1, samples: 20 });
    expect(summary.values.requestRate.value).toBeCloseTo(20 / 30, 10);
  });

  it('reports failed scrapes without using them', () => {
    const window = new ProbeWindow(60_000);
    window.record([ok('a', reading({ requests: 0 })), ok('b', reading({ requests: 0 }))], at(0));
    const summary = window.record(
      [ok('a', reading({ requests: 10 })), { pod: 'b', uid: 'b-uid', error: 'timed out' }],
      at(10),
    );
    expect(summary.failures).toEqual([{ pod: 'b', message: 'timed out' }]);
    expect(summary.scraped).toBe(1);
    expect(summary.values.requestRate.samples).toBe(10);
  });

  it('keeps a baseline across a failed scrape', () => {
    const window = new ProbeWindow(60_000);
    window.record([ok('a', reading({ requests: 0 }))], at(0));
    window.record([{ pod: 'a', uid: 'a-uid', error: 'refused' }], at(10));
    const summary = window.record([ok('a', reading({ requests: 40 }))], at(20));
    expect(summary.values.requestRate).toEqual({ value: 2, samples: 40 });
  });
});

describe('driftValue', () => {
  it('takes the max feature of the weighted mean', () => {
    const value = driftValue([
      reading({ requests: 0, window: 100, psi: { weight: 0.1, year: 0.4 } }),
      reading({ requests: 0, window: 300, psi: { weight: 0.5, year: 0.2 } }),
    ]);
    expect(value.samples).toBe(400);
    expect(value.value).toBeCloseTo((0.1 * 100 + 0.5 * 300) / 400, 10);
  });

  it('ignores pods with an empty drift window', () => {
    const value = driftValue([reading({ requests: 0, window: 0, psi: { weight: 9 } })]);
    expect(value).toEqual({ value: null, samples: 0 });
  });
});
