// Available and Progressing derived from the Deployment and its pods. Pure functions, so the
// rules can be read and tested without a cluster.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { ConditionUpdate } from './conditions.ts';
import { Reason } from './reasons.ts';
import { CONTAINER_NAME } from './children/deployment.ts';
import { Annotation } from '../api/labels.ts';

/** Failure of serving pods, as found in pod status or the server's ready endpoint. */
export interface PodFailure {
  reason:
    | typeof Reason.ModelLoadFailed
    | typeof Reason.ServerCrashLooping
    | typeof Reason.ImagePullFailed
    | typeof Reason.ContainerConfigInvalid;
  pod: string;
  /** URI of the model the failing pod was created to serve, from its pod annotation. */
  modelUri?: string;
  message: string;
}

export interface ReplicaCounts {
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
}

export interface RolloutState {
  counts: ReplicaCounts;
  complete: boolean;
  available: ConditionUpdate;
  progressing: ConditionUpdate;
}

/** Restarts after which an exiting model-server container counts as crash-looping. */
const CRASH_RESTARTS = 2;

/** Returns the model URI that the Deployment annotated the pod with, if any. */
export function podModelUri(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[Annotation.modelUri];
}

/**
 * Orders pods so that those created for `modelUri` come first, keeping the order otherwise, so a
 * failure of the current revision is reported before one of an old revision.
 */
export function currentModelFirst(pods: readonly V1Pod[], modelUri: string): V1Pod[] {
  const current = pods.filter((pod) => podModelUri(pod) === modelUri);
  return [...current, ...pods.filter((pod) => podModelUri(pod) !== modelUri)];
}

function serverStatus(pod: V1Pod) {
  return pod.status?.containerStatuses?.find((status) => status.name === CONTAINER_NAME);
}

/** Kubelet waiting reasons of a container that cannot start, and the condition reason of each. */
const WAITING_FAILURES: Readonly<Record<string, PodFailure['reason']>> = {
  ErrImagePull: Reason.ImagePullFailed,
  ImagePullBackOff: Reason.ImagePullFailed,
  InvalidImageName: Reason.ImagePullFailed,
  CreateContainerConfigError: Reason.ContainerConfigInvalid,
  CreateContainerError: Reason.ContainerConfigInvalid,
};

/** Returns the failure of a model-server container that waits for a reason that needs a fix. */
export function findWaitingFailure(pods: readonly V1Pod[]): PodFailure | undefined {
  for (const pod of pods) {
    const waiting = serverStatus(pod)?.state?.waiting;
    const reason = waiting?.reason && WAITING_FAILURES[waiting.reason];
    if (!waiting?.reason || !reason) continue;
    const detail = waiting.message?.trim().slice(0, 500) || 'no message from the kubelet';
    return {
      reason,
      pod: pod.metadata?.name ?? '',
      modelUri: podModelUri(pod),
      message: `container model-server is waiting with ${waiting.reason}: ${detail}`,
    };
  }
  return undefined;
}

/** Returns a crash-looping model-server container's failure, from its last termination. */
export function findCrashLoop(pods: readonly V1Pod[]): PodFailure | undefined {
  for (const pod of pods) {
    const status = serverStatus(pod);
    if (!status) continue;
    const waiting = status.state?.waiting?.reason;
    if (waiting !== 'CrashLoopBackOff' && (status.restartCount ?? 0) < CRASH_RESTARTS) continue;
    const terminated = status.lastState?.terminated ?? status.state?.terminated;
    if (!terminated) continue;
    // The message is the container's last log lines; the last one usually states the error.
    const lastLine = terminated.message?.trim().split('\n').pop()?.slice(0, 500);
    const detail = lastLine || terminated.reason || 'no termination message';
    return {
      reason: Reason.ServerCrashLooping,
      pod: pod.metadata?.name ?? '',
      modelUri: podModelUri(pod),
      message: `model-server exited with code ${terminated.exitCode}: ${detail}`,
    };
  }
  return undefined;
}

