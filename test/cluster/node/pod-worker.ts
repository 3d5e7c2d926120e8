// Runs one pod: its address, volumes, init and regular containers, probes, status and deletion.
import type * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { RetryDelay } from './backoff.ts';
import { restartsAfter, terminationOf } from './container-exit.ts';
import {
  ContainerRun,
  WaitingReason,
  type BackoffSettings,
  type Termination,
} from './container-state.ts';
import { PodConfigError, type PodRuntimeInfo } from './downward.ts';
import { ImageNotMappedError, type ImageMap } from './images.ts';
import type { IpPool } from './ip-pool.ts';
import { containerLogFile, prepareLaunch, type PreparedLaunch } from './launch.ts';
import type { NodeApi } from './node-api.ts';
import { computePodStatus, ConditionClock, podPhase, type PodView } from './pod-status.ts';
import { Prober, type ProbeKind } from './probes.ts';
import { ContainerProcess, type Exit } from './process-runner.ts';
import { PodVolumes } from './volumes.ts';

export interface WorkerDeps {
  hostIP: string;
  api: NodeApi;
  images: ImageMap;
  ipPool: IpPool;
  podsDir: string;
  logsDir: string;
  containerRecordsDir: string;
  persistentVolumesDir: string;
  serviceEnv: Record<string, string>;
  allocatable: Record<string, string>;
  backoff: BackoffSettings;
  /** How often volumes (ConfigMaps, Secrets, tokens) are refreshed while the pod runs. */
  volumeRefreshMs: number;
  /** Folders no mountPath may cover: the repository, the cluster state and the Node binary's. */
  protectedPaths: string[];
  log: Logger;
  /** Called once the pod is gone from the API and from this node. */
  onGone: (uid: string) => void;
}

/** Annotation that lets a pod choose a shorter crash-loop back-off base, in seconds, for tests. */
export const backoffAnnotation = 'modelwarden.io/test-node-backoff-base-seconds';

function describePod(pod: k8s.V1Pod): string {
  return `${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;
}

function formatSeconds(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${seconds % 60}s` : `${seconds}s`;
}

function backoffFor(pod: k8s.V1Pod, defaults: BackoffSettings): BackoffSettings {
  const value = pod.metadata?.annotations?.[backoffAnnotation];
  const seconds = Number(value);
  if (value === undefined || !Number.isFinite(seconds) || seconds <= 0) {
    return defaults;
  }
  return { baseMs: seconds * 1000, maxMs: defaults.maxMs };
}

/**
 * One pod on the node. Every change (an API update, a process exit, a probe flip, a timer)
 * calls `kick`, and `sync` then brings the pod one step closer to its spec. Syncs never overlap.
 */
