import { describe, expect, it } from 'vitest';
import { Batcher, QueueBudget, type BatchingOptions } from './batcher.ts';

/** A predictor that returns the first feature of each row plus 0.5, and records batch sizes. */
function recordingBatcher(options: BatchingOptions, capacity = 1000, fail = false) {
  const batches: number[] = [];
  const budget = new QueueBudget(capacity);
  const batcher = new Batcher(
    (rows, rowCount) => {
      if (fail) throw new Error('kernel exploded');
      batches.push(rowCount);
      return Float32Array.from({ length: rowCount }, (_, row) => (rows[row * 2] as number) + 0.5);
    },
    2,
    options,
    budget,
    {
      batchFinished: () => undefined,
      requestStarted: () => undefined,
      batchFailed: () => undefined,
    },
  );
  return { batcher, batches, budget };
}

const row = (value: number) => Float64Array.from([value, 0]);

describe('Batcher', () => {
  it('merges requests submitted in the same turn', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 100, maxBatchDelayMs: 0 });
    const results = await Promise.all([1, 2, 3].map((value) => batcher.submit(row(value), 1)));
    expect(results.map((result) => Array.from(result))).toEqual([[1.5], [2.5], [3.5]]);
    expect(batches).toEqual([3]);
  });

  it('fails only the request with a non-finite prediction', async () => {
    const { batcher } = recordingBatcher({ maxBatchSize: 100, maxBatchDelayMs: 0 });
    const rows = [row(1), Float64Array.from([2, 0, Infinity, 0]), row(NaN)];
    const [good, infinite, nan] = await Promise.allSettled([
      batcher.submit(rows[0] as Float64Array, 1),
      batcher.submit(rows[1] as Float64Array, 2),
      batcher.submit(rows[2] as Float64Array, 1),
    ]);
    expect(good).toEqual({ status: 'fulfilled', value: Float32Array.of(1.5) });
    expect(infinite).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'MS_ERR_INFERENCE_FAILED',
        message: 'the model predicted Infinity for row 1; check the model and the input row',
      },
    });
    expect(nan).toMatchObject({
      status: 'rejected',
      reason: { message: 'the model predicted NaN for row 0; check the model and the input row' },
    });
  });

  it('splits at the maximum batch size', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 2, maxBatchDelayMs: 0 });
    await Promise.all([1, 2, 3, 4, 5].map((value) => batcher.submit(row(value), 1)));
    expect(batches).toEqual([2, 2, 1]);
  });

  it('runs one request larger than the batch size alone', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 2, maxBatchDelayMs: 0 });
    const rows = Float64Array.from([1, 0, 2, 0, 3, 0]);
    expect(Array.from(await batcher.submit(rows, 3))).toEqual([1.5, 2.5, 3.5]);
    expect(batches).toEqual([3]);
  });

  it('waits up to the delay for a batch to fill', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 10, maxBatchDelayMs: 30 });
    const first = batcher.submit(row(1), 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = batcher.submit(row(2), 1);
    await Promise.all([first, second]);
    expect(batches).toEqual([2]);
  });

  it('rejects rows beyond the queue budget with 429', () => {
    const { batcher, budget } = recordingBatcher({ maxBatchSize: 10, maxBatchDelayMs: 50 }, 3);
    void batcher.submit(Float64Array.from([1, 0, 2, 0]), 2);
    expect(() => batcher.submit(Float64Array.from([1, 0, 2, 0]), 2)).toThrow(
      expect.objectContaining({ code: 'MS_ERR_QUEUE_FULL', statusCode: 429, retryAfterSeconds: 1 }),
    );
    expect(budget.used).toBe(2);
  });

  it('returns the budget after the batch', async () => {
    const { batcher, budget } = recordingBatcher({ maxBatchSize: 10, maxBatchDelayMs: 0 }, 3);
    await batcher.submit(Float64Array.from([1, 0, 2, 0, 3, 0]), 3);
    expect(budget.used).toBe(0);
  });

  it('fails every request of a failed batch', async () => {
    const { batcher } = recordingBatcher({ maxBatchSize: 10, maxBatchDelayMs: 0 }, 10, true);
    const results = await Promise.allSettled([
      batcher.submit(row(1), 1),
      batcher.submit(row(2), 1),
    ]);
    for (const result of results) {
      expect(result).toMatchObject({
        status: 'rejected',
        reason: { code: 'MS_ERR_INFERENCE_FAILED' },
      });
    }
  });

  it('resolves whenIdle once the queue is empty', async () => {
    const { batcher } = recordingBatcher({ maxBatchSize: 10, maxBatchDelayMs: 20 });
    let done = false;
    const pending = batcher.submit(row(1), 1).then(() => {
      done = true;
    });
    await batcher.whenIdle();
    await pending;
    expect(done).toBe(true);
    expect(batcher.pendingRows).toBe(0);
  });
});