/** Returns running pods whose model-server container started but is not ready. */
export function findUnreadyPods(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter((pod) => {
    if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running' || !pod.status.podIP) {
      return false;
    }
    const status = serverStatus(pod);
    return Boolean(status?.state?.running) && status?.ready !== true;
  });
}

function counts(deployment: V1Deployment | undefined): ReplicaCounts {
  const status = deployment?.status;
  return {
    replicas: status?.replicas ?? 0,
    readyReplicas: status?.readyReplicas ?? 0,
    updatedReplicas: status?.updatedReplicas ?? 0,
    availableReplicas: status?.availableReplicas ?? 0,
  };
}

function deadlineExceeded(deployment: V1Deployment | undefined): boolean {
  return Boolean(
    deployment?.status?.conditions?.some(
      (condition) =>
        condition.type === 'Progressing' && condition.reason === 'ProgressDeadlineExceeded',
    ),
  );
}

/** Derives the Available and Progressing conditions of a ModelDeployment. */
export function deriveRollout(
  desired: number,
  modelUri: string,
  deployment: V1Deployment | undefined,
  failure: PodFailure | undefined,
): RolloutState {
  const replicaCounts = counts(deployment);
  const { replicas, updatedReplicas, availableReplicas } = replicaCounts;
  const observed =
    deployment !== undefined &&
    (deployment.status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const complete =
    observed && updatedReplicas === desired && replicas === desired && availableReplicas >= desired;
  const failureMessage =
    failure &&
    `pod ${failure.pod} cannot serve model ${failure.modelUri ?? modelUri}: ${failure.message}`;

  let progressing: ConditionUpdate;
  if (deadlineExceeded(deployment)) {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: Reason.ProgressDeadlineExceeded,
      message:
        failureMessage ?? 'The rollout did not progress within the Deployment progress deadline.',
    };
  } else if (!complete) {
    progressing = {
      type: 'Progressing',
      status: 'True',
      reason: failure?.reason ?? Reason.RolloutInProgress,
      message:
        failureMessage ??
        `${updatedReplicas} of ${desired} pods updated, ${availableReplicas} available, ${replicas} in total.`,
    };
  } else {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: Reason.RolloutComplete,
      message: `All ${desired} pods run the current model ${modelUri}.`,
    };
  }

  let available: ConditionUpdate;
  if (desired === 0) {
    available = {
      type: 'Available',
      status: 'False',
      reason: Reason.ScaledToZero,
      message: 'spec.replicas is 0, so no pod serves the model.',
    };
  } else if (availableReplicas >= desired) {
    available = {
      type: 'Available',
      status: 'True',
      reason: Reason.MinimumReplicasAvailable,
      message: `${availableReplicas}/${desired} serving pods available.`,
    };
  } else {
    available = {
      type: 'Available',
      status: 'False',
      reason: failure?.reason ?? Reason.MinimumReplicasUnavailable,
      message: failureMessage ?? `${availableReplicas}/${desired} serving pods available.`,
    };
  }
  return { counts: replicaCounts, complete, available, progressing };
}

/** Server states that are not failures: the model is still loading or the pod is stopping. */
const TRANSIENT_STATES = new Set(['loading', 'starting', 'shutting_down']);

/**
 * Reads a model server's ready-endpoint reply and returns the load failure it reports, if any.
 * The server returns 503 with `{ ready, state, message?, code? }`; state `failed` is a failure,
 * and so is a 5xx whose body names an error without saying the model is still loading.
 */
export function parseReadyReply(status: number, body: string): string | undefined {
  if (status < 500) return undefined;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    // A plain-text body is the message as it is.
    const text = body.trim();
    return text && !/^loading\b/i.test(text) ? text : undefined;
  }
  const state = typeof parsed.state === 'string' ? parsed.state.toLowerCase() : '';
  if (TRANSIENT_STATES.has(state)) return undefined;
  const text = (key: string) =>
    typeof parsed[key] === 'string' ? (parsed[key] as string) : undefined;
  const message = text('message') ?? text('error');
  const code = text('code');
  if (message) return code ? `${message} (${code})` : message;
  if (state === 'failed') return 'the model server reports that loading failed; see the pod log';
  return undefined;
}
