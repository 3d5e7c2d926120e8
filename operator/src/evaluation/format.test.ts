import { describe, expect, it } from 'vitest';
import type { MetricName } from '../api/monitoring.ts';
import { describeMetric, formatMetricValue } from './format.ts';

describe('formatMetricValue', () => {
  it.each<[MetricName, number, string]>([
    ['latencyP99', 0.01234, '12.3ms'],
    ['latencyP50', 2.5, '2.5s'],
    ['errorRate', 0.005, '0.5%'],
    ['requestRate', 12.345, '12.3/s'],
    ['mae', 3.14159, '3.14'],
    ['drift', 0, '0'],
  ])('formats %s %d as %s', (name, value, expected) => {
    expect(formatMetricValue(name, value)).toBe(expected);
  });
});

describe('describeMetric', () => {
  it.each([
    [{ max: 3 }, 4.2, 'mae 4.2 above max 3'],
    [{ min: 1 }, 0.5, 'mae 0.5 below min 1'],
    [{ min: 1, max: 3 }, 2, 'mae 2'],
  ])('describes %j at %d', (threshold, value, expected) => {
    expect(describeMetric('mae', value, threshold)).toBe(expected);
  });
});
