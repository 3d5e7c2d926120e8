import { describe, expect, it } from 'vitest';
import { parseServeConfig } from './serve-config.ts';

describe('parseServeConfig', () => {
  it('applies the defaults', () => {
    const config = parseServeConfig({ model: '/models/cars' }, {});
    expect(config).toMatchObject({
      model: '/models/cars',
      host: '0.0.0.0',
      port: 8080,
      maxBatchSize: 256,
      bodyLimit: 8 * 1024 * 1024,
    });
    expect(config.captureDir).toBeUndefined();
  });

  it('reads MODEL_SERVER_ variables', () => {
    const config = parseServeConfig(
      {},
      {
        MODEL_SERVER_MODEL: '/m',
        MODEL_SERVER_PORT: '9000',
        MODEL_SERVER_CAPTURE_MAX_BYTES: '2GiB',
      },
    );
    expect(config.model).toBe('/m');
    expect(config.port).toBe(9000);
    expect(config.captureMaxBytes).toBe(2 * 1024 ** 3);
  });

  it('lets a flag win over its variable', () => {
    expect(
      parseServeConfig({ model: '/m', port: '7000' }, { MODEL_SERVER_PORT: '9000' }).port,
    ).toBe(7000);
  });

  it.each([
    [{}, {}, '--model is required'],
    [
      { model: '/m', port: '70000' },
      {},
      "--port '70000' is invalid: expected an integer from 0 to 65535",
    ],
    [
      { model: '/m' },
      { MODEL_SERVER_MAX_BATCH_SIZE: 'lots' },
      "MODEL_SERVER_MAX_BATCH_SIZE 'lots' is invalid",
    ],
    [
      { model: '/m', modelSha256: 'abc' },
      {},
      "--model-sha256 'abc' is invalid: expected a SHA-256 digest",
    ],
    [{ model: '/m', bodyLimit: '12 parsecs' }, {}, "--body-limit '12 parsecs' is invalid"],
    [{ model: '/m', backend: 'gpu' }, {}, 'expected one of auto, tensorflow, wasm, cpu'],
    [
      { model: '/m', maxRequestRows: '100', maxQueueRows: '10' },
      {},
      '--max-request-rows 100 exceeds --max-queue-rows 10',
    ],
  ])('rejects %o %o', (flags, env, message) => {
    expect(() => parseServeConfig(flags, env)).toThrow(message);
  });
});
