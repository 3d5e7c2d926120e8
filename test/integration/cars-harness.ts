// Helpers of the monitoring and retraining cluster tests: the API client of the local cluster,
// polling a ModelDeployment, and cars traffic to its serving pods.
import path from 'node:path';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { KubeClient, loadKubeConfig } from '../../operator/src/kube/client.ts';
import type { Car } from '../../scripts/demo/cars.ts';
import { servingTargets } from '../../scripts/demo/scenario.ts';
import { TrafficDriver } from '../../scripts/demo/traffic.ts';
import { kubeconfigPath } from './support/kube.ts';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const kubeconfig = kubeconfigPath();
export const kube = new KubeClient(loadKubeConfig(kubeconfig));

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls a ModelDeployment until `check` holds; fails with the last status after `timeoutMs`. */
export async function waitForDeployment(
  mdepPath: string,
  check: (resource: ModelDeployment) => boolean,
  timeoutMs = 120_000,
): Promise<ModelDeployment> {
  const deadline = Date.now() + timeoutMs;
  let resource = await kube.get<ModelDeployment>(mdepPath);
  while (!check(resource)) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${mdepPath}; last status: ${JSON.stringify(resource.status, null, 1)}`,
      );
    }
    await sleep(300);
    resource = await kube.get<ModelDeployment>(mdepPath);
  }
  return resource;
}

/** Starts predictions with feedback of `cars` against the serving pods of `namespace`/cars. */
export function startTraffic(namespace: string, cars: readonly Car[]): TrafficDriver {
  const traffic = new TrafficDriver({
    model: 'cars',
    targets: () => servingTargets(kube, namespace),
    requestsPerSecond: 8,
    rowsPerRequest: 4,
    maxDurationMs: 5 * 60_000,
  });
  traffic.use(cars);
  traffic.start();
  return traffic;
}
