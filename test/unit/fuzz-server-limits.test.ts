// Limits of a real model-server process on 127.0.0.1 under generated load: overload beyond the
// batching queue gets 429 with Retry-After, and the feedback capture directory stays within
// --capture-max-bytes while fast-check sends labelled batches of random sizes, then empties
// once its files pass --capture-max-age-hours.
import fc from 'fast-check';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CARS_FEATURES,
  CARS_LABEL,
  makeTempDir,
  removeDir,
  trainCars,
} from './model-server/fixtures.ts';
import { startServerProcess, type ServerProcess } from './fuzz-support.ts';

const SEED = Number(process.env.MODELWARDEN_FUZZ_SEED ?? 20261204);
const CAR = [8, 307, 130, 3504, 12];
const KIB = 1024;
const CAPTURE_MAX_BYTES = 64 * KIB;
const CAPTURE_SEGMENT_BYTES = 8 * KIB;
/** The smallest age bound the server accepts, 3.6 s. */
const CAPTURE_MAX_AGE_HOURS = 0.001;

let workDir: string;
let artifact: string;
const figures: Record<string, number> = {};

beforeAll(async () => {
  workDir = await makeTempDir('limits');
  artifact = path.join(workDir, 'cars-v1');
  await trainCars(artifact, { epochs: 1 });
});

afterAll(async () => {
  console.log(JSON.stringify({ serverLimits: figures }));
  await removeDir(workDir);
});

describe('overload beyond the queue', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    // Batches wait 300 ms for more rows and never fill, so every arriving row stays queued.
    server = await startServerProcess({
      args: [
        '--model',
        artifact,
        '--max-queue-rows',
        '64',
        '--max-request-rows',
        '16',
        '--max-batch-size',
        '1000',
        '--max-batch-delay-ms',
        '300',
      ],
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('answers 429 with Retry-After', async () => {
    const rows = Array<number[]>(16).fill(CAR);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${server.url}/v1/models/cars:predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: rows }),
        }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    const rejected = responses.filter((response) => response.status === 429);
    figures.overloadAccepted = statuses.filter((status) => status === 200).length;
    figures.overloadRejected = rejected.length;
    // 64 queue rows take four requests of 16; the other sixteen are over the bound.
    expect(figures.overloadAccepted).toBe(4);
    expect(rejected.length).toBe(16);
    for (const response of rejected) {
      expect(response.headers.get('retry-after')).toBe('1');
      expect(((await response.json()) as { code: string }).code).toBe('MS_ERR_QUEUE_FULL');
    }
    expect(server.exited()).toBeUndefined();
  });
});

function directoryBytes(directory: string): { files: number; bytes: number } {
  const names = readdirSync(directory).filter((name) => name.endsWith('.ndjson'));
  let bytes = 0;
  for (const name of names) {
    // The server may delete a file between the listing and this call.
    bytes += statSync(path.join(directory, name), { throwIfNoEntry: false })?.size ?? 0;
  }
  return { files: names.length, bytes };
}

function startCaptureServer(captureDir: string, maxAgeHours?: number): Promise<ServerProcess> {
  return startServerProcess({
    args: [
      '--model',
      artifact,
      '--capture-dir',
      captureDir,
      '--capture-max-bytes',
      String(CAPTURE_MAX_BYTES),
      '--capture-segment-bytes',
      String(CAPTURE_SEGMENT_BYTES),
      ...(maxAgeHours === undefined ? [] : ['--capture-max-age-hours', String(maxAgeHours)]),
    ],
  });
}

const carRow = Object.fromEntries(CARS_FEATURES.map((feature, index) => [feature, CAR[index]]));

/** Sends `count` labelled rows as feedback and returns the request body. */
async function sendFeedback(server: ServerProcess, count: number, label: number): Promise<string> {
  const body = JSON.stringify({
    instances: Array.from({ length: count }, () => ({ ...carRow, [CARS_LABEL]: label })),
  });
  const response = await fetch(`${server.url}/v1/models/cars/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { captured: number }).captured).toBe(count);
  return body;
}

describe('feedback capture retention', () => {
  it('keeps the directory within its size bound', async () => {
    const captureDir = path.join(workDir, 'capture-size');
    const server = await startCaptureServer(captureDir);
    let written = 0;
    let largestBatch = 0;
    let largestDirectory = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 200 }),
          fc.double({ min: 5, max: 50, noNaN: true }),
          async (count, label) => {
            const body = await sendFeedback(server, count, label);
            written += count;
            // A captured row is longer than its request row, by its _capture provenance.
            largestBatch = Math.max(largestBatch, 2 * body.length);
            largestDirectory = Math.max(largestDirectory, directoryBytes(captureDir).bytes);
          },
        ),
        { numRuns: 100, seed: SEED },
      );
      await sleep(500);
      largestDirectory = Math.max(largestDirectory, directoryBytes(captureDir).bytes);
    } finally {
      await server.stop();
    }
    figures.captureRowsSent = written;
    figures.captureLargestDirectoryBytes = largestDirectory;
    figures.captureFinalDirectoryBytes = directoryBytes(captureDir).bytes;
    // Bounds hold after every enforcement; between two, the open segment grows by at most one
    // segment and one batch.
    expect(largestDirectory).toBeLessThanOrEqual(
      CAPTURE_MAX_BYTES + CAPTURE_SEGMENT_BYTES + largestBatch,
    );
    expect(figures.captureFinalDirectoryBytes).toBeLessThanOrEqual(CAPTURE_MAX_BYTES);
    expect(largestDirectory).toBeGreaterThan(CAPTURE_MAX_BYTES / 2);
  });

  it('deletes files past the age bound', async () => {
    const captureDir = path.join(workDir, 'capture-age');
    const server = await startCaptureServer(captureDir, CAPTURE_MAX_AGE_HOURS);
    try {
      for (let batch = 0; batch < 5; batch++) await sendFeedback(server, 50, 20);
      await expect
        .poll(() => directoryBytes(captureDir).files, { timeout: 5000 })
        .toBeGreaterThan(0);
      const idle = Date.now();
      await expect
        .poll(() => directoryBytes(captureDir).files, { timeout: 15_000, interval: 250 })
        .toBe(0);
      figures.captureSecondsToEmpty = (Date.now() - idle) / 1000;
    } finally {
      await server.stop();
    }
  });
});
