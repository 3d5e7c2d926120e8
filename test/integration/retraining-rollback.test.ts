// Retraining on the local cluster. A manual trigger starts a Job whose model is worse than its
// predecessor, so Auto promotion rolls it back. A failing Job sets Retraining False with the
// Job's reason, a restarted operator starts no duplicate Job, and the Manual policy waits for
// the promote annotation.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { RESOURCES, resourcePath } from '../../operator/src/kube/client.ts';
import { loadCars } from '../../scripts/demo/cars.ts';
import {
  carsDeployment,
  createClaims,
  DEMO_TIMINGS,
  recreateNamespace,
  installCrd,
  startOperator,
  stopProcess,
  trainCarsModel,
  trainerContainer,
} from '../../scripts/demo/scenario.ts';
import type { TrafficDriver } from '../../scripts/demo/traffic.ts';
import {
  kube,
  kubeconfig,
  repoRoot,
  sleep,
  startTraffic,
  waitForDeployment,
} from './cars-harness.ts';

const namespace = 'retraining-rollback';
const workDir = path.join(repoRoot, '.modelwarden', 'test', namespace);
const mdepPath = resourcePath(RESOURCES.modelDeployments, namespace, 'cars');
const jobsPath = resourcePath(RESOURCES.jobs, namespace);

const condition = (resource: ModelDeployment, type: string) =>
  resource.status?.conditions?.find((item) => item.type === type);

async function annotate(key: string, value: string): Promise<void> {
  await kube.mergePatch(mdepPath, { metadata: { annotations: { [key]: value } } });
}

async function jobNames(): Promise<string[]> {
  const jobs = await kube.list<V1Job>(jobsPath);
  return jobs.items.map((job) => job.metadata?.name ?? '').sort();
}

