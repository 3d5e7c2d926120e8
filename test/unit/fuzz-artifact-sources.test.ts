// Model downloads from hostile http(s) servers on 127.0.0.1. fast-check generates what the
// server sends: random model.json, file names that try to leave the artifact, wrong lengths,
// oversized bodies, redirects, error statuses and stalls. Every load must return the genuine
// artifact or fail with an MS_ERR_ARTIFACT_* error, and request nothing outside the artifact's
// URL. Real `model-server serve` processes then show the size limit, the timeout,
// the checksum, the https-only redirect rule and the allowed schemes end to end.
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelServerError } from '../../model-server/src/errors.ts';
import { readArtifact } from '../../model-server/src/model/artifact-loader.ts';
import { createArtifactReader } from '../../model-server/src/model/artifact-reader.ts';
import { parseArtifactUri } from '../../model-server/src/model/artifact-uri.ts';
import { makeTempDir, removeDir, trainCars } from './model-server/fixtures.ts';
import { startServerProcess, type ServerProcess } from './fuzz-support.ts';

const SEED = Number(process.env.MODELWARDEN_FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.MODELWARDEN_FUZZ_RUNS ?? 200);
const MAX_BYTES = 256 * 1024;
const TIMEOUT_MS = 500;

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let workDir: string;
let artifactDir: string;
const files = new Map<string, Buffer>();
let handler: Handler = () => undefined;
const requested: string[] = [];
let httpServer: Server;
let httpBase = '';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  workDir = await makeTempDir('sources');
  artifactDir = path.join(workDir, 'cars-v1');
  await trainCars(artifactDir, { epochs: 1 });
  for (const name of ['model.json', 'modelwarden.json', 'weights.bin'])
    files.set(name, readFileSync(path.join(artifactDir, name)));
  httpServer = createHttpServer((request, response) => {
    requested.push(request.url ?? '');
    handler(request, response);
  });
  httpBase = `http://127.0.0.1:${await listen(httpServer)}`;
});

afterAll(async () => {
  httpServer?.closeAllConnections();
  await new Promise((resolve) => httpServer?.close(resolve));
  await removeDir(workDir);
});

/** Serves the genuine artifact under /cars/, with `override` deciding first. */
function genuine(request: IncomingMessage, response: ServerResponse): void {
  const name = (request.url ?? '').replace(/^\/cars\//, '');
  const body = files.get(name);
  if (body === undefined) {
    response.statusCode = 404;
    response.end();
    return;
  }
  response.end(body);
}

/** File names that try to leave the artifact directory or URL. */
const escapingName = fc.constantFrom(
  '../secret.bin',
  '%2e%2e/secret.bin',
  '%2E%2E%2Fsecret.bin',
  '/etc/passwd',
  'http://127.0.0.1:1/x.bin',
  'file:///etc/passwd',
  '..\\secret.bin',
  'a/../../secret.bin',
  'weights.bin?x=1',
  'weights.bin#frag',
  './weights.bin',
  '',
  'weights\u0000.bin',
);

/** One hostile behaviour of the artifact server, applied to model.json or to the weights. */
type Behaviour = { kind: string; target: 'model.json' | 'weights.bin'; apply: Handler };

function modelJsonWith(change: (json: Record<string, unknown>) => void): Buffer {
  const json = JSON.parse((files.get('model.json') as Buffer).toString('utf8')) as Record<
    string,
    unknown
  >;
  change(json);
  return Buffer.from(JSON.stringify(json));
}

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({
    kind: 'random model.json',
    target: 'model.json' as const,
    apply: (_request: IncomingMessage, response: ServerResponse) =>
      response.end(JSON.stringify(value)),
  })),
  escapingName.map((name) => ({
    kind: 'escaping weight path',
    target: 'model.json' as const,
    apply: (_request: IncomingMessage, response: ServerResponse) =>
      response.end(
        modelJsonWith((json) => {
          const [group] = json.weightsManifest as { paths: string[] }[];
          if (group) group.paths = [name];
        }),
      ),
  })),
  fc.constantFrom(400, 403, 404, 410, 500, 503).map((status) => ({
    kind: 'error status',
    target: 'weights.bin' as const,
    apply: (_request: IncomingMessage, response: ServerResponse) => {
      response.statusCode = status;
      response.end('nope');
    },
  })),
  fc.integer({ min: MAX_BYTES + 1, max: 4 * MAX_BYTES }).map((size) => ({
    kind: 'oversized body',
    target: 'weights.bin' as const,
    apply: (_request: IncomingMessage, response: ServerResponse) =>
      response.end(Buffer.alloc(size)),
  })),
  fc.integer({ min: MAX_BYTES + 1, max: 1e12 }).map((declared) => ({
    kind: 'oversized Content-Length',
    target: 'weights.bin' as const,
    apply: (_request: IncomingMessage, response: ServerResponse) => {
      response.setHeader('content-length', String(declared));
      response.write(Buffer.alloc(16));
      response.destroy();
    },
  })),
  fc.integer({ min: 0, max: 30_000 }).map((cut) => ({
    kind: 'truncated body',
    target: 'weights.bin' as const,
    apply: (_request: IncomingMessage, response: ServerResponse) => {
      const weights = files.get('weights.bin') as Buffer;
      response.setHeader('content-length', String(weights.length));
      response.write(weights.subarray(0, Math.min(cut, weights.length - 1)));
      response.destroy();
    },
  })),
  fc
    .constantFrom(
      'file:///etc/passwd',
      'ftp://127.0.0.1/x',
      'data:application/octet-stream,AAAA',
      'javascript:alert(1)',
      'http://127.0.0.1:1/elsewhere.bin',
      '/cars/weights.bin',
    )
    .map((location) => ({
      kind: 'redirect',
      target: 'weights.bin' as const,
      apply: (request: IncomingMessage, response: ServerResponse) => {
        // A redirect to the file itself loops until the redirect limit.
        response.statusCode = 302;
        response.setHeader(
          'location',
          location === '/cars/weights.bin' ? (request.url ?? '') : location,
        );
        response.end();
      },
    })),
  fc.constant({
    kind: 'stall',
    target: 'weights.bin' as const,
    apply: () => undefined,
  }),
  fc.constant({ kind: 'genuine', target: 'weights.bin' as const, apply: genuine }),
);

