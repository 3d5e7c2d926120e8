// Probing under pod faults on the real cluster. A killed model-server process restarts with its
// counters at zero, which must not look like a breach. Scrapes that time out or are refused make
// Degraded Unknown with the error in its message, never True. A pod that is not Ready is never
// scraped. To keep pods Ready in the API while their process hangs or dies, the test
// node (the kubelet) is paused with SIGSTOP for those cases and resumed afterwards.
import type { V1Pod } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, statePaths } from '../cluster/config.ts';
import { pidFile } from '../cluster/daemons.ts';
import { readRecord } from '../cluster/processes.ts';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { RESOURCES, resourcePath, type KubeClient } from '../../operator/src/kube/client.ts';
import { isReadyPod } from '../../operator/src/probing/scrape.ts';
import { createNamespace, deleteNamespace, waitFor } from './support/index.ts';
import {
  condition,
  installCrd,
  kube,
  mdepCollection,
  mdepPath,
  modelDeployment,
  startOperator,
  trainArtifact,
  workDir,
  type OperatorProcess,
} from './reliability-support.ts';

const dir = workDir('probing');
const CAR = { Cylinders: 8, Displacement: 307, Horsepower: 130, Weight_in_lbs: 3504 };
const ROW = { ...CAR, Acceleration: 12 };
const monitoring = {
  interval: '2s',
  window: '20s',
  scrapeTimeout: '1s',
  minSamples: 5,
  failureThreshold: 1,
  successThreshold: 1,
  maxProbeErrors: 2,
  metrics: [
    { name: 'errorRate', max: 0.05 },
    { name: 'latencyP99', max: 2 },
    { name: 'requestRate', min: 0.5 },
    { name: 'mae', max: 1000 },
  ],
};

let namespace = '';
let client: KubeClient;
let operator: OperatorProcess;
let stallServer: Server | undefined;
let traffic: { stop(): Promise<number> } | undefined;
/** Every metric state and Degraded status seen while faults were injected. */
const seen = { metricStates: new Set<string>(), degraded: new Set<string>() };
const figures: Record<string, number | string> = {};

async function pods(name: string): Promise<V1Pod[]> {
  const list = await client.list<V1Pod>(resourcePath(RESOURCES.pods, namespace), {
    labelSelector: `modelwarden.io/model-deployment=${name}`,
  });
  return list.items;
}

async function get(name: string): Promise<ModelDeployment> {
  return client.get<ModelDeployment>(mdepPath(namespace, name));
}

/** Reads the pid of a pod's model-server process from the test node's container record. */
function serverPid(pod: V1Pod): number {
  const file = path.join(
    statePaths(loadClusterConfig()).containerRecords,
    `${pod.metadata?.uid}_model-server.json`,
  );
  const record = readRecord(file);
  if (!record) throw new Error(`no container record ${file}`);
  return record.pid;
}

function testNodePid(): number {
  const record = readRecord(pidFile(loadClusterConfig(), 'test-node'));
  if (!record) throw new Error('the test node is not running');
  return record.pid;
}

/** Runs `action` with the kubelet paused, so pod status in the API stays as it was. */
async function withNodePaused(action: () => Promise<void>): Promise<void> {
  const node = testNodePid();
  process.kill(node, 'SIGSTOP');
  try {
    await action();
  } finally {
    process.kill(node, 'SIGCONT');
  }
}

