// Probe step: scrapes the serving pods' metrics every spec.monitoring.interval. This minimal
// version does nothing; probing lives in operator/src/probing/ and plugs in here.
import type { ReconcileStep } from '../context.ts';

export const probe: ReconcileStep = {
  name: 'probe',
  async run() {
    // Intentionally empty until probing is wired in.
  },
};
