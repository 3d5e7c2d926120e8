import { describe, expect, it } from 'vitest';
import type { ModelHistoryEntry } from '../api/retraining.ts';
import {
  judgeVerification,
  recordCandidate,
  recordPromotion,
  recordRollback,
  type VerificationInput,
} from './promotion.ts';

const now = new Date('2025-01-01T12:00:00Z');
const seconds = (n: number): Date => new Date(now.getTime() + n * 1000);

describe('lineage', () => {
  const seeded: ModelHistoryEntry[] = [
    { version: 'v1', uri: 'pvc://m/v1', reason: 'Spec', outcome: 'Active' },
  ];
  const candidate = recordCandidate(seeded, {
    version: 'retrain-1',
    uri: 'pvc://m/retrain-1',
    reason: 'Degradation',
    jobName: 'cars-retrain-1',
  });
  const outcomes = (history: ModelHistoryEntry[]): string[] =>
    history.map((entry) => `${entry.version}:${entry.outcome}`);

  it('records a candidate as Pending', () => {
    expect(outcomes(candidate)).toEqual(['v1:Active', 'retrain-1:Pending']);
  });

  it('supersedes the active version on promotion', () => {
    const promoted = recordPromotion(candidate, 'retrain-1', now);
    expect(outcomes(promoted)).toEqual(['v1:Superseded', 'retrain-1:Active']);
    expect(promoted[1]?.promotedAt).toBe(now.toISOString());
  });

  it('reactivates the previous version on rollback', () => {
    const rolledBack = recordRollback(
      recordPromotion(candidate, 'retrain-1', now),
      'retrain-1',
      'v1',
      seconds(60),
    );
    expect(outcomes(rolledBack)).toEqual(['v1:Active', 'retrain-1:RolledBack']);
    expect(rolledBack[1]?.rolledBackAt).toBe(seconds(60).toISOString());
  });
});

describe('judgeVerification', () => {
  const base: VerificationInput = {
    startedAt: now,
    windowMs: 60_000,
    threshold: { name: 'mae', max: 3 },
    baseline: 5,
    current: { value: 2, samples: 100 },
    minSamples: 20,
    maxRegression: 0,
    now: seconds(61),
  };

  it.each<[string, Partial<VerificationInput>, string]>([
    ['better', {}, 'Keep'],
    ['inside the window', { now: seconds(30) }, 'Wait'],
    ['worse', { current: { value: 6, samples: 100 } }, 'RollBack'],
    [
      'worse within maxRegression',
      { current: { value: 5.4, samples: 100 }, maxRegression: 0.1 },
      'Keep',
    ],
    [
      'worse beyond maxRegression',
      { current: { value: 5.6, samples: 100 }, maxRegression: 0.1 },
      'RollBack',
    ],
    [
      'min metric lower',
      {
        threshold: { name: 'requestRate', min: 1 },
        baseline: 10,
        current: { value: 5, samples: 100 },
      },
      'RollBack',
    ],
    ['too few samples', { current: { value: 9, samples: 3 } }, 'Wait'],
    [
      'too few samples for three windows',
      { current: { value: 9, samples: 3 }, now: seconds(181) },
      'Keep',
    ],
    ['no baseline', { baseline: undefined }, 'Keep'],
  ])('%s: %s', (_name, overrides, expected) => {
    expect(judgeVerification({ ...base, ...overrides }).decision).toBe(expected);
  });
});
