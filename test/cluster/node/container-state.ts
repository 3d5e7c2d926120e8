// What the node tracks about each container of a pod, from which the pod status is computed.
import type * as k8s from '@kubernetes/client-node';
import { CrashBackoff, RetryDelay } from './backoff.ts';
import type { ContainerProcess } from './process-runner.ts';
import type { Prober } from './probes.ts';

/** A finished run of a container, as `state.terminated` and `lastState.terminated` report it. */
export interface Termination {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: Date;
  finishedAt: Date;
  containerID: string;
}

/** Why a container is not running, as `state.waiting` reports it. */
export interface Waiting {
  reason: string;
  message?: string;
}

/** The kubelet's waiting reasons that this node reports. */
export const WaitingReason = {
  ContainerCreating: 'ContainerCreating',
  PodInitializing: 'PodInitializing',
  ErrImagePull: 'ErrImagePull',
  ImagePullBackOff: 'ImagePullBackOff',
  CreateContainerConfigError: 'CreateContainerConfigError',
  CrashLoopBackOff: 'CrashLoopBackOff',
} as const;

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/** One container of a pod across its restarts. */
export class ContainerRun {
  readonly spec: k8s.V1Container;
  readonly init: boolean;
  state: 'waiting' | 'running' | 'terminated' = 'waiting';
  waiting: Waiting;
  restartCount = 0;
  process: ContainerProcess | undefined;
  containerID: string | undefined;
  startedAt: Date | undefined;
  /** The latest finished instance: `state.terminated` when terminated, else `lastState`. */
  lastTermination: Termination | undefined;
  /** The instance before that, the `lastState` of a terminated container. */
  previousTermination: Termination | undefined;
  /** Result of the startup probe; true without one once the process runs. */
  started = false;
  /** Result of the readiness probe; true without one once started. */
  readinessPassed = false;
  probers: Prober[] = [];
  readonly crashBackoff: CrashBackoff;
  /** Delay of retries after a failed image lookup or config error, apart from crash back-off. */
  readonly configRetry = new RetryDelay(1000, 10_000);
  /** Earliest time (ms since epoch) of the next start attempt of a waiting container. */
  notBefore = 0;
  /** Whether the latest instance exited and the restart policy starts it again. */
  willRestart = false;
  /** Restart count came from the pod status after a node restart, and that instance is gone. */
  restoredInstance = false;
  /** Byte offsets into the log file where the current and the previous instance began. */
  logOffsets: { current: number; previous: number | undefined } = {
    current: 0,
    previous: undefined,
  };
  /** Environment of the current instance, for exec probes. */
  env: Record<string, string> = {};
  workingDir = '/';
  /** Whether a kill is in progress because a probe failed or the pod is terminating. */
  stopping = false;

  constructor(spec: k8s.V1Container, init: boolean, backoff: BackoffSettings) {
    this.spec = spec;
    this.init = init;
    this.waiting = {
      reason: init ? WaitingReason.PodInitializing : WaitingReason.ContainerCreating,
    };
    this.crashBackoff = new CrashBackoff(backoff.baseMs, backoff.maxMs);
  }

  get name(): string {
    return this.spec.name;
  }

  get ready(): boolean {
    return this.state === 'running' && this.started && this.readinessPassed;
  }

  /** True for an init container that finished with exit code 0. */
  get succeeded(): boolean {
    return this.state === 'terminated' && this.lastTermination?.exitCode === 0;
  }

  stopProbers(): void {
    for (const prober of this.probers) {
      prober.stop();
    }
    this.probers = [];
  }
}