/** Sends predictions with ground-truth feedback to every Ready pod until stopped. */
function startTraffic(name: string) {
  let running = true;
  let sent = 0;
  const loop = (async () => {
    const deadline = Date.now() + 600_000;
    while (running && Date.now() < deadline) {
      const targets = (await pods(name).catch(() => [])).filter(isReadyPod);
      for (const pod of targets) {
        const base = `http://${pod.status?.podIP}:8080/v1/models/cars`;
        const post = (route: string, body: unknown) =>
          fetch(`${base}${route}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(1000),
          }).then(
            (response) => response.body?.cancel(),
            () => undefined, // A killed or paused pod sends no response, which the operator must cope with.
          );
        await post(':predict', { instances: [ROW, ROW] });
        await post('/feedback', { instances: [{ ...ROW, Miles_per_Gallon: 15 }] });
        sent += 2;
      }
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

/** Polls the status for `durationMs` or until `until` holds, recording every state seen. */
async function observe(
  name: string,
  durationMs: number,
  until?: (resource: ModelDeployment) => boolean,
): Promise<ModelDeployment> {
  const deadline = Date.now() + durationMs;
  for (;;) {
    const resource = await get(name);
    for (const metric of resource.status?.metrics ?? [])
      seen.metricStates.add(`${metric.name}=${metric.state}`);
    const degraded = condition(resource, 'Degraded');
    if (degraded) seen.degraded.add(`${degraded.status}/${degraded.reason}`);
    if (until?.(resource) || Date.now() > deadline) return resource;
    await sleep(250);
  }
}

function allHealthy(resource: ModelDeployment): boolean {
  const metrics = resource.status?.metrics ?? [];
  return (
    metrics.length === monitoring.metrics.length &&
    metrics.every((metric) => metric.state === 'Healthy') &&
    condition(resource, 'Degraded')?.status === 'False'
  );
}

beforeAll(async () => {
  client = kube();
  await installCrd(client);
  namespace = await createNamespace('rel-probing');
  const artifact = await trainArtifact(dir);
  operator = startOperator([namespace], `${dir}/operator.log`);
  await client.create(
    mdepCollection(namespace),
    modelDeployment(namespace, 'steady', `file://${artifact}`, {
      replicas: 2,
      spec: { monitoring },
    }),
  );
  await waitFor(async () => condition(await get('steady'), 'Available')?.status === 'True', {
    timeout: 120_000,
    description: 'steady to become Available',
  });
  traffic = startTraffic('steady');
  await observe('steady', 90_000, allHealthy);
});

afterAll(async () => {
  figures.requestsSent = (await traffic?.stop()) ?? 0;
  await operator?.stop();
  stallServer?.closeAllConnections();
  stallServer?.close();
  console.log(JSON.stringify({ probing: figures, seen: [...seen.metricStates, ...seen.degraded] }));
  if (namespace) await deleteNamespace(namespace);
});

describe('probing under pod faults', () => {
  it('shows no breach after a counter reset', async () => {
    expect(allHealthy(await get('steady'))).toBe(true);
    seen.metricStates.clear();
    seen.degraded.clear();
    const [victim] = await pods('steady');
    process.kill(serverPid(victim as V1Pod), 'SIGKILL');
    const restarted = await waitFor(
      async () => {
        const pod = (await pods('steady')).find(
          (item) => item.metadata?.uid === victim?.metadata?.uid,
        );
        const restarts = pod?.status?.containerStatuses?.[0]?.restartCount ?? 0;
        return restarts > 0 && pod && isReadyPod(pod) ? pod : undefined;
      },
      { timeout: 90_000, description: 'the killed container to restart and become Ready' },
    );
    figures.restartCount = restarted.status?.containerStatuses?.[0]?.restartCount ?? 0;
    // Two windows after the restart, the reset pod's counters are in every probe.
    const resource = await observe('steady', 40_000);
    expect([...seen.metricStates].filter((state) => state.endsWith('=Breached'))).toEqual([]);
    expect(seen.degraded.has('True/ThresholdBreached')).toBe(false);
    expect(allHealthy(resource)).toBe(true);
  });

  it('goes Unknown when scrapes time out', async () => {
    let resource: ModelDeployment | undefined;
    const servers = await pods('steady');
    await withNodePaused(async () => {
      for (const pod of servers) process.kill(serverPid(pod), 'SIGSTOP');
      try {
        resource = await observe(
          'steady',
          30_000,
          (item) => condition(item, 'Degraded')?.status === 'Unknown',
        );
      } finally {
        for (const pod of servers) process.kill(serverPid(pod), 'SIGCONT');
      }
    });
    const degraded = condition(resource, 'Degraded');
    figures.timeoutMessage = degraded?.message ?? '';
    expect(degraded?.status).toBe('Unknown');
    expect(degraded?.reason).toBe('ProbeFailed');
    expect(degraded?.message).toMatch(/timed out after 1000 ms/);
    expect(seen.degraded.has('True/ThresholdBreached')).toBe(false);
    await observe('steady', 90_000, allHealthy);
  });

  it('goes Unknown when scrapes are refused', async () => {
    let resource: ModelDeployment | undefined;
    await withNodePaused(async () => {
      for (const pod of await pods('steady')) process.kill(serverPid(pod), 'SIGKILL');
      resource = await observe(
        'steady',
        30_000,
        (item) => condition(item, 'Degraded')?.status === 'Unknown',
      );
    });
    const degraded = condition(resource, 'Degraded');
    figures.refusedMessage = degraded?.message ?? '';
    expect(degraded?.status).toBe('Unknown');
    expect(degraded?.reason).toBe('ProbeFailed');
    expect(degraded?.message).toMatch(/ECONNREFUSED/);
    expect(seen.degraded.has('True/ThresholdBreached')).toBe(false);
    const recovered = await observe('steady', 120_000, allHealthy);
    expect(allHealthy(recovered)).toBe(true);
  });

  it('never scrapes a pod that is not Ready', async () => {
    // The artifact server holds back model.json, so the pod listens but stays loading.
    stallServer = createServer(() => undefined);
    await new Promise<void>((resolve) => stallServer?.listen(0, '127.0.0.1', resolve));
    const port = (stallServer.address() as AddressInfo).port;
    await client.create(
      mdepCollection(namespace),
      modelDeployment(namespace, 'loading', `http://127.0.0.1:${port}/cars/`, {
        spec: {
          monitoring: { ...monitoring, interval: '1s', window: '10s' },
          server: { env: [{ name: 'MODEL_SERVER_MODEL_DOWNLOAD_TIMEOUT_MS', value: '600000' }] },
        },
      }),
    );
    const pod = await waitFor(
      async () => {
        const running = (await pods('loading')).find((item) => item.status?.podIP);
        const live = await fetch(`http://${running?.status?.podIP}:8080/v2/health/live`);
        return live.status === 200 ? running : undefined;
      },
      { timeout: 60_000, description: 'the loading pod to listen' },
    );
    // Five probe intervals in which the operator must leave the pod alone.
    await sleep(5000);
    const resource = await observe(
      'loading',
      30_000,
      (item) => condition(item, 'Degraded')?.reason === 'ProbeFailed',
    );
    expect(isReadyPod((await pods('loading'))[0] as V1Pod)).toBe(false);
    expect(resource.status?.probe?.lastError).toBe('no Ready serving pod to scrape');
    const metrics = await (await fetch(`http://${pod.status?.podIP}:8080/metrics`)).text();
    const scrapes = metrics
      .split('\n')
      .filter(
        (line) =>
          line.startsWith('modelwarden_http_requests_total{') && line.includes('route="/metrics"'),
      );
    expect(scrapes).toEqual([]);
  });
});
