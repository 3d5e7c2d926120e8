import { describe, expect, it } from 'vitest';
import { PredictionLog } from './prediction-log.ts';

describe('PredictionLog', () => {
  it('returns the features and prediction behind an id', () => {
    const log = new PredictionLog('boot-1-', 4, 2);
    const ids = log.record(Float64Array.from([1, 2, 3, 4]), Float32Array.from([10, 20]), 2);
    expect(ids).toEqual(['boot-1-0', 'boot-1-1']);
    expect(log.lookup('boot-1-1')).toEqual({
      slot: 1,
      features: Float64Array.from([3, 4]),
      prediction: 20,
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
