// Writes the status draft through the status subresource when it differs from the stored one.
// The PUT carries the fetched resourceVersion, so a concurrent write fails with 409 and the
// reconcile is retried from a fresh read.
//
// After a write or a 409, the version the reconcile read is known to be outdated. It is kept in
// the key's memory, so that the next reconcile reads from the apiserver instead of an informer
// copy that has not seen the change yet.
import { isDeepStrictEqual } from 'node:util';
import type { ModelDeployment } from '../../api/model-deployment.ts';
import { isConflict } from '../../errors.ts';
import { RESOURCES, resourcePath } from '../../kube/client.ts';
import { servingSelectorLabels } from '../children/deployment.ts';
import type { ReconcileContext, ReconcileStep } from '../context.ts';
import { summarizeHealth } from '../health.ts';

/** Fills the fields derived from the rest of the draft. */
export function finalizeStatus(context: ReconcileContext): void {
  const { resource, status } = context;
  status.observedGeneration = resource.metadata.generation;
  status.selector = Object.entries(servingSelectorLabels(resource))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  status.health = summarizeHealth(status.conditions);
}

/** Memory key of the resourceVersion that a status write or a 409 showed to be outdated. */
export const OUTDATED_VERSION = 'outdated-resource-version';

export const writeStatus: ReconcileStep = {
  name: 'write-status',
  async run(context) {
    finalizeStatus(context);
    const { resource, metrics } = context;
    // The JSON round trip drops undefined fields, which the stored status never has.
    const status = JSON.parse(JSON.stringify(context.status)) as ModelDeployment['status'];
    if (isDeepStrictEqual(resource.status ?? {}, status)) {
      metrics.statusWrites.inc({ outcome: 'unchanged' });
      return;
    }
    const body: ModelDeployment = { ...resource, status };
    const path = resourcePath(
      RESOURCES.modelDeployments,
      resource.metadata.namespace,
      resource.metadata.name,
      'status',
    );
    try {
      await context.kube.replace(path, body);
      metrics.statusWrites.inc({ outcome: 'written' });
      context.memory.set(OUTDATED_VERSION, resource.metadata.resourceVersion);
    } catch (error) {
      if (isConflict(error)) {
        metrics.statusWrites.inc({ outcome: 'conflict' });
        context.memory.set(OUTDATED_VERSION, resource.metadata.resourceVersion);
      }
      throw error;
    }
  },
};
