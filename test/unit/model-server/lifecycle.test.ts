// Model lifecycle over real HTTP on 127.0.0.1: loading over http, failed loads, the overload
// path, hot reload under load, admin authorisation and graceful shutdown.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServeConfig } from '../../../model-server/src/config/serve-config.ts';
import { ModelServer } from '../../../model-server/src/server/model-server.ts';
import { makeTempDir, removeDir, silentLogger, startServer, trainCars } from './fixtures.ts';

const CAR = [8, 307, 130, 3504, 12];

interface StatusBody {
  model_version_status: { state: string }[];
}

interface ErrorBody {
  code: string;
}
let workDir: string;
let v1: string;
let v2: string;

beforeAll(async () => {
  workDir = await makeTempDir('lifecycle');
  v1 = path.join(workDir, 'cars-v1');
  v2 = path.join(workDir, 'cars-v2');
  await trainCars(v1, { epochs: 5 });
  await trainCars(v2, { epochs: 5, version: 'v2', seed: 7 });
});

afterAll(async () => {
  await removeDir(workDir);
});

async function predict(server: ModelServer, rows: number[][] = [CAR]) {
  const response = await fetch(`${server.url}/v1/models/cars:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: rows }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** Serves an artifact directory over http; model.json waits until `release` is called. */
async function startArtifactServer(directory: string) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const httpServer: Server = createServer((request, response) => {
    const name = (request.url ?? '/').replace(/^\/cars\//, '');
    const send = async () => {
      if (name === 'model.json') await gate;
      try {
        response.end(await readFile(path.join(directory, name)));
      } catch {
        response.statusCode = 404;
        response.end();
      }
    };
    void send();
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/cars/`,
    release,
    close: () => new Promise((resolve) => httpServer.close(resolve)),
  };
}

describe('model loading', () => {
  it('answers 503 with Retry-After while loading over http', async () => {
    const artifactServer = await startArtifactServer(v1);
    const server = await ModelServer.start(
      defaultServeConfig({
        model: artifactServer.url,
        host: '127.0.0.1',
        port: 0,
        logLevel: 'silent',
      }),
      silentLogger,
    );
    try {
      const ready = await fetch(`${server.url}/v2/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ ready: false, state: 'loading' });
      const loading = await predict(server);
      expect(loading.status).toBe(503);
      expect(loading.body.code).toBe('MS_ERR_MODEL_NOT_READY');
      expect(loading.headers.get('retry-after')).toBe('5');
      const status = (await (await fetch(`${server.url}/v1/models/cars`)).json()) as StatusBody;
      expect(status.model_version_status[0]?.state).toBe('LOADING');
      expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);

      artifactServer.release();
      await server.initialLoad;
      expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
      expect((await predict(server)).status).toBe(200);
    } finally {
      await server.close();
      await artifactServer.close();
    }
  });

  it('stays unready after a checksum mismatch', async () => {
    const server = await startServer({ model: `file://${v1}`, modelSha256: 'ab'.repeat(32) });
    try {
      const ready = await fetch(`${server.url}/v2/health/ready`);
      expect(ready.status).toBe(503);
      const readyBody = (await ready.json()) as Record<string, unknown>;
      expect(readyBody.state).toBe('failed');
      expect(readyBody.code).toBe('MS_ERR_ARTIFACT_CHECKSUM_MISMATCH');
      expect(readyBody.message).toContain('--model-sha256');
      const response = await predict(server);
      expect(response.status).toBe(503);
      expect(response.body.message).toContain('MS_ERR_ARTIFACT_CHECKSUM_MISMATCH');
      expect(response.body.message).toContain('--model-sha256');
      const status = (await (await fetch(`${server.url}/v1/models/cars`)).json()) as StatusBody;
      expect(status.model_version_status[0]?.state).toBe('END');
    } finally {
      await server.close();
    }
  });
});

describe('overload', () => {
  it('answers 429 with Retry-After when the queue is full', async () => {
    const server = await startServer({
      model: v1,
      maxQueueRows: 8,
      maxRequestRows: 8,
      maxBatchSize: 1000,
      maxBatchDelayMs: 300,
    });
    try {
      const rows = [CAR, CAR, CAR, CAR];
      const responses = await Promise.all([
        predict(server, rows),
        predict(server, rows),
        predict(server, rows),
      ]);
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 200, 429]);
      const rejected = responses.find((response) => response.status === 429);
      expect(rejected?.headers.get('retry-after')).toBe('1');
      expect(rejected?.body.code).toBe('MS_ERR_QUEUE_FULL');
    } finally {
      await server.close();
    }
  });
});

