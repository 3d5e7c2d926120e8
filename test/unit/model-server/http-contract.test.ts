// Contract tests of every HTTP endpoint and of the bad-input cases: each gets its status code,
// error code and a message naming the field, and none causes a 5xx.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../../../model-server/src/server/model-server.ts';
import {
  CARS_FEATURES,
  makeTempDir,
  parseMetrics,
  removeDir,
  startServer,
  trainCars,
} from './fixtures.ts';

let workDir: string;
let artifact: string;
let server: ModelServer;

const CAR = [8, 307, 130, 3504, 12];
const CAR_OBJECT = {
  Cylinders: 8,
  Displacement: 307,
  Horsepower: 130,
  Weight_in_lbs: 3504,
  Acceleration: 12,
};
const BODY_LIMIT = 64 * 1024;
const MAX_REQUEST_ROWS = 50;

beforeAll(async () => {
  workDir = await makeTempDir('contract');
  artifact = path.join(workDir, 'cars');
  await trainCars(artifact, { epochs: 5 });
  server = await startServer({
    model: artifact,
    bodyLimit: BODY_LIMIT,
    maxRequestRows: MAX_REQUEST_ROWS,
  });
});

afterAll(async () => {
  await server?.close();
  await removeDir(workDir);
});

async function request(
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await server.app.inject({
    method,
    url,
    headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
    payload:
      payload === undefined
        ? undefined
        : typeof payload === 'string'
          ? payload
          : JSON.stringify(payload),
  });
  return { status: response.statusCode, headers: response.headers, body: response.json() };
}

