// The Prometheus source against a real Prometheus (Debian's `prometheus` package) that scrapes
// a real model server, both on 127.0.0.1. Skipped when no prometheus binary is installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import type { MonitoringSpec } from '../../operator/src/api/monitoring.ts';
import { probePrometheus } from '../../operator/src/probing/run.ts';
import { queryPrometheus } from '../../operator/src/probing/prometheus.ts';
import { scrape } from '../../operator/src/probing/scrape.ts';
import { driftValue } from '../../operator/src/probing/window.ts';
import { featuresOf, LABEL, loadCars } from '../../scripts/demo/cars.ts';
import { stopProcess, trainCarsModel } from '../../scripts/demo/scenario.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const workDir = path.join(repoRoot, '.modelwarden', 'test', 'monitoring-prometheus');
const prometheusBinary = spawnSync('sh', ['-c', 'command -v prometheus']).stdout.toString().trim();
const NAMESPACE = 'ml';
const POD = 'cars-5d8f7c9b4-x2x7q';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function launch(args: string[], logName: string, command = process.execPath): ChildProcess {
  const log = createWriteStream(path.join(workDir, logName));
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok)
    throw new Error(`POST ${url} returned ${response.status}: ${await response.text()}`);
  return response.json();
}

describe.skipIf(prometheusBinary === '')('Prometheus source', () => {
  let server: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let serverBase = '';
  let prometheusUrl = '';
  let expectedMae = 0;
  let feedbackRows = 0;
  const resource = { metadata: { namespace: NAMESPACE, name: 'cars' } } as ModelDeployment;
  const times = { intervalMs: 1000, windowMs: 5 * 60_000, timeoutMs: 2000 };
  const monitoring = (queries?: Record<string, string>): MonitoringSpec => ({
    interval: '1s',
    window: '5m',
    scrapeTimeout: '1s',
    minSamples: 1,
    failureThreshold: 1,
    successThreshold: 1,
    maxProbeErrors: 1,
    metrics: [
      { name: 'mae', max: 3, triggersRetraining: true },
      { name: 'drift', max: 1, triggersRetraining: true },
      { name: 'latencyP99', max: 1, triggersRetraining: false },
      { name: 'errorRate', max: 0.1, triggersRetraining: false },
      { name: 'requestRate', min: 0, triggersRetraining: false },
    ],
    prometheus: { url: prometheusUrl, ...(queries ? { queries } : {}) },
  });

  beforeAll(async () => {
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    const modelDir = path.join(workDir, 'model');
    await trainCarsModel(repoRoot, modelDir, {
      version: 'v1',
      epochs: 30,
      logFile: path.join(workDir, 'train.log'),
    });

    const serverPort = await freePort();
    serverBase = `http://127.0.0.1:${serverPort}`;
    server = launch(
      [
        path.join(repoRoot, 'model-server', 'dist', 'cli.js'),
        'serve',
        '--model',
        `file://${modelDir}`,
        '--host',
        '127.0.0.1',
        '--port',
        String(serverPort),
      ],
      'model-server.log',
    );
    await waitUntil(
      async () => (await fetch(`${serverBase}/v2/health/ready`)).ok,
      'the model server',
    );

    const prometheusPort = await freePort();
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    const config = path.join(workDir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: model-server',
        '    static_configs:',
        `      - targets: ["127.0.0.1:${serverPort}"]`,
        `        labels: { namespace: "${NAMESPACE}", pod: "${POD}" }`,
        '',
      ].join('\n'),
    );
    prometheus = launch(
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(workDir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      'prometheus.log',
      prometheusBinary,
    );
    await waitUntil(async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, 'Prometheus');
    await waitUntil(
      async () => (await queryPrometheus(prometheusUrl, `up{pod="${POD}"}`, 2000)) === 1,
      'the first scrape of the model server',
    );

    // Predictions with ground truth for about four seconds; the exact MAE is known here.
    const cars = loadCars(repoRoot).early;
    let absoluteError = 0;
    for (let index = 0; index < 160; index += 4) {
      const batch = cars.slice(index, index + 4);
      const response = (await post(`${serverBase}/v1/models/cars:predict`, {
        instances: batch.map(featuresOf),
      })) as {
        predictions: number[];
        prediction_ids: string[];
      };
      batch.forEach(
        (car, row) => (absoluteError += Math.abs((response.predictions[row] ?? 0) - car[LABEL])),
      );
      await post(`${serverBase}/v1/models/cars/feedback`, {
        labels: batch.map((car, row) => ({ id: response.prediction_ids[row], label: car[LABEL] })),
      });
      feedbackRows += batch.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expectedMae = absoluteError / feedbackRows;
    // Two more scrapes, so that the last increase is in Prometheus.
    await new Promise((resolve) => setTimeout(resolve, 2500));
  });

  afterAll(async () => {
    if (prometheus) await stopProcess(prometheus);
    if (server) await stopProcess(server);
  });

  it('computes MAE from the feedback counters', async () => {
    const run = await probePrometheus(resource, monitoring(), times);
    if (!('values' in run.input)) throw new Error(run.input.error);
    expect(run.input.values.mae.value).toBeCloseTo(expectedMae, 3);
    expect(run.input.values.mae.samples).toBeGreaterThanOrEqual(feedbackRows * 0.99);
  });

  it('computes latency, errors, rate and drift', async () => {
    const run = await probePrometheus(resource, monitoring(), times);
    if (!('values' in run.input)) throw new Error(run.input.error);
    const { values } = run.input;
    expect(values.latencyP99.value).toBeGreaterThan(0);
    // The route's series appears with its first request, and increase() cannot count what came
    // before a series' first sample, so some of the 40 requests may be missing. increase() also
    // extrapolates its first and last sample towards the ends of the range, by up to 1.1 mean
    // scrape intervals each, so with the few scrapes here it may count more than 40 (41.4 seen).
    expect(values.latencyP99.samples).toBeGreaterThan(0);
    expect(values.latencyP99.samples).toBeLessThanOrEqual(40 * 2);
    expect(values.errorRate.value).toBe(0);
    expect(values.requestRate.value).toBeGreaterThan(0);
    const direct = await scrape({ pod: POD, uid: 'u', url: `${serverBase}/metrics` }, 2000);
    const expectedDrift = direct.reading ? driftValue([direct.reading]).value : null;
    expect(values.drift.value).toBeCloseTo(expectedDrift ?? Number.NaN, 6);
  });

  it('runs a custom query with substitutions', async () => {
    const query =
      'sum(increase(modelwarden_feedback_absolute_error_total{namespace="{{namespace}}"}[{{window}}]))' +
      ' / sum(increase(modelwarden_feedback_samples_total{pod=~"{{name}}-.*"}[{{window}}]))';
    const run = await probePrometheus(resource, monitoring({ mae: query }), times);
    if (!('values' in run.input)) throw new Error(run.input.error);
    expect(run.input.values.mae.value).toBeCloseTo(expectedMae, 3);
  });

  it.each([
    ['a query Prometheus cannot parse', 'sum(', /Prometheus query "sum\(" failed: .*parse error/],
    ['a query with several series', 'modelwarden_http_requests_total', /series; aggregate it/],
  ])('fails the probe on %s', async (_name, query, message) => {
    const run = await probePrometheus(resource, monitoring({ mae: query }), times);
    expect('error' in run.input ? run.input.error : '').toMatch(message);
  });
});
