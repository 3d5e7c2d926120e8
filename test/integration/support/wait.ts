// Polling for conditions that the cluster reaches asynchronously.
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Milliseconds before giving up; 60 s by default. */
  timeout?: number;
  /** Milliseconds between attempts; 250 ms by default. */
  interval?: number;
  /** What is awaited, for the timeout message: "deployment web to be Available". */
  description: string;
}

/**
 * Calls `predicate` until it returns a value other than undefined, null or false, and returns
 * that value. An exception from `predicate` counts as "not yet" (an object may not exist yet).
 * On timeout, the error names `description` and the last value or exception seen.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions,
): Promise<T> {
  const timeout = options.timeout ?? 60_000;
  const interval = options.interval ?? 250;
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value !== undefined && value !== null && value !== false) {
        return value;
      }
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `timed out after ${timeout} ms waiting for ${options.description}; last result: ${detail}`,
      );
    }
    await sleep(interval);
  }
}
