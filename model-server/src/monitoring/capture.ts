// Feedback capture: labelled rows appended as NDJSON segment files for retraining, with the
// directory bounded in total size and file age.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';

export interface CaptureLimits {
  /** Total bytes of capture files in the directory; the oldest files go first beyond it. */
  maxBytes: number;
  /** Files whose last write is older than this are deleted. */
  maxAgeMs: number;
  /** A segment is closed and a new one started at this size. */
  segmentBytes: number;
  /** Rows waiting for the disk beyond this many bytes are dropped instead of queued. */
  maxPendingBytes: number;
}

export interface CaptureEvents {
  written(rows: number, bytes: number): void;
  dropped(rows: number): void;
  failed(): void;
  deleted(reason: 'size' | 'age', files: number): void;
  directoryBytes(bytes: number): void;
}

const FILE_PATTERN = /^capture-.+\.ndjson$/;

/**
 * Appends rows to `capture-<UTC time>-<instance>-<n>.ndjson` files. Writes are chained so lines
 * never interleave. A segment also closes when it is older than a tenth of the age limit, so
 * that the age bound deletes data in steps of at most that much. Bounds are enforced over every
 * capture file in the directory, so replicas sharing a directory keep it bounded together.
 */
export class CaptureWriter {
  private readonly directory: string;
  private readonly limits: CaptureLimits;
  private readonly events: CaptureEvents;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly instance = randomBytes(3).toString('hex');
  private chain: Promise<void> = Promise.resolve();
  private pendingBytes = 0;
  private segment:
    { handle: FileHandle; name: string; bytes: number; openedAt: number } | undefined;
  private segmentCounter = 0;
  /** Directory size at the last check plus bytes written since. */
  private directoryBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    directory: string,
    limits: CaptureLimits,
    events: CaptureEvents,
    logger: Logger,
    now = Date.now,
  ) {
    this.directory = directory;
    this.limits = limits;
    this.events = events;
    this.logger = logger.child({ component: 'capture', directory });
    this.now = now;
  }

  /** Creates the directory, applies the bounds once and starts the periodic check. */
  async start(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await this.enforceLimits();
    const interval = Math.max(1000, Math.min(60_000, this.limits.maxAgeMs / 10));
    this.timer = setInterval(() => {
      this.chain = this.chain.then(() => this.rotateIfOld()).then(() => this.enforceLimits());
    }, interval);
    this.timer.unref();
  }

  /**
   * Queues rows for writing and returns how many were accepted; the rest are dropped when the
   * disk falls behind by more than maxPendingBytes.
   */
  append(rows: readonly object[]): number {
    if (this.closed || rows.length === 0) return 0;
    const text = rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    const bytes = Buffer.byteLength(text);
    if (this.pendingBytes + bytes > this.limits.maxPendingBytes) {
      this.events.dropped(rows.length);
      return 0;
    }
    this.pendingBytes += bytes;
    this.chain = this.chain.then(() => this.write(text, rows.length, bytes));
    return rows.length;
  }

  /** Resolves once every queued row is on disk (or failed). */
  flush(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.chain;
    await this.closeSegment();
  }

  private async write(text: string, rowCount: number, bytes: number): Promise<void> {
    try {
      await this.rotateIfOld();
      const segment = this.segment ?? (await this.openSegment());
      await segment.handle.appendFile(text);
      segment.bytes += bytes;
      this.directoryBytes += bytes;
      this.events.written(rowCount, bytes);
      this.events.directoryBytes(this.directoryBytes);
      if (segment.bytes >= this.limits.segmentBytes) {
        await this.closeSegment();
        await this.enforceLimits();
      }
    } catch (error) {
      this.events.failed();
      this.logger.error({ err: error, rows: rowCount }, 'writing capture rows failed');
    } finally {
      this.pendingBytes -= bytes;
    }
  }

  private async openSegment(): Promise<NonNullable<CaptureWriter['segment']>> {
    const stamp = new Date(this.now())
      .toISOString()
      .replaceAll('-', '')
      .replaceAll(':', '')
      .replace('.', '');
    this.segmentCounter += 1;
    const name = `capture-${stamp}-${this.instance}-${this.segmentCounter}.ndjson`;
    const handle = await open(path.join(this.directory, name), 'a');
    this.segment = { handle, name, bytes: 0, openedAt: this.now() };
    return this.segment;
  }

  private async rotateIfOld(): Promise<void> {
    if (
      this.segment !== undefined &&
      this.now() - this.segment.openedAt >= this.limits.maxAgeMs / 10
    ) {
      await this.closeSegment();
    }
  }

  private async closeSegment(): Promise<void> {
    const segment = this.segment;
    this.segment = undefined;
    if (segment !== undefined) await segment.handle.close();
  }

  /** Deletes files past the age limit, then the oldest files until the total fits maxBytes. */
  private async enforceLimits(): Promise<void> {
    try {
      const files = await this.listFiles();
      const now = this.now();
      let total = files.reduce((sum, file) => sum + file.bytes, this.segment?.bytes ?? 0);
      let deletedForAge = 0;
      let deletedForSize = 0;
      for (const file of files) {
        const expired = now - file.modifiedAt > this.limits.maxAgeMs;
        const overSize = total > this.limits.maxBytes;
        if (!expired && !overSize) continue;
        if (await this.deleteFile(file.name)) {
          total -= file.bytes;
          if (expired) deletedForAge += 1;
          else deletedForSize += 1;
        }
      }
      if (deletedForAge > 0) this.events.deleted('age', deletedForAge);
      if (deletedForSize > 0) this.events.deleted('size', deletedForSize);
      this.directoryBytes = total;
      this.events.directoryBytes(total);
    } catch (error) {
      this.events.failed();
      this.logger.error({ err: error }, 'enforcing capture limits failed');
    }
  }

  /** Capture files other than the open segment, oldest first. */
  private async listFiles(): Promise<{ name: string; bytes: number; modifiedAt: number }[]> {
    const names = (await readdir(this.directory)).filter(
      (name) => FILE_PATTERN.test(name) && name !== this.segment?.name,
    );
    const files = [];
    for (const name of names) {
      try {
        const info = await stat(path.join(this.directory, name));
        files.push({ name, bytes: info.size, modifiedAt: info.mtimeMs });
      } catch (error) {
        // Another replica sharing the directory may have deleted it between readdir and stat.
        this.logger.debug({ file: name, reason: errorMessage(error) }, 'capture file vanished');
      }
    }
    return files.sort((a, b) => a.modifiedAt - b.modifiedAt || a.name.localeCompare(b.name));
  }

  private async deleteFile(name: string): Promise<boolean> {
    try {
      await unlink(path.join(this.directory, name));
      this.logger.info({ file: name }, 'capture file deleted');
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}
