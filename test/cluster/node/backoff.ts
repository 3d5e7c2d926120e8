// Crash-loop back-off of one container, with the kubelet's rules.

/**
 * The first restart after an exit is immediate; each further one waits for the current delay,
 * which starts at `baseMs` and doubles up to `maxMs`. An exit more than twice `maxMs` after the
 * last restart starts over, as the kubelet (v1.36, flowcontrol.Backoff) does.
 */
export class CrashBackoff {
  private delayMs: number | undefined;
  private lastUpdate = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /**
   * Returns the time at which a container that exited at `exitedAt` may start again, and
   * records a restart if that time is now.
   */
  nextStart(exitedAt: number, now: number): { startAt: number; delayMs: number } {
    if (this.delayMs === undefined || exitedAt - this.lastUpdate > 2 * this.maxMs) {
      this.delayMs = this.baseMs;
      this.lastUpdate = now;
      return { startAt: now, delayMs: 0 };
    }
    const startAt = exitedAt + this.delayMs;
    if (now < startAt) {
      return { startAt, delayMs: this.delayMs };
    }
    this.delayMs = Math.min(this.delayMs * 2, this.maxMs);
    this.lastUpdate = now;
    return { startAt: now, delayMs: 0 };
  }

  /** The current delay, for the CrashLoopBackOff message. */
  get currentDelayMs(): number {
    return this.delayMs ?? 0;
  }
}

/** Delay between retries of a failing step (a mount, an image lookup): doubles per failure, up to `maxMs`. */
export class RetryDelay {
  private failures = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    const delay = Math.min(this.baseMs * 2 ** this.failures, this.maxMs);
    this.failures += 1;
    return delay;
  }

  reset(): void {
    this.failures = 0;
  }
}
