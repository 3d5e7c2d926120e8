// Retrain step: follows, starts and promotes retraining Jobs; the work is in
// operator/src/retraining/run.ts.
import type { ReconcileStep } from '../context.ts';
import { runRetrain } from '../../retraining/run.ts';

export const retrain: ReconcileStep = {
  name: 'retrain',
  run: runRetrain,
};