describe('artifact downloads from a hostile server', () => {
  const kinds = new Map<string, number>();

  afterAll(() => {
    console.log(
      JSON.stringify({
        artifactFuzz: { seed: SEED, runs: RUNS, kinds: Object.fromEntries(kinds) },
      }),
    );
  });

  it('returns the artifact or an artifact error', async () => {
    await fc.assert(
      fc.asyncProperty(behaviour, async (hostile) => {
        kinds.set(hostile.kind, (kinds.get(hostile.kind) ?? 0) + 1);
        requested.length = 0;
        handler = (request, response) =>
          request.url === `/cars/${hostile.target}`
            ? hostile.apply(request, response)
            : genuine(request, response);
        const reader = createArtifactReader(parseArtifactUri(`${httpBase}/cars/`), {
          maxBytes: MAX_BYTES,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        const outcome = await readArtifact(reader, undefined).then(
          () => 'loaded',
          (error: unknown) => error,
        );
        if (hostile.kind === 'genuine') {
          expect(outcome).toBe('loaded');
        } else if (outcome !== 'loaded') {
          expect(outcome, String(outcome)).toBeInstanceOf(ModelServerError);
          expect((outcome as ModelServerError).code).toMatch(/^MS_ERR_ARTIFACT_/);
        } else {
          // Only a random model.json that happens to be harmless could load, and it cannot.
          expect.unreachable(`${hostile.kind} loaded`);
        }
        // Every request went to the artifact's own URL on this server.
        for (const url of requested) expect(url).toMatch(/^\/cars\/[A-Za-z0-9._-]+$/);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});

/** Waits for the server's "model load failed" line and returns it. */
async function loadFailure(server: ServerProcess): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const line = server.output().find((entry) => entry.includes('"model load failed'));
    if (line) return line;
    if (server.exited()) return server.output().join('\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no load failure logged:\n${server.output().join('\n')}`);
}

describe('model-server serve over http(s)', () => {
  let httpsServer: Server;
  let httpsBase = '';
  let caFile = '';

  beforeAll(async () => {
    const key = path.join(workDir, 'tls.key');
    caFile = path.join(workDir, 'tls.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        caFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    httpsServer = createHttpsServer(
      { key: readFileSync(key), cert: readFileSync(caFile) },
      (request, response) => {
        if (request.url === '/downgrade/model.json') {
          response.statusCode = 302;
          response.setHeader('location', `${httpBase}/cars/model.json`);
          response.end();
          return;
        }
        genuine(request, response);
      },
    );
    httpsBase = `https://127.0.0.1:${await listen(httpsServer)}`;
    handler = genuine;
  });

  afterAll(async () => {
    httpsServer?.closeAllConnections();
    await new Promise((resolve) => httpsServer?.close(resolve));
  });

  async function serve(model: string, args: string[] = [], ready = false): Promise<ServerProcess> {
    return startServerProcess({
      args: ['--model', model, '--log-level', 'info', ...args],
      env: { NODE_EXTRA_CA_CERTS: caFile },
      readyTimeoutMs: ready ? 60_000 : 0,
    });
  }

  it('loads over https from a trusted server', async () => {
    const server = await serve(`${httpsBase}/cars/`, [], true);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it.each([
    [
      'size limit',
      `/cars/`,
      ['--model-max-bytes', '4096'],
      /MS_ERR_ARTIFACT_TOO_LARGE.*--model-max-bytes/,
    ],
    ['checksum', `/cars/`, ['--model-sha256', 'b'.repeat(64)], /MS_ERR_ARTIFACT_CHECKSUM_MISMATCH/],
    [
      'https to http redirect',
      '/downgrade/',
      [],
      /redirects from https: to http:, which is not allowed/,
    ],
  ])('rejects a download over its %s', async (_name, route, args, pattern) => {
    const server = await serve(`${httpsBase}${route}`, args);
    expect(await loadFailure(server)).toMatch(pattern);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(503);
    await server.stop();
  });

  it('times out a stalled download', async () => {
    handler = (request, response) =>
      request.url === '/cars/weights.bin' ? undefined : genuine(request, response);
    const server = await serve(`${httpBase}/cars/`, ['--model-download-timeout-ms', '1000']);
    try {
      expect(await loadFailure(server)).toMatch(/MS_ERR_ARTIFACT_DOWNLOAD_FAILED.*timed out/);
    } finally {
      await server.stop();
      handler = genuine;
    }
  });

  it.each([
    'ftp://127.0.0.1/cars/',
    's3://bucket/cars/',
    'data:text/plain,x',
    'javascript:alert(1)',
  ])('rejects the scheme of %s', async (uri) => {
    const server = await serve(uri);
    expect(await loadFailure(server)).toMatch(/MS_ERR_ARTIFACT_URI_INVALID.*is not supported/);
    await server.stop();
  });
});
