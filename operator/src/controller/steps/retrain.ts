// Retrain step: starts, watches and promotes retraining Jobs. This minimal version only
// reports whether retraining is enabled.
import { findCondition } from '../conditions.ts';
import { updateCondition, type ReconcileStep } from '../context.ts';
import { Reason } from '../reasons.ts';

export const retrain: ReconcileStep = {
  name: 'retrain',
  async run(context) {
    const retraining = context.resource.spec.retraining;
    if (!retraining?.enabled) {
      updateCondition(context, {
        type: 'Retraining',
        status: 'False',
        reason: Reason.RetrainingDisabled,
        message: 'spec.retraining is not set or not enabled.',
      });
      return;
    }
    if (findCondition(context.status.conditions, 'Retraining')?.reason === Reason.Reconciling) {
      updateCondition(context, {
        type: 'Retraining',
        status: 'False',
        reason: Reason.RetrainingIdle,
        message: 'No retraining Job is running.',
      });
    }
  },
};
