// The contract between the reconciler and its steps. A step reads the fetched resource and the
// informer caches, may call the API, and records its findings in the status draft. The final
// write-status step writes the draft when it differs from the stored status.
import type { V1Deployment, V1Job, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ModelDeployment, ModelDeploymentStatus } from '../api/model-deployment.ts';
import type { OperatorMetrics } from '../http/metrics.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Clock } from '../util/clock.ts';
import type { ServedModel } from './children/model.ts';
import type { ChildOptions } from './children/deployment.ts';
import { conditionEvent, setCondition, type ConditionUpdate } from './conditions.ts';
import type { EventRecorder, EventSpec } from './events.ts';

/** Read access to the informer caches of the objects a ModelDeployment owns. */
export interface ObjectCache {
  /** The ModelDeployment `namespace/name` as last seen by the informer, if any. */
  modelDeployment(namespace: string, name: string): ModelDeployment | undefined;
  /** Serving pods of the ModelDeployment `namespace/name`. */
  pods(namespace: string, name: string): V1Pod[];
  /** Jobs whose controller owner is the ModelDeployment `namespace/name`. */
  jobs(namespace: string, name: string): V1Job[];
  /** The managed Deployment `namespace/name` as last seen by the informer, if any. */
  deployment(namespace: string, name: string): V1Deployment | undefined;
  /** The managed Service `namespace/name` as last seen by the informer, if any. */
  service(namespace: string, name: string): V1Service | undefined;
}

export interface ReconcileContext {
  /** `namespace/name` of the ModelDeployment. */
  readonly key: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** Start time of this reconcile, which every step uses so that one pass has one time. */
  readonly now: Date;
  readonly kube: KubeClient;
  readonly cache: ObjectCache;
  readonly events: EventRecorder;
  readonly metrics: OperatorMetrics;
  readonly options: ChildOptions;
  /**
   * State kept in memory across reconciles of this key (e.g. the previous scrape), dropped
   * when the ModelDeployment is deleted or the operator restarts. Anything that must survive
   * a restart belongs in status.
   */
  readonly memory: Map<string, unknown>;
  /** The ModelDeployment as fetched at the start of this reconcile. Steps do not modify it. */
  readonly resource: ModelDeployment;
  /** Status to write at the end; a deep copy of resource.status, modified by the steps. */
  readonly status: ModelDeploymentStatus;
  /** Events to record after the status write succeeded. */
  readonly pendingEvents: EventSpec[];
  /** Model the serving pods are configured with, set by the ensure-children step. */
  model?: ServedModel;
  deployment?: V1Deployment;
  service?: V1Service;
  /** Serving pods from the cache, set by the ensure-children step. */
  pods: V1Pod[];
  /** Smallest requested requeue delay in milliseconds, if any step asked for one. */
  requeueAfterMs?: number;
}

/** One named step of the reconcile pipeline. A thrown error aborts the reconcile. */
export interface ReconcileStep {
  readonly name: string;
  run(context: ReconcileContext): Promise<void>;
}

/** Asks for another reconcile after `delayMs`; the smallest request of all steps wins. */
export function requeueAfter(context: ReconcileContext, delayMs: number): void {
  if (context.requeueAfterMs === undefined || delayMs < context.requeueAfterMs) {
    context.requeueAfterMs = delayMs;
  }
}

/**
 * Sets a condition in the status draft and, when its status flips or its reason changes, queues
 * an Event with the condition's reason: Warning for a problem, Normal otherwise.
 */
export function updateCondition(
  context: ReconcileContext,
  update: ConditionUpdate,
  warning = false,
): void {
  context.status.conditions ??= [];
  const change = setCondition(
    context.status.conditions,
    update,
    context.resource.metadata.generation,
    context.now,
  );
  const event = conditionEvent(change.previous, update, warning);
  if (event) context.pendingEvents.push(event);
}
