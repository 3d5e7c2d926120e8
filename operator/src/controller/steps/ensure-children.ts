// Applies the Deployment and Service by server-side apply and records the served model.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { FIELD_MANAGER } from '../../api/labels.ts';
import { KubeApiError, TerminalError } from '../../errors.ts';
import { RESOURCES, resourcePath, type KubeObject } from '../../kube/client.ts';
import { containsFields } from '../children/contains.ts';
import { buildDeployment, buildService } from '../children/deployment.ts';
import { selectModel } from '../children/model.ts';
import type { ReconcileContext, ReconcileStep } from '../context.ts';
import { recordServedModel } from '../history.ts';
import { Reason } from '../reasons.ts';

/** Status codes with which the apiserver rejects an object it will never accept as it is. */
const INVALID_STATUSES = new Set([400, 422]);

async function applyChild<T>(
  context: ReconcileContext,
  kind: string,
  path: string,
  body: unknown,
): Promise<T> {
  try {
    return await context.kube.apply<T>(path, body, FIELD_MANAGER);
  } catch (error) {
    if (error instanceof KubeApiError && INVALID_STATUSES.has(error.statusCode)) {
      throw new TerminalError(
        Reason.InvalidSpec,
        `the apiserver rejected the ${kind}: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/**
 * Applies `desired` unless the apply would change nothing. That is the case when this process
 * last applied the same body for this key and the informer's copy still has every field of it.
 * The first check catches fields the operator stopped setting, which server-side apply would
 * remove; the copy still has them. The second check catches changes by others. A no-op apply
 * writes nothing to etcd, but it is still a PATCH request, and steady state should send none.
 */
async function ensureChild<T extends KubeObject & { spec?: unknown }>(
  context: ReconcileContext,
  kind: string,
  path: string,
  desired: T,
  cached: T | undefined,
): Promise<T> {
  const memoryKey = `applied-${kind}`;
  const digest = createHash('sha256').update(JSON.stringify(desired)).digest('hex');
  const unchanged =
    cached !== undefined &&
    !cached.metadata?.deletionTimestamp &&
    context.memory.get(memoryKey) === digest &&
    containsFields({ metadata: desired.metadata, spec: desired.spec }, cached);
  if (unchanged) return cached;
  const applied = await applyChild<T>(context, kind, path, desired);
  context.memory.set(memoryKey, digest);
  return applied;
}

export const ensureChildren: ReconcileStep = {
  name: 'ensure-children',
  async run(context) {
    const { resource } = context;
    const namespace = resource.metadata.namespace ?? '';
    const name = resource.metadata.name ?? '';
    const model = selectModel(resource);
    context.model = model;

    // The two applies do not depend on each other, so they share one round trip of latency.
    [context.deployment, context.service] = await Promise.all([
      ensureChild<V1Deployment>(
        context,
        'Deployment',
        resourcePath(RESOURCES.deployments, namespace, name),
        buildDeployment(resource, model, context.options),
        context.cache.deployment(namespace, name),
      ),
      ensureChild<V1Service>(
        context,
        'Service',
        resourcePath(RESOURCES.services, namespace, name),
        buildService(resource),
        context.cache.service(namespace, name),
      ),
    ]);
    context.pods = context.cache.pods(namespace, name);

    context.status.activeModel = {
      uri: model.uri,
      ...(model.version ? { version: model.version } : {}),
      ...(model.sha256 ? { sha256: model.sha256 } : {}),
      source: model.source,
      ...(model.source === 'Spec' ? {} : { specUri: resource.spec.model.uri }),
    };
    if (model.source === 'Spec') recordServedModel(context.status, model, 'Spec', context.now);
  },
};
