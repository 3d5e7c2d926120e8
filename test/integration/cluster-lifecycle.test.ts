// Process lifecycle on the local cluster: pod deletion stops the process, `down` stops everything.
import * as k8s from '@kubernetes/client-node';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadClusterConfig, statePaths } from '../cluster/config.ts';
import { down, up } from '../cluster/control-plane.ts';
import { daemonNames, pidFile } from '../cluster/daemons.ts';
import { isAlive, readRecord, type ProcessRecord } from '../cluster/processes.ts';
import {
  kubeClients,
  serveContainer,
  testbinContainer,
  testbinPort,
  useNamespace,
  waitFor,
} from './support/index.ts';

function isGone(error: unknown): boolean {
  return error instanceof k8s.ApiException && error.code === 404;
}

describe('pod deletion', () => {
  const namespace = useNamespace('cluster-delete');

  test('sends SIGTERM, kills after the grace period and removes the pod', async () => {
    const { core } = kubeClients();
    await core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: { name: 'stubborn' },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            serveContainer('main', {
              args: ['serve', '--port', String(testbinPort), '--ignore-sigterm'],
            }),
          ],
        },
      },
    });
    const pod = await waitFor(
      async () => {
        const current = await core.readNamespacedPod({
          namespace: namespace.name,
          name: 'stubborn',
        });
        return current.status?.containerStatuses?.[0]?.state?.running ? current : undefined;
      },
      { timeout: 30_000, description: 'pod stubborn to run' },
    );
    const address = pod.status?.podIP ?? '';
    const { pid } = (await waitFor(
      () => fetch(`http://${address}:${testbinPort}/`).then((r) => r.json()),
      {
        timeout: 10_000,
        description: `testbin to answer on ${address}`,
      },
    )) as { pid: number };
    expect(existsSync(`/proc/${pid}`)).toBe(true);

    await core.deleteNamespacedPod({ namespace: namespace.name, name: 'stubborn' });
    await waitFor(
      () =>
        core.readNamespacedPod({ namespace: namespace.name, name: 'stubborn' }).then(
          () => false,
          (error: unknown) => isGone(error),
        ),
      { timeout: 30_000, description: 'pod stubborn to be removed' },
    );
    expect(existsSync(`/proc/${pid}`)).toBe(false);

    const logFile = path.join(
      statePaths(loadClusterConfig()).logs,
      `${namespace.name}_stubborn_main.log`,
    );
    expect(readFileSync(logFile, 'utf8')).toContain('SIGTERM received and ignored');
  });
});

describe('cluster down', () => {
  test('leaves no process behind', async () => {
    // A second cluster beside the suite's, on its own ports, state folder and pod addresses.
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'modelwarden-down-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MODELWARDEN_CLUSTER_DIR: stateDir,
      MODELWARDEN_CLUSTER_PORT_BASE: '23700',
    };
    delete env['MODELWARDEN_NODE_POD_CIDR'];
    const config = loadClusterConfig(env);
    const log = () => undefined;
    try {
      const { kubeconfig: kubeconfigFile } = await up(config, { log });
      const kubeconfig = new k8s.KubeConfig();
      kubeconfig.loadFromFile(kubeconfigFile);
      const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
      await waitFor(
        () => core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' }),
        {
          timeout: 30_000,
          description: 'the default ServiceAccount of the second cluster',
        },
      );
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'sleeper' },
          spec: { containers: [testbinContainer('main', ['sleep', '600'])] },
        },
      });
      const recordsDir = statePaths(config).containerRecords;
      await waitFor(() => existsSync(recordsDir) && readdirSync(recordsDir).length === 1, {
        timeout: 30_000,
        description: 'the container process of pod sleeper',
      });

      const records: ProcessRecord[] = [
        ...daemonNames.map((name) => readRecord(pidFile(config, name))),
        ...readdirSync(recordsDir).map((file) => readRecord(path.join(recordsDir, file))),
      ].filter((record): record is ProcessRecord => record !== undefined);
      expect(records).toHaveLength(daemonNames.length + 1);
      expect(records.every(isAlive)).toBe(true);

      await down(config, log);
      expect(records.filter(isAlive).map((record) => record.command[0])).toEqual([]);
    } finally {
      await down(config, log);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
