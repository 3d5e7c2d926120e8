// Control-plane restarts under a running operator: after the apiserver and etcd come back, the
// operator's watches resume or relist, and a change made while its watches were down is
// reconciled without the periodic resync. The restarted apiserver starts with an empty watch
// cache, so a watch that resumes from an older resourceVersion gets 410 Gone and relists.
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { RESOURCES, resourcePath, type KubeClient } from '../../operator/src/kube/client.ts';
import { createNamespace, deleteNamespace, waitFor } from './support/index.ts';
import {
  installCrd,
  kube,
  mdepCollection,
  mdepPath,
  metricValue,
  modelDeployment,
  restartDaemons,
  startOperator,
  workDir,
  type OperatorProcess,
} from './reliability-support.ts';

let namespace = '';
let client: KubeClient;
let operator: OperatorProcess;
let metricsUrl = '';
const logDir = workDir('apiserver');
const figures: Record<string, number> = {};

async function observedGeneration(name: string): Promise<number | undefined> {
  const resource = await client.get<ModelDeployment>(mdepPath(namespace, name));
  return resource.status?.observedGeneration === resource.metadata.generation
    ? resource.metadata.generation
    : undefined;
}

/** Sets spec.model.version, which rolls the Deployment's pod template. */
async function setVersion(name: string, version: string): Promise<void> {
  await client.mergePatch(mdepPath(namespace, name), { spec: { model: { version } } });
}

async function deploymentVersion(name: string): Promise<string | undefined> {
  const deployment = await client.get<V1Deployment>(
    resourcePath(RESOURCES.deployments, namespace, name),
  );
  return deployment.spec?.template.metadata?.labels?.['modelwarden.io/model-version'];
}

async function watchRestarts(cause: string): Promise<number> {
  return metricValue(metricsUrl, 'modelwarden_operator_watch_restarts_total', { cause });
}

/** Waits until the operator has reconciled `version` of `name` into its Deployment. */
async function waitForVersion(name: string, version: string, timeout = 90_000): Promise<void> {
  await waitFor(async () => (await deploymentVersion(name)) === version, {
    timeout,
    description: `Deployment ${name} to roll to ${version}`,
  });
}

beforeAll(async () => {
  client = kube();
  await installCrd(client);
  namespace = await createNamespace('rel-apiserver');
  operator = startOperator([namespace], `${logDir}/operator.log`, [
    '--resync-period',
    '1h',
    '--log-level',
    'debug',
  ]);
  metricsUrl = await operator.metricsUrl();
  for (const name of ['before', 'during']) {
    await client.create(
      mdepCollection(namespace),
      modelDeployment(namespace, name, 'file:///models/cars/v1', { replicas: 0 }),
    );
    await waitFor(() => observedGeneration(name), { description: `${name} to be reconciled` });
  }
});

afterAll(async () => {
  await operator?.stop();
  console.log(JSON.stringify({ apiserverRestart: figures }));
  if (namespace) await deleteNamespace(namespace);
});

describe('control plane restarts under the operator', () => {
  it('reconciles a change made as the apiserver returns', async () => {
    const errorsBefore = await watchRestarts('error');
    const expiredBefore = await watchRestarts('expired');
    figures.apiserverDownSeconds = (await restartDaemons(['kube-apiserver'], 3000)) / 1000;
    // The operator's watches are still backing off or relisting at this moment.
    const changed = Date.now();
    await setVersion('during', 'v2');
    await waitForVersion('during', 'v2');
    figures.secondsToReconcileAfterApiserver = (Date.now() - changed) / 1000;

    await waitFor(async () => ((await watchRestarts('error')) > errorsBefore ? true : undefined), {
      description: 'a watch restart after the outage',
    });
    figures.watchRestartsError = (await watchRestarts('error')) - errorsBefore;
    figures.watchRestartsExpired = (await watchRestarts('expired')) - expiredBefore;
    expect(operator.child.exitCode).toBeNull();
  });

  it('keeps watching after the restart', async () => {
    const changed = Date.now();
    await setVersion('before', 'v2');
    await waitForVersion('before', 'v2', 30_000);
    figures.secondsToReconcileLater = (Date.now() - changed) / 1000;
    expect(await deploymentVersion('before')).toBe('v2');
  });

  it('reconciles a change made as etcd and the apiserver return', async () => {
    figures.etcdDownSeconds = (await restartDaemons(['kube-apiserver', 'etcd'], 3000)) / 1000;
    const changed = Date.now();
    await setVersion('during', 'v3');
    await waitForVersion('during', 'v3');
    figures.secondsToReconcileAfterEtcd = (Date.now() - changed) / 1000;
    expect(operator.child.exitCode).toBeNull();
  });

  it('relists after 410 Gone', async () => {
    const relisted = operator
      .logs()
      .filter((line) => line.msg === 'watch expired, relisting').length;
    figures.relistsAfter410 = relisted;
    expect(relisted).toBeGreaterThan(0);
  });
});
