import { describe, expect, it } from 'vitest';
import type { MetricName, MetricThreshold } from '../api/monitoring.ts';
import { METRIC_NAMES } from '../api/monitoring.ts';
import type { WindowedValues } from '../probing/window.ts';
import {
  evaluate,
  type Evaluation,
  type EvaluationPolicy,
  type EvaluationState,
  type ProbeInput,
} from './evaluate.ts';

const policy: EvaluationPolicy = {
  failureThreshold: 3,
  successThreshold: 2,
  maxProbeErrors: 3,
  minSamples: 20,
};
const mae: MetricThreshold = { name: 'mae', max: 3, triggersRetraining: true };
const drift: MetricThreshold = { name: 'drift', max: 0.25, triggersRetraining: true };
const empty: EvaluationState = { metrics: [], probe: undefined, degraded: undefined };
const start = Date.UTC(2025, 0, 1);
const at = (probe: number): Date => new Date(start + probe * 10_000);

function values(set: Partial<Record<MetricName, [number | null, number]>>): WindowedValues {
  const result = {} as WindowedValues;
  for (const name of METRIC_NAMES) {
    const [value, samples] = set[name] ?? [null, 0];
    result[name] = { value, samples };
  }
  return result;
}
const probeOf = (set: Partial<Record<MetricName, [number | null, number]>>): ProbeInput => ({
  values: values(set),
  targets: 1,
});
const failed: ProbeInput = {
  error: 'GET http://127.0.0.2:8080/metrics timed out after 5000 ms',
  targets: 1,
};

/** Runs probes in sequence, feeding each evaluation into the next as status would. */
function run(
  probes: ProbeInput[],
  thresholds: MetricThreshold[] = [mae],
  settings: EvaluationPolicy = policy,
  state: EvaluationState = empty,
): Evaluation[] {
  const results: Evaluation[] = [];
  probes.forEach((probe, index) => {
    const result = evaluate(thresholds, settings, state, probe, at(index));
    results.push(result);
    state = { metrics: result.metrics, probe: result.probe, degraded: result.degraded };
  });
  return results;
}

const good = probeOf({ mae: [2, 50] });
const bad = probeOf({ mae: [4.5, 50] });
const few = probeOf({ mae: [9, 5] });

describe('evaluate', () => {
  it.each([
    ['healthy probes', [good, good], 'False'],
    ['two breaches', [bad, bad], 'False'],
    ['three breaches', [bad, bad, bad], 'True'],
    ['interrupted breaches', [bad, bad, good, bad, bad], 'False'],
    ['one healthy probe after degradation', [bad, bad, bad, good], 'True'],
    ['two healthy probes after degradation', [bad, bad, bad, good, good], 'False'],
    ['breach during recovery', [bad, bad, bad, good, bad, good], 'True'],
    ['too few samples only', [few, few, few], 'Unknown'],
    ['too few samples between breaches', [bad, few, bad, few, bad], 'True'],
    ['quiet window after a verdict', [good, few], 'False'],
    ['two failed probes', [good, failed, failed], 'False'],
    ['three failed probes', [good, failed, failed, failed], 'Unknown'],
    ['failed probes between breaches', [bad, failed, bad, failed, bad], 'True'],
    ['recovery from failed probes', [failed, failed, failed, good], 'False'],
  ])('%s set Degraded %s', (_name, probes, expected) => {
    expect(run(probes).at(-1)?.degraded.status).toBe(expected);
  });

  it('records value, threshold, samples and counters', () => {
    const [, second] = run([bad, bad]);
    expect(second?.metrics).toEqual([
      {
        name: 'mae',
        value: 4.5,
        max: 3,
        samples: 50,
        state: 'Breached',
        consecutiveBreaches: 2,
        consecutiveHealthy: 0,
        breachedSince: at(0).toISOString(),
        degraded: false,
        reason: 'mae 4.5 above max 3',
      },
    ]);
  });

  it('clears breachedSince on a healthy probe', () => {
    const last = run([bad, good]).at(-1);
    expect(last?.metrics[0]?.breachedSince).toBeUndefined();
    expect(last?.metrics[0]?.state).toBe('Healthy');
  });

  it('marks a metric below minSamples Unknown', () => {
    const metric = run([few]).at(-1)?.metrics[0];
    expect(metric?.state).toBe('Unknown');
    expect(metric?.reason).toBe('5 of 20 samples in the window');
  });

  it('uses the per-metric sample minimum', () => {
    const metric = run([few], [{ ...mae, minSamples: 5 }]).at(-1)?.metrics[0];
    expect(metric?.state).toBe('Breached');
  });

  it('checks min thresholds', () => {
    const rate: MetricThreshold = { name: 'requestRate', min: 1, triggersRetraining: false };
    const metric = run([probeOf({ requestRate: [0.5, 100] })], [rate]).at(-1)?.metrics[0];
    expect(metric?.reason).toBe('requestRate 0.5/s below min 1/s');
  });

  it('uses the for duration instead of failureThreshold', () => {
    const withFor = { ...policy, failureThreshold: 1, forMs: 25_000 };
    const results = run([bad, bad, bad, bad], [mae], withFor);
    expect(results.map((result) => result.degraded.status)).toEqual([
      'False',
      'False',
      'False',
      'True',
    ]);
  });

  it('names the degraded metrics', () => {
    const last = run(
      [bad, bad, bad].map(() => probeOf({ mae: [4, 50], drift: [0.1, 400] })),
      [mae, drift],
    ).at(-1);
    expect(last?.degradedMetrics).toEqual(['mae']);
    expect(last?.degraded.reason).toBe('ThresholdBreached');
    expect(last?.degraded.message).toBe('mae 4 above max 3 in 3 consecutive probes');
  });

  it('keeps metrics as they were on a failed probe', () => {
    const [first, second] = run([bad, failed]);
    expect(second?.metrics).toEqual(first?.metrics);
    expect(second?.probe).toEqual({ consecutiveErrors: 1, lastError: failed.error, targets: 1 });
  });

  it('reports probe failures in the Unknown message', () => {
    const last = run([failed, failed, failed]).at(-1);
    expect(last?.degraded.reason).toBe('ProbeFailed');
    expect(last?.degraded.message).toMatch(/^3 consecutive probes failed, last: GET .* timed out/);
  });

  it('continues from a restored status', () => {
    const before = run([bad, bad]);
    const restored: EvaluationState = {
      metrics: JSON.parse(JSON.stringify(before[1]?.metrics)),
      probe: before[1]?.probe,
      degraded: before[1]?.degraded,
    };
    const after = evaluate([mae], policy, restored, bad, at(2));
    expect(after.degraded.status).toBe('True');
  });

  it('lists state changes as transitions', () => {
    const results = run([good, bad, bad, bad]);
    expect(results[0]?.transitions.map((t) => `${t.subject}:${t.from}->${t.to}`)).toEqual([
      'mae:Unknown->Healthy',
      'Degraded:Unknown->False',
    ]);
    expect(results[1]?.transitions.map((t) => `${t.subject}:${t.from}->${t.to}`)).toEqual([
      'mae:Healthy->Breached',
    ]);
    expect(results[2]?.transitions).toEqual([]);
    expect(results[3]?.transitions.map((t) => `${t.subject}:${t.from}->${t.to}`)).toEqual([
      'Degraded:False->True',
    ]);
  });
});
