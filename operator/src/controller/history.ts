// Model lineage in status.history: one entry per model version that served, newest last.
import type { ModelDeploymentStatus } from '../api/model-deployment.ts';
import type { ModelHistoryEntry } from '../api/retraining.ts';
import { toKubeTime } from '../util/clock.ts';
import type { ServedModel } from './children/model.ts';

/** Entries kept; older ones are dropped first. */
export const HISTORY_LIMIT = 20;

/**
 * Records that `model` now serves: the previous Active entry becomes Superseded and a new Active
 * entry is appended, unless the Active entry already has this URI. Returns whether it changed.
 */
export function recordServedModel(
  status: ModelDeploymentStatus,
  model: ServedModel,
  reason: string,
  now: Date,
): boolean {
  const history = (status.history ??= []);
  const active = history.findLast((entry) => entry.outcome === 'Active');
  if (active?.uri === model.uri && active.version === model.version) return false;
  if (active) active.outcome = 'Superseded';
  const entry: ModelHistoryEntry = {
    version: model.version ?? 'unversioned',
    uri: model.uri,
    reason,
    promotedAt: toKubeTime(now),
    outcome: 'Active',
  };
  if (model.sha256) entry.sha256 = model.sha256;
  history.push(entry);
  if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
  return true;
}
