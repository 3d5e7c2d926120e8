// The evaluate step's work: fold this reconcile's probe into status, set Degraded, and report
// transitions as Events, operator metrics and webhook calls.
import type { Condition } from '../api/model-deployment.ts';
import type { MetricName, MonitoringSpec } from '../api/monitoring.ts';
import { findCondition } from '../controller/conditions.ts';
import { updateCondition, type ReconcileContext } from '../controller/context.ts';
import { Reason } from '../controller/reasons.ts';
import { parseDuration } from '../util/duration.ts';
import { probeOf } from '../probing/run.ts';
import {
  DegradedReason,
  evaluate,
  type DegradedVerdict,
  type EvaluationPolicy,
  type Transition,
} from './evaluate.ts';
import { formatSummary } from './format.ts';
import { healthMetrics } from './health-metrics.ts';
import { notifyWebhook } from './webhook.ts';

/** Builds the evaluation policy from spec.monitoring, applying the CRD defaults. */
export function evaluationPolicy(monitoring: MonitoringSpec): EvaluationPolicy {
  return {
    failureThreshold: monitoring.failureThreshold ?? 3,
    successThreshold: monitoring.successThreshold ?? 2,
    ...(monitoring.for ? { forMs: parseDuration(monitoring.for) } : {}),
    maxProbeErrors: monitoring.maxProbeErrors ?? 3,
    minSamples: monitoring.minSamples ?? 20,
  };
}

const WEBHOOK_TIMEOUT_MS = 5_000;
const DEGRADED_REASONS: readonly string[] = Object.values(DegradedReason);

/** Reads back a Degraded condition that evaluation wrote; other reasons start afresh. */
function verdictOf(condition: Condition | undefined): DegradedVerdict | undefined {
  if (!condition || !DEGRADED_REASONS.includes(condition.reason)) return undefined;
  return {
    status: condition.status,
    reason: condition.reason as DegradedReason,
    message: condition.message,
  };
}

function setAwaiting(context: ReconcileContext): void {
  const degraded = findCondition(context.status.conditions, 'Degraded');
  if (
    degraded &&
    degraded.reason !== Reason.Reconciling &&
    degraded.reason !== Reason.MonitoringDisabled
  )
    return;
  updateCondition(context, {
    type: 'Degraded',
    status: 'Unknown',
    reason: Reason.AwaitingProbe,
    message: 'No probe has completed yet.',
  });
}

/** Evaluates the probe of this reconcile, if there was one. */
export async function runEvaluate(context: ReconcileContext): Promise<void> {
  const monitoring = context.resource.spec.monitoring;
  if (!monitoring) {
    delete context.status.metrics;
    delete context.status.probe;
    updateCondition(context, {
      type: 'Degraded',
      status: 'False',
      reason: Reason.MonitoringDisabled,
      message: 'spec.monitoring is not set.',
    });
    return;
  }
  const run = probeOf(context);
  if (!run) {
    setAwaiting(context);
    return;
  }

  const { status } = context;
  const previousVerdict = verdictOf(findCondition(status.conditions, 'Degraded'));
  const result = evaluate(
    monitoring.metrics,
    evaluationPolicy(monitoring),
    { metrics: status.metrics ?? [], probe: status.probe, degraded: previousVerdict },
    run.input,
    context.now,
  );

  status.metrics = result.metrics;
  status.probe = result.probe;
  if ('values' in run.input)
    status.summary = { ...status.summary, ...formatSummary(run.input.values) };
  updateCondition(
    context,
    { type: 'Degraded', ...result.degraded },
    result.degraded.status !== 'False',
  );
  degradedMetricsOf.set(context, result.degradedMetrics);

  const namespace = context.resource.metadata.namespace ?? '';
  const name = context.resource.metadata.name ?? '';
  healthMetrics(context.metrics.registry).observe(
    namespace,
    name,
    result.metrics,
    result.degraded.status,
    result.probe.consecutiveErrors,
  );
  reportTransitions(context, result.transitions);
  if (monitoring.webhook && result.transitions.length > 0) {
    await notifyWebhook(
      monitoring.webhook.url,
      {
        apiVersion: 'modelwarden.io/v1alpha1',
        kind: 'ModelDeploymentTransition',
        namespace,
        name,
        time: context.now.toISOString(),
        degraded: result.degraded.status,
        transitions: result.transitions,
      },
      WEBHOOK_TIMEOUT_MS,
      context.log,
    );
  }
}

const degradedMetricsOf = new WeakMap<ReconcileContext, readonly MetricName[]>();

/**
 * Returns the metrics that count as degraded: from this reconcile's evaluation, or from the
 * stored metric statuses when this reconcile did not probe.
 */
export function degradedMetrics(context: ReconcileContext): readonly MetricName[] {
  return (
    degradedMetricsOf.get(context) ??
    (context.status.metrics ?? [])
      .filter((metric) => metric.degraded === true)
      .map((metric) => metric.name)
  );
}

/** Queues an Event per metric state change and logs every transition. Degraded flips get their Event from updateCondition. */
function reportTransitions(context: ReconcileContext, transitions: readonly Transition[]): void {
  for (const transition of transitions) {
    context.log.info(
      {
        subject: transition.subject,
        from: transition.from,
        to: transition.to,
        reason: transition.reason,
      },
      'health transition',
    );
    // Changes from or to Unknown (too few samples) are logged and sent to the webhook but get
    // no Event, so that quiet windows do not use up the Event budget of the object.
    if (
      transition.subject === 'Degraded' ||
      transition.from === 'Unknown' ||
      transition.to === 'Unknown'
    ) {
      continue;
    }
    const reason = transition.to === 'Breached' ? Reason.MetricBreached : Reason.MetricHealthy;
    context.pendingEvents.push({
      type: transition.to === 'Breached' ? 'Warning' : 'Normal',
      reason,
      action: 'Probe',
      note: transition.message,
    });
  }
}
