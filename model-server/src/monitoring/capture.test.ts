import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { CaptureWriter, type CaptureEvents, type CaptureLimits } from './capture.ts';

const HOUR = 3_600_000;
let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'modelwarden-capture-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function recordingEvents() {
  const events = {
    written: 0,
    dropped: 0,
    failed: 0,
    deletedForSize: 0,
    deletedForAge: 0,
    directoryBytes: 0,
  };
  const sink: CaptureEvents = {
    written: (rows) => void (events.written += rows),
    dropped: (rows) => void (events.dropped += rows),
    failed: () => void (events.failed += 1),
    deleted: (reason, files) =>
      void (reason === 'size' ? (events.deletedForSize += files) : (events.deletedForAge += files)),
    directoryBytes: (bytes) => void (events.directoryBytes = bytes),
  };
  return { events, sink };
}

function writer(
  limits: Partial<CaptureLimits>,
  sink: CaptureEvents,
  now = Date.now,
): CaptureWriter {
  const full = {
    maxBytes: 1_000_000,
    maxAgeMs: HOUR,
    segmentBytes: 100_000,
    maxPendingBytes: 1_000_000,
    ...limits,
  };
  return new CaptureWriter(directory, full, sink, createLogger('silent'), now);
}

async function captureFiles(): Promise<string[]> {
  return (await readdir(directory)).filter((name) => name.startsWith('capture-')).sort();
}

describe('CaptureWriter', () => {
  it('appends rows as NDJSON lines', async () => {
    const { events, sink } = recordingEvents();
    const capture = writer({}, sink);
    await capture.start();
    expect(capture.append([{ a: 1 }, { a: 2 }])).toBe(2);
    expect(capture.append([{ a: 3 }])).toBe(1);
    await capture.close();
    const [file] = await captureFiles();
    expect(await readFile(path.join(directory, file as string), 'utf8')).toBe(
      '{"a":1}\n{"a":2}\n{"a":3}\n',
    );
    expect(events.written).toBe(3);
  });

  it('starts a new segment at the segment size', async () => {
    const { sink } = recordingEvents();
    const capture = writer({ segmentBytes: 20 }, sink);
    await capture.start();
    for (let index = 0; index < 5; index++) capture.append([{ value: index }]);
    await capture.close();
    expect((await captureFiles()).length).toBeGreaterThanOrEqual(2);
  });

  it('deletes the oldest files beyond the size bound', async () => {
    const { events, sink } = recordingEvents();
    const capture = writer({ maxBytes: 60, segmentBytes: 15 }, sink);
    await capture.start();
    for (let index = 0; index < 20; index++) {
      capture.append([{ value: 1000 + index }]);
      await capture.flush();
    }
    await capture.close();
    const files = await captureFiles();
    const contents = (
      await Promise.all(files.map((file) => readFile(path.join(directory, file), 'utf8')))
    ).join('');
    expect(events.deletedForSize).toBeGreaterThan(0);
    expect(Buffer.byteLength(contents)).toBeLessThanOrEqual(60);
    expect(contents).toContain('1019');
    expect(contents).not.toContain('1000');
  });

  it('deletes files older than the age bound at start', async () => {
    const { events, sink } = recordingEvents();
    const old = path.join(directory, 'capture-20200101T000000000Z-abc-1.ndjson');
    await writeFile(old, '{"a":1}\n');
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    await utimes(old, twoHoursAgo, twoHoursAgo);
    await writeFile(path.join(directory, 'notes.txt'), 'not a capture file');
    const capture = writer({ maxAgeMs: HOUR }, sink);
    await capture.start();
    await capture.close();
    expect(await captureFiles()).toEqual([]);
    expect(events.deletedForAge).toBe(1);
    expect(await readdir(directory)).toContain('notes.txt');
  });

  it('closes a segment after a tenth of the age bound', async () => {
    const { sink } = recordingEvents();
    let now = Date.now();
    const capture = writer({ maxAgeMs: HOUR }, sink, () => now);
    await capture.start();
    capture.append([{ a: 1 }]);
    await capture.flush();
    now += HOUR / 10;
    capture.append([{ a: 2 }]);
    await capture.close();
    expect(await captureFiles()).toHaveLength(2);
  });

  it('drops rows when writes fall behind', async () => {
    const { events, sink } = recordingEvents();
    const capture = writer({ maxPendingBytes: 10 }, sink);
    await capture.start();
    expect(capture.append([{ padding: 'x'.repeat(20) }])).toBe(0);
    await capture.close();
    expect(events.dropped).toBe(1);
  });
});
