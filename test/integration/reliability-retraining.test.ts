// Retraining Jobs that fail or hang, on the real Job controller. A trigger that fires every
// second meets a Job that always fails: the operator backs off exponentially and stops at
// maxAttempts, so no Job storm follows. A Job past its activeDeadlineSeconds ends in reason
// DeadlineExceeded, and a Job that hangs blocks every further start until its deadline, here
// the default spec.retraining.timeout of 1h.
import type { V1Job } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { RESOURCES, resourcePath, type KubeClient } from '../../operator/src/kube/client.ts';
import { createNamespace, deleteNamespace, waitFor } from './support/index.ts';
import {
  condition,
  installCrd,
  kube,
  mdepCollection,
  mdepPath,
  modelDeployment,
  startOperator,
  workDir,
  type OperatorProcess,
} from './reliability-support.ts';

const dir = workDir('retraining');
/** A six-field croner schedule: every second. */
const EVERY_SECOND = '* * * * * *';
const MAX_ATTEMPTS = 3;

let namespace = '';
let client: KubeClient;
let operator: OperatorProcess;
const figures: Record<string, number | string> = {};

function retraining(script: string, extra: Record<string, unknown> = {}) {
  return {
    enabled: true,
    triggers: { onDegradation: false, schedule: EVERY_SECOND },
    cooldown: '1s',
    backoff: '2s',
    maxAttempts: MAX_ATTEMPTS,
    output: { claimName: 'models' },
    baseDataset: 'file:///data/cars.json',
    jobTemplate: {
      spec: {
        ...extra,
        template: {
          spec: { containers: [{ name: 'trainer', image: 'busybox', args: ['-c', script] }] },
        },
      },
    },
  };
}

async function jobsOf(name: string): Promise<V1Job[]> {
  const list = await client.list<V1Job>(resourcePath(RESOURCES.jobs, namespace), {
    labelSelector: `modelwarden.io/model-deployment=${name}`,
  });
  return list.items;
}

async function get(name: string): Promise<ModelDeployment> {
  return client.get<ModelDeployment>(mdepPath(namespace, name));
}

beforeAll(async () => {
  client = kube();
  await installCrd(client);
  namespace = await createNamespace('rel-retraining');
  await client.create(
    resourcePath({ basePath: '/api/v1', plural: 'persistentvolumeclaims' }, namespace),
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'models' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  );
  operator = startOperator([namespace], `${dir}/operator.log`);
  const manifests: [string, ReturnType<typeof retraining>][] = [
    ['failing', retraining('echo training failed >&2; exit 1')],
    ['deadline', { ...retraining('sleep 3600', { activeDeadlineSeconds: 4 }), maxAttempts: 1 }],
    ['hanging', retraining('sleep 3600')],
  ];
  for (const [name, spec] of manifests) {
    await client.create(
      mdepCollection(namespace),
      modelDeployment(namespace, name, 'file:///models/cars/v1', {
        replicas: 0,
        spec: { retraining: spec },
      }),
    );
  }
});

afterAll(async () => {
  await operator?.stop();
  console.log(JSON.stringify({ retraining: figures }));
  if (namespace) await deleteNamespace(namespace);
});

describe('retraining Jobs that fail or hang', () => {
  it('backs off and stops at maxAttempts', async () => {
    const started = Date.now();
    const resource = await waitFor(
      async () => {
        const current = await get('failing');
        return current.status?.retraining?.attempts === MAX_ATTEMPTS ? current : undefined;
      },
      { timeout: 180_000, interval: 500, description: `${MAX_ATTEMPTS} failed attempts` },
    );
    figures.secondsToMaxAttempts = (Date.now() - started) / 1000;
    const retrainingCondition = condition(resource, 'Retraining');
    expect(retrainingCondition?.status).toBe('False');
    expect(retrainingCondition?.reason).toBe('BackoffLimitExceeded');
    expect(retrainingCondition?.message).toMatch(/reached maxAttempts; change the spec to retry/);

    const jobs = await jobsOf('failing');
    const created = jobs
      .map((job) => new Date(job.metadata?.creationTimestamp ?? 0).getTime())
      .sort((a, b) => a - b);
    figures.failingJobs = jobs.length;
    figures.secondsBetweenJobs = created
      .slice(1)
      .map((time, index) => (time - (created[index] as number)) / 1000)
      .join(', ');
    expect(jobs.length).toBe(MAX_ATTEMPTS);
    // backoff 2s doubles per failure, so starts are at least 2 s and then 4 s apart. Creation
    // timestamps have whole seconds, so each gap may read up to 1 s shorter.
    expect((created[1] as number) - (created[0] as number)).toBeGreaterThanOrEqual(1000);
    expect((created[2] as number) - (created[1] as number)).toBeGreaterThanOrEqual(3000);
  });

  it('starts no Job after maxAttempts', async () => {
    await sleep(15_000);
    expect((await jobsOf('failing')).length).toBe(MAX_ATTEMPTS);
  });

  it('reports a Job past its deadline', async () => {
    const resource = await waitFor(
      async () => {
        const current = await get('deadline');
        return condition(current, 'Retraining')?.reason === 'DeadlineExceeded'
          ? current
          : undefined;
      },
      { timeout: 120_000, description: 'the deadline Job to fail' },
    );
    expect(condition(resource, 'Retraining')?.message).toMatch(
      /^Job deadline-retrain-1 failed: DeadlineExceeded/,
    );
    expect((await jobsOf('deadline')).length).toBe(1);
  });

  it('starts nothing while a Job hangs', async () => {
    const resource = await get('hanging');
    expect(condition(resource, 'Retraining')?.reason).toBe('RetrainingJobRunning');
    const jobs = await jobsOf('hanging');
    figures.hangingJobs = jobs.length;
    expect(jobs.length).toBe(1);
  });
});
