// Evaluate step: turns probe readings into metric states and the Degraded condition. This
// minimal version only reports whether monitoring is configured.
import { findCondition } from '../conditions.ts';
import { updateCondition, type ReconcileStep } from '../context.ts';
import { Reason } from '../reasons.ts';

export const evaluate: ReconcileStep = {
  name: 'evaluate',
  async run(context) {
    if (!context.resource.spec.monitoring) {
      updateCondition(context, {
        type: 'Degraded',
        status: 'False',
        reason: Reason.MonitoringDisabled,
        message: 'spec.monitoring is not set.',
      });
      return;
    }
    if (findCondition(context.status.conditions, 'Degraded')?.reason === Reason.Reconciling) {
      updateCondition(context, {
        type: 'Degraded',
        status: 'Unknown',
        reason: Reason.AwaitingProbe,
        message: 'No probe has completed yet.',
      });
    }
  },
};