export class PodWorker {
  private pod: k8s.V1Pod;
  private readonly deps: WorkerDeps;
  private readonly uid: string;
  private readonly log: Logger;
  private readonly podDir: string;
  private readonly initRuns: ContainerRun[];
  private readonly runs: ContainerRun[];
  private readonly volumes: PodVolumes;
  private readonly clock: ConditionClock;
  private readonly startTime: Date;
  private readonly imageIDs = new Map<string, string>();
  private podIP: string | undefined;
  private sandboxReady = false;
  private sandboxReleased = false;
  private readonly sandboxRetry = new RetryDelay(1000, 10_000);
  private sandboxNotBefore = 0;
  private lastVolumeRefresh = 0;
  private lastSentStatus: string | undefined;
  private gone = false;
  private terminating = false;
  private finished = false;
  /** The pod was already Succeeded or Failed when this node process first saw it. */
  private terminalRestored = false;
  private syncing = false;
  private resync = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(pod: k8s.V1Pod, deps: WorkerDeps) {
    this.pod = pod;
    this.deps = deps;
    this.uid = pod.metadata?.uid ?? '';
    this.log = deps.log.child({
      pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`,
      uid: this.uid,
    });
    this.podDir = path.join(deps.podsDir, this.uid);
    const backoff = backoffFor(pod, deps.backoff);
    this.initRuns = (pod.spec?.initContainers ?? []).map((c) => new ContainerRun(c, true, backoff));
    this.runs = (pod.spec?.containers ?? []).map((c) => new ContainerRun(c, false, backoff));
    if (this.initRuns.length > 0) {
      for (const run of this.runs) {
        run.waiting = { reason: WaitingReason.PodInitializing };
      }
    }
    this.volumes = new PodVolumes(pod, this.podDir, deps.api, deps.persistentVolumesDir);
    this.clock = new ConditionClock(pod.status?.conditions);
    this.startTime = pod.status?.startTime ? new Date(pod.status.startTime) : new Date();
    this.restoreFromStatus(pod.status);
  }

  /**
   * Continues where a previous node process left off: restart counts carry on, a terminal pod
   * stays terminal (its containers never run again), and a running pod keeps its address.
   */
  private restoreFromStatus(status: k8s.V1PodStatus | undefined): void {
    if (!status) {
      return;
    }
    const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
    const previous = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
    for (const run of [...this.initRuns, ...this.runs]) {
      const old = previous.find((s) => s.name === run.name);
      if (!old) {
        continue;
      }
      run.restartCount = old.restartCount;
      run.restoredInstance = Boolean(old.state?.running ?? old.state?.terminated);
      const terminated = old.state?.terminated;
      if (terminated && (terminal || (run.init && terminated.exitCode === 0))) {
        run.state = 'terminated';
        run.lastTermination = {
          exitCode: terminated.exitCode,
          reason: terminated.reason ?? '',
          message: terminated.message,
          startedAt: new Date(terminated.startedAt ?? 0),
          finishedAt: new Date(terminated.finishedAt ?? 0),
          containerID: terminated.containerID ?? '',
        };
      }
    }
    if (terminal) {
      this.terminalRestored = true;
      this.sandboxReleased = true;
      this.podIP = status.podIP;
    } else if (
      status.podIP &&
      !this.pod.spec?.hostNetwork &&
      this.deps.ipPool.reserve(status.podIP)
    ) {
      this.podIP = status.podIP;
    }
  }

  update(pod: k8s.V1Pod): void {
    this.pod = pod;
    this.kick();
  }

  /** Records that the pod object is gone from the API, for example after a forced delete. */
  markGone(): void {
    this.gone = true;
    this.kick();
  }

  kick(): void {
    if (this.syncing) {
      this.resync = true;
      return;
    }
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.syncing = true;
    try {
      do {
        this.resync = false;
        try {
          await this.sync();
        } catch (error) {
          this.log.error({ err: error }, 'pod sync failed; retrying in 2s');
          this.wakeAt(Date.now() + 2000);
        }
      } while (this.resync);
    } finally {
      this.syncing = false;
    }
  }

  private wakeAt(time: number): void {
    if (this.timer && this.timerAt <= time && this.timerAt > Date.now()) {
      return;
    }
    clearTimeout(this.timer);
    this.timerAt = time;
    // A Node timer counts from the event loop's cached time, so it may fire before `time` by
    // Date.now(). Forgetting the fired timer lets a sync that runs early arm a new one.
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.kick();
      },
      Math.max(0, time - Date.now()),
    );
  }

  private view(): PodView {
    return {
      pod: this.pod,
      initRuns: this.initRuns,
      runs: this.runs,
      sandboxReady: this.sandboxReady,
      podIP: this.podIP,
      hostIP: this.deps.hostIP,
      startTime: this.startTime,
      terminating: this.terminating,
    };
  }

  private async sync(): Promise<void> {
    if (this.finished) {
      if (this.gone) {
        this.deps.onGone(this.uid);
      }
      return;
    }
    if (this.gone || this.pod.metadata?.deletionTimestamp) {
      await this.terminate();
      return;
    }
    if (this.terminalRestored) {
      return;
    }
    const phase = podPhase(this.view());
    if (phase === 'Succeeded' || phase === 'Failed') {
      this.releaseSandbox();
      await this.writeStatus();
      return;
    }
    if (!(await this.ensureSandbox())) {
      await this.writeStatus();
      return;
    }
    await this.startContainers();
    await this.writeStatus();
  }

  private runtimeInfo(): PodRuntimeInfo {
    return {
      podIP: this.podIP ?? '',
      hostIP: this.deps.hostIP,
      allocatable: this.deps.allocatable,
    };
  }

  /** Allocates the address and sets up (or refreshes) volumes; false while that keeps failing. */
  private async ensureSandbox(): Promise<boolean> {
    const now = Date.now();
    const refreshDue = now - this.lastVolumeRefresh >= this.deps.volumeRefreshMs;
    if (this.sandboxReady && !refreshDue) {
      this.wakeAt(this.lastVolumeRefresh + this.deps.volumeRefreshMs);
      return true;
    }
    if (!this.sandboxReady && now < this.sandboxNotBefore) {
      this.wakeAt(this.sandboxNotBefore);
      return false;
    }
    try {
      if (!this.podIP) {
        this.podIP = this.pod.spec?.hostNetwork ? this.deps.hostIP : this.deps.ipPool.allocate();
        this.log.info({ podIP: this.podIP }, 'pod address allocated');
      }
      await this.volumes.setUp(this.pod, this.runtimeInfo());
      this.lastVolumeRefresh = now;
      this.wakeAt(now + this.deps.volumeRefreshMs);
      if (!this.sandboxReady) {
        this.sandboxReady = true;
        this.sandboxRetry.reset();
      }
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.sandboxReady) {
        this.log.warn(
          { err: error },
          'refreshing volumes failed; the containers keep the previous files',
        );
        this.lastVolumeRefresh = now;
        return true;
      }
      this.log.warn({ err: error }, 'setting up volumes failed');
      void this.deps.api.recordEvent(this.pod, 'Warning', 'FailedMount', message);
      this.sandboxNotBefore = now + this.sandboxRetry.next();
      this.wakeAt(this.sandboxNotBefore);
      return false;
    }
  }

  private releaseSandbox(): void {
    if (this.sandboxReleased) {
      return;
    }
    this.sandboxReleased = true;
    this.sandboxReady = false;
    for (const run of [...this.initRuns, ...this.runs]) {
      run.stopProbers();
    }
    if (this.podIP && !this.pod.spec?.hostNetwork) {
      this.deps.ipPool.release(this.podIP);
    }
    this.volumes.tearDown();
    clearTimeout(this.timer);
    this.log.info('pod finished; address and volumes released');
  }

  /** Runs init containers one after another, then starts every regular container that is waiting. */
  private async startContainers(): Promise<void> {
    for (const run of this.initRuns) {
      if (run.succeeded) {
        continue;
      }
      if (run.state === 'waiting') {
        await this.tryStart(run);
      }
      return;
    }
    for (const run of this.runs) {
      if (run.state === 'waiting') {
        if (run.waiting.reason === WaitingReason.PodInitializing) {
          run.waiting = { reason: WaitingReason.ContainerCreating };
        }
        await this.tryStart(run);
      }
    }
  }

  /** Starts `run` unless a back-off delays it. Failures become waiting reasons or a StartError. */
  private async tryStart(run: ContainerRun): Promise<void> {
    const now = Date.now();
    if (now < run.notBefore) {
      this.wakeAt(run.notBefore);
      return;
    }
    if (run.lastTermination && run.willRestart) {
      const { startAt, delayMs } = run.crashBackoff.nextStart(
        run.lastTermination.finishedAt.getTime(),
        now,
      );
      if (startAt > now) {
        run.waiting = {
          reason: WaitingReason.CrashLoopBackOff,
          message: `back-off ${formatSeconds(delayMs)} restarting failed container=${run.name} pod=${describePod(this.pod)}`,
        };
        run.notBefore = startAt;
        this.wakeAt(startAt);
        const message = `Back-off restarting failed container ${run.name} in pod ${describePod(this.pod)}`;
        void this.deps.api.recordEvent(
          this.pod,
          'Warning',
          'BackOff',
          message,
          this.fieldPath(run),
        );
        return;
      }
    }
    if (run.init && run.spec.restartPolicy === 'Always') {
      this.failConfig(
        run,
        new PodConfigError(
          'sidecar init containers (restartPolicy: Always) are not supported by the test node',
        ),
      );
      return;
    }

    let prepared: PreparedLaunch;
    try {
      prepared = await prepareLaunch({
        pod: this.pod,
        container: run.spec,
        images: this.deps.images,
        source: this.deps.api,
        volumes: this.volumes,
        info: this.runtimeInfo(),
        serviceEnv: this.deps.serviceEnv,
        logsDir: this.deps.logsDir,
        runDir: path.join(this.podDir, 'containers', run.name),
        recordFile: path.join(this.deps.containerRecordsDir, `${this.uid}_${run.name}.json`),
        protectedPaths: this.deps.protectedPaths,
      });
    } catch (error) {
      this.failConfig(run, error);
      return;
    }
    run.configRetry.reset();
    this.imageIDs.set(run.name, `test-node://${prepared.imageName}`);
    this.launch(run, prepared);
  }

  /** Starts a new instance of `run` from a prepared launch, or records why it could not start. */
  private launch(run: ContainerRun, prepared: PreparedLaunch): void {
    if (run.lastTermination || run.restoredInstance) {
      run.restartCount += 1;
      run.restoredInstance = false;
    }
    run.containerID = `test-node://${randomBytes(16).toString('hex')}`;
    run.willRestart = false;
    run.notBefore = 0;
    const startError = (message: string) =>
      this.finishInstance(run, {
        exitCode: 128,
        reason: 'StartError',
        message,
        startedAt: new Date(0),
        finishedAt: new Date(),
        containerID: run.containerID ?? '',
      });
    if (prepared.startError) {
      startError(prepared.startError);
      return;
    }

    const logFile = prepared.spec.logFile;
    run.logOffsets = {
      previous: run.logOffsets.current,
      current: existsSync(logFile) ? statSync(logFile).size : 0,
    };
    let process: ContainerProcess;
    try {
      process = ContainerProcess.launch(prepared.spec);
    } catch (error) {
      startError(error instanceof Error ? error.message : String(error));
      return;
    }
    run.process = process;
    run.state = 'running';
    run.startedAt = process.startedAt;
    run.env = prepared.spec.env;
    run.workingDir = prepared.spec.workingDir;
    run.stopping = false;
    run.started = !run.spec.startupProbe;
    run.readinessPassed = !run.spec.readinessProbe;
    const argv = prepared.spec.argv;
    this.log.info({ container: run.name, processId: process.pid, argv }, 'container started');
    const message = `Started container ${run.name}`;
    void this.deps.api.recordEvent(this.pod, 'Normal', 'Started', message, this.fieldPath(run));
    void process.exited.then((exit) =>
      this.onExit(run, process, exit, prepared.terminationMessageFile),
    );
    this.startProbers(run, process);
  }

  private fieldPath(run: ContainerRun): string {
    return run.init ? `spec.initContainers{${run.name}}` : `spec.containers{${run.name}}`;
  }

  /** Reports a container that cannot be created yet and schedules the next attempt. */
  private failConfig(run: ContainerRun, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const retryAt = Date.now() + run.configRetry.next();
    run.notBefore = retryAt;
    this.wakeAt(retryAt);
    if (error instanceof ImageNotMappedError) {
      const pulling =
        run.waiting.reason === WaitingReason.ErrImagePull ||
        run.waiting.reason === WaitingReason.ImagePullBackOff;
      run.waiting = pulling
        ? {
            reason: WaitingReason.ImagePullBackOff,
            message: `Back-off pulling image ${JSON.stringify(error.image)}: ${message}`,
          }
        : { reason: WaitingReason.ErrImagePull, message };
      void this.deps.api.recordEvent(
        this.pod,
        'Warning',
        'Failed',
        `Failed to pull image ${JSON.stringify(error.image)}: ${message}`,
        this.fieldPath(run),
      );
      return;
    }
    if (!(error instanceof PodConfigError)) {
      this.log.error({ err: error, container: run.name }, 'preparing the container failed');
    }
    run.waiting = { reason: WaitingReason.CreateContainerConfigError, message };
    void this.deps.api.recordEvent(
      this.pod,
      'Warning',
      'Failed',
      `Error: ${message}`,
      this.fieldPath(run),
    );
  }

  private startProbers(run: ContainerRun, process: ContainerProcess): void {
    const target = {
      podIP: this.podIP ?? '',
      ports: run.spec.ports ?? [],
      pid: process.pid,
      env: run.env,
      workingDir: run.workingDir,
    };
    const listener = (kind: ProbeKind, success: boolean, message: string) => {
      if (run.process === process && !run.stopping) {
        this.onProbe(run, process, kind, success, message);
      }
    };
    const make = (kind: ProbeKind, probe: k8s.V1Probe | undefined) => {
      if (probe) {
        const prober = new Prober(kind, probe, target, listener);
        run.probers.push(prober);
        prober.start(process.startedAt);
      }
    };
    if (run.spec.startupProbe && !run.started) {
      make('startup', run.spec.startupProbe);
      return;
    }
    make('liveness', run.spec.livenessProbe);
    make('readiness', run.spec.readinessProbe);
  }

  private onProbe(
    run: ContainerRun,
    process: ContainerProcess,
    kind: ProbeKind,
    success: boolean,
    message: string,
  ): void {
    const label = `${kind[0]?.toUpperCase()}${kind.slice(1)}`;
    if (!success) {
      void this.deps.api.recordEvent(
        this.pod,
        'Warning',
        'Unhealthy',
        `${label} probe failed: ${message}`,
        this.fieldPath(run),
      );
    }
    if (kind === 'readiness') {
      run.readinessPassed = success;
    } else if (kind === 'startup' && success) {
      run.started = true;
      run.stopProbers();
      this.startProbers(run, process);
    } else if (!success) {
      const probe = kind === 'startup' ? run.spec.startupProbe : run.spec.livenessProbe;
      const grace =
        probe?.terminationGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
      run.stopping = true;
      run.stopProbers();
      const text = `Container ${run.name} failed ${kind} probe, will be restarted`;
      this.log.info(
        { container: run.name, kind, message },
        'probe failed; restarting the container',
      );
      void this.deps.api.recordEvent(this.pod, 'Normal', 'Killing', text, this.fieldPath(run));
      void process.stop(grace * 1000);
    }
    this.kick();
  }

  private onExit(
    run: ContainerRun,
    process: ContainerProcess,
    exit: Exit,
    messageFile: string,
  ): void {
    if (run.process !== process) {
      return;
    }
    run.process = undefined;
    run.stopProbers();
    const termination = terminationOf({
      container: run.spec,
      exit,
      startedAt: process.startedAt,
      containerID: run.containerID ?? '',
      messageFile,
      logFile: containerLogFile(this.deps.logsDir, this.pod, run.name),
      logOffset: run.logOffsets.current,
    });
    const { exitCode, reason } = termination;
    this.log.info({ container: run.name, exitCode, reason }, 'container exited');
    this.finishInstance(run, termination);
  }

  /** Records a finished instance and decides, by the restart policy, whether it runs again. */
  private finishInstance(run: ContainerRun, termination: Termination): void {
    run.previousTermination = run.lastTermination;
    run.lastTermination = termination;
    run.started = false;
    run.readinessPassed = false;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (restartsAfter(run.init, policy, termination.exitCode) && !this.terminating) {
      run.state = 'waiting';
      run.willRestart = true;
      run.waiting = { reason: WaitingReason.CrashLoopBackOff };
    } else {
      run.state = 'terminated';
      run.willRestart = false;
    }
    this.kick();
  }

  /** Stops every container with the grace period, releases the sandbox and deletes the pod object. */
  private async terminate(): Promise<void> {
    if (!this.terminating) {
      this.terminating = true;
      this.log.info('pod deleted; stopping its containers');
    }
    clearTimeout(this.timer);
    const grace = this.gone
      ? 0
      : (this.pod.metadata?.deletionGracePeriodSeconds ??
        this.pod.spec?.terminationGracePeriodSeconds ??
        30);
    const stopping: Promise<Exit>[] = [];
    for (const run of [...this.initRuns, ...this.runs]) {
      run.stopProbers();
      if (run.process) {
        run.stopping = true;
        void this.deps.api.recordEvent(
          this.pod,
          'Normal',
          'Killing',
          `Stopping container ${run.name}`,
          this.fieldPath(run),
        );
        stopping.push(run.process.stop(grace * 1000));
      } else if (run.state === 'waiting') {
        run.willRestart = false;
      }
    }
    await Promise.all(stopping);
    this.releaseSandbox();
    if (!this.gone) {
      if (!this.terminalRestored) {
        await this.writeStatus();
      }
      await this.deps.api.deletePod(this.pod);
    }
    rmSync(this.podDir, { recursive: true, force: true });
    this.deps.api.forgetPod(this.uid);
    this.finished = true;
    this.log.info('pod removed from the node');
    if (this.gone) {
      this.deps.onGone(this.uid);
    }
  }

  /** Stops the containers at once, without deleting the pod, when the node itself shuts down. */
  async shutdown(graceMs: number): Promise<void> {
    this.finished = true;
    clearTimeout(this.timer);
    const running = [...this.initRuns, ...this.runs].filter((run) => run.process);
    await Promise.all(
      running.map((run) => {
        run.stopProbers();
        run.stopping = true;
        return run.process?.stop(graceMs);
      }),
    );
  }

  private async writeStatus(): Promise<void> {
    const status = computePodStatus(this.view(), this.clock, this.imageIDs, new Date());
    const text = JSON.stringify(status);
    if (text === this.lastSentStatus) {
      return;
    }
    try {
      await this.deps.api.patchPodStatus(this.pod, status);
      this.lastSentStatus = text;
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === 404) {
        return;
      }
      this.log.warn({ err: error }, 'writing the pod status failed; retrying in 1s');
      this.wakeAt(Date.now() + 1000);
    }
  }

  /** Returns where the current and previous instance of a container begin in its log file. */
  logOffsets(container: string): { current: number; previous: number | undefined } | undefined {
    return [...this.initRuns, ...this.runs].find((r) => r.name === container)?.logOffsets;
  }
}
