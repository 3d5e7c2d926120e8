// Restarts and probes on the test node: crash-loop back-off, readiness and liveness failures.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import {
  fastBackoff,
  kubeClients,
  serveContainer,
  testbinContainer,
  useNamespace,
  waitFor,
} from './support/index.ts';

async function readPod(core: k8s.CoreV1Api, namespace: string, name: string): Promise<k8s.V1Pod> {
  return core.readNamespacedPod({ namespace, name });
}

describe.concurrent('container restarts on the test node', () => {
  const namespace = useNamespace('cluster-restart');

  test('crashing container restarts with growing back-off', async () => {
    const { core } = kubeClients();
    await core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: { name: 'crasher', annotations: fastBackoff },
        spec: { containers: [testbinContainer('main', ['exit', '1', '--after-ms', '100'])] },
      },
    });
    // Each CrashLoopBackOff message names the current delay; with a 1 s base they double.
    const delays = new Set<string>();
    const status = await waitFor(
      async () => {
        const pod = await readPod(core, namespace.name, 'crasher');
        const container = pod.status?.containerStatuses?.[0];
        const waiting = container?.state?.waiting;
        if (waiting?.reason === 'CrashLoopBackOff' && waiting.message) {
          delays.add(/back-off (\S+) restarting/.exec(waiting.message)?.[1] ?? waiting.message);
        }
        return (container?.restartCount ?? 0) >= 3 && delays.size >= 2 ? container : undefined;
      },
      { timeout: 60_000, interval: 200, description: 'pod crasher to restart 3 times' },
    );
    expect([...delays].slice(0, 2)).toEqual(['1s', '2s']);
    expect(status?.lastState?.terminated?.exitCode).toBe(1);
    expect(status?.lastState?.terminated?.reason).toBe('Error');

    const pod = await readPod(core, namespace.name, 'crasher');
    expect(pod.status?.phase).toBe('Running');
  });

  test('failing readiness probe keeps the pod not Ready', async () => {
    const { core } = kubeClients();
    await core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: { name: 'unready' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            serveContainer('main', {
              readinessProbe: {
                httpGet: { path: '/status/503', port: 'http' },
                periodSeconds: 1,
                failureThreshold: 1,
              },
            }),
          ],
        },
      },
    });
    const event = await waitFor(
      async () => {
        const events = await core.listNamespacedEvent({
          namespace: namespace.name,
          fieldSelector: 'involvedObject.name=unready,reason=Unhealthy',
        });
        return events.items.find((item) => item.message?.includes('statuscode: 503'));
      },
      { timeout: 30_000, description: 'an Unhealthy event of pod unready' },
    );
    expect(event.message).toBe('Readiness probe failed: HTTP probe failed with statuscode: 503');

    const pod = await readPod(core, namespace.name, 'unready');
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    expect(pod.status?.phase).toBe('Running');
    expect(ready?.status).toBe('False');
    expect(ready?.reason).toBe('ContainersNotReady');
    expect(pod.status?.containerStatuses?.[0]?.ready).toBe(false);
    expect(pod.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  test('failing liveness probe restarts the container', async () => {
    const { core } = kubeClients();
    await core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: { name: 'unlive', annotations: fastBackoff },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            serveContainer('main', {
              livenessProbe: {
                exec: { command: ['sh', '-c', 'exit 1'] },
                periodSeconds: 1,
                failureThreshold: 2,
              },
            }),
          ],
        },
      },
    });
    const status = await waitFor(
      async () => {
        const pod = await readPod(core, namespace.name, 'unlive');
        const container = pod.status?.containerStatuses?.[0];
        return (container?.restartCount ?? 0) >= 1 && container?.lastState?.terminated
          ? container
          : undefined;
      },
      { timeout: 30_000, description: 'pod unlive to be restarted by its liveness probe' },
    );
    // testbin exits 0 on SIGTERM; the kubelet restarts a container killed by a liveness probe anyway.
    expect(status.lastState?.terminated?.exitCode).toBe(0);
  });
});
