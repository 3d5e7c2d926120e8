// Derives Available and Progressing from the Deployment and its pods, asking unready pods'
// model servers why they are not ready, so a broken artifact shows as ModelLoadFailed.
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../errors.ts';
import { READY_PATH, serverPort } from '../children/deployment.ts';
import {
  requeueAfter,
  updateCondition,
  type ReconcileContext,
  type ReconcileStep,
} from '../context.ts';
import { Reason } from '../reasons.ts';
import {
  currentModelFirst,
  deriveRollout,
  findCrashLoop,
  findUnreadyPods,
  findWaitingFailure,
  parseReadyReply,
  podModelUri,
  type PodFailure,
} from '../rollout.ts';

/** Requeue delay while a serving pod runs but is not ready, or a pod failure is reported. */
export const ROLLOUT_POLL_MS = 5000;
const READY_TIMEOUT_MS = 2000;

async function askReadyEndpoint(
  context: ReconcileContext,
  pod: V1Pod,
): Promise<PodFailure | undefined> {
  const url = `http://${pod.status?.podIP}:${serverPort(context.resource)}${READY_PATH}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(READY_TIMEOUT_MS) });
    const message = parseReadyReply(response.status, await response.text());
    if (message === undefined) return undefined;
    return {
      reason: Reason.ModelLoadFailed,
      pod: pod.metadata?.name ?? '',
      modelUri: podModelUri(pod),
      message,
    };
  } catch (error) {
    // The pod may be starting or unreachable from the operator; readiness then stays as it is.
    context.log.debug(
      { pod: pod.metadata?.name, err: errorMessage(error) },
      'ready endpoint unreachable',
    );
    return undefined;
  }
}

async function findFailure(context: ReconcileContext): Promise<PodFailure | undefined> {
  const desiredUri = context.model?.uri ?? context.resource.spec.model.uri;
  const pods = currentModelFirst(context.pods, desiredUri);
  // Pods are checked one by one, so that any failure of a current pod wins over an old pod's.
  for (const pod of pods) {
    const failure =
      findWaitingFailure([pod]) ??
      findCrashLoop([pod]) ??
      (findUnreadyPods([pod]).length > 0 ? await askReadyEndpoint(context, pod) : undefined);
    if (failure) return failure;
  }
  return undefined;
}

export const observeRollout: ReconcileStep = {
  name: 'observe-rollout',
  async run(context) {
    const { resource, status } = context;
    const desired = resource.spec.replicas;
    const failure = await findFailure(context);
    const rollout = deriveRollout(
      desired,
      context.model?.uri ?? resource.spec.model.uri,
      context.deployment,
      failure,
    );

    status.replicas = rollout.counts.replicas;
    status.readyReplicas = rollout.counts.readyReplicas;
    status.updatedReplicas = rollout.counts.updatedReplicas;
    status.availableReplicas = rollout.counts.availableReplicas;
    status.summary = { ...status.summary, ready: `${rollout.counts.readyReplicas}/${desired}` };

    // Waiting for pods during a rollout or a scale-up is normal; a failure is worth a Warning.
    const warning =
      failure !== undefined || rollout.progressing.reason === Reason.ProgressDeadlineExceeded;
    updateCondition(context, rollout.available, warning && rollout.available.status === 'False');
    updateCondition(context, rollout.progressing, warning);
    // Pod and Deployment changes queue this key through the informers. A model server that runs
    // but is not ready (loading, or failing to load) changes nothing they see, so only then is
    // its ready endpoint polled. Polling every incomplete rollout kept 1000 new ModelDeployments
    // with no pods at 200 reconciles/s while the deployment controller caught up.
    const unready = !rollout.complete && findUnreadyPods(context.pods).length > 0;
    if (unready || failure) requeueAfter(context, ROLLOUT_POLL_MS);
  },
};