describe('hot reload', () => {
  it('swaps versions under load without failed requests', async () => {
    const server = await startServer({ model: v1, adminToken: 'secret-token', maxBatchDelayMs: 1 });
    try {
      const statuses = new Map<number, number>();
      const versions = new Set<unknown>();
      const deadline = Date.now() + 1500;
      const worker = async () => {
        for (let sent = 0; sent < 2000 && Date.now() < deadline; sent++) {
          const response = await predict(server);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          versions.add(response.body.model_version);
        }
      };
      const reloads = async () => {
        for (const [index, target] of [v2, v1, v2].entries()) {
          await new Promise((resolve) => setTimeout(resolve, 200 + index * 100));
          const response = await fetch(`${server.url}/v1/models/cars:reload`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer secret-token' },
            body: JSON.stringify({ model: target }),
          });
          expect(response.status).toBe(200);
        }
      };
      await Promise.all([worker(), worker(), worker(), worker(), reloads()]);
      expect([...statuses.keys()]).toEqual([200]);
      expect(versions).toEqual(new Set(['v1', 'v2']));
      expect(server.manager.current?.model.version).toBe('v2');
    } finally {
      await server.close();
    }
  });

  it('accepts feedback for a prediction made before the swap', async () => {
    const server = await startServer({ model: v1, adminToken: 'secret-token' });
    try {
      const before = await predict(server);
      const id = (before.body.prediction_ids as string[])[0];
      await server.reload({ uri: v2 });
      const response = await fetch(`${server.url}/v1/models/cars/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ labels: [{ id, label: 15 }] }),
      });
      expect(await response.json()).toMatchObject({ accepted: 1, rejected: [] });
    } finally {
      await server.close();
    }
  });

  it('keeps serving the old version when a reload fails', async () => {
    const server = await startServer({ model: v1, adminToken: 'secret-token' });
    try {
      const response = await fetch(`${server.url}/v1/models/cars:reload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer secret-token' },
        body: JSON.stringify({ model: path.join(workDir, 'missing') }),
      });
      expect(response.status).toBe(422);
      expect(((await response.json()) as ErrorBody).code).toBe('MS_ERR_ARTIFACT_NOT_FOUND');
      expect((await predict(server)).body.model_version).toBe('v1');
      expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('admin authorisation', () => {
  it('requires the token when one is configured', async () => {
    const server = await startServer({ model: v1, adminToken: 'secret-token' });
    try {
      const missing = await fetch(`${server.url}/v1/models/cars:reload`, { method: 'POST' });
      expect(missing.status).toBe(401);
      const wrong = await fetch(`${server.url}/v1/models/cars:reload`, {
        method: 'POST',
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${server.url}/v1/models/cars:reload`, {
        method: 'POST',
        headers: { authorization: 'Bearer secret-token' },
      });
      expect(right.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('allows only a plain reload without a token', async () => {
    const server = await startServer({ model: v1 });
    try {
      const plain = await fetch(`${server.url}/v1/models/cars:reload`, { method: 'POST' });
      expect(plain.status).toBe(200);
      expect(await plain.json()).toMatchObject({
        name: 'cars',
        version: 'v1',
        previous_version: 'v1',
      });
      const newUri = await fetch(`${server.url}/v1/models/cars:reload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: v2 }),
      });
      expect(newUri.status).toBe(403);
      expect(((await newUri.json()) as ErrorBody).code).toBe('MS_ERR_ADMIN_FORBIDDEN');
    } finally {
      await server.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('drains in-flight requests and then refuses connections', async () => {
    const server = await startServer({ model: v1, maxBatchDelayMs: 300, maxBatchSize: 1000 });
    const url = server.url;
    const inFlight = Array.from({ length: 5 }, () => predict(server));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = server.close();
    const responses = await Promise.all(inFlight);
    await closed;
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });

  it('fails readiness but serves during the shutdown delay', async () => {
    const server = await startServer({ model: v1, shutdownDelayMs: 1500 });
    const url = server.url;
    const closed = server.close();
    const ready = await fetch(`${url}/v2/health/ready`);
    const readyBody = (await ready.json()) as { ready: boolean; state: string };
    const prediction = await predict(server);
    const live = await fetch(`${url}/v2/health/live`);
    await closed;
    expect(ready.status).toBe(503);
    expect(readyBody).toEqual({ ready: false, state: 'shutting_down' });
    expect(prediction.status).toBe(200);
    expect(live.status).toBe(200);
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });
});
