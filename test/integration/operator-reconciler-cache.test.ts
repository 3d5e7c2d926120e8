// The reconciler reads ModelDeployments from the informer's cache, and from the apiserver only
// while the cached copy is the version its own last status write replaced. A cache that lags
// the operator's write costs one read, never a 409 loop.
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import type { ObjectCache } from '../../operator/src/controller/context.ts';
import { EventRecorder } from '../../operator/src/controller/events.ts';
import { Reconciler } from '../../operator/src/controller/reconciler.ts';
import { OperatorMetrics } from '../../operator/src/http/metrics.ts';
import { RESOURCES, resourcePath } from '../../operator/src/kube/client.ts';
import { systemClock } from '../../operator/src/util/clock.ts';
import { apiClient, installCrd } from './operator-harness.ts';
import { useNamespace } from './support/index.ts';

const log = pino({ level: 'silent' });
const NAME = 'cached';
const space = useNamespace('reconciler-cache');

beforeAll(async () => {
  await installCrd();
});

/** A reconciler whose cache returns `copy.current` and whose client counts reads of the resource. */
function reconcilerWithCache(copy: { current: ModelDeployment | undefined }) {
  const kube = apiClient();
  const reads: string[] = [];
  const get = kube.get.bind(kube);
  kube.get = ((path: string, options) => {
    reads.push(path);
    return get(path, options);
  }) as typeof kube.get;
  const metrics = new OperatorMetrics();
  const cache: ObjectCache = {
    modelDeployment: () => copy.current,
    pods: () => [],
    jobs: () => [],
    deployment: () => undefined,
    service: () => undefined,
  };
  const reconciler = new Reconciler({
    kube,
    cache,
    events: new EventRecorder({ client: kube, log, metrics, clock: systemClock, instance: 'test' }),
    metrics,
    clock: systemClock,
    log,
    children: { images: { default: 'modelwarden/model-server:0.1.0', byFormat: {} } },
    resyncMs: 600_000,
  });
  return { reconciler, reads, metrics };
}

async function statusWrites(metrics: OperatorMetrics, outcome: string): Promise<number> {
  const metric = await metrics.statusWrites.get();
  return metric.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

describe('Reconciler fetch', () => {
  it('reads the apiserver while the cache lags', async () => {
    const namespace = space.name;
    const path = resourcePath(RESOURCES.modelDeployments, namespace, NAME);
    const created = await apiClient().create<ModelDeployment>(
      resourcePath(RESOURCES.modelDeployments, namespace),
      {
        apiVersion: 'modelwarden.io/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: NAME, namespace },
        spec: {
          model: {
            name: 'cars',
            uri: 'file:///models/cars/v1',
            format: 'tfjs-layers',
            version: 'v1',
          },
          replicas: 0,
        },
      } as ModelDeployment,
    );
    const copy = { current: created as ModelDeployment | undefined };
    const { reconciler, reads, metrics } = reconcilerWithCache(copy);
    const key = `${namespace}/${NAME}`;

    // First visit: the cached copy is read, the status written.
    await reconciler.reconcile(key, log);
    expect(reads).toEqual([]);
    expect(await statusWrites(metrics, 'written')).toBe(1);

    // The cached copy is the version the write replaced, so the reconcile reads the apiserver.
    await reconciler.reconcile(key, log);
    expect(reads).toEqual([path]);
    expect(await statusWrites(metrics, 'conflict')).toBe(0);

    // Once the cache has caught up, no read goes to the apiserver.
    copy.current = await apiClient().get<ModelDeployment>(path);
    await reconciler.reconcile(key, log);
    expect(reads).toEqual([path]);
    expect(await statusWrites(metrics, 'conflict')).toBe(0);
    expect(copy.current.status?.observedGeneration).toBe(1);

    // A deleted resource leaves the cache; the apiserver's 404 ends the reconcile.
    await apiClient().delete(path);
    copy.current = undefined;
    expect(await reconciler.reconcile(key, log)).toEqual({ kind: 'done' });
  });
});
