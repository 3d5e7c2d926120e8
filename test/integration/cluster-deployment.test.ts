// A Deployment on the local cluster: the real Deployment controller, the scheduler and the test node.
import { describe, expect, test } from 'vitest';
import { loadClusterConfig } from '../cluster/config.ts';
import {
  kubeClients,
  serveContainer,
  testbinPort,
  useNamespace,
  waitFor,
} from './support/index.ts';

interface ServeReply {
  hostname: string;
  address: string;
  env: Record<string, string>;
}

describe('Deployment on the test node', () => {
  const namespace = useNamespace('cluster-deploy');

  test('two replicas become Available on their own addresses', async () => {
    const { apps, core } = kubeClients();
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: namespace.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 2,
              containers: [
                serveContainer('web', {
                  startupProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
                  readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
                }),
              ],
            },
          },
        },
      },
    });

    const deployment = await waitFor(
      async () => {
        const current = await apps.readNamespacedDeployment({
          namespace: namespace.name,
          name: 'web',
        });
        const available = current.status?.conditions?.find((c) => c.type === 'Available');
        return available?.status === 'True' && current.status?.readyReplicas === 2
          ? current
          : undefined;
      },
      { timeout: 60_000, description: 'deployment web to be Available with 2 ready replicas' },
    );
    expect(deployment.status?.availableReplicas).toBe(2);

    const pods = (
      await core.listNamespacedPod({ namespace: namespace.name, labelSelector: 'app=web' })
    ).items;
    const addresses = pods.map((pod) => pod.status?.podIP ?? '');
    expect(new Set(addresses).size).toBe(2);
    const podRange = loadClusterConfig().podCidr.split('.').slice(0, 2).join('.');
    for (const pod of pods) {
      const address = pod.status?.podIP ?? '';
      expect(address.startsWith(`${podRange}.`)).toBe(true);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

      const reply = (await (await fetch(`http://${address}:${testbinPort}/`)).json()) as ServeReply;
      expect(reply.hostname).toBe(pod.metadata?.name);
      expect(reply.address).toBe(address);
      expect(reply.env['KUBERNETES_SERVICE_HOST']).toBe('127.0.0.1');
      expect(reply.env['KUBERNETES_SERVICE_PORT']).toBe(
        String(loadClusterConfig().ports.apiserver),
      );
    }
  });
});
