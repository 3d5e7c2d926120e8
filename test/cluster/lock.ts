// A lock folder that serializes `up` and `down` of one state folder across processes.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, processStartTime, readRecord, writeRecord } from './processes.ts';

/**
 * Runs `action` while holding `<dir>/lock`. A lock left by a process that no longer runs is
 * taken over; a live holder is waited for, up to `timeoutMs`.
 */
export async function withLock<T>(
  dir: string,
  action: () => Promise<T>,
  timeoutMs = 15 * 60_000,
): Promise<T> {
  const lock = path.join(dir, 'lock');
  const owner = path.join(lock, 'owner.json');
  mkdirSync(dir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    }
    const created = statSync(lock, { throwIfNoEntry: false });
    if (!created) {
      continue;
    }
    const holder = readRecord(owner);
    // A lock without an owner file is one whose holder died right after creating it, once it is
    // older than the moment that takes.
    const orphaned = !holder && Date.now() - created.mtimeMs > 30_000;
    if ((holder && !isAlive(holder)) || orphaned) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${lock}, held by pid ${holder?.pid}; remove it if that process is gone`,
      );
    }
    await sleep(250);
  }
  writeRecord(owner, {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? '',
    command: process.argv,
  });
  try {
    return await action();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
