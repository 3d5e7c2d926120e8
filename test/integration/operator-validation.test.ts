// The apiserver rejects invalid ModelDeployments with a message that names the field, through
// the CRD's schema and CEL rules alone: no operator runs in this file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { KubeApiError } from '../../operator/src/errors.ts';
import { resourcePath } from '../../operator/src/kube/client.ts';
import { apiClient, installCrd, MODEL_DEPLOYMENTS, repoRoot } from './operator-harness.ts';
import { createNamespace, deleteNamespace } from './support/index.ts';

type Spec = Record<string, unknown>;

const model = { name: 'cars', uri: 'file:///models/cars/v1', version: 'v1' };
const retrainingBase = {
  enabled: true,
  jobTemplate: { spec: { template: { spec: { containers: [] } } } },
  output: { claimName: 'models' },
  baseDataset: 'file:///data/cars.csv',
};

/** Each case: name, spec, and a pattern the apiserver's message must match (naming the field). */
const invalid: [string, Spec, RegExp][] = [
  ['missing model', { replicas: 1 }, /spec\.model: Required value/],
  [
    'unknown uri scheme',
    { model: { ...model, uri: 's3://bucket/cars' } },
    /spec\.model\.uri: .*must start with file:\/\/, http:\/\/, https:\/\/ or pvc:\/\/CLAIM\/PATH/,
  ],
  [
    'uri path traversal',
    { model: { ...model, uri: 'file:///models/../etc' } },
    /spec\.model\.uri: .*must not contain \.\. path segments/,
  ],
  [
    'pvc uri without path',
    { model: { ...model, uri: 'pvc://models' } },
    /spec\.model\.uri: .*pvc:\/\/CLAIM\/PATH/,
  ],
  [
    'pvc uri with bad claim',
    { model: { ...model, uri: 'pvc://Models_1/cars' } },
    /spec\.model\.uri/,
  ],
  ['short sha256', { model: { ...model, sha256: 'abc123' } }, /spec\.model\.sha256: Invalid value/],
  [
    'unknown format',
    { model: { ...model, format: 'onnx' } },
    /spec\.model\.format: Unsupported value: "onnx"/,
  ],
  [
    'model name with space',
    { model: { ...model, name: 'my model' } },
    /spec\.model\.name: Invalid value/,
  ],
  ['negative replicas', { model, replicas: -1 }, /spec\.replicas: Invalid value: -1/],
  ['privileged port', { model, server: { port: 80 } }, /spec\.server\.port: Invalid value: 80/],
  [
    'zero batch size',
    { model, server: { batching: { maxBatchSize: 0 } } },
    /spec\.server\.batching\.maxBatchSize: Invalid value: 0/,
  ],
  [
    'bad feedback claim',
    { model, server: { feedback: { capture: true, claimName: 'Feedback_Claim' } } },
    /spec\.server\.feedback\.claimName: Invalid value/,
  ],
  [
    'interval not a duration',
    { model, monitoring: { interval: '5 minutes', metrics: [] } },
    /spec\.monitoring\.interval: Invalid value/,
  ],
  [
    'window below interval',
    { model, monitoring: { interval: '1m', window: '30s', metrics: [] } },
    /spec\.monitoring\.window: .*window must be at least interval/,
  ],
  [
    'scrape timeout above interval',
    { model, monitoring: { interval: '10s', scrapeTimeout: '20s', metrics: [] } },
    /spec\.monitoring\.scrapeTimeout: .*must not exceed interval/,
  ],
  [
    'unknown metric',
    { model, monitoring: { metrics: [{ name: 'accuracy', min: 0.9 }] } },
    /spec\.monitoring\.metrics\[0\]\.name: Unsupported value: "accuracy"/,
  ],
  [
    'threshold without bounds',
    { model, monitoring: { metrics: [{ name: 'mae' }] } },
    /spec\.monitoring\.metrics\[0\]: .*set min, max or both/,
  ],
  [
    'min not below max',
    { model, monitoring: { metrics: [{ name: 'mae', min: 3, max: 1 }] } },
    /spec\.monitoring\.metrics\[0\]\.min: .*min must be less than max/,
  ],
  [
    'duplicate metric',
    {
      model,
      monitoring: {
        metrics: [
          { name: 'mae', max: 3 },
          { name: 'mae', max: 4 },
        ],
      },
    },
    /spec\.monitoring\.metrics\[1\]: Duplicate value/,
  ],
  [
    'unknown prometheus query key',
    {
      model,
      monitoring: {
        metrics: [],
        prometheus: { url: 'http://prom:9090', queries: { accuracy: 'up' } },
      },
    },
    /spec\.monitoring\.prometheus\.queries: .*keys must be metric names/,
  ],
  [
    'retraining without job template',
    { model, retraining: { ...retrainingBase, jobTemplate: undefined } },
    /spec\.retraining\.jobTemplate: .*jobTemplate is required/,
  ],
  [
    'retraining without data',
    { model, retraining: { ...retrainingBase, baseDataset: undefined } },
    /spec\.retraining: .*retraining needs data/,
  ],
  [
    'trigger on unmonitored metric',
    {
      model,
      monitoring: { metrics: [{ name: 'mae', max: 3 }] },
      retraining: { ...retrainingBase, triggers: { metrics: ['drift'] } },
    },
    /spec\.retraining\.triggers\.metrics: .*only name metrics listed in monitoring\.metrics/,
  ],
  [
    'bad cron schedule',
    { model, retraining: { ...retrainingBase, triggers: { schedule: 'every hour' } } },
    /spec\.retraining\.triggers\.schedule: Invalid value/,
  ],
  [
    'unknown promotion policy',
    { model, retraining: { ...retrainingBase, promotion: { policy: 'Sometimes' } } },
    /spec\.retraining\.promotion\.policy: Unsupported value: "Sometimes"/,
  ],
  [
    'output path traversal',
    {
      model,
      retraining: { ...retrainingBase, output: { claimName: 'models', pathPrefix: '../x' } },
    },
    /spec\.retraining\.output\.pathPrefix: .*relative path without \.\./,
  ],
];

