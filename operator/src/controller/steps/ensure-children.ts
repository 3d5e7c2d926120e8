// Applies the Deployment and Service by server-side apply and records the served model.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../../api/labels.ts';
import { KubeApiError, TerminalError } from '../../errors.ts';
import { RESOURCES, resourcePath } from '../../kube/client.ts';
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

export const ensureChildren: ReconcileStep = {
  name: 'ensure-children',
  async run(context) {
    const { resource } = context;
    const namespace = resource.metadata.namespace ?? '';
    const name = resource.metadata.name ?? '';
    const model = selectModel(resource);
    context.model = model;

    context.deployment = await applyChild<V1Deployment>(
      context,
      'Deployment',
      resourcePath(RESOURCES.deployments, namespace, name),
      buildDeployment(resource, model, context.options),
    );
    context.service = await applyChild<V1Service>(
      context,
      'Service',
      resourcePath(RESOURCES.services, namespace, name),
      buildService(resource),
    );
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
