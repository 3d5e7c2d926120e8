import { describe, expect, it } from 'vitest';
import type { RetrainingStatus } from '../api/retraining.ts';
import {
  backoffUntil,
  decideTrigger,
  dueScheduleTick,
  retrainingPolicy,
  type RetrainingPolicy,
  type TriggerInput,
} from './triggers.ts';

const now = new Date('2025-01-01T12:00:00Z');
const parseDuration = (text: string): number =>
  ({ '1m': 60_000, '10m': 600_000 })[text] ?? Number.NaN;
const minutes = (n: number): Date => new Date(now.getTime() + n * 60_000);
const policy: RetrainingPolicy = {
  enabled: true,
  onDegradation: true,
  allowedMetrics: ['mae', 'drift'],
  schedule: undefined,
  cooldownMs: 30 * 60_000,
  backoffMs: 5 * 60_000,
  maxAttempts: 3,
};
const input = (overrides: Partial<TriggerInput>): TriggerInput => ({
  policy,
  status: undefined,
  degradedMetrics: [],
  manualRequest: undefined,
  createdAt: minutes(-600),
  busy: false,
  now,
  ...overrides,
});
const failedTwice: RetrainingStatus = { attempts: 2, nextAttemptAfter: minutes(5).toISOString() };
const cooling: RetrainingStatus = { attempts: 0, nextAttemptAfter: minutes(5).toISOString() };

describe('decideTrigger', () => {
  it.each<[string, Partial<TriggerInput>, string]>([
    ['nothing degraded', {}, 'none'],
    ['degraded mae', { degradedMetrics: ['mae'] }, 'Degradation'],
    ['degraded latency only', { degradedMetrics: ['latencyP99'] }, 'none'],
    [
      'degradation trigger off',
      { degradedMetrics: ['mae'], policy: { ...policy, onDegradation: false } },
      'none',
    ],
    ['disabled', { degradedMetrics: ['mae'], policy: { ...policy, enabled: false } }, 'Disabled'],
    ['Job running', { degradedMetrics: ['mae'], busy: true }, 'Busy'],
    ['cooldown', { degradedMetrics: ['mae'], status: cooling }, 'Cooldown'],
    [
      'cooldown over',
      {
        degradedMetrics: ['mae'],
        status: { attempts: 0, nextAttemptAfter: minutes(-1).toISOString() },
      },
      'Degradation',
    ],
    ['max attempts', { degradedMetrics: ['mae'], status: { attempts: 3 } }, 'MaxAttempts'],
    ['new manual request', { manualRequest: 'now' }, 'Manual'],
    [
      'handled manual request',
      { manualRequest: 'now', status: { attempts: 0, lastManualRequest: 'now' } },
      'none',
    ],
    ['manual request in cooldown', { manualRequest: 'again', status: cooling }, 'Manual'],
    ['manual request in backoff', { manualRequest: 'again', status: failedTwice }, 'none'],
    ['manual request while busy', { manualRequest: 'again', busy: true }, 'Busy'],
    ['schedule due', { policy: { ...policy, schedule: '0 * * * *' } }, 'Schedule'],
    [
      'schedule tick handled',
      {
        policy: { ...policy, schedule: '0 * * * *' },
        status: { attempts: 0, lastScheduleTime: now.toISOString() },
      },
      'none',
    ],
  ])('%s gives %s', (_name, overrides, expected) => {
    const decision = decideTrigger(input(overrides));
    const outcome = decision.start ? decision.trigger : (decision.blockedBy ?? 'none');
    expect(outcome).toBe(expected);
  });

  it('names the degraded metrics', () => {
    const decision = decideTrigger(input({ degradedMetrics: ['mae', 'drift', 'errorRate'] }));
    expect(decision).toMatchObject({ start: true, detail: 'sustained degradation of mae, drift' });
  });

  it('tells when the cooldown ends', () => {
    const decision = decideTrigger(input({ degradedMetrics: ['mae'], status: cooling }));
    expect(decision).toMatchObject({ start: false, until: minutes(5) });
  });
});

describe('dueScheduleTick', () => {
  it('returns the latest tick since the last one handled', () => {
    const status = { attempts: 0, lastScheduleTime: minutes(-180).toISOString() };
    expect(dueScheduleTick('0 * * * *', status, minutes(-600), now)).toEqual(now);
    expect(dueScheduleTick('30 * * * *', status, minutes(-600), now)).toEqual(minutes(-30));
  });

  it('counts from creation without a handled tick', () => {
    expect(dueScheduleTick('0 0 * * *', undefined, minutes(-60), now)).toBeUndefined();
    expect(dueScheduleTick('0 0 * * *', undefined, minutes(-60 * 13), now)).toEqual(
      minutes(-60 * 12),
    );
  });
});

describe('retrainingPolicy', () => {
  it('allows the metrics that trigger retraining', () => {
    const result = retrainingPolicy(
      { enabled: true, cooldown: '10m', backoff: '1m', maxAttempts: 2, timeout: '1h' },
      [
        { name: 'mae', max: 3, triggersRetraining: true },
        { name: 'latencyP99', max: 0.1, triggersRetraining: false },
      ],
      parseDuration,
    );
    expect(result).toEqual({
      enabled: true,
      onDegradation: true,
      allowedMetrics: ['mae'],
      schedule: undefined,
      cooldownMs: 600_000,
      backoffMs: 60_000,
      maxAttempts: 2,
    });
  });

  it('prefers triggers.metrics', () => {
    const result = retrainingPolicy(
      {
        enabled: true,
        cooldown: '10m',
        backoff: '1m',
        timeout: '1h',
        maxAttempts: 2,
        triggers: { onDegradation: true, metrics: ['drift'] },
      },
      [{ name: 'mae', max: 3, triggersRetraining: true }],
      parseDuration,
    );
    expect(result.allowedMetrics).toEqual(['drift']);
  });
});

describe('backoffUntil', () => {
  it.each([
    [1, 5],
    [2, 10],
    [3, 20],
  ])('after %d failures waits %d minutes', (attempts, wait) => {
    expect(backoffUntil(policy, attempts, now)).toEqual(minutes(wait));
  });
});