let namespace = '';

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('mdep-validation');
});

afterAll(async () => {
  if (namespace) await deleteNamespace(namespace);
});

function manifest(name: string, spec: Spec) {
  return {
    apiVersion: 'modelwarden.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name, namespace },
    spec,
  };
}

/** Creates with dryRun=All, so the apiserver validates and stores nothing. */
async function dryRunCreate(spec: Spec): Promise<KubeApiError | undefined> {
  try {
    await apiClient().request('POST', resourcePath(MODEL_DEPLOYMENTS, namespace), {
      body: manifest('probe', spec),
      query: { dryRun: 'All' },
    });
    return undefined;
  } catch (error) {
    if (error instanceof KubeApiError) return error;
    throw error;
  }
}

describe('ModelDeployment validation', () => {
  it('has at least 15 invalid cases', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(15);
  });

  it.each(invalid)('rejects %s', async (_name, spec, message) => {
    const error = await dryRunCreate(spec);
    expect(error?.statusCode, 'the apiserver accepted the manifest').toBe(422);
    expect(error?.message).toMatch(message);
  });

  it('accepts a minimal spec and fills defaults', async () => {
    const created = await apiClient().request<{ spec: Record<string, unknown> }>(
      'POST',
      resourcePath(MODEL_DEPLOYMENTS, namespace),
      { body: manifest('minimal', { model }), query: { dryRun: 'All' } },
    );
    expect(created.spec.replicas).toBe(1);
    expect(created.spec.model).toMatchObject({ format: 'tfjs-layers' });
  });

  it('accepts a full spec', async () => {
    const error = await dryRunCreate({
      model: { ...model, sha256: 'a'.repeat(64) },
      replicas: 2,
      server: {
        port: 8080,
        batching: { maxBatchSize: 32, maxBatchDelayMs: 5 },
        feedback: { capture: true, claimName: 'feedback' },
      },
      monitoring: {
        interval: '15s',
        window: '2m',
        metrics: [
          { name: 'latencyP99', max: 0.25, triggersRetraining: false },
          { name: 'mae', max: 3 },
          { name: 'drift', max: 0.25 },
        ],
      },
      retraining: {
        ...retrainingBase,
        triggers: { metrics: ['mae', 'drift'], schedule: '0 3 * * *' },
      },
    });
    expect(error?.message).toBeUndefined();
  });

  it.each(['minimal.yaml', 'full.yaml'])('accepts examples/%s', async (file) => {
    const example = parse(readFileSync(path.join(repoRoot, 'examples', file), 'utf8')) as {
      spec: Spec;
    };
    const error = await dryRunCreate(example.spec);
    expect(error?.message).toBeUndefined();
  });
});
