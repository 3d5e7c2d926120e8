import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/model-deployment.ts';
import {
  conditionEvent,
  findCondition,
  initializeConditions,
  setCondition,
  type ConditionUpdate,
} from './conditions.ts';
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

describe('conditionEvent', () => {
  const unavailable: ConditionUpdate = {
    type: 'Available',
    status: 'False',
    reason: Reason.MinimumReplicasUnavailable,
    message: '0/1 serving pods available.',
  };
  const loadFailed: ConditionUpdate = {
    ...unavailable,
    reason: Reason.ModelLoadFailed,
    message: 'pod p cannot serve model file:///models/v3: not found',
  };

  /** Applies the updates at t0, t1, ... and returns the Event of each. */
  function events(updates: [ConditionUpdate, boolean][]) {
    const conditions: Condition[] = [];
    return updates.map(([update, warning], index) => {
      const now = new Date(t0.getTime() + index * 5000);
      const previous = findCondition(conditions, update.type);
      const event = conditionEvent(previous, update, warning);
      setCondition(conditions, update, 1, now);
      return event;
    });
  }

  it('records a reason change with the same status', () => {
    const [, second] = events([
      [unavailable, false],
      [loadFailed, true],
    ]);
    expect(second).toEqual({
      type: 'Warning',
      reason: 'ModelLoadFailed',
      action: 'Available',
      note: 'Available is False: pod p cannot serve model file:///models/v3: not found',
    });
  });

  it('records nothing when status and reason stay', () => {
    const [, second] = events([
      [loadFailed, true],
      [{ ...loadFailed, message: 'pod q cannot serve model file:///models/v3: not found' }, true],
    ]);
    expect(second).toBeUndefined();
  });

  it('leaves reason changes of Retraining to the retrain step', () => {
    const idle: ConditionUpdate = {
      type: 'Retraining',
      status: 'False',
      reason: Reason.RetrainingIdle,
      message: 'No Job is running.',
    };
    const [, second] = events([
      [idle, false],
      [{ ...idle, reason: Reason.ModelPromoted, message: 'Promoted v3.' }, false],
    ]);
    expect(second).toBeUndefined();
  });

  it('records a status flip as before', () => {
    const available: ConditionUpdate = {
      type: 'Available',
      status: 'True',
      reason: Reason.MinimumReplicasAvailable,
      message: '1/1 serving pods available.',
    };
    const [, second] = events([
      [loadFailed, true],
      [available, false],
    ]);
    expect(second?.type).toBe('Normal');
    expect(second?.reason).toBe('MinimumReplicasAvailable');
  });

  it('records no first Normal status', () => {
    const placeholder: ConditionUpdate = {
      type: 'Available',
      status: 'Unknown',
      reason: Reason.Reconciling,
      message: 'The operator has not observed this yet.',
    };
    const [, fromPlaceholder] = events([
      [placeholder, false],
      [unavailable, false],
    ]);
    const [fromNothing] = events([[unavailable, false]]);
    expect(fromPlaceholder).toBeUndefined();
    expect(fromNothing).toBeUndefined();
  });

  it('records a first Warning status', () => {
    const [first] = events([[loadFailed, true]]);
    expect(first?.type).toBe('Warning');
    expect(first?.reason).toBe('ModelLoadFailed');
  });

  it('records nothing for a condition that stays Unknown', () => {
    const unknown: ConditionUpdate = {
      type: 'Degraded',
      status: 'Unknown',
      reason: Reason.Reconciling,
      message: 'The operator has not observed this yet.',
    };
    const [first, second] = events([
      [unknown, false],
      [{ ...unknown, reason: Reason.AwaitingProbe, message: 'No probe yet.' }, false],
    ]);
    expect(first).toBeUndefined();
    expect(second).toBeUndefined();
  });

  it('keeps lastTransitionTime when an Event records a reason change', () => {
    const conditions: Condition[] = [];
    setCondition(conditions, unavailable, 1, t0);
    expect(conditionEvent(findCondition(conditions, 'Available'), loadFailed, true)).toBeDefined();
    setCondition(conditions, loadFailed, 1, t1);
    expect(conditions[0]?.lastTransitionTime).toBe('2025-01-01T00:00:00Z');
  });
});
