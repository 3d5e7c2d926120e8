// Pod phase, conditions and container statuses, computed from the node's view of a pod.
import type * as k8s from '@kubernetes/client-node';
import type { ContainerRun, Termination } from './container-state.ts';

/** Truncates to whole seconds, the precision of Kubernetes timestamps, so that comparisons of sent and computed status stay stable. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export interface PodView {
  pod: k8s.V1Pod;
  initRuns: ContainerRun[];
  runs: ContainerRun[];
  /** The pod's address and volumes are in place. */
  sandboxReady: boolean;
  podIP: string | undefined;
  hostIP: string;
  startTime: Date;
  /** The pod is being deleted and its containers were stopped or are stopping. */
  terminating: boolean;
}

function terminatedState(termination: Termination): k8s.V1ContainerStateTerminated {
  const state: k8s.V1ContainerStateTerminated = {
    exitCode: termination.exitCode,
    reason: termination.reason,
    startedAt: wholeSeconds(termination.startedAt),
    finishedAt: wholeSeconds(termination.finishedAt),
    containerID: termination.containerID,
  };
  if (termination.signal !== undefined) {
    state.signal = termination.signal;
  }
  if (termination.message) {
    state.message = termination.message;
  }
  return state;
}

function containerState(run: ContainerRun): k8s.V1ContainerState {
  if (run.state === 'running' && run.startedAt) {
    return { running: { startedAt: wholeSeconds(run.startedAt) } };
  }
  if (run.state === 'terminated' && run.lastTermination) {
    return { terminated: terminatedState(run.lastTermination) };
  }
  const waiting: k8s.V1ContainerStateWaiting = { reason: run.waiting.reason };
  if (run.waiting.message) {
    waiting.message = run.waiting.message;
  }
  return { waiting };
}

/** Builds the `status.containerStatuses` (or init) entry of one container. */
export function containerStatus(run: ContainerRun, imageID: string): k8s.V1ContainerStatus {
  const lastTermination =
    run.state === 'terminated' ? run.previousTermination : run.lastTermination;
  const status: k8s.V1ContainerStatus = {
    name: run.name,
    image: run.spec.image ?? '',
    imageID: run.containerID ? imageID : '',
    ready: run.ready,
    started: run.state === 'running' && run.started,
    restartCount: run.restartCount,
    state: containerState(run),
    lastState: lastTermination ? { terminated: terminatedState(lastTermination) } : {},
  };
  if (run.containerID) {
    status.containerID = run.containerID;
  }
  return status;
}

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/**
 * Computes the pod phase by the kubelet's rules. A pod is Pending until the init containers
 * finish and every container has started once, Succeeded or Failed when all containers stopped
 * for good, and Running otherwise, including while containers restart.
 */
