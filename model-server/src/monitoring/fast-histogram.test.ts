import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from './fast-histogram.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const VALUES = [0.0005, 0.001, 0.002, 0.05, 0.1, 0.5, 3, 12, 0];

/** Creates a FastHistogram and a prom-client Histogram alike, each on its own registry. */
function pair(labelNames: string[]) {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new FastHistogram({
    name: 'h',
    help: 'help',
    buckets: BUCKETS,
    labelNames,
    registers: [ours],
  });
  const reference = new Histogram({
    name: 'h',
    help: 'help',
    buckets: BUCKETS,
    labelNames,
    registers: [theirs],
  });
  return { fast, reference, ours, theirs };
}

describe('FastHistogram', () => {
  it('matches prom-client without labels', async () => {
    const { fast, reference, ours, theirs } = pair([]);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const series = fast.labels();
    for (const value of VALUES) {
      series.observe(value);
      reference.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('matches prom-client with labels', async () => {
    const { fast, reference, ours, theirs } = pair(['route']);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const [index, value] of VALUES.entries()) {
      const route = index % 2 === 0 ? '/a' : '/b';
      fast.labels(route).observe(value);
      reference.labels(route).observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('skips non-finite values and validates input', async () => {
    const registry = new Registry();
    const fast = new FastHistogram({
      name: 'h',
      help: 'help',
      buckets: BUCKETS,
      registers: [registry],
    });
    const series = fast.labels();
    series.observeAll(Float32Array.of(NaN, 0.5, 2));
    expect(series.count).toBe(2);
    expect(Array.from(series.counts)).toEqual([0, 0, 0, 1, 1]);

    registry.resetMetrics();
    expect(series.count).toBe(0);
    expect(series.sum).toBe(0);
    series.observe(Infinity);
    expect(series.count).toBe(0);

    expect(() => fast.labels('extra')).toThrow('takes 0 label values, got 1');
    expect(
      () =>
        new FastHistogram({
          name: 'l',
          help: 'help',
          buckets: BUCKETS,
          labelNames: ['le'],
          registers: [],
        }),
    ).toThrow("'le' is reserved");
    expect(
      () => new FastHistogram({ name: 'd', help: 'help', buckets: [1, 1], registers: [] }),
    ).toThrow('buckets must be finite and distinct');
  });
});
