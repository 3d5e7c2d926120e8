// The one-word health summary shown in the Health printer column.
import type { Condition, Health } from '../api/model-deployment.ts';
import { findCondition } from './conditions.ts';
import { Reason } from './reasons.ts';

/** Summarises the conditions, worst first: Degraded, Unavailable, Progressing, Unknown, Healthy. */
export function summarizeHealth(conditions: readonly Condition[] | undefined): Health {
  const available = findCondition(conditions, 'Available');
  const progressing = findCondition(conditions, 'Progressing');
  const degraded = findCondition(conditions, 'Degraded');
  const rollingOut =
    progressing?.status === 'True' && progressing.reason === Reason.RolloutInProgress;

  if (degraded?.status === 'True') return 'Degraded';
  if (available?.status === 'False') return rollingOut ? 'Progressing' : 'Unavailable';
  if (available?.status !== 'True') return 'Unknown';
  if (progressing?.status === 'True') return 'Progressing';
  if (degraded?.status === 'False') return 'Healthy';
  return 'Unknown';
}