export function podPhase(view: PodView): Phase {
  const policy = view.pod.spec?.restartPolicy ?? 'Always';
  const initFailed = view.initRuns.some((r) => r.state === 'terminated' && !r.succeeded);
  if (initFailed && (policy === 'Never' || view.terminating)) {
    return 'Failed';
  }
  if (!view.initRuns.every((r) => r.succeeded)) {
    return view.terminating ? 'Failed' : 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let succeeded = 0;
  for (const run of view.runs) {
    if (run.state === 'running') {
      running += 1;
    } else if (run.state === 'terminated') {
      if (run.lastTermination?.exitCode === 0) {
        succeeded += 1;
      }
    } else if (!run.lastTermination) {
      // A container waiting to restart counts as stopped, one that never ran as waiting.
      waiting += 1;
    }
  }
  if (view.terminating && running === 0) {
    return succeeded === view.runs.length ? 'Succeeded' : 'Failed';
  }
  if (waiting > 0) {
    return 'Pending';
  }
  if (running > 0) {
    return 'Running';
  }
  if (policy === 'Always') {
    return 'Running';
  }
  if (succeeded === view.runs.length) {
    return 'Succeeded';
  }
  return policy === 'Never' ? 'Failed' : 'Running';
}

interface ConditionValue {
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

function names(runs: ContainerRun[]): string {
  return `[${runs.map((r) => r.name).join(' ')}]`;
}

/** Computes the four conditions a kubelet owns, before transition times are attached. */
export function podConditions(view: PodView, phase: Phase): Record<string, ConditionValue> {
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const pendingInit = view.initRuns.filter((r) => !r.succeeded);
  const unready = view.runs.filter((r) => !r.ready);
  const initialized: ConditionValue =
    pendingInit.length === 0 || (terminal && view.initRuns.length === 0)
      ? { status: 'True' }
      : {
          status: 'False',
          reason: 'ContainersNotInitialized',
          message: `containers with incomplete status: ${names(pendingInit)}`,
        };
  let containersReady: ConditionValue;
  if (terminal) {
    containersReady = { status: 'False', reason: 'PodCompleted' };
  } else if (unready.length > 0) {
    containersReady = {
      status: 'False',
      reason: 'ContainersNotReady',
      message: `containers with unready status: ${names(unready)}`,
    };
  } else {
    containersReady = { status: 'True' };
  }

  const gates = (view.pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const missingGates = gates.filter(
    (type) => view.pod.status?.conditions?.find((c) => c.type === type)?.status !== 'True',
  );
  let ready: ConditionValue = containersReady;
  if (containersReady.status === 'True' && missingGates.length > 0) {
    ready = {
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: `corresponding condition of pod readiness gate "${missingGates[0]}" does not exist or is not True`,
    };
  }
  return {
    PodReadyToStartContainers: { status: view.sandboxReady && !terminal ? 'True' : 'False' },
    Initialized: initialized,
    ContainersReady: containersReady,
    Ready: ready,
  };
}

/** Remembers when each condition last changed its status, so that the time moves only on a flip. */
export class ConditionClock {
  private readonly transitions = new Map<string, { status: string; time: Date }>();

  /** Starts from the conditions already in the pod status, for example after a node restart. */
  constructor(existing: k8s.V1PodCondition[] | undefined) {
    for (const condition of existing ?? []) {
      const time = condition.lastTransitionTime;
      if (time) {
        this.transitions.set(condition.type, {
          status: condition.status,
          time: wholeSeconds(new Date(time)),
        });
      }
    }
  }

  stamp(values: Record<string, ConditionValue>, now: Date): k8s.V1PodCondition[] {
    const conditions: k8s.V1PodCondition[] = [];
    for (const [type, value] of Object.entries(values)) {
      let transition = this.transitions.get(type);
      if (!transition || transition.status !== value.status) {
        transition = { status: value.status, time: wholeSeconds(now) };
        this.transitions.set(type, transition);
      }
      // A strategic merge patch merges conditions field by field, so a reason or message that
      // no longer applies must be sent as null to be removed.
      const cleared = null as unknown as undefined;
      conditions.push({
        type,
        status: value.status,
        lastTransitionTime: transition.time,
        reason: value.reason ?? cleared,
        message: value.message ?? cleared,
      });
    }
    return conditions;
  }
}

/**
 * Computes the part of `status` that the node owns, for a strategic merge patch. Conditions
 * merge by type, so the scheduler's PodScheduled condition stays.
 */
export function computePodStatus(
  view: PodView,
  clock: ConditionClock,
  imageIDs: Map<string, string>,
  now: Date,
): k8s.V1PodStatus {
  const phase = podPhase(view);
  const status: k8s.V1PodStatus = {
    phase,
    conditions: clock.stamp(podConditions(view, phase), now),
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    startTime: wholeSeconds(view.startTime),
    containerStatuses: view.runs.map((r) => containerStatus(r, imageIDs.get(r.name) ?? '')),
  };
  if (view.initRuns.length > 0) {
    status.initContainerStatuses = view.initRuns.map((r) =>
      containerStatus(r, imageIDs.get(r.name) ?? ''),
    );
  }
  if (view.podIP) {
    status.podIP = view.podIP;
    status.podIPs = [{ ip: view.podIP }];
  }
  if (view.pod.metadata?.generation !== undefined) {
    status.observedGeneration = view.pod.metadata.generation;
  }
  return status;
}
