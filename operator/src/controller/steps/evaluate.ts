// Evaluate step: folds this reconcile's probe into the metric statuses and the Degraded
// condition; the work is in operator/src/evaluation/run.ts.
import type { ReconcileStep } from '../context.ts';
import { runEvaluate } from '../../evaluation/run.ts';

export const evaluate: ReconcileStep = {
  name: 'evaluate',
  run: runEvaluate,
};
