// Jobs on the local cluster: the real Job controller counts the pods that the test node runs.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { kubeClients, testbinContainer, useNamespace, waitFor } from './support/index.ts';

function job(name: string, args: string[], backoffLimit: number): k8s.V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit,
      template: {
        spec: { restartPolicy: 'Never', containers: [testbinContainer('main', args)] },
      },
    },
  };
}

function condition(job: k8s.V1Job, type: string): k8s.V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

describe.concurrent('Job on the test node', () => {
  const namespace = useNamespace('cluster-job');

  test('pod exiting 0 completes the Job', async () => {
    const { batch, core } = kubeClients();
    await batch.createNamespacedJob({
      namespace: namespace.name,
      body: job('ok', ['exit', '0', '--message', 'file:///models/v2'], 0),
    });
    const done = await waitFor(
      async () => {
        const current = await batch.readNamespacedJob({ namespace: namespace.name, name: 'ok' });
        return (condition(current, 'Complete') ?? condition(current, 'Failed'))
          ? current
          : undefined;
      },
      { timeout: 60_000, description: 'job ok to finish' },
    );
    expect(condition(done, 'Complete')).toBeDefined();
    expect(done.status?.succeeded).toBe(1);

    const pods = await core.listNamespacedPod({
      namespace: namespace.name,
      labelSelector: 'job-name=ok',
    });
    const terminated = pods.items[0]?.status?.containerStatuses?.[0]?.state?.terminated;
    expect(pods.items[0]?.status?.phase).toBe('Succeeded');
    expect(terminated?.exitCode).toBe(0);
    expect(terminated?.reason).toBe('Completed');
    expect(terminated?.message).toBe('file:///models/v2');
  });

  test('pod exiting 1 retries to backoffLimit and fails', async () => {
    const { batch, core } = kubeClients();
    await batch.createNamespacedJob({
      namespace: namespace.name,
      body: job('broken', ['exit', '1'], 1),
    });
    const done = await waitFor(
      async () => {
        const current = await batch.readNamespacedJob({
          namespace: namespace.name,
          name: 'broken',
        });
        return (condition(current, 'Failed') ?? condition(current, 'Complete'))
          ? current
          : undefined;
      },
      { timeout: 90_000, description: 'job broken to fail' },
    );
    expect(condition(done, 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(done.status?.failed).toBe(2);

    const pods = await core.listNamespacedPod({
      namespace: namespace.name,
      labelSelector: 'job-name=broken',
    });
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe('Failed');
      expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(1);
    }
  });
});
