import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/model-deployment.ts';
import { findCondition, initializeConditions, setCondition } from './conditions.ts';
import { Reason } from './reasons.ts';

const t0 = new Date('2025-01-01T00:00:00.000Z');
const t1 = new Date('2025-01-01T00:05:00.000Z');

describe('setCondition', () => {
  it('stamps a new condition', () => {
    const conditions: Condition[] = [];
    const change = setCondition(
      conditions,
      {
        type: 'Available',
        status: 'False',
        reason: Reason.MinimumReplicasUnavailable,
        message: '0/1',
      },
      3,
      t0,
    );
    expect(change.transitioned).toBe(true);
    expect(conditions[0]?.lastTransitionTime).toBe('2025-01-01T00:00:00Z');
    expect(conditions[0]?.observedGeneration).toBe(3);
  });

  it('keeps lastTransitionTime when only the reason changes', () => {
    const conditions: Condition[] = [];
    setCondition(
      conditions,
      { type: 'Available', status: 'False', reason: Reason.Reconciling, message: '' },
      1,
      t0,
    );
    const change = setCondition(
      conditions,
      { type: 'Available', status: 'False', reason: Reason.ModelLoadFailed, message: 'bad' },
      1,
      t1,
    );
    expect(change.transitioned).toBe(false);
    expect(conditions[0]?.lastTransitionTime).toBe('2025-01-01T00:00:00Z');
    expect(conditions[0]?.reason).toBe('ModelLoadFailed');
  });

  it('moves lastTransitionTime when the status flips', () => {
    const conditions: Condition[] = [];
    setCondition(
      conditions,
      { type: 'Available', status: 'False', reason: Reason.Reconciling, message: '' },
      1,
      t0,
    );
    const change = setCondition(
      conditions,
      {
        type: 'Available',
        status: 'True',
        reason: Reason.MinimumReplicasAvailable,
        message: '1/1',
      },
      2,
      t1,
    );
    expect(change.transitioned).toBe(true);
    expect(change.previous?.status).toBe('False');
    expect(conditions[0]?.lastTransitionTime).toBe('2025-01-01T00:05:00Z');
  });
});

describe('initializeConditions', () => {
  it('adds missing types as Unknown', () => {
    const conditions: Condition[] = [];
    setCondition(
      conditions,
      { type: 'Available', status: 'True', reason: Reason.MinimumReplicasAvailable, message: '' },
      1,
      t0,
    );
    initializeConditions(conditions, 1, t1, Reason.Reconciling);
    expect(conditions.map((condition) => condition.type)).toEqual([
      'Available',
      'Progressing',
      'Degraded',
      'Retraining',
    ]);
    expect(findCondition(conditions, 'Available')?.status).toBe('True');
    expect(findCondition(conditions, 'Degraded')?.status).toBe('Unknown');
  });
});
