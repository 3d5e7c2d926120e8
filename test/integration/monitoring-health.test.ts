// Monitoring on the local cluster: metric statuses, the operator's health metrics, sustained
// degradation with a webhook, breach counters that survive an operator restart, and failed
// probes that make Degraded Unknown rather than True.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import type { MetricStatus } from '../../operator/src/api/monitoring.ts';
import type { WebhookPayload } from '../../operator/src/evaluation/webhook.ts';
import { RESOURCES, resourcePath } from '../../operator/src/kube/client.ts';
import { loadCars } from '../../scripts/demo/cars.ts';
import {
  carsDeployment,
  createClaims,
  DEMO_TIMINGS,
  installCrd,
  recreateNamespace,
  startOperator,
  stopProcess,
  trainCarsModel,
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

const namespace = 'monitoring-health';
const workDir = path.join(repoRoot, '.modelwarden', 'test', namespace);
const mdepPath = resourcePath(RESOURCES.modelDeployments, namespace, 'cars');

const mae = (resource: ModelDeployment): MetricStatus | undefined =>
  resource.status?.metrics?.find((metric) => metric.name === 'mae');
const degraded = (resource: ModelDeployment) =>
  resource.status?.conditions?.find((condition) => condition.type === 'Degraded');

/** Listens on a free port of 127.0.0.1 and returns the port. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('monitoring', () => {
  const received: WebhookPayload[] = [];
  const webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as WebhookPayload);
      response.end();
    });
  });
  let operator: ChildProcess;
  let operatorPort = 0;
  let traffic: TrafficDriver;
  const cars = loadCars(repoRoot);

  const start = (): ChildProcess =>
    startOperator({ repoRoot, kubeconfig, namespace, workDir }, 'operator.log', operatorPort);

  beforeAll(async () => {
    mkdirSync(workDir, { recursive: true });
    const webhookPort = await listen(webhook);
    const reserved = createServer();
    operatorPort = await listen(reserved);
    await new Promise((resolve) => reserved.close(resolve));

    await installCrd(kube, repoRoot);
    await recreateNamespace(kube, namespace);
    await createClaims(kube, namespace, ['cars-feedback']);
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
      timings: { ...DEMO_TIMINGS, interval: '2s', window: '8s', failureThreshold: 6 },
      maeMax: 3,
      driftMax: 5,
      log: () => undefined,
    };
    const resource = carsDeployment(options, modelDir);
    delete resource.spec.retraining;
    const monitoring = resource.spec.monitoring;
    if (!monitoring) throw new Error('the demo deployment has no monitoring');
    monitoring.maxProbeErrors = 2;
    monitoring.webhook = { url: `http://127.0.0.1:${webhookPort}/hook` };

    operator = start();
    await kube.apply(mdepPath, resource, 'monitoring-test');
    traffic = startTraffic(namespace, cars.early);
  });

  afterAll(async () => {
    await traffic?.stop();
    if (operator) await stopProcess(operator);
    webhook.closeAllConnections();
    await new Promise((resolve) => webhook.close(resolve));
    await kube.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
  });

  it('reports each metric in status', async () => {
    const resource = await waitForDeployment(
      mdepPath,
      (item) => mae(item)?.state === 'Healthy' && item.status?.probe?.targets === 2,
    );
    const metric = mae(resource);
    expect(metric?.value).toBeLessThan(3);
    expect(metric?.max).toBe(3);
    expect(metric?.samples).toBeGreaterThanOrEqual(20);
    expect(metric?.consecutiveHealthy).toBeGreaterThanOrEqual(1);
    expect(metric?.consecutiveBreaches).toBe(0);
    expect(resource.status?.probe).toEqual({ consecutiveErrors: 0, targets: 2 });
    expect(resource.status?.summary?.mae).toMatch(/^\d+(\.\d+)?$/);
    expect(resource.status?.summary?.p99).toMatch(/^\d+(\.\d+)?(ms|s)$/);
    expect(degraded(resource)?.status).toBe('False');
  });

  it('exports health on the operator metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${operatorPort}/metrics`)).text();
    const labels = `namespace="${namespace}",name="cars"`;
    expect(text).toMatch(
      new RegExp(`modelwarden_operator_model_metric_value\\{${labels},metric="mae"\\} \\d`),
    );
    expect(text).toContain(
      `modelwarden_operator_model_metric_threshold{${labels},metric="mae",bound="max"} 3`,
    );
    expect(text).toContain(`modelwarden_operator_model_degraded{${labels}} 0`);
  });

  it('keeps the breach count across an operator restart', async () => {
    traffic.use(cars.late);
    const breached = await waitForDeployment(
      mdepPath,
      (item) => (mae(item)?.consecutiveBreaches ?? 0) >= 2,
    );
    await stopProcess(operator);
    const before = (await kube.get<ModelDeployment>(mdepPath)).status?.metrics?.find(
      (m) => m.name === 'mae',
    );
    expect(before?.consecutiveBreaches).toBeGreaterThanOrEqual(
      mae(breached)?.consecutiveBreaches ?? 0,
    );
    operator = start();
    const after = await waitForDeployment(
      mdepPath,
      (item) => mae(item)?.consecutiveBreaches !== before?.consecutiveBreaches,
    );
    expect(mae(after)?.consecutiveBreaches).toBe((before?.consecutiveBreaches ?? 0) + 1);
    expect(mae(after)?.breachedSince).toBe(before?.breachedSince);
  });

  it('degrades after the sustained window and notifies the webhook', async () => {
    const resource = await waitForDeployment(mdepPath, (item) => degraded(item)?.status === 'True');
    expect(degraded(resource)?.reason).toBe('ThresholdBreached');
    expect(degraded(resource)?.message).toMatch(/^mae \S+ above max 3 in 6 consecutive probes/);
    expect(resource.status?.health).toBe('Degraded');
    await sleep(500);
    const transitions = received.flatMap((payload) => payload.transitions);
    expect(transitions).toContainEqual(
      expect.objectContaining({ subject: 'Degraded', from: 'False', to: 'True' }),
    );
    expect(transitions).toContainEqual(
      expect.objectContaining({ subject: 'mae', from: 'Healthy', to: 'Breached' }),
    );
    expect(
      received.every((payload) => payload.namespace === namespace && payload.name === 'cars'),
    ).toBe(true);
  });

  it('sets Degraded Unknown after failed probes', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    await kube.mergePatch(mdepPath, {
      spec: { monitoring: { prometheus: { url: `http://127.0.0.1:${port}` } } },
    });
    const resource = await waitForDeployment(
      mdepPath,
      (item) => degraded(item)?.status === 'Unknown',
    );
    expect(degraded(resource)?.reason).toBe('ProbeFailed');
    expect(degraded(resource)?.message).toContain(`Prometheus at http://127.0.0.1:${port}`);
    expect(resource.status?.probe?.consecutiveErrors).toBeGreaterThanOrEqual(2);
    expect(mae(resource)?.state).toBe('Breached');
  });
});
