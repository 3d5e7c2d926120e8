import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from './queue.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('WorkQueue', () => {
  it('deduplicates queued keys', async () => {
    const queue = new WorkQueue();
    queue.add('a/x');
    queue.add('a/x');
    queue.add('a/y');
    expect(queue.depth).toBe(2);
    expect(await queue.get()).toBe('a/x');
    expect(await queue.get()).toBe('a/y');
  });

  it('holds a key back while it is processed', async () => {
    const queue = new WorkQueue();
    queue.add('a/x');
    const key = await queue.get();
    queue.add('a/x');
    expect(queue.depth).toBe(0);
    queue.done(key ?? '');
    expect(queue.depth).toBe(1);
  });

  it('hands a key to a waiting worker', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add('a/x');
    expect(await next).toBe('a/x');
  });

  it('backs off exponentially up to the cap', () => {
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const delays = [1, 2, 3, 4, 5].map(() => queue.addRateLimited('a/x'));
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
    queue.forget('a/x');
    expect(queue.addRateLimited('a/x')).toBe(100);
    queue.shutDown();
  });

  it('keeps the earliest delayed add', () => {
    vi.useFakeTimers();
    const queue = new WorkQueue();
    queue.addAfter('a/x', 5000);
    queue.addAfter('a/x', 1000);
    queue.addAfter('a/x', 3000);
    vi.advanceTimersByTime(1000);
    expect(queue.depth).toBe(1);
  });

  it('releases waiters on shutdown', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.shutDown();
    expect(await next).toBeUndefined();
  });
});
