// The retrain step's work: follow the running Job, promote or verify its model, and start a new
// Job when a trigger fires. Every decision reads status, so a restarted operator resumes it.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { Annotation } from '../api/labels.ts';
import type { MetricThreshold } from '../api/monitoring.ts';
import { DEFAULT_JOB_TIMEOUT, type RetrainingStatus } from '../api/retraining.ts';
import { findCondition } from '../controller/conditions.ts';
import { requeueAfter, updateCondition, type ReconcileContext } from '../controller/context.ts';
import { Reason } from '../controller/reasons.ts';
import { errorMessage, isConflict, isNotFound } from '../errors.ts';
import { evaluationPolicy, degradedMetrics } from '../evaluation/run.ts';
import { healthMetrics } from '../evaluation/health-metrics.ts';
import { RESOURCES, resourcePath } from '../kube/client.ts';
import { resetProbeWindow } from '../probing/run.ts';
import { toKubeTime } from '../util/clock.ts';
import { parseDuration } from '../util/duration.ts';
import {
  ATTEMPT_LABEL,
  buildRetrainingJob,
  jobOutcome,
  outputLocation,
  retrainedVersion,
  retrainingJobName,
  servingUri,
  type JobOutcome,
} from './job.ts';
import {
  judgeVerification,
  recordCandidate,
  recordPromotion,
  recordRollback,
} from './promotion.ts';
import {
  backoffUntil,
  decideTrigger,
  nextScheduleTick,
  retrainingPolicy,
  type Trigger,
} from './triggers.ts';

/** Maximum wait between two reconciles while a Job runs; Job watch events usually come first. */
const JOB_POLL_MS = 10_000;
/** Maximum requeue delay for a schedule, so that a changed schedule takes effect within it. */
const SCHEDULE_POLL_MS = 15 * 60_000;
/** Job failure reasons of batch/v1 that the Retraining condition takes over as they are. */
const JOB_FAILURE_REASONS: Record<string, Reason> = {
  BackoffLimitExceeded: Reason.BackoffLimitExceeded,
  DeadlineExceeded: Reason.DeadlineExceeded,
};

function names(context: ReconcileContext): { namespace: string; name: string } {
  return {
    namespace: context.resource.metadata.namespace ?? '',
    name: context.resource.metadata.name ?? '',
  };
}

function retrainingStatus(context: ReconcileContext): RetrainingStatus {
  context.status.retraining ??= { attempts: 0 };
  return context.status.retraining;
}

/** Runs the retrain step. */
export async function runRetrain(context: ReconcileContext): Promise<void> {
  const spec = context.resource.spec.retraining;
  if (!spec?.enabled) {
    updateCondition(context, {
      type: 'Retraining',
      status: 'False',
      reason: Reason.RetrainingDisabled,
      message: 'spec.retraining is not set or not enabled.',
    });
    return;
  }
  const status = retrainingStatus(context);
  // A changed spec is a new chance: failures counted against the old spec no longer block.
  if (
    context.status.observedGeneration !== context.resource.metadata.generation &&
    status.attempts > 0
  ) {
    status.attempts = 0;
    delete status.nextAttemptAfter;
  }
  if (findCondition(context.status.conditions, 'Retraining')?.reason === Reason.Reconciling) {
    setIdle(context, 'No retraining Job is running.');
  }

  if (
    findCondition(context.status.conditions, 'Retraining')?.reason === Reason.RetrainingJobRunning
  ) {
    await followJob(context);
  }
  if (status.candidate) await promoteCandidate(context);
  if (status.verification) await verifyPromotion(context);
  await maybeStartJob(context);
}

function setIdle(
  context: ReconcileContext,
  message: string,
  reason: Reason = Reason.RetrainingIdle,
): void {
  updateCondition(context, { type: 'Retraining', status: 'False', reason, message });
}

