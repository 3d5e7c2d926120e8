import { describe, expect, it } from 'vitest';
import { DriftMonitor } from './drift.ts';

const baselines = [
  { name: 'a', edges: [0], proportions: [0.5, 0.5] },
  { name: 'b', edges: [10, 20], proportions: [0.2, 0.6, 0.2] },
];

function rows(...values: number[][]): Float64Array {
  return Float64Array.from(values.flat());
}

describe('DriftMonitor', () => {
  it('reports 0 PSI when the window matches the baseline', () => {
    const monitor = new DriftMonitor(baselines, 10);
    monitor.add(
      rows(
        [-1, 5],
        [-1, 15],
        [-1, 15],
        [-1, 15],
        [-1, 25],
        [1, 5],
        [1, 15],
        [1, 15],
        [1, 15],
        [1, 25],
      ),
      10,
    );
    const snapshot = monitor.snapshot();
    expect(snapshot.samples).toBe(10);
    expect(snapshot.psi.map((entry) => entry.feature)).toEqual(['a', 'b']);
    for (const entry of snapshot.psi) expect(entry.value).toBeCloseTo(0, 12);
  });

  it('evicts the oldest rows once full', () => {
    const monitor = new DriftMonitor(baselines, 2);
    monitor.add(rows([-1, 5], [-1, 5]), 2);
    const shifted = monitor.snapshot().psi[0]?.value ?? 0;
    monitor.add(rows([1, 15]), 1);
    const balanced = monitor.snapshot();
    expect(balanced.samples).toBe(2);
    expect(balanced.psi[0]?.value).toBeCloseTo(0, 12);
    expect(shifted).toBeGreaterThan(1);
  });

  it('reports no samples before any row', () => {
    expect(new DriftMonitor(baselines, 5).snapshot()).toEqual({
      samples: 0,
      psi: [
        { feature: 'a', value: 0 },
        { feature: 'b', value: 0 },
      ],
    });
  });
});
