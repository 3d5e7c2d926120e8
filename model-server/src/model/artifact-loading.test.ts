import { createServer, type Server } from 'node:http';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../artifact/model-json.ts';
import { createLogger } from '../logger.ts';
import { trainModel } from '../trainer/train.ts';
import { readArtifact } from './artifact-loader.ts';
import {
  createArtifactReader,
  describeFetchError,
  validateRelativeName,
} from './artifact-reader.ts';
import { parseArtifactUri } from './artifact-uri.ts';
import { loadServableModel } from './servable-model.ts';

let root: string;
let artifact: string;
let httpServer: Server;
let baseUrl: string;

const LIMITS = { maxBytes: 10 * 1024 * 1024, timeoutMs: 5000 };

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelwarden-artifact-'));
  const data = path.join(root, 'data.json');
  await writeFile(
    data,
    JSON.stringify(Array.from({ length: 40 }, (_, index) => ({ x: index, y: 2 * index + 1 }))),
  );
  artifact = path.join(root, 'linear');
  await trainModel(
    {
      data: [data],
      features: ['x'],
      label: 'y',
      name: 'linear',
      out: artifact,
      epochs: 1,
      seed: 1,
      holdout: 0.2,
      batchSize: 8,
      learningRate: 0.01,
      version: 'v1',
      where: [],
      bins: 4,
      backend: 'auto',
      overwrite: false,
    },
    createLogger('silent'),
  );
  httpServer = createServer((request, response) => {
    const url = request.url ?? '/';
    if (url.startsWith('/redirect-to-file/')) {
      response.writeHead(302, { location: 'file:///etc/passwd' }).end();
    } else if (url.startsWith('/moved/')) {
      response.writeHead(301, { location: url.replace('/moved/', '/linear/') }).end();
    } else if (url.startsWith('/stall/')) {
      // Never responds, to exercise the download deadline.
    } else if (url.startsWith('/linear/')) {
      readFile(path.join(artifact, url.slice('/linear/'.length))).then(
        (bytes) => response.end(bytes),
        () => response.writeHead(404).end(),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  httpServer?.closeAllConnections();
  await new Promise((resolve) => httpServer?.close(resolve));
  await rm(root, { recursive: true, force: true });
});

/** Copies the artifact and lets `change` edit model.json. */
async function variant(
  name: string,
  change: (modelJson: Record<string, unknown>) => void,
): Promise<string> {
  const directory = path.join(root, name);
  await cp(artifact, directory, { recursive: true });
  const file = path.join(directory, 'model.json');
  const modelJson = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  change(modelJson);
  await writeFile(file, JSON.stringify(modelJson));
  return directory;
}

function setWeightPaths(modelJson: Record<string, unknown>, paths: string[]): void {
  const [group] = modelJson.weightsManifest as { paths: string[] }[];
  if (group !== undefined) group.paths = paths;
}

function read(uri: string, sha256?: string, maxBytes = LIMITS.maxBytes) {
  const reader = createArtifactReader(parseArtifactUri(uri), {
    maxBytes,
    signal: AbortSignal.timeout(2000),
  });
  return readArtifact(reader, sha256);
}

describe('local artifacts', () => {
  it('loads and verifies every file', async () => {
    const contents = await read(artifact);
    expect(contents.manifest.name).toBe('linear');
    expect(contents.filesVerified).toBe(true);
    expect(contents.modelJsonSha256).toBe(
      sha256Hex(await readFile(path.join(artifact, 'model.json'))),
    );
  });

  it('accepts the right model.json checksum in any case', async () => {
    const digest = sha256Hex(await readFile(path.join(artifact, 'model.json')));
    await expect(read(`file://${artifact}`, digest.toUpperCase())).resolves.toBeDefined();
  });

  it('rejects a wrong model.json checksum', async () => {
    await expect(read(artifact, 'f'.repeat(64))).rejects.toMatchObject({
      code: 'MS_ERR_ARTIFACT_CHECKSUM_MISMATCH',
    });
  });

  it('rejects weights that do not match their recorded digest', async () => {
    const directory = path.join(root, 'tampered');
    await cp(artifact, directory, { recursive: true });
    const weights = await readFile(path.join(directory, 'weights.bin'));
    weights[0] = (weights[0] ?? 0) ^ 0xff;
    await writeFile(path.join(directory, 'weights.bin'), weights);
    await expect(read(directory)).rejects.toThrow('weights.bin of');
  });

  it('rejects a weight path outside the directory', async () => {
    const directory = await variant('traversal', (modelJson) => {
      setWeightPaths(modelJson, ['../linear/weights.bin']);
    });
    await expect(read(directory)).rejects.toThrow(
      "'../linear/weights.bin' is not a plain relative path",
    );
  });

  it('rejects a symbolic link that leaves the directory', async () => {
    const directory = await variant('symlink', (modelJson) => {
      setWeightPaths(modelJson, ['outside.bin']);
    });
    await symlink(path.join(artifact, 'weights.bin'), path.join(directory, 'outside.bin'));
    await expect(read(directory)).rejects.toThrow('outside the artifact directory');
  });

  it('rejects an artifact over the size limit', async () => {
    await expect(read(artifact, undefined, 1000)).rejects.toMatchObject({
      code: 'MS_ERR_ARTIFACT_TOO_LARGE',
    });
  });

  it('reports a missing directory', async () => {
    await expect(read(path.join(root, 'absent'))).rejects.toMatchObject({
      code: 'MS_ERR_ARTIFACT_NOT_FOUND',
    });
  });

  it.each(['/abs', 'a/../b', 'a\\b', 'http://x/y', 'a?b', 'a//b', './a', ''])(
    'rejects the file name %j',
    (name) => {
      expect(() => validateRelativeName(name)).toThrow('is not a plain relative path');
    },
  );

  it('builds a servable model that predicts', async () => {
    const model = await loadServableModel({ uri: artifact }, LIMITS, undefined);
    expect(model.name).toBe('linear');
    expect(model.predictor.predict(Float64Array.from([3]), 1)).toHaveLength(1);
    model.layersModel.dispose();
  });
});

describe('http artifacts', () => {
  it('downloads and loads an artifact', async () => {
    const model = await loadServableModel({ uri: `${baseUrl}/linear/` }, LIMITS, 'renamed');
    expect(model.name).toBe('renamed');
    expect(model.filesVerified).toBe(true);
    model.layersModel.dispose();
  });

  it('follows an http redirect', async () => {
    await expect(read(`${baseUrl}/moved/`)).resolves.toBeDefined();
  });

  it('rejects a redirect to another scheme', async () => {
    await expect(read(`${baseUrl}/redirect-to-file/`)).rejects.toThrow(
      'redirects from http: to file:',
    );
  });

  it('reports a missing file as not found', async () => {
    await expect(read(`${baseUrl}/absent/`)).rejects.toMatchObject({
      code: 'MS_ERR_ARTIFACT_NOT_FOUND',
    });
  });

  it('times out a stalled download', async () => {
    const reader = createArtifactReader(parseArtifactUri(`${baseUrl}/stall/`), {
      maxBytes: LIMITS.maxBytes,
      signal: AbortSignal.timeout(200),
    });
    await expect(readArtifact(reader, undefined)).rejects.toThrow(
      'timed out; raise --model-download-timeout-ms',
    );
  });

  it('names the cause when the server cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await read(`http://127.0.0.1:${port}/linear/`).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'MS_ERR_ARTIFACT_DOWNLOAD_FAILED' });
    expect((error as Error).message).toMatch(
      new RegExp(`failed: fetch failed \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`),
    );
  });

  it('names every address a connection was refused on', () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const cause = Object.assign(new AggregateError([refused('::1:80'), refused('127.0.0.1:80')]), {
      code: 'ECONNREFUSED',
    });
    expect(describeFetchError(new TypeError('fetch failed', { cause }))).toBe(
      'fetch failed (connect ECONNREFUSED ::1:80; connect ECONNREFUSED 127.0.0.1:80)',
    );
    expect(describeFetchError(new Error('plain'))).toBe('plain');
  });

  it('stops a download over the size limit', async () => {
    await expect(read(`${baseUrl}/linear/`, undefined, 1000)).rejects.toMatchObject({
      code: 'MS_ERR_ARTIFACT_TOO_LARGE',
    });
  });
});
