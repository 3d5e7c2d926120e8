import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DriftMonitor } from './drift.ts';
import { binIndex, populationStabilityIndex } from './histogram.ts';

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

  it('matches binning the last rows at snapshot', () => {
    // Each step adds that many rows, or takes a snapshot when 0.
    const steps = fc.array(fc.nat({ max: 12 }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), steps, (windowSize, sizes) => {
        const monitor = new DriftMonitor(baselines, windowSize);
        const history: number[][] = [];
        for (const [step, size] of sizes.entries()) {
          if (size === 0) {
            const window = history.slice(-windowSize);
            const expected = baselines.map((baseline, column) => {
              const counts = new Uint32Array(baseline.proportions.length);
              for (const row of window) {
                const bin = binIndex(baseline.edges, row[column] as number);
                counts[bin] = (counts[bin] as number) + 1;
              }
              return {
                feature: baseline.name,
                value: populationStabilityIndex(baseline.proportions, counts, window.length),
              };
            });
            expect(monitor.snapshot()).toEqual({ psi: expected, samples: window.length });
            continue;
          }
          const added = Array.from({ length: size }, (_, row) => [
            ((step * 7 + row) % 5) - 2,
            ((step * 13 + row * 11) % 30) + 0.5,
          ]);
          history.push(...added);
          monitor.add(rows(...added), size);
        }
      }),
    );
  });
});
