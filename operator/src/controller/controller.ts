// Wires informers to the work queue and runs the workers. ModelDeployment events queue their
// own key; events of owned Deployments, Services, Jobs and serving pods queue the owner's key.
import type { V1Deployment, V1Job, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { KIND, type ModelDeployment } from '../api/model-deployment.ts';
import { Label, MANAGED_SELECTOR } from '../api/labels.ts';
import { isServingPod } from './children/deployment.ts';
import { errorMessage } from '../errors.ts';
import type { OperatorMetrics, ReconcileResult } from '../http/metrics.ts';
import { RESOURCES, type KubeClient, type KubeObject, type ResourceType } from '../kube/client.ts';
import { Informer, objectKey } from '../kube/informer.ts';
import { isConflict } from '../errors.ts';
import type { ObjectCache } from './context.ts';
import { WorkQueue } from './queue.ts';
import type { Reconciler } from './reconciler.ts';

export interface ControllerOptions {
  kube: KubeClient;
  metrics: OperatorMetrics;
  log: Logger;
  /** Namespaces to watch; empty for all namespaces. */
  namespaces: readonly string[];
  concurrency: number;
}

/** The parts of an informer the controller starts, stops and waits for. */
type InformerHandle = Pick<Informer<KubeObject>, 'start' | 'stop' | 'synced' | 'hasSynced'>;

/** Returns the key of the ModelDeployment that controls `object`, if any. */
function ownerKey(object: KubeObject): string | undefined {
  const owner = object.metadata?.ownerReferences?.find(
    (ref) => ref.controller && ref.kind === KIND,
  );
  if (!owner || !object.metadata?.namespace) return undefined;
  return `${object.metadata.namespace}/${owner.name}`;
}

/** Returns true when an update changed neither spec (generation) nor labels, annotations or deletion. */
function onlyStatusChanged(previous: ModelDeployment, current: ModelDeployment): boolean {
  const before = previous.metadata;
  const after = current.metadata;
  return (
    before.generation === after.generation &&
    before.deletionTimestamp === after.deletionTimestamp &&
    isDeepStrictEqual(before.labels ?? {}, after.labels ?? {}) &&
    isDeepStrictEqual(before.annotations ?? {}, after.annotations ?? {})
  );
}

function servingPodKey(pod: V1Pod): string | undefined {
  const name = pod.metadata?.labels?.[Label.modelDeployment];
  if (!name || !pod.metadata?.namespace || !isServingPod(pod, name)) return undefined;
  return `${pod.metadata.namespace}/${name}`;
}

/** Looks `namespace/name` up in informers of one kind, one informer per watched namespace. */
function cachedObject<T extends KubeObject>(
  informers: readonly Informer<T>[],
  namespace: string,
  name: string,
): T | undefined {
  const key = `${namespace}/${name}`;
  for (const informer of informers) {
    const object = informer.get(key);
    if (object) return object;
  }
  return undefined;
}

export class Controller implements ObjectCache {
  private readonly options: ControllerOptions;
  private readonly queue: WorkQueue;
  private readonly informers: InformerHandle[] = [];
  private readonly modelDeploymentInformers: Informer<ModelDeployment>[] = [];
  private readonly podInformers: Informer<V1Pod>[] = [];
  private readonly jobInformers: Informer<V1Job>[] = [];
  private readonly deploymentInformers: Informer<V1Deployment>[] = [];
  private readonly serviceInformers: Informer<V1Service>[] = [];
  private workers: Promise<void>[] = [];
  private reconciler: Reconciler | undefined;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.queue = new WorkQueue({ onDepth: (depth) => options.metrics.queueDepth.set(depth) });
    const scopes = options.namespaces.length > 0 ? options.namespaces : [undefined];
    for (const namespace of scopes) {
      const modelDeployments = this.informer<ModelDeployment>(
        RESOURCES.modelDeployments,
        namespace,
        undefined,
        (event, object, previous) => {
          const key = objectKey(object);
          if (event === 'delete') this.reconciler?.forget(key);
          // The operator's own status writes need no reconcile; periodic work is requeued instead.
          if (event === 'update' && previous && onlyStatusChanged(previous, object)) return;
          this.queue.add(key);
        },
      );
      this.modelDeploymentInformers.push(modelDeployments);
      this.informers.push(modelDeployments);
      const deployments = this.informer<V1Deployment>(
        RESOURCES.deployments,
        namespace,
        MANAGED_SELECTOR,
        (_event, object) => this.enqueueOwner(object),
      );
      const services = this.informer<V1Service>(
        RESOURCES.services,
        namespace,
        MANAGED_SELECTOR,
        (_event, object) => this.enqueueOwner(object),
      );
      this.deploymentInformers.push(deployments);
      this.serviceInformers.push(services);
      this.informers.push(deployments, services);
      const pods = this.informer<V1Pod>(
        RESOURCES.pods,
        namespace,
        MANAGED_SELECTOR,
        (_event, pod) => {
          const key = servingPodKey(pod);
          if (key) this.queue.add(key);
        },
        servingPodKey,
      );
      const jobs = this.informer<V1Job>(
        RESOURCES.jobs,
        namespace,
        MANAGED_SELECTOR,
        (_event, job) => this.enqueueOwner(job),
        ownerKey,
      );
      this.podInformers.push(pods);
      this.jobInformers.push(jobs);
      this.informers.push(pods, jobs);
    }
  }

  private informer<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    labelSelector: string | undefined,
    onEvent: (event: 'add' | 'update' | 'delete', object: T, previous?: T) => void,
    indexKey?: (object: T) => string | undefined,
  ): Informer<T> {
    return new Informer<T>({
      client: this.options.kube,
      type,
      namespace,
      labelSelector,
      indexKey,
      log: this.options.log.child({ informer: type.plural, namespace: namespace ?? '*' }),
      onEvent,
      onRestart: (cause) =>
        this.options.metrics.watchRestarts.inc({ resource: type.plural, cause }),
    });
  }

  private enqueueOwner(object: KubeObject): void {
    const key = ownerKey(object);
    if (key) this.queue.add(key);
  }

  /** Serving pods of one ModelDeployment, from the informers' index by owner. */
  pods(namespace: string, name: string): V1Pod[] {
    return this.podInformers.flatMap((informer) => informer.indexed(`${namespace}/${name}`));
  }

  jobs(namespace: string, name: string): V1Job[] {
    return this.jobInformers.flatMap((informer) => informer.indexed(`${namespace}/${name}`));
  }

  modelDeployment(namespace: string, name: string): ModelDeployment | undefined {
    return cachedObject(this.modelDeploymentInformers, namespace, name);
  }

  deployment(namespace: string, name: string): V1Deployment | undefined {
    return cachedObject(this.deploymentInformers, namespace, name);
  }

  service(namespace: string, name: string): V1Service | undefined {
    return cachedObject(this.serviceInformers, namespace, name);
  }

  /** Whether every informer has delivered its first list. */
  get synced(): boolean {
    return this.informers.every((informer) => informer.hasSynced);
  }

  /** Starts the informers, waits for their first lists, then starts the workers. */
  async start(reconciler: Reconciler): Promise<void> {
    this.reconciler = reconciler;
    for (const informer of this.informers) informer.start();
    await Promise.all(this.informers.map((informer) => informer.synced));
    this.options.log.info({ informers: this.informers.length }, 'caches synced, starting workers');
    this.workers = Array.from({ length: this.options.concurrency }, () => this.work(reconciler));
  }

  /** Stops taking work, waits for in-flight reconciles, then stops the informers. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.workers);
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  private async work(reconciler: Reconciler): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      await this.process(reconciler, key);
      this.queue.done(key);
    }
  }

  private async process(reconciler: Reconciler, key: string): Promise<void> {
    const { metrics } = this.options;
    const [namespace, name] = key.split('/');
    const log = this.options.log.child({ namespace, name, reconcileId: randomUUID().slice(0, 8) });
    const stopTimer = metrics.reconcileDuration.startTimer();
    let result: ReconcileResult;
    try {
      const outcome = await reconciler.reconcile(key, log);
      this.queue.forget(key);
      if (outcome.kind === 'requeue') {
        this.queue.addAfter(key, outcome.afterMs);
        result = outcome.requested ? 'requeue' : 'success';
      } else if (outcome.kind === 'terminal') {
        log.warn(
          { reason: outcome.reason, message: outcome.message },
          'reconcile failed terminally, not retrying',
        );
        result = 'terminal';
      } else {
        result = 'success';
      }
      log.debug({ result }, 'reconciled');
    } catch (error) {
      const delayMs = this.queue.addRateLimited(key);
      result = isConflict(error) ? 'conflict' : 'error';
      const level = result === 'conflict' ? 'debug' : 'error';
      log[level](
        { err: errorMessage(error), delayMs, failures: this.queue.failureCount(key) },
        'reconcile failed, retrying',
      );
    }
    stopTimer();
    metrics.reconcileTotal.inc({ result });
  }
}
