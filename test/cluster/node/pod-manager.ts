// Watches the pods bound to this node and gives each its own worker.
import * as k8s from '@kubernetes/client-node';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { isAlive, readRecord, stopProcess } from '../processes.ts';
import { PodWorker, type WorkerDeps } from './pod-worker.ts';

export class PodManager {
  private readonly workers = new Map<string, PodWorker>();
  private readonly informer: k8s.ListWatch<k8s.V1Pod>;
  private readonly deps: Omit<WorkerDeps, 'onGone'>;
  private readonly log: Logger;
  private stopped = false;

  constructor(kubeconfig: k8s.KubeConfig, nodeName: string, deps: Omit<WorkerDeps, 'onGone'>) {
    this.deps = deps;
    this.log = deps.log;
    const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    const fieldSelector = `spec.nodeName=${nodeName}`;
    this.informer = new k8s.ListWatch(
      '/api/v1/pods',
      new k8s.Watch(kubeconfig),
      () => core.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
  }

  /**
   * Kills container processes left by an earlier node process, then starts watching pods. The
   * node cannot wait for processes that are not its children, so it restarts the containers of
   * pods that still exist rather than adopting them.
   */
  async start(): Promise<void> {
    await this.killOrphans();
    this.informer.on('add', (pod) => this.onPod(pod));
    this.informer.on('update', (pod) => this.onPod(pod));
    this.informer.on('delete', (pod) => this.workers.get(pod.metadata?.uid ?? '')?.markGone());
    this.informer.on('error', (error: unknown) => {
      if (this.stopped) {
        return;
      }
      this.log.warn({ err: error }, 'pod watch failed; restarting it in 2s');
      setTimeout(() => void this.informer.start(), 2000);
    });
    await this.informer.start();
    this.removeStalePodFolders();
  }

  private async killOrphans(): Promise<void> {
    const dir = this.deps.containerRecordsDir;
    if (!existsSync(dir)) {
      return;
    }
    for (const file of readdirSync(dir)) {
      const record = readRecord(path.join(dir, file));
      if (record && isAlive(record)) {
        const result = await stopProcess(record, 5_000);
        this.log.info(
          { processId: record.pid, record: file, result },
          'stopped a container process left by an earlier node process',
        );
      }
      rmSync(path.join(dir, file), { force: true });
    }
  }

  private removeStalePodFolders(): void {
    if (!existsSync(this.deps.podsDir)) {
      return;
    }
    for (const uid of readdirSync(this.deps.podsDir)) {
      if (!this.workers.has(uid)) {
        rmSync(path.join(this.deps.podsDir, uid), { recursive: true, force: true });
      }
    }
  }

  private onPod(pod: k8s.V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const existing = this.workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    if (this.stopped) {
      return;
    }
    const worker = new PodWorker(pod, {
      ...this.deps,
      onGone: (gone) => this.workers.delete(gone),
    });
    this.workers.set(uid, worker);
    worker.kick();
  }

  findPod(namespace: string, name: string): k8s.V1Pod | undefined {
    return this.informer.get(name, namespace);
  }

  logOffsets(
    uid: string,
    container: string,
  ): { current: number; previous: number | undefined } | undefined {
    return this.workers.get(uid)?.logOffsets(container);
  }

  /** Stops watching and stops every container within `graceMs`; pods stay in the API. */
  async shutdown(graceMs: number): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
    await Promise.all([...this.workers.values()].map((worker) => worker.shutdown(graceMs)));
  }
}