describe('health and metadata endpoints', () => {
  it('reports liveness', async () => {
    expect(await request('GET', '/v2/health/live')).toMatchObject({
      status: 200,
      body: { live: true },
    });
  });

  it('reports readiness once the model is loaded', async () => {
    expect(await request('GET', '/v2/health/ready')).toMatchObject({
      status: 200,
      body: { ready: true, state: 'ready' },
    });
  });

  it('returns server metadata', async () => {
    const response = await request('GET', '/v2');
    expect(response.status).toBe(200);
    expect(response.body.name).toBe('modelwarden-model-server');
    expect(response.body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('returns the v1 model status', async () => {
    const response = await request('GET', '/v1/models/cars');
    expect(response.body.model_version_status).toEqual([
      { version: 'v1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
    ]);
    expect((await request('GET', '/v1/models/cars/versions/v1')).status).toBe(200);
  });

  it('returns the v1 metadata with the signature', async () => {
    const response = await request('GET', '/v1/models/cars/metadata');
    const signature = response.body.metadata.signature_def.signature_def.serving_default;
    expect(Object.keys(signature.inputs)).toEqual(CARS_FEATURES);
    expect(Object.keys(signature.outputs)).toEqual(['Miles_per_Gallon']);
    expect(response.body.modelwarden.features).toEqual(CARS_FEATURES);
    expect(response.body.modelwarden.backend).toBe(server.backend);
  });

  it('returns the v2 model metadata and readiness', async () => {
    const metadata = await request('GET', '/v2/models/cars');
    expect(metadata.body).toMatchObject({
      name: 'cars',
      versions: ['v1'],
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 5] }],
      outputs: [{ name: 'Miles_per_Gallon', datatype: 'FP32', shape: [-1, 1] }],
    });
    expect(await request('GET', '/v2/models/cars/ready')).toMatchObject({
      status: 200,
      body: { ready: true },
    });
    expect((await request('GET', '/v2/models/cars/versions/v1/ready')).status).toBe(200);
  });
});

describe('prediction endpoints', () => {
  it('predicts rows given as arrays and as objects alike', async () => {
    const response = await request('POST', '/v1/models/cars:predict', {
      instances: [CAR, CAR_OBJECT],
    });
    expect(response.status).toBe(200);
    expect(response.body.predictions).toHaveLength(2);
    expect(response.body.predictions[0]).toBe(response.body.predictions[1]);
    expect(response.body.prediction_ids).toHaveLength(2);
    expect(new Set(response.body.prediction_ids).size).toBe(2);
    expect(response.body.model_version).toBe('v1');
  });

  it('answers columnar inputs with outputs', async () => {
    const columns = Object.fromEntries(
      Object.entries(CAR_OBJECT).map(([feature, value]) => [feature, [value, value]]),
    );
    const columnar = await request('POST', '/v1/models/cars:predict', { inputs: columns });
    const rows = await request('POST', '/v1/models/cars/versions/v1:predict', {
      signature_name: 'serving_default',
      inputs: [CAR],
    });
    expect(columnar.status).toBe(200);
    expect(columnar.body.outputs).toHaveLength(2);
    expect(columnar.body.predictions).toBeUndefined();
    expect(rows.body.outputs[0]).toBe(columnar.body.outputs[0]);
  });

  it('infers v2 tensors in both layouts', async () => {
    const matrix = await request('POST', '/v2/models/cars/infer', {
      id: 'request-1',
      parameters: {},
      inputs: [{ name: 'input', shape: [1, 5], datatype: 'FP64', data: [CAR] }],
      outputs: [{ name: 'Miles_per_Gallon' }],
    });
    const perFeature = await request('POST', '/v2/models/cars/versions/v1/infer', {
      inputs: CARS_FEATURES.map((feature, column) => ({
        name: feature,
        shape: [1],
        datatype: 'INT32',
        data: [CAR[column]],
      })),
    });
    expect(matrix.status).toBe(200);
    expect(matrix.body).toMatchObject({ model_name: 'cars', model_version: 'v1', id: 'request-1' });
    expect(matrix.body.outputs[0]).toMatchObject({
      name: 'Miles_per_Gallon',
      datatype: 'FP32',
      shape: [1, 1],
    });
    expect(matrix.body.parameters.prediction_ids).toHaveLength(1);
    expect(perFeature.body.outputs[0].data).toEqual(matrix.body.outputs[0].data);
    expect(perFeature.body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts feedback by id and by labelled rows', async () => {
    const predicted = await request('POST', '/v1/models/cars:predict', { instances: [CAR] });
    const id = predicted.body.prediction_ids[0] as string;
    const response = await request('POST', '/v1/models/cars/feedback', {
      labels: [
        { id, label: 18 },
        { id, label: 18 },
        { id: 'unknown-id', label: 3 },
      ],
      instances: [{ ...CAR_OBJECT, Miles_per_Gallon: 18 }],
    });
    expect(response.status).toBe(200);
    expect(response.body.accepted).toBe(2);
    expect(response.body.rejected.map((entry: { reason: string }) => entry.reason)).toEqual([
      'duplicate',
      'unknown_id',
    ]);
    expect(response.body.captured).toBe(0);
    expect(response.body.window.samples).toBeGreaterThanOrEqual(2);
  });

  it('reports no window error while the feedback window is empty', async () => {
    const metrics = async () => parseMetrics((await server.app.inject({ url: '/metrics' })).body);
    const filled = await metrics();
    expect(filled.get('modelwarden_feedback_window_mae')).toBeGreaterThan(0);
    expect(filled.get('modelwarden_feedback_window_rmse')).toBeGreaterThan(0);

    await server.reload();
    const empty = await metrics();
    expect(empty.get('modelwarden_feedback_window_samples')).toBe(0);
    expect(empty.has('modelwarden_feedback_window_mae')).toBe(false);
    expect(empty.has('modelwarden_feedback_window_rmse')).toBe(false);
    const response = await request('POST', '/v1/models/cars/feedback', {
      labels: [{ id: 'unknown-id', label: 3 }],
    });
    expect(response.status).toBe(200);
    expect(response.body.window).toEqual({ samples: 0, mae: null, rmse: null });
  });
});

/** [name, method, url, body, status, error code, text the message must contain] */
const BAD_INPUTS: [string, string, unknown, number, string, string][] = [
  [
    'wrong row width',
    '/v1/models/cars:predict',
    { instances: [[1, 2, 3]] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'instances[0] has 3 values but the model expects 5',
  ],
  [
    'missing feature',
    '/v1/models/cars:predict',
    { instances: [{ Cylinders: 4 }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    "instances[0] is missing features 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'",
  ],
  [
    'misspelled feature key',
    '/v1/models/cars:predict',
    {
      instances: [
        {
          Cylinders: 8,
          Displacement: 307,
          Horsepower: 130,
          Weight_in_lbs: 3504,
          Acceleraton: 12,
        },
      ],
    },
    400,
    'MS_ERR_REQUEST_INVALID',
    "instances[0] is missing feature 'Acceleration' and has unknown key 'Acceleraton'; the keys are 'Cylinders', ",
  ],
  [
    'extra key in an object row',
    '/v1/models/cars:predict',
    { instances: [CAR, { ...CAR_OBJECT, Name: 'chevrolet chevelle malibu' }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    "instances[1] has unknown key 'Name'; the keys are 'Cylinders', ",
  ],
  [
    'unknown column',
    '/v1/models/cars:predict',
    {
      inputs: Object.fromEntries(
        Object.entries({ ...CAR_OBJECT, Year: 1970 }).map(([key, value]) => [key, [value]]),
      ),
    },
    400,
    'MS_ERR_REQUEST_INVALID',
    "inputs has unknown key 'Year'",
  ],
  [
    'wrong type',
    '/v1/models/cars:predict',
    { instances: [[8, 307, '130', 3504, 12]] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'instances[0][2] must be a number, got a string',
  ],
  [
    'null cell',
    '/v1/models/cars:predict',
    { instances: [{ ...CAR_OBJECT, Horsepower: null }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'instances[0].Horsepower must be a number, got null',
  ],
  [
    'NaN literal',
    '/v1/models/cars:predict',
    '{"instances":[[8,307,NaN,3504,12]]}',
    400,
    'MS_ERR_REQUEST_JSON_INVALID',
    'not valid JSON',
  ],
  [
    'infinite number',
    '/v1/models/cars:predict',
    '{"instances":[[8,307,1e400,3504,12]]}',
    400,
    'MS_ERR_REQUEST_INVALID',
    'instances[0][2] must be a finite number',
  ],
  [
    'row not a list',
    '/v1/models/cars:predict',
    { instances: [42] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'instances[0] must be an array of 5 numbers',
  ],
  [
    'instances not an array',
    '/v1/models/cars:predict',
    { instances: 'x' },
    400,
    'MS_ERR_REQUEST_INVALID',
    'instances must be an array of rows',
  ],
  [
    'empty instances',
    '/v1/models/cars:predict',
    { instances: [] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'instances must contain at least one row',
  ],
  [
    'both instances and inputs',
    '/v1/models/cars:predict',
    { instances: [CAR], inputs: [CAR] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'exactly one of',
  ],
  [
    'neither instances nor inputs',
    '/v1/models/cars:predict',
    { signature_name: 'serving_default' },
    400,
    'MS_ERR_REQUEST_INVALID',
    'exactly one of',
  ],
  [
    'body not an object',
    '/v1/models/cars:predict',
    [CAR],
    400,
    'MS_ERR_REQUEST_INVALID',
    'body must be object',
  ],
  [
    'unequal columns',
    '/v1/models/cars:predict',
    { inputs: { ...Object.fromEntries(CARS_FEATURES.map((f) => [f, [1, 2]])), Horsepower: [1] } },
    400,
    'MS_ERR_REQUEST_INVALID',
    'inputs.Horsepower has 1 values',
  ],
  [
    'too many rows',
    '/v1/models/cars:predict',
    { instances: Array.from({ length: MAX_REQUEST_ROWS + 1 }, () => CAR) },
    413,
    'MS_ERR_REQUEST_TOO_MANY_ROWS',
    `at most ${MAX_REQUEST_ROWS}`,
  ],
  [
    'body over the limit',
    '/v1/models/cars:predict',
    { instances: [CAR], padding: 'x'.repeat(BODY_LIMIT) },
    413,
    'MS_ERR_REQUEST_BODY_TOO_LARGE',
    `limit of ${BODY_LIMIT} bytes`,
  ],
  [
    'unknown signature',
    '/v1/models/cars:predict',
    { signature_name: 'classify', instances: [CAR] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'signature_name',
  ],
  [
    'unknown model',
    '/v1/models/trucks:predict',
    { instances: [CAR] },
    404,
    'MS_ERR_MODEL_NOT_FOUND',
    "model 'trucks' is not served here",
  ],
  [
    'unknown version',
    '/v1/models/cars/versions/v9:predict',
    { instances: [CAR] },
    404,
    'MS_ERR_MODEL_VERSION_NOT_FOUND',
    "no version 'v9'",
  ],
  [
    'unknown route',
    '/v1/models/cars:classify',
    { instances: [CAR] },
    404,
    'MS_ERR_ROUTE_NOT_FOUND',
    'no route for POST',
  ],
  [
    'v2 wrong shape',
    '/v2/models/cars/infer',
    { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'inputs[0].shape is [1, 4]',
  ],
  [
    'v2 data length',
    '/v2/models/cars/infer',
    { inputs: [{ name: 'input', shape: [2, 5], datatype: 'FP32', data: CAR }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'inputs[0].data has 5 elements',
  ],
  [
    'v2 datatype',
    '/v2/models/cars/infer',
    { inputs: [{ name: 'input', shape: [1, 5], datatype: 'BYTES', data: CAR }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'inputs[0].datatype must be a numeric type',
  ],
  [
    'v2 integer datatype',
    '/v2/models/cars/infer',
    {
      inputs: [
        { name: 'input', shape: [1, 5], datatype: 'INT32', data: [8, 307, 130, 3504, 12.5] },
      ],
    },
    400,
    'MS_ERR_REQUEST_INVALID',
    'inputs[0].data[4] must be an integer',
  ],
  [
    'v2 missing feature tensor',
    '/v2/models/cars/infer',
    { inputs: [{ name: 'Cylinders', shape: [1], datatype: 'FP32', data: [8] }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    "missing a tensor for feature 'Displacement'",
  ],
  [
    'v2 unknown tensor',
    '/v2/models/cars/infer',
    {
      inputs: [
        { name: 'input', shape: [1, 5], datatype: 'FP32', data: CAR },
        { name: 'extra', shape: [1], datatype: 'FP32', data: [1] },
      ],
    },
    400,
    'MS_ERR_REQUEST_INVALID',
    "'input' is not a feature",
  ],
  [
    'v2 unknown output',
    '/v2/models/cars/infer',
    {
      inputs: [{ name: 'input', shape: [1, 5], datatype: 'FP32', data: CAR }],
      outputs: [{ name: 'price' }],
    },
    400,
    'MS_ERR_REQUEST_INVALID',
    'outputs[0].name must be',
  ],
  [
    'v2 no inputs',
    '/v2/models/cars/infer',
    { inputs: [] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'inputs must be a non-empty array',
  ],
  [
    'feedback label type',
    '/v1/models/cars/feedback',
    { labels: [{ id: 'a', label: '18' }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'labels[0].label must be a number',
  ],
  [
    'feedback missing id',
    '/v1/models/cars/feedback',
    { labels: [{ label: 18 }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    'labels[0].id must be a prediction id',
  ],
  [
    'feedback row without label',
    '/v1/models/cars/feedback',
    { instances: [CAR_OBJECT] },
    400,
    'MS_ERR_REQUEST_INVALID',
    "instances[0] is missing label 'Miles_per_Gallon'; the keys are 'Cylinders', ",
  ],
  [
    'feedback row without a feature and the label',
    '/v1/models/cars/feedback',
    { instances: [{ ...CAR_OBJECT, Cylinders: undefined }] },
    400,
    'MS_ERR_REQUEST_INVALID',
    "instances[0] is missing feature 'Cylinders' and is missing label 'Miles_per_Gallon'",
  ],
  [
    'feedback row as array',
    '/v1/models/cars/feedback',
    { instances: [CAR] },
    400,
    'MS_ERR_REQUEST_INVALID',
    "must be an object with the features and the label 'Miles_per_Gallon'",
  ],
  [
    'feedback empty',
    '/v1/models/cars/feedback',
    {},
    400,
    'MS_ERR_REQUEST_INVALID',
    "must contain 'labels'",
  ],
  [
    'predict with unknown field',
    '/v1/models/cars:predict',
    { instances: [CAR], foo: 1 },
    400,
    'MS_ERR_REQUEST_INVALID',
    "body has unknown field 'foo'; the allowed fields are 'signature_name', 'instances', 'inputs'",
  ],
  [
    'infer with unknown field',
    '/v2/models/cars/infer',
    { inputs: [{ name: 'input', shape: [1, 5], datatype: 'FP32', data: CAR }], bogus: 1 },
    400,
    'MS_ERR_REQUEST_INVALID',
    "body has unknown field 'bogus'; the allowed fields are 'id', 'parameters', 'inputs', 'outputs'",
  ],
  [
    'feedback with unknown fields',
    '/v1/models/cars/feedback',
    { labels: [{ id: 'a', label: 18 }], bogus: 1, note: 'x' },
    400,
    'MS_ERR_REQUEST_INVALID',
    "body has unknown fields 'bogus', 'note'; the allowed fields are 'labels', 'instances'",
  ],
  [
    'reload with unknown field',
    '/v1/models/cars:reload',
    { uri: '/tmp' },
    400,
    'MS_ERR_REQUEST_INVALID',
    "unknown property 'uri'",
  ],
];

describe('bad input', () => {
  it.each(BAD_INPUTS)('%s', async (_name, url, body, status, code, text) => {
    const response = await request('POST', url, body);
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(response.body.message).toContain(text);
    expect(response.body.statusCode).toBe(status);
    expect(typeof response.body.error).toBe('string');
  });

  it('rejects a non-JSON content type with 415', async () => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/models/cars:predict',
      headers: { 'content-type': 'text/plain' },
      payload: 'instances',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().code).toBe('MS_ERR_REQUEST_MEDIA_TYPE');
  });

  it('returns 404 for a model name on GET', async () => {
    const response = await request('GET', '/v2/models/trucks');
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('MS_ERR_MODEL_NOT_FOUND');
  });

  it('leaves no 5xx and the server serving', async () => {
    const response = await request('POST', '/v1/models/cars:predict', { instances: [CAR] });
    expect(response.status).toBe(200);
    const metrics = parseMetrics((await server.app.inject({ url: '/metrics' })).body);
    const serverErrors = [...metrics.keys()].filter((key) =>
      /modelwarden_http_requests_total\{.*status_code="5/.test(key),
    );
    expect(serverErrors).toEqual([]);
  });
});

describe('request metrics', () => {
  it('labels requests by route template, never by raw URL', async () => {
    await request('GET', '/v1/models/some-random-name-123');
    await request('GET', '/no/such/path');
    const metrics = parseMetrics((await server.app.inject({ url: '/metrics' })).body);
    const routes = new Set(
      [...metrics.keys()]
        .filter((key) => key.startsWith('modelwarden_http_requests_total'))
        .map((key) => /route="([^"]*)"/.exec(key)?.[1]),
    );
    expect(routes).toContain('/v1/models/:name');
    expect(routes).toContain('/v1/models/:name:predict');
    expect(routes).toContain('unmatched');
    expect([...routes].some((route) => route?.includes('some-random-name'))).toBe(false);
    expect(
      metrics.get(
        'modelwarden_model_info{name="cars",version="v1",backend="' + server.backend + '"}',
      ),
    ).toBe(1);
    expect(metrics.get('modelwarden_errors_total{code="MS_ERR_MODEL_NOT_FOUND"}')).toBeGreaterThan(
      0,
    );
  });
});
