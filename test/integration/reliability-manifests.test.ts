// Hostile ModelDeployment manifests. The apiserver rejects each one through the CRD schema, CEL
// and strict field validation, with a message that names the field. A spec whose Deployment the
// apiserver rejects passes that check, so the operator ends it in a terminal condition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNamespace, deleteNamespace, kubectl, waitFor } from './support/index.ts';
import {
  condition,
  installCrd,
  kube,
  mdepCollection,
  mdepPath,
  metricValue,
  modelDeployment,
  startOperator,
  trainArtifact,
  workDir,
  type OperatorProcess,
} from './reliability-support.ts';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';

type Spec = Record<string, unknown>;

const model = { name: 'cars', uri: 'file:///models/cars/v1', version: 'v1' };
const retraining = {
  enabled: true,
  jobTemplate: { spec: { template: { spec: { containers: [] } } } },
  output: { claimName: 'models' },
};

/** Each case: what is wrong, the spec (or whole manifest text), and the message it must get. */
const rejected: [string, Spec | string, RegExp][] = [
  // Wrong types.
  ['replicas as a string', { model, replicas: '3' }, /spec\.replicas: .*must be of type integer/],
  ['replicas as a fraction', { model, replicas: 1.5 }, /spec\.replicas: .*must be of type integer/],
  [
    'port as a string',
    { model, server: { port: '8080' } },
    /spec\.server\.port: .*must be of type integer/,
  ],
  [
    'uri as a number',
    { model: { ...model, uri: 42 } },
    /spec\.model\.uri: .*must be of type string/,
  ],
  [
    'threshold as a string',
    { model, monitoring: { metrics: [{ name: 'mae', max: '3' }] } },
    /spec\.monitoring\.metrics\[0\]\.max: .*must be of type number/,
  ],
  [
    'capture as a string',
    { model, server: { feedback: { capture: 'yes' } } },
    /spec\.server\.feedback\.capture: .*must be of type boolean/,
  ],
  [
    'metrics as an object',
    { model, monitoring: { metrics: { name: 'mae', max: 3 } } },
    /spec\.monitoring\.metrics/,
  ],
  // Negative and huge numbers.
  [
    'a trillion replicas',
    { model, replicas: 1e12 },
    /spec\.replicas: Invalid value: 1000000000000/,
  ],
  [
    'port above 65535',
    { model, server: { port: 70000 } },
    /spec\.server\.port: Invalid value: 70000/,
  ],
  [
    'a trillion queue rows',
    { model, server: { batching: { maxQueueRows: 1e12 } } },
    /spec\.server\.batching\.maxQueueRows: Invalid value: 1000000000000/,
  ],
  [
    'negative batch delay',
    { model, server: { batching: { maxBatchDelayMs: -1 } } },
    /spec\.server\.batching\.maxBatchDelayMs: Invalid value: -1/,
  ],
  [
    'negative minSamples',
    { model, monitoring: { minSamples: -5, metrics: [] } },
    /spec\.monitoring\.minSamples: Invalid value: -5/,
  ],
  [
    'negative maxAttempts',
    { model, retraining: { enabled: false, maxAttempts: -1 } },
    /spec\.retraining\.maxAttempts: Invalid value: -1/,
  ],
  [
    'negative capture size',
    { model, server: { feedback: { capture: true, maxBytes: '-1' } } },
    /spec\.server\.feedback\.maxBytes: .*whole number of bytes/,
  ],
  [
    'capture size of 100 exbibytes',
    { model, server: { feedback: { capture: true, maxBytes: '100Ei' } } },
    /spec\.server\.feedback\.maxBytes: .*whole number of bytes/,
  ],
  // Bad durations.
  [
    'interval in years',
    { model, monitoring: { interval: '1y', metrics: [] } },
    /spec\.monitoring\.interval: Invalid value: "1y"/,
  ],
  [
    'empty interval',
    { model, monitoring: { interval: '', metrics: [] } },
    /spec\.monitoring\.interval: Invalid value: ""/,
  ],
  [
    'window beyond the duration range',
    { model, monitoring: { window: '99999999999h', metrics: [] } },
    /spec\.monitoring: .*Duration/,
  ],
  [
    'capture age of zero',
    { model, server: { feedback: { capture: true, maxAge: '0s' } } },
    /spec\.server\.feedback\.maxAge: .*must be at least 1m/,
  ],
  [
    'cooldown as a word',
    { model, retraining: { enabled: false, cooldown: 'soon' } },
    /spec\.retraining\.cooldown: Invalid value: "soon"/,
  ],
  [
    'retraining timeout below 1m',
    { model, retraining: { enabled: false, timeout: '30s' } },
    /spec\.retraining\.timeout: .*timeout must be from 1m to 168h/,
  ],
  // Bad URIs.
  [
    'javascript uri',
    { model: { ...model, uri: 'javascript:alert(1)' } },
    /spec\.model\.uri: .*must start with file:\/\//,
  ],
  [
    'file uri with a host',
    { model: { ...model, uri: 'file://attacker.example/models' } },
    /spec\.model\.uri: .*a file uri must have no host/,
  ],
  [
    'credentials in an http uri',
    { model: { ...model, uri: 'http://user:secret@127.0.0.1/models/' } },
    /spec\.model\.uri: .*must not contain credentials/,
  ],
  [
    'NUL byte in the uri',
    { model: { ...model, uri: 'file:///models/cars\u0000v1' } },
    /spec\.model\.uri: .*must not contain control characters/,
  ],
  [
    'newline in the uri',
    { model: { ...model, uri: 'file:///models/cars\nv1' } },
    /spec\.model\.uri: /,
  ],
  [
    'webhook that is not a url',
    { model, monitoring: { metrics: [], webhook: { url: 'not a url' } } },
    /spec\.monitoring\.webhook\.url: Invalid value: "not a url"/,
  ],
  [
    'prometheus at a file url',
    { model, monitoring: { metrics: [], prometheus: { url: 'file:///etc/passwd' } } },
    /spec\.monitoring\.prometheus\.url: Invalid value: "file:\/\/\/etc\/passwd"/,
  ],
  [
    'credentials in the webhook url',
    { model, monitoring: { metrics: [], webhook: { url: 'https://user:secret@hooks.example/x' } } },
    /spec\.monitoring\.webhook\.url: .*must not contain credentials/,
  ],
  [
    'credentials in the prometheus url',
    { model, monitoring: { metrics: [], prometheus: { url: 'http://user:secret@prom:9090' } } },
    /spec\.monitoring\.prometheus\.url: .*must not contain credentials/,
  ],
  // Path traversal in file and pvc URIs.
  [
    'percent-encoded dot segments',
    { model: { ...model, uri: 'file:///models/%2e%2e/etc' } },
    /spec\.model\.uri: .*percent-encoded dots/,
  ],
  [
    'percent-encoded slash',
    { model: { ...model, uri: 'file:///models/..%2Fetc' } },
    /spec\.model\.uri: .*percent-encoded dots/,
  ],
  [
    'backslash segments',
    { model: { ...model, uri: 'file:///models/..\\..\\etc' } },
    /spec\.model\.uri: .*backslashes/,
  ],
  [
    'dot segments in a pvc uri',
    { model: { ...model, uri: 'pvc://models/../../etc' } },
    /spec\.model\.uri: .*must not contain \.\. path segments/,
  ],
  [
    'dot segments in the base dataset',
    { model, retraining: { ...retraining, baseDataset: 'file:///data/../../etc/shadow' } },
    /spec\.retraining\.baseDataset: .*must not contain \.\. path segments/,
  ],
  // Oversized strings and lists.
  [
    'uri of 100000 characters',
    { model: { ...model, uri: `file:///${'a'.repeat(100_000)}` } },
    /spec\.model\.uri: Too long: may not be more than 2048 bytes/,
  ],
  [
    'model name of 10000 characters',
    { model: { ...model, name: 'a'.repeat(10_000) } },
    /spec\.model\.name: Too long: may not be more than 63 bytes/,
  ],
  [
    'image of 100000 characters',
    { model, server: { image: 'x'.repeat(100_000) } },
    /spec\.server\.image: Too long: may not be more than 512 bytes/,
  ],
  [
    'env value of 100000 characters',
    { model, server: { env: [{ name: 'BIG', value: 'x'.repeat(100_000) }] } },
    /spec\.server\.env\[0\]\.value: Too long: may not be more than 32768 bytes/,
  ],
  [
    '100 env variables',
    {
      model,
      server: { env: Array.from({ length: 100 }, (_, index) => ({ name: `V${index}` })) },
    },
    /spec\.server\.env: Too many: 100: must have at most 64 items/,
  ],
  // Names the Service and the pod labels cannot carry.
  ['name of 64 characters', 'a'.repeat(64), /metadata\.name must be at most 63/],
  ['name starting with a digit', '1cars', /metadata\.name must be at most 63/],
  // Unknown and duplicate fields, rejected by strict field validation.
  ['misspelt spec field', { model, replicaz: 2 }, /unknown field "spec\.replicaz"/],
  ['misspelt model field', { model: { ...model, sha: 'abc' } }, /unknown field "spec\.model\.sha"/],
  [
    'duplicate field',
    '{"apiVersion":"modelwarden.io/v1alpha1","kind":"ModelDeployment","metadata":{"name":"dup"},' +
      '"spec":{"model":{"name":"cars","uri":"file:///models/cars/v1"},"replicas":1,"replicas":5}}',
    /duplicate field "spec\.replicas"/,
  ],
];

