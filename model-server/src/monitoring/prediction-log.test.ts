import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PredictionIds, PredictionLog } from './prediction-log.ts';

describe('PredictionLog', () => {
  it('returns the features and prediction behind an id', () => {
    const log = new PredictionLog('boot-1-', 4, 2);
    const ids = log.record(Float64Array.from([1, 2, 3, 4]), Float32Array.from([10, 20]), 2);
    expect(ids.toArray()).toEqual(['boot-1-0', 'boot-1-1']);
    expect(log.lookup('boot-1-1')).toEqual({
      slot: 1,
      features: Float64Array.from([3, 4]),
      prediction: 20,
      labelled: false,
    });
  });

  it('writes ids JSON across carries', () => {
    const starts = [0, 9, 35, 36 ** 2 - 3, 36 ** 5 - 1, Number.MAX_SAFE_INTEGER - 40];
    for (const first of starts) {
      const ids = new PredictionIds('Ab_9-x-', first, 40);
      expect(ids.toJson()).toBe(JSON.stringify(ids.toArray()));
    }
    expect(new PredictionIds('p-', 5, 0).toJson()).toBe('[]');
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.nat({ max: 300 }), (first, count) => {
        const ids = new PredictionIds('q-3-', first, count);
        expect(ids.toJson()).toBe(JSON.stringify(ids.toArray()));
      }),
    );
  });

  it('stores rows across the ring end', () => {
    const log = new PredictionLog('w-', 3, 2);
    log.record(Float64Array.from([1, 2, 3, 4]), Float32Array.from([10, 20]), 2);
    log.record(Float64Array.from([5, 6, 7, 8]), Float32Array.from([30, 40]), 2);
    expect(log.lookup('w-0')).toBeUndefined();
    expect(log.lookup('w-2')).toEqual({
      slot: 2,
      features: Float64Array.from([5, 6]),
      prediction: 30,
      labelled: false,
    });
    expect(log.lookup('w-3')).toEqual({
      slot: 0,
      features: Float64Array.from([7, 8]),
      prediction: 40,
      labelled: false,
    });
  });

  it('forgets ids once overwritten', () => {
    const log = new PredictionLog('p-', 2, 1);
    log.record(Float64Array.from([1, 2, 3]), Float32Array.from([1, 2, 3]), 3);
    expect(log.lookup('p-0')).toBeUndefined();
    expect(log.lookup('p-2')?.prediction).toBe(3);
  });

  it.each(['q-0', 'p-', 'p-zzzzzzzzzzzz', 'p-9', 'p-0.5'])('rejects the id %s', (id) => {
    const log = new PredictionLog('p-', 2, 1);
    log.record(Float64Array.from([1]), Float32Array.from([1]), 1);
    expect(log.lookup(id)).toBeUndefined();
  });

  it('marks a prediction as labelled', () => {
    const log = new PredictionLog('p-', 2, 1);
    log.record(Float64Array.from([1]), Float32Array.from([1]), 1);
    log.markLabelled(0);
    expect(log.lookup('p-0')?.labelled).toBe(true);
  });
});