describe('retraining', () => {
  let operator: ChildProcess;
  let traffic: TrafficDriver;

  beforeAll(async () => {
    mkdirSync(workDir, { recursive: true });
    await installCrd(kube, repoRoot);
    await recreateNamespace(kube, namespace);
    await createClaims(kube, namespace);
    const modelDir = path.join(workDir, 'models', 'v1');
    await trainCarsModel(repoRoot, modelDir, {
      version: 'v1',
      epochs: 80,
      logFile: path.join(workDir, 'train-v1.log'),
    });

    const options = {
      repoRoot,
      kubeconfig,
      namespace,
      workDir,
      timings: {
        ...DEMO_TIMINGS,
        interval: '2s',
        window: '8s',
        failureThreshold: 2,
        verificationWindow: '6s',
      },
      maeMax: 3,
      driftMax: 5,
      log: () => undefined,
    };
    const resource = carsDeployment(options, modelDir);
    const retraining = resource.spec.retraining;
    if (!retraining?.jobTemplate)
      throw new Error('the demo deployment has no retraining Job template');
    // Only the annotation triggers; one epoch trains a model far worse than v1.
    retraining.triggers = { onDegradation: false };
    retraining.backoff = '3s';
    retraining.jobTemplate.spec = { template: { spec: { containers: [trainerContainer(1)] } } };
    operator = startOperator(options);
    await kube.apply(mdepPath, resource, 'retraining-test');

    traffic = startTraffic(namespace, loadCars(repoRoot).early);
  });

  afterAll(async () => {
    await traffic?.stop();
    if (operator) await stopProcess(operator);
    await kube.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
  });

  it('serves v1 within the MAE threshold', async () => {
    const resource = await waitForDeployment(
      mdepPath,
      (item) => item.status?.metrics?.find((metric) => metric.name === 'mae')?.state === 'Healthy',
    );
    expect(condition(resource, 'Degraded')?.status).toBe('False');
    expect(condition(resource, 'Retraining')?.reason).toBe('RetrainingIdle');
  });

  it('starts a Job on the retrain annotation', async () => {
    await annotate('modelwarden.io/retrain', 'first');
    const resource = await waitForDeployment(
      mdepPath,
      (item) => item.status?.retraining?.lastJobName === 'cars-retrain-1',
    );
    expect(resource.status?.retraining?.lastTrigger).toBe('Manual');
    expect(resource.status?.retraining?.lastManualRequest).toBe('first');
    expect(await jobNames()).toEqual(['cars-retrain-1']);
  });

  it('rolls back a promoted model that is worse', async () => {
    const resource = await waitForDeployment(
      mdepPath,
      (item) => condition(item, 'Retraining')?.reason === 'ModelRolledBack',
    );
    expect(resource.status?.activeModel?.source).toBe('Rollback');
    expect(resource.status?.activeModel?.version).toBe('v1');
    expect(resource.status?.history?.map((entry) => `${entry.version}:${entry.outcome}`)).toEqual([
      'v1:Active',
      'retrain-1:RolledBack',
    ]);
    expect(resource.status?.retraining?.attempts).toBe(1);
    expect(condition(resource, 'Retraining')?.message).toMatch(
      /Rolled back retrain-1 to v1: mae \S+ against \S+ before: worse/,
    );
  });

  it('returns to v1 within the threshold', async () => {
    const resource = await waitForDeployment(
      mdepPath,
      (item) =>
        condition(item, 'Progressing')?.reason === 'RolloutComplete' &&
        condition(item, 'Degraded')?.status === 'False' &&
        (item.status?.metrics?.find((metric) => metric.name === 'mae')?.value ?? 99) < 3,
    );
    expect(resource.status?.activeModel?.uri).toMatch(/models\/v1$/);
  });

  it('reports a failed Job with its reason', async () => {
    await kube.mergePatch(mdepPath, {
      spec: {
        retraining: {
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  containers: [{ name: 'trainer', image: 'busybox', args: ['-c', 'exit 3'] }],
                },
              },
            },
          },
        },
      },
    });
    // The spec change resets the failure count, so the next request starts at once.
    await annotate('modelwarden.io/retrain', 'second');
    const resource = await waitForDeployment(
      mdepPath,
      (item) =>
        item.status?.retraining?.lastJobName === 'cars-retrain-2' &&
        condition(item, 'Retraining')?.status === 'False',
    );
    const retraining = condition(resource, 'Retraining');
    expect(retraining?.reason).toBe('BackoffLimitExceeded');
    expect(retraining?.message).toMatch(/^Job cars-retrain-2 failed: BackoffLimitExceeded/);
    expect(resource.status?.retraining?.attempts).toBe(1);
    expect(resource.status?.retraining?.nextAttemptAfter).toBeDefined();
  });

  it('starts no duplicate Job after an operator restart', async () => {
    await stopProcess(operator);
    operator = startOperator({ repoRoot, kubeconfig, namespace, workDir });
    await sleep(8_000);
    const resource = await kube.get<ModelDeployment>(mdepPath);
    expect(await jobNames()).toEqual(['cars-retrain-1', 'cars-retrain-2']);
    expect(resource.status?.retraining?.totalJobs).toBe(2);
    expect(condition(resource, 'Retraining')?.reason).toBe('BackoffLimitExceeded');
  });

  it('waits for the promote annotation under Manual', async () => {
    await kube.mergePatch(mdepPath, {
      spec: {
        retraining: {
          promotion: { policy: 'Manual', verificationWindow: '4s', maxRegression: 1 },
          jobTemplate: { spec: { template: { spec: { containers: [trainerContainer(60)] } } } },
        },
      },
    });
    await annotate('modelwarden.io/retrain', 'third');
    const pending = await waitForDeployment(
      mdepPath,
      (item) => condition(item, 'Retraining')?.reason === 'AwaitingPromotion',
    );
    expect(pending.status?.retraining?.candidate?.version).toBe('retrain-3');
    expect(pending.status?.history?.at(-1)).toMatchObject({
      version: 'retrain-3',
      outcome: 'Pending',
      reason: 'Manual',
      jobName: 'cars-retrain-3',
    });
    expect(pending.status?.activeModel?.version).toBe('v1');

    await annotate('modelwarden.io/promote', 'retrain-3');
    const verified = await waitForDeployment(
      mdepPath,
      (item) => condition(item, 'Retraining')?.reason === 'ModelVerified',
    );
    expect(verified.status?.activeModel).toMatchObject({
      version: 'retrain-3',
      source: 'Promotion',
    });
    expect(verified.status?.history?.map((entry) => `${entry.version}:${entry.outcome}`)).toEqual([
      'v1:Superseded',
      'retrain-1:RolledBack',
      'retrain-3:Active',
    ]);
  });
});
