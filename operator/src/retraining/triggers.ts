// Whether a retraining Job should start now, and why.
import { Cron } from 'croner';
import type { MetricName, MetricThreshold } from '../api/monitoring.ts';
import type { RetrainingSpec, RetrainingStatus } from '../api/retraining.ts';

/** Annotation whose new value requests a retraining run. */
export const RETRAIN_ANNOTATION = 'modelwarden.io/retrain';

export const TRIGGERS = ['Degradation', 'Schedule', 'Manual'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Settings of spec.retraining with durations in milliseconds. */
export interface RetrainingPolicy {
  enabled: boolean;
  onDegradation: boolean;
  /** Metrics allowed to trigger; derived from spec when triggers.metrics is unset. */
  allowedMetrics: readonly MetricName[];
  schedule: string | undefined;
  cooldownMs: number;
  backoffMs: number;
  maxAttempts: number;
}

/** Builds the policy from spec.retraining, applying the CRD defaults where fields are unset. */
export function retrainingPolicy(
  spec: RetrainingSpec | undefined,
  thresholds: readonly MetricThreshold[],
  parseDuration: (text: string) => number,
): RetrainingPolicy {
  const allowed =
    spec?.triggers?.metrics ??
    thresholds
      .filter((threshold) => threshold.triggersRetraining !== false)
      .map((threshold) => threshold.name);
  return {
    enabled: spec !== undefined && spec.enabled !== false,
    onDegradation: spec?.triggers?.onDegradation !== false,
    allowedMetrics: allowed,
    schedule: spec?.triggers?.schedule,
    cooldownMs: parseDuration(spec?.cooldown ?? '30m'),
    backoffMs: parseDuration(spec?.backoff ?? '5m'),
    maxAttempts: spec?.maxAttempts ?? 3,
  };
}

/** Everything the trigger decision reads. */
export interface TriggerInput {
  policy: RetrainingPolicy;
  status: RetrainingStatus | undefined;
  /** Metrics that count as degraded after the latest probe. */
  degradedMetrics: readonly MetricName[];
  /** Value of the modelwarden.io/retrain annotation, if set. */
  manualRequest: string | undefined;
  /** Start of the schedule when no tick was handled yet: the object's creation time. */
  createdAt: Date;
  /** True while a Job runs, a candidate waits for promotion or a promotion is being verified. */
  busy: boolean;
  now: Date;
}

export type TriggerDecision =
  | { start: true; trigger: Trigger; detail: string; scheduleTick?: Date }
  | {
      start: false;
      blockedBy?: 'Disabled' | 'Busy' | 'MaxAttempts' | 'Cooldown';
      until?: Date;
      detail: string;
    };

/**
 * Decides whether to start a Job. Order of precedence: disabled, busy, max attempts, a manual
 * request (which skips the cooldown but not a failure backoff), then degradation and schedule,
 * which both wait for status.retraining.nextAttemptAfter.
 */
export function decideTrigger(input: TriggerInput): TriggerDecision {
  const { policy, status, now } = input;
  if (!policy.enabled)
    return { start: false, blockedBy: 'Disabled', detail: 'retraining is disabled' };
  if (input.busy)
    return { start: false, blockedBy: 'Busy', detail: 'a retraining run is in progress' };
  const attempts = status?.attempts ?? 0;
  if (attempts >= policy.maxAttempts) {
    return {
      start: false,
      blockedBy: 'MaxAttempts',
      detail: `${attempts} consecutive Jobs failed (maxAttempts ${policy.maxAttempts}); change the spec to try again`,
    };
  }

  const nextAllowed = status?.nextAttemptAfter ? new Date(status.nextAttemptAfter) : undefined;
  const waiting = nextAllowed !== undefined && nextAllowed.getTime() > now.getTime();
  const backingOff = waiting && attempts > 0;

  if (
    input.manualRequest !== undefined &&
    input.manualRequest !== status?.lastManualRequest &&
    !backingOff
  ) {
    return {
      start: true,
      trigger: 'Manual',
      detail: `annotation ${RETRAIN_ANNOTATION}=${input.manualRequest}`,
    };
  }

  const degraded = policy.onDegradation
    ? input.degradedMetrics.filter((metric) => policy.allowedMetrics.includes(metric))
    : [];
  const tick = policy.schedule
    ? dueScheduleTick(policy.schedule, status, input.createdAt, now)
    : undefined;
  if (degraded.length === 0 && tick === undefined) return { start: false, detail: 'no trigger' };
  if (waiting) {
    return {
      start: false,
      blockedBy: 'Cooldown',
      until: nextAllowed,
      detail: `${backingOff ? 'backing off' : 'cooling down'} until ${nextAllowed.toISOString()}`,
    };
  }
  if (degraded.length > 0) {
    return {
      start: true,
      trigger: 'Degradation',
      detail: `sustained degradation of ${degraded.join(', ')}`,
    };
  }
  return {
    start: true,
    trigger: 'Schedule',
    detail: `schedule "${policy.schedule}"`,
    scheduleTick: tick,
  };
}

/**
 * Returns the latest cron tick in (last handled tick or createdAt, now], if any. Ticks missed
 * while the operator was down collapse into one run.
 */
export function dueScheduleTick(
  schedule: string,
  status: RetrainingStatus | undefined,
  createdAt: Date,
  now: Date,
): Date | undefined {
  const since = status?.lastScheduleTime ? new Date(status.lastScheduleTime) : createdAt;
  const cron = new Cron(schedule, { timezone: 'UTC', paused: true });
  // previousRuns returns ticks strictly before its reference, truncated to whole seconds, so
  // one second more includes a tick at `now`.
  const [latest] = cron.previousRuns(1, new Date(now.getTime() + 1000));
  if (!latest || latest.getTime() > now.getTime()) return undefined;
  return latest.getTime() > since.getTime() ? latest : undefined;
}

/** Next cron tick after `now`, for the requeue delay. */
export function nextScheduleTick(schedule: string, now: Date): Date | undefined {
  return new Cron(schedule, { timezone: 'UTC', paused: true }).nextRun(now) ?? undefined;
}

/** Earliest start of the next Job after a failure: the backoff doubled per further failure. */
export function backoffUntil(policy: RetrainingPolicy, attempts: number, now: Date): Date {
  const factor = 2 ** Math.max(0, attempts - 1);
  return new Date(now.getTime() + policy.backoffMs * factor);
}