async function followJob(context: ReconcileContext): Promise<void> {
  const status = retrainingStatus(context);
  const jobName = status.lastJobName;
  if (!jobName) return;
  const { namespace } = names(context);
  const job = await readJob(context, jobName);
  if (!job) {
    failAttempt(context, Reason.RetrainingJobFailed, `Job ${jobName} no longer exists`);
    return;
  }
  const outcome: JobOutcome = jobOutcome(job, await jobPods(context, namespace, jobName));
  if (outcome.state === 'Running') {
    requeueAfter(context, JOB_POLL_MS);
    return;
  }
  const health = healthMetrics(context.metrics.registry);
  if (outcome.state === 'Failed') {
    health.retrainingJobs.inc({ ...names(context), outcome: 'failed' });
    failAttempt(
      context,
      JOB_FAILURE_REASONS[outcome.reason] ?? Reason.RetrainingJobFailed,
      `Job ${jobName} failed: ${outcome.reason}: ${outcome.message}`,
    );
    return;
  }

  health.retrainingJobs.inc({ ...names(context), outcome: 'succeeded' });
  const attempt = Number(job.metadata?.labels?.[ATTEMPT_LABEL] ?? status.totalJobs ?? 0);
  const version = retrainedVersion(attempt);
  const output = context.resource.spec.retraining?.output;
  const reported = outcome.artifactUri;
  const uri = output
    ? reported
      ? servingUri(reported, output)
      : outputLocation(output, version).uri
    : reported;
  if (!uri) {
    failAttempt(
      context,
      Reason.RetrainingJobFailed,
      `Job ${jobName} succeeded but reported no artifact URI in its termination message`,
    );
    return;
  }
  const trainedAt = toKubeTime(outcome.completedAt ?? context.now);
  status.attempts = 0;
  status.lastSuccessTime = trainedAt;
  status.candidate = { uri, version };
  context.status.history = recordCandidate(context.status.history ?? [], {
    version,
    uri,
    reason: status.lastTrigger ?? 'Manual',
    jobName,
    trainedAt,
  });
  setIdle(context, `Job ${jobName} trained ${version} at ${uri}.`, Reason.RetrainingSucceeded);
}