let namespace = '';
let operatorNamespace = '';
let operator: OperatorProcess | undefined;
let artifact = '';

beforeAll(async () => {
  await installCrd(kube());
  namespace = await createNamespace('rel-manifests');
  operatorNamespace = await createNamespace('rel-terminal');
  artifact = await trainArtifact(workDir('manifests'));
  operator = startOperator([operatorNamespace], `${workDir('manifests')}/operator.log`);
  await operator.metricsUrl();
});

afterAll(async () => {
  await operator?.stop();
  if (namespace) await deleteNamespace(namespace);
  if (operatorNamespace) await deleteNamespace(operatorNamespace);
});

/** Manifest text for a case: a spec becomes a whole ModelDeployment, a bare name a minimal one. */
function manifestText(input: Spec | string): string {
  if (typeof input === 'string' && input.startsWith('{')) return input;
  const name = typeof input === 'string' ? input : 'hostile';
  const spec = typeof input === 'string' ? { model } : input;
  return JSON.stringify({
    apiVersion: 'modelwarden.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name },
    spec,
  });
}

describe('hostile manifests at the apiserver', () => {
  it('has at least 25 cases', () => {
    expect(rejected.length).toBeGreaterThanOrEqual(25);
  });

  it.each(rejected)('rejects %s', async (_name, input, message) => {
    const text = manifestText(input);
    // kubectl parses a manifest file and would drop a duplicate key before sending it, so the
    // raw text goes to the API with server-side strict field validation instead.
    const args =
      typeof input === 'string' && input.startsWith('{')
        ? [
            'create',
            '--raw',
            `/apis/modelwarden.io/v1alpha1/namespaces/${namespace}/modeldeployments?dryRun=All&fieldValidation=Strict`,
            '-f',
            '-',
          ]
        : ['create', '--dry-run=server', '--validate=strict', '-n', namespace, '-f', '-'];
    const result = await kubectl(args, { input: text, allowFailure: true });
    expect(result.code, `accepted: ${result.stdout}`).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});

describe('manifests at the edge of the rules', () => {
  it('accepts an interval below the default scrape timeout', async () => {
    const result = await kubectl(
      ['create', '--dry-run=server', '--validate=strict', '-n', namespace, '-f', '-'],
      {
        input: manifestText({ model, monitoring: { interval: '2s', window: '10s', metrics: [] } }),
      },
    );
    expect(result.code).toBe(0);
  });
});

/** Specs that pass validation but whose Deployment the apiserver rejects. */
const terminal: [string, Spec, RegExp][] = [
  [
    'env-name',
    { server: { env: [{ name: 'A=B', value: 'x' }] } },
    /containers\[0\]\.env\[\d+\]\.name: Invalid value: "A=B"/,
  ],
  [
    'negative-cpu',
    { resources: { requests: { cpu: '-1' } } },
    /resources\.requests\[cpu\]: Invalid value: "-1"/,
  ],
  [
    'request-over-limit',
    { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } },
    /resources\.requests: Invalid value: "2": must be less than or equal to cpu limit/,
  ],
];

describe('hostile manifests only the operator can judge', () => {
  it.each(terminal)('ends %s in InvalidSpec', async (name, spec, message) => {
    const client = kube();
    await client.create(
      mdepCollection(operatorNamespace),
      modelDeployment(operatorNamespace, name, `file://${artifact}`, { spec }),
    );
    const progressing = await waitFor(
      async () => {
        const resource = await client.get<ModelDeployment>(mdepPath(operatorNamespace, name));
        const found = condition(resource, 'Progressing');
        return found?.reason === 'InvalidSpec' ? found : undefined;
      },
      { timeout: 60_000, description: `${name} to report InvalidSpec` },
    );
    expect(progressing.status).toBe('False');
    expect(progressing.message).toMatch(message);
    const available = condition(
      await client.get<ModelDeployment>(mdepPath(operatorNamespace, name)),
      'Available',
    );
    expect(available?.status).toBe('False');
    expect(available?.reason).toBe('InvalidSpec');
  });

  it('retries no terminal spec', async () => {
    const url = await (operator as OperatorProcess).metricsUrl();
    const before = await metricValue(url, 'modelwarden_operator_reconcile_total', {
      result: 'terminal',
    });
    await sleep(10_000);
    const after = await metricValue(url, 'modelwarden_operator_reconcile_total', {
      result: 'terminal',
    });
    // A terminal error is not requeued, so only a watch event could reconcile these again.
    expect(after - before).toBeLessThanOrEqual(terminal.length);
  });

  it('serves a queue below the request row limit', async () => {
    const client = kube();
    const name = 'small-queue';
    await client.create(
      mdepCollection(operatorNamespace),
      modelDeployment(operatorNamespace, name, `file://${artifact}`, {
        spec: { server: { batching: { maxQueueRows: 10 } } },
      }),
    );
    const available = await waitFor(
      async () => {
        const resource = await client.get<ModelDeployment>(mdepPath(operatorNamespace, name));
        const found = condition(resource, 'Available');
        return found?.status === 'True' ? found : undefined;
      },
      { timeout: 120_000, description: `${name} to become Available` },
    );
    expect(available.reason).toBe('MinimumReplicasAvailable');
  });
});
