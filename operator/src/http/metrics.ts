// The operator's Prometheus metrics, all in one registry that other parts of the operator add
// their own metrics to (pass `registers: [metrics.registry]`).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReconcileResult = 'success' | 'requeue' | 'error' | 'terminal' | 'conflict';

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: 'modelwarden_operator_reconcile_total',
    help: 'Reconciles by result: success, requeue, error, terminal or conflict.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly reconcileDuration = new Histogram({
    name: 'modelwarden_operator_reconcile_duration_seconds',
    help: 'Time one reconcile of a ModelDeployment took.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'modelwarden_operator_queue_depth',
    help: 'Keys waiting in the work queue.',
    registers: [this.registry],
  });

  readonly watchRestarts = new Counter({
    name: 'modelwarden_operator_watch_restarts_total',
    help: 'Watch restarts by resource and cause (error or expired resourceVersion).',
    labelNames: ['resource', 'cause'] as const,
    registers: [this.registry],
  });

  readonly probeTotal = new Counter({
    name: 'modelwarden_operator_probe_total',
    help: 'Probes of serving pods by outcome, a reason such as Success or ScrapeFailed.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly eventsTotal = new Counter({
    name: 'modelwarden_operator_events_total',
    help: 'Kubernetes Events by type and reason, and whether they were sent, merged or dropped.',
    labelNames: ['type', 'reason', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'modelwarden_operator_leader',
    help: '1 while this process holds the leader Lease, 0 otherwise.',
    registers: [this.registry],
  });

  readonly statusWrites = new Counter({
    name: 'modelwarden_operator_status_writes_total',
    help: 'ModelDeployment status writes by outcome: written, unchanged or conflict.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'modelwarden_operator_' });
  }
}
