// Condition bookkeeping in the metav1.Condition shape. lastTransitionTime moves only when the
// status flips, so a changed reason or message alone does not look like a transition.
import type { Condition, ConditionStatus } from '../api/model-deployment.ts';
import { toKubeTime } from '../util/clock.ts';
import type { EventSpec } from './events.ts';
import { Reason } from './reasons.ts';

export const ConditionType = {
  Available: 'Available',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  Retraining: 'Retraining',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const CONDITION_TYPES: readonly ConditionType[] = Object.values(ConditionType);

export interface ConditionUpdate {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message: string;
}

/** Outcome of setCondition: `transitioned` when the status flipped or the condition is new. */
export interface ConditionChange {
  previous?: Condition;
  current: Condition;
  transitioned: boolean;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/** Sets a condition in place, keeping lastTransitionTime unless the status flips. */
export function setCondition(
  conditions: Condition[],
  update: ConditionUpdate,
  observedGeneration: number | undefined,
  now: Date,
): ConditionChange {
  const index = conditions.findIndex((condition) => condition.type === update.type);
  const previous = index >= 0 ? conditions[index] : undefined;
  const transitioned = previous?.status !== update.status;
  const current: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime: transitioned || !previous ? toKubeTime(now) : previous.lastTransitionTime,
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  if (index >= 0) conditions[index] = current;
  else conditions.push(current);
  return { previous, current, transitioned };
}

/** Adds every missing condition type as Unknown, the state before the first observation. */
export function initializeConditions(
  conditions: Condition[],
  observedGeneration: number | undefined,
  now: Date,
  reason: Reason,
): void {
  for (const type of CONDITION_TYPES) {
    if (!findCondition(conditions, type)) {
      setCondition(
        conditions,
        { type, status: 'Unknown', reason, message: 'The operator has not observed this yet.' },
        observedGeneration,
        now,
      );
    }
  }
}

export function isTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Conditions whose reason change alone records an Event. Degraded and Retraining are left out
 * because the evaluate and retrain steps record their own Events for each of their reasons.
 */
const REASON_EVENT_TYPES: ReadonlySet<ConditionType> = new Set([
  ConditionType.Available,
  ConditionType.Progressing,
]);

/**
 * Returns the Event to record when a condition goes from `previous` to `update`, if any. A status
 * flip records one, and so does a reason change of Available or Progressing, so a pod failure
 * that keeps the status (for example MinimumReplicasUnavailable becoming ModelLoadFailed) is not
 * hidden. A condition's first known status records one only when it is a Warning, and a
 * condition that stays Unknown from its first visit records none. Rate limiting is the
 * EventRecorder's job.
 */
export function conditionEvent(
  previous: Condition | undefined,
  update: ConditionUpdate,
  warning: boolean,
): EventSpec | undefined {
  const first = previous === undefined || previous.status === 'Unknown';
  if (first && update.status === 'Unknown') return undefined;
  // A new ModelDeployment would otherwise record one Event per condition: four POSTs that repeat
  // what its status already says, before anything has happened to it.
  const initial = previous === undefined || previous.reason === Reason.Reconciling;
  if (initial && !warning) return undefined;
  if (previous?.status === update.status) {
    if (previous.reason === update.reason || !REASON_EVENT_TYPES.has(update.type)) return undefined;
  }
  return {
    type: warning ? 'Warning' : 'Normal',
    reason: update.reason,
    action: update.type,
    note: `${update.type} is ${update.status}: ${update.message}`,
  };
}
