import { describe, expect, it } from 'vitest';
import { histogramQuantile, type Buckets } from './histogram.ts';

const buckets = (pairs: [number, number][]): Buckets => new Map(pairs);
const layout = buckets([
  [0.1, 10],
  [0.5, 50],
  [1, 90],
  [Infinity, 100],
]);

describe('histogramQuantile', () => {
  it.each([
    [0.05, 0.05],
    [0.1, 0.1],
    [0.5, 0.5],
    [0.7, 0.75],
    [0.9, 1],
    [0.95, 1],
    [0.99, 1],
    [1, 1],
  ])('q=%d returns %d', (q, expected) => {
    expect(histogramQuantile(q, layout)).toBeCloseTo(expected, 10);
  });

  it('returns NaN without observations', () => {
    expect(
      histogramQuantile(
        0.5,
        buckets([
          [0.1, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNaN();
  });

  it('returns NaN without an +Inf bucket', () => {
    expect(
      histogramQuantile(
        0.5,
        buckets([
          [0.1, 1],
          [1, 2],
        ]),
      ),
    ).toBeNaN();
  });

  it('clamps non-monotonic counts', () => {
    const broken = buckets([
      [0.1, 10],
      [0.5, 8],
      [Infinity, 10],
    ]);
    expect(histogramQuantile(0.5, broken)).toBeCloseTo(0.05, 10);
  });

  it('ignores insertion order', () => {
    const shuffled = buckets([
      [Infinity, 100],
      [1, 90],
      [0.1, 10],
      [0.5, 50],
    ]);
    expect(histogramQuantile(0.7, shuffled)).toBeCloseTo(0.75, 10);
  });
});
