// Probe step: scrapes the serving pods (or queries Prometheus) once per
// spec.monitoring.interval; the work is in operator/src/probing/run.ts.
import type { ReconcileStep } from '../context.ts';
import { runProbe } from '../../probing/run.ts';

export const probe: ReconcileStep = {
  name: 'probe',
  run: runProbe,
};