async function readJob(context: ReconcileContext, jobName: string): Promise<V1Job | undefined> {
  const { namespace, name } = names(context);
  const cached = context.cache.jobs(namespace, name).find((job) => job.metadata?.name === jobName);
  if (cached) return cached;
  try {
    return await context.kube.get<V1Job>(resourcePath(RESOURCES.jobs, namespace, jobName));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function jobPods(
  context: ReconcileContext,
  namespace: string,
  jobName: string,
): Promise<V1Pod[]> {
  const list = await context.kube.list<V1Pod>(resourcePath(RESOURCES.pods, namespace), {
    labelSelector: `job-name=${jobName}`,
  });
  return list.items;
}

function failAttempt(context: ReconcileContext, reason: Reason, message: string): void {
  const status = retrainingStatus(context);
  const policy = policyOf(context);
  status.attempts += 1;
  status.nextAttemptAfter = toKubeTime(backoffUntil(policy, status.attempts, context.now));
  const exhausted = status.attempts >= policy.maxAttempts;
  const detail = exhausted
    ? `${message}. ${status.attempts} consecutive failures reached maxAttempts; change the spec to retry.`
    : `${message}. Next attempt after ${status.nextAttemptAfter}.`;
  updateCondition(context, { type: 'Retraining', status: 'False', reason, message: detail }, true);
  context.log.warn({ reason, attempts: status.attempts }, 'retraining attempt failed');
}

function policyOf(context: ReconcileContext) {
  return retrainingPolicy(
    context.resource.spec.retraining,
    context.resource.spec.monitoring?.metrics ?? [],
    parseDuration,
  );
}

/** Picks the metric a promotion is judged on: the first degraded allowed metric, else the first allowed one. */
function verificationMetric(context: ReconcileContext): MetricThreshold | undefined {
  const thresholds = context.resource.spec.monitoring?.metrics ?? [];
  const allowed = policyOf(context).allowedMetrics;
  const degraded = degradedMetrics(context);
  return (
    thresholds.find(
      (threshold) => allowed.includes(threshold.name) && degraded.includes(threshold.name),
    ) ?? thresholds.find((threshold) => allowed.includes(threshold.name))
  );
}

async function promoteCandidate(context: ReconcileContext): Promise<void> {
  const status = retrainingStatus(context);
  const candidate = status.candidate;
  if (!candidate) return;
  const promotion = context.resource.spec.retraining?.promotion;
  const manual = promotion?.policy === 'Manual';
  if (manual && context.resource.metadata.annotations?.[Annotation.promote] !== candidate.version) {
    setIdle(
      context,
      `${candidate.version} awaits promotion: annotate ${Annotation.promote}=${candidate.version}.`,
      Reason.AwaitingPromotion,
    );
    return;
  }

  const previous = context.model ?? context.status.activeModel;
  const metric = verificationMetric(context);
  const baseline = metric
    ? context.status.metrics?.find((item) => item.name === metric.name)?.value
    : undefined;
  context.status.activeModel = {
    uri: candidate.uri,
    version: candidate.version,
    ...(candidate.sha256 ? { sha256: candidate.sha256 } : {}),
    source: 'Promotion',
    specUri: context.resource.spec.model.uri,
  };
  context.status.history = recordPromotion(
    context.status.history ?? [],
    candidate.version,
    context.now,
  );
  status.verification = {
    version: candidate.version,
    startedAt: toKubeTime(context.now),
    ...(metric ? { metric: metric.name } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    ...(previous?.uri ? { previousUri: previous.uri } : {}),
    ...(previous?.version ? { previousVersion: previous.version } : {}),
  };
  delete status.candidate;
  resetProbeWindow(context);
  healthMetrics(context.metrics.registry).promotions.inc({
    ...names(context),
    outcome: 'promoted',
  });
  const compared =
    metric && baseline !== undefined
      ? ` ${metric.name} was ${Number(baseline.toPrecision(3))} before.`
      : '';
  updateCondition(context, {
    type: 'Retraining',
    status: 'False',
    reason: Reason.ModelPromoted,
    message: `Promoted ${candidate.version} (${manual ? 'Manual' : 'Auto'}) and verifying it.${compared}`,
  });
  context.pendingEvents.push({
    type: 'Normal',
    reason: Reason.ModelPromoted,
    action: 'Promote',
    note: `Promoted ${candidate.version} from ${candidate.uri}, replacing ${previous?.version ?? previous?.uri ?? 'the spec model'}.`,
  });
  // The Deployment is rolled by ensure-children, which reads status.activeModel next reconcile.
  requeueAfter(context, 0);
}

async function verifyPromotion(context: ReconcileContext): Promise<void> {
  const status = retrainingStatus(context);
  const verification = status.verification;
  if (!verification) return;
  const promotion = context.resource.spec.retraining?.promotion;
  const windowMs = parseDuration(promotion?.verificationWindow ?? '5m');
  // The window starts once every pod runs the new version: values of old pods that are still
  // serving during the rollout must not count for or against it.
  const rollingOut =
    context.model?.version !== verification.version ||
    findCondition(context.status.conditions, 'Progressing')?.status === 'True';
  if (rollingOut) {
    verification.startedAt = toKubeTime(context.now);
    requeueAfter(context, JOB_POLL_MS);
    return;
  }
  const thresholds = context.resource.spec.monitoring?.metrics ?? [];
  const threshold = thresholds.find((item) => item.name === verification.metric);
  const current = context.status.metrics?.find((item) => item.name === verification.metric);
  const monitoring = context.resource.spec.monitoring;
  const verdict = judgeVerification({
    startedAt: new Date(verification.startedAt),
    windowMs,
    threshold,
    baseline: verification.baseline,
    current: { value: current?.value, samples: current?.samples ?? 0 },
    minSamples:
      threshold?.minSamples ?? (monitoring ? evaluationPolicy(monitoring).minSamples : 20),
    maxRegression: promotion?.maxRegression ?? 0,
    now: context.now,
  });
  const health = healthMetrics(context.metrics.registry);
  if (verdict.decision === 'Wait') {
    requeueAfter(
      context,
      Math.min(
        JOB_POLL_MS,
        Math.max(1000, Date.parse(verification.startedAt) + windowMs - context.now.getTime()),
      ),
    );
    return;
  }
  delete status.verification;
  if (verdict.decision === 'Keep') {
    health.promotions.inc({ ...names(context), outcome: 'kept' });
    setIdle(
      context,
      `${verification.version} passed verification: ${verdict.detail}.`,
      Reason.ModelVerified,
    );
    context.pendingEvents.push({
      type: 'Normal',
      reason: Reason.ModelVerified,
      action: 'Verify',
      note: `${verification.version} kept: ${verdict.detail}.`,
    });
    return;
  }

  health.promotions.inc({ ...names(context), outcome: 'rolledBack' });
  if (verification.previousUri) {
    context.status.activeModel = {
      uri: verification.previousUri,
      ...(verification.previousVersion ? { version: verification.previousVersion } : {}),
      source: 'Rollback',
      specUri: context.resource.spec.model.uri,
    };
  }
  context.status.history = recordRollback(
    context.status.history ?? [],
    verification.version,
    verification.previousVersion,
    context.now,
  );
  resetProbeWindow(context);
  const message = `Rolled back ${verification.version} to ${verification.previousVersion ?? verification.previousUri ?? 'the spec model'}: ${verdict.detail}`;
  context.pendingEvents.push({
    type: 'Warning',
    reason: Reason.ModelRolledBack,
    action: 'Rollback',
    note: message,
  });
  failAttempt(context, Reason.ModelRolledBack, message);
  requeueAfter(context, 0);
}

async function maybeStartJob(context: ReconcileContext): Promise<void> {
  const status = retrainingStatus(context);
  const policy = policyOf(context);
  const running =
    findCondition(context.status.conditions, 'Retraining')?.reason === Reason.RetrainingJobRunning;
  const decision = decideTrigger({
    policy,
    status,
    degradedMetrics: degradedMetrics(context),
    manualRequest: context.resource.metadata.annotations?.[Annotation.retrain],
    createdAt: new Date(context.resource.metadata.creationTimestamp ?? context.now),
    busy: running || status.candidate !== undefined || status.verification !== undefined,
    now: context.now,
  });
  if (policy.schedule) {
    const next = nextScheduleTick(policy.schedule, context.now);
    if (next)
      requeueAfter(context, Math.min(SCHEDULE_POLL_MS, next.getTime() - context.now.getTime()));
  }
  if (!decision.start) {
    if (decision.until) requeueAfter(context, decision.until.getTime() - context.now.getTime());
    if (
      decision.blockedBy === 'MaxAttempts' &&
      findCondition(context.status.conditions, 'Retraining')?.reason !==
        Reason.RetrainingMaxAttempts
    ) {
      const pending = degradedMetrics(context).length > 0;
      if (pending) setIdle(context, decision.detail, Reason.RetrainingMaxAttempts);
    }
    return;
  }
  await startJob(context, decision.trigger, decision.detail);
  if (decision.trigger === 'Manual')
    status.lastManualRequest = context.resource.metadata.annotations?.[Annotation.retrain];
  if (decision.scheduleTick) status.lastScheduleTime = toKubeTime(decision.scheduleTick);
}

/** Builds the Job of `attempt`, or undefined when the spec lacks a template or an output. */
function jobFor(
  context: ReconcileContext,
  attempt: number,
  trigger: Trigger,
  detail: string,
): V1Job | undefined {
  const spec = context.resource.spec;
  const retraining = spec.retraining;
  if (!retraining?.jobTemplate || !retraining.output) return undefined;
  const { namespace, name } = names(context);
  const model = context.model ?? context.status.activeModel ?? spec.model;
  return buildRetrainingJob({
    deployment: { name, namespace, uid: context.resource.metadata.uid ?? '' },
    attempt,
    template: retraining.jobTemplate,
    currentModel: { uri: model.uri, version: model.version },
    output: {
      claimName: retraining.output.claimName,
      pathPrefix: retraining.output.pathPrefix ?? 'models',
    },
    feedbackClaim: spec.server?.feedback?.capture ? spec.server.feedback.claimName : undefined,
    baseDataset: retraining.baseDataset,
    trigger,
    triggerDetail: detail,
    trainerImage: context.options.images.default,
    timeoutMs: parseDuration(retraining.timeout ?? DEFAULT_JOB_TIMEOUT),
  });
}

async function startJob(
  context: ReconcileContext,
  trigger: Trigger,
  detail: string,
): Promise<void> {
  const status = retrainingStatus(context);
  const { namespace, name } = names(context);
  const attempt = (status.totalJobs ?? 0) + 1;
  const job = jobFor(context, attempt, trigger, detail);
  if (!job) return;

  const jobName = retrainingJobName(name, attempt);
  try {
    await context.kube.create<V1Job>(resourcePath(RESOURCES.jobs, namespace), job);
    healthMetrics(context.metrics.registry).retrainingJobs.inc({
      namespace,
      name,
      outcome: 'started',
    });
  } catch (error) {
    // A Job of this name exists when an earlier reconcile created it but failed to record it.
    if (!isConflict(error)) throw error;
    context.log.info(
      { job: jobName, error: errorMessage(error) },
      'retraining Job exists, adopting it',
    );
  }

  status.totalJobs = attempt;
  status.lastJobName = jobName;
  status.lastTrigger = trigger;
  status.lastAttemptTime = toKubeTime(context.now);
  status.nextAttemptAfter = toKubeTime(
    new Date(context.now.getTime() + policyOf(context).cooldownMs),
  );
  updateCondition(context, {
    type: 'Retraining',
    status: 'True',
    reason: Reason.RetrainingJobRunning,
    message: `Job ${jobName} is training ${retrainedVersion(attempt)} (${trigger}: ${detail}).`,
  });
  requeueAfter(context, JOB_POLL_MS);
}
