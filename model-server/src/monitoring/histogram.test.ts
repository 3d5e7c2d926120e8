import { describe, expect, it } from 'vitest';
import {
  binIndex,
  computeBaseline,
  populationStabilityIndex,
  PSI_EMPTY_BIN_PROPORTION,
} from './histogram.ts';

describe('binIndex', () => {
  it.each([
    [-5, 0],
    [1, 0],
    [1.5, 1],
    [2, 1],
    [3, 2],
    [99, 3],
  ])('puts %d in bin %d of edges 1, 2, 3', (value, bin) => {
    expect(binIndex([1, 2, 3], value)).toBe(bin);
  });

  it('returns 0 for a layout without edges', () => {
    expect(binIndex([], 42)).toBe(0);
  });
});

describe('computeBaseline', () => {
  it('cuts continuous values at deciles', () => {
    const values = Array.from({ length: 1000 }, (_, index) => index);
    const baseline = computeBaseline('x', values, 10);
    expect(baseline.edges).toHaveLength(9);
    for (const share of baseline.proportions) expect(share).toBeCloseTo(0.1, 2);
  });

  it('merges repeated cut points of a discrete column', () => {
    const values = [...Array(50).fill(4), ...Array(30).fill(6), ...Array(20).fill(8)] as number[];
    const baseline = computeBaseline('cylinders', values, 10);
    expect(baseline.edges).toEqual([4, 6, 8]);
    expect(baseline.proportions).toEqual([0.5, 0.3, 0.2, 0]);
  });

  it('raises for no values', () => {
    expect(() => computeBaseline('x', [], 10)).toThrow("baseline of 'x' from no values");
  });
});

describe('populationStabilityIndex', () => {
  it('is 0 for identical proportions', () => {
    expect(populationStabilityIndex([0.25, 0.25, 0.5], [25, 25, 50], 100)).toBeCloseTo(0, 12);
  });

  it('grows with a shift', () => {
    const small = populationStabilityIndex([0.5, 0.5], [55, 45], 100);
    const large = populationStabilityIndex([0.5, 0.5], [90, 10], 100);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThan(0.05);
    expect(large).toBeGreaterThan(0.5);
  });

  it('stays finite with empty bins', () => {
    const psi = populationStabilityIndex([1, 0], [0, 10], 10);
    const share = PSI_EMPTY_BIN_PROPORTION;
    expect(psi).toBeCloseTo((share - 1) * Math.log(share) + (1 - share) * Math.log(1 / share), 9);
  });

  it('is 0 without samples', () => {
    expect(populationStabilityIndex([0.5, 0.5], [0, 0], 0)).toBe(0);
  });
});
