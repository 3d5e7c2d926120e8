// Promotion of retrained models, verification after promotion, and the model lineage.
import type { MetricThreshold } from '../api/monitoring.ts';
import type { ModelHistoryEntry } from '../api/retraining.ts';
import { HISTORY_LIMIT } from '../controller/history.ts';

/** Annotation naming the version a Manual promotion policy should roll out. */
export const PROMOTE_ANNOTATION = 'modelwarden.io/promote';

function capped(history: ModelHistoryEntry[]): ModelHistoryEntry[] {
  return history.slice(-HISTORY_LIMIT);
}

/** Records a trained, not yet promoted artifact as Pending. */
export function recordCandidate(
  history: readonly ModelHistoryEntry[],
  entry: Omit<ModelHistoryEntry, 'outcome'>,
): ModelHistoryEntry[] {
  const others = history.filter((item) => item.version !== entry.version);
  return capped([...others, { ...entry, outcome: 'Pending' }]);
}

/** Marks `version` Active and the entry it replaces Superseded. */
export function recordPromotion(
  history: readonly ModelHistoryEntry[],
  version: string,
  now: Date,
): ModelHistoryEntry[] {
  const at = now.toISOString();
  return history.map((entry) => {
    if (entry.version === version) return { ...entry, outcome: 'Active', promotedAt: at };
    if (entry.outcome === 'Active') return { ...entry, outcome: 'Superseded' };
    return entry;
  });
}

/** Marks `version` RolledBack and makes `previousVersion` Active again. */
export function recordRollback(
  history: readonly ModelHistoryEntry[],
  version: string,
  previousVersion: string | undefined,
  now: Date,
): ModelHistoryEntry[] {
  const at = now.toISOString();
  return history.map((entry) => {
    if (entry.version === version) return { ...entry, outcome: 'RolledBack', rolledBackAt: at };
    if (entry.version === previousVersion) return { ...entry, outcome: 'Active', promotedAt: at };
    return entry;
  });
}

/** Decision at the end of a verification window. */
export type VerificationVerdict =
  | { decision: 'Wait'; detail: string }
  | { decision: 'Keep'; detail: string }
  | { decision: 'RollBack'; detail: string };

export interface VerificationInput {
  startedAt: Date;
  windowMs: number;
  threshold: Pick<MetricThreshold, 'name' | 'min' | 'max'> | undefined;
  /** The triggering metric on the previous version, measured before promotion. */
  baseline: number | undefined;
  /** The same metric now, and the samples behind it. */
  current: { value: number | undefined; samples: number };
  minSamples: number;
  /** Allowed relative worsening before a rollback, e.g. 0.1 for 10 %. */
  maxRegression: number;
  now: Date;
}

/**
 * Judges a promoted version at the end of its verification window by comparing the triggering
 * metric with its value on the previous version. Worse means higher for metrics with a max and
 * lower for metrics with only a min, beyond maxRegression. Without enough samples the window is
 * extended, up to three windows in total, after which the version is kept.
 */
export function judgeVerification(input: VerificationInput): VerificationVerdict {
  const elapsed = input.now.getTime() - input.startedAt.getTime();
  if (elapsed < input.windowMs) {
    return {
      decision: 'Wait',
      detail: `verifying for ${Math.ceil((input.windowMs - elapsed) / 1000)}s more`,
    };
  }
  const { threshold, baseline, current } = input;
  if (!threshold || baseline === undefined)
    return { decision: 'Keep', detail: 'no baseline to compare with' };
  if (current.value === undefined || current.samples < input.minSamples) {
    if (elapsed < 3 * input.windowMs) {
      return {
        decision: 'Wait',
        detail: `${current.samples} of ${input.minSamples} samples of ${threshold.name}`,
      };
    }
    return { decision: 'Keep', detail: `too few samples of ${threshold.name} to compare; kept` };
  }
  const higherIsWorse = threshold.max !== undefined;
  const limit = higherIsWorse
    ? baseline * (1 + input.maxRegression)
    : baseline * (1 - input.maxRegression);
  const worse = higherIsWorse ? current.value > limit : current.value < limit;
  const comparison = `${threshold.name} ${round(current.value)} against ${round(baseline)} before`;
  return worse
    ? { decision: 'RollBack', detail: `${comparison}: worse` }
    : { decision: 'Keep', detail: comparison };
}

function round(value: number): string {
  return Number(value.toPrecision(3)).toString();
}
