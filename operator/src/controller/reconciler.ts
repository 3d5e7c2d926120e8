// reconcile(key): fetch, handle deletion, then the named steps, ending with the status write.
// A returned result may ask for a requeue after a delay, for an expected waiting state. A thrown
// error is transient, so the key is retried with rate-limited backoff. A TerminalError is
// recorded in status and not retried until the resource changes.
import type { Logger } from 'pino';
import type { ModelDeployment } from '../api/model-deployment.ts';
import { errorMessage, isConflict, isNotFound, TerminalError } from '../errors.ts';
import { healthMetrics } from '../evaluation/health-metrics.ts';
import type { OperatorMetrics } from '../http/metrics.ts';
import { RESOURCES, resourcePath, type KubeClient } from '../kube/client.ts';
import type { Clock } from '../util/clock.ts';
import type { ChildOptions } from './children/deployment.ts';
import { findCondition, initializeConditions } from './conditions.ts';
import {
  updateCondition,
  type ObjectCache,
  type ReconcileContext,
  type ReconcileStep,
} from './context.ts';
import type { EventRecorder } from './events.ts';
import { Reason } from './reasons.ts';
import { ensureChildren } from './steps/ensure-children.ts';
import { evaluate } from './steps/evaluate.ts';
import { observeRollout } from './steps/observe-rollout.ts';
import { probe } from './steps/probe.ts';
import { retrain } from './steps/retrain.ts';
import { OUTDATED_VERSION, writeStatus } from './steps/write-status.ts';

/** Steps after fetch and deletion handling, in order. write-status always comes last. */
export const STEPS: readonly ReconcileStep[] = [
  ensureChildren,
  observeRollout,
  probe,
  evaluate,
  retrain,
];

export type ReconcileOutcome =
  | { kind: 'done' }
  /** `requested` when a step asked for the delay, false for the periodic resync. */
  | { kind: 'requeue'; afterMs: number; requested: boolean }
  | { kind: 'terminal'; reason: string; message: string };

export interface ReconcilerOptions {
  kube: KubeClient;
  cache: ObjectCache;
  events: EventRecorder;
  metrics: OperatorMetrics;
  clock: Clock;
  log: Logger;
  children: ChildOptions;
  /** Periodic requeue of every resource, so drift in children is repaired. */
  resyncMs: number;
}

export class Reconciler {
  private readonly options: ReconcilerOptions;
  private readonly memories = new Map<string, Map<string, unknown>>();

  constructor(options: ReconcilerOptions) {
    this.options = options;
  }

  /** Drops the in-memory state of a deleted resource. */
  forget(key: string): void {
    this.memories.delete(key);
    const [namespace = '', name = ''] = key.split('/');
    healthMetrics(this.options.metrics.registry).forget(namespace, name);
  }

  async reconcile(key: string, log: Logger): Promise<ReconcileOutcome> {
    const resource = await this.fetch(key);
    if (!resource) {
      log.debug('resource is gone');
      this.forget(key);
      return { kind: 'done' };
    }
    // Owner references let the garbage collector delete the children, so no finalizer is needed.
    if (resource.metadata.deletionTimestamp) {
      log.debug('resource is being deleted');
      return { kind: 'done' };
    }
    const context = this.context(key, resource, log);
    try {
      for (const step of STEPS) {
        log.debug({ step: step.name }, 'running step');
        await step.run(context);
      }
    } catch (error) {
      if (!(error instanceof TerminalError)) {
        await this.recordError(context, error);
        throw error;
      }
      const failed = { status: 'False', reason: error.reason, message: error.message } as const;
      updateCondition(context, { type: 'Progressing', ...failed }, true);
      // Before a first rollout, Available still has the first visit's "not observed yet".
      if (findCondition(context.status.conditions, 'Available')?.reason === Reason.Reconciling)
        updateCondition(context, { type: 'Available', ...failed });
      await writeStatus.run(context);
      await this.flushEvents(context);
      return { kind: 'terminal', reason: error.reason, message: error.message };
    }
    await writeStatus.run(context);
    await this.flushEvents(context);
    const requested =
      context.requeueAfterMs !== undefined && context.requeueAfterMs < this.options.resyncMs;
    const afterMs = requested ? (context.requeueAfterMs ?? 0) : this.options.resyncMs;
    return { kind: 'requeue', afterMs, requested };
  }

  /**
   * Reads the resource from the informer's copy, or from the apiserver when the copy is missing
   * or is the version that this process last wrote over or failed to write (see write-status).
   * Steps may change the object they get, so the copy is cloned.
   */
  private async fetch(key: string): Promise<ModelDeployment | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.options.cache.modelDeployment(namespace, name);
    const outdated = this.memories.get(key)?.get(OUTDATED_VERSION);
    if (cached && cached.metadata.resourceVersion !== outdated) return structuredClone(cached);
    try {
      return await this.options.kube.get<ModelDeployment>(
        resourcePath(RESOURCES.modelDeployments, namespace, name),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private context(key: string, resource: ModelDeployment, log: Logger): ReconcileContext {
    let memory = this.memories.get(key);
    if (!memory) {
      memory = new Map();
      this.memories.set(key, memory);
    }
    const now = this.options.clock.now();
    const status = structuredClone(resource.status ?? {});
    status.conditions ??= [];
    initializeConditions(status.conditions, resource.metadata.generation, now, Reason.Reconciling);
    return {
      key,
      log,
      clock: this.options.clock,
      now,
      kube: this.options.kube,
      cache: this.options.cache,
      events: this.options.events,
      metrics: this.options.metrics,
      options: this.options.children,
      memory,
      resource,
      status,
      pendingEvents: [],
      pods: [],
    };
  }

  /** Records a transient failure as a Warning Event; conflicts are routine and stay silent. */
  private async recordError(context: ReconcileContext, error: unknown): Promise<void> {
    if (isConflict(error)) return;
    await context.events.record(context.resource, {
      type: 'Warning',
      reason: Reason.ReconcileError,
      action: 'Reconcile',
      note: errorMessage(error),
    });
  }

  private async flushEvents(context: ReconcileContext): Promise<void> {
    for (const event of context.pendingEvents.splice(0)) {
      await context.events.record(context.resource, event);
    }
  }
}
