// Dynamic batching: requests that arrive close together are merged into one model call.
import { ModelServerError, errorMessage } from '../errors.ts';

export interface BatchingOptions {
  /** Rows per model call at most; a single larger request runs alone as one call. */
  maxBatchSize: number;
  /**
   * Time in ms a batch that is not full waits for more requests. With 0 the batch runs at the
   * end of the current event-loop turn, which still merges requests read in the same turn.
   */
  maxBatchDelayMs: number;
}

/** Bound on rows waiting across all batchers of the process, including retiring models. */
export class QueueBudget {
  readonly capacity: number;
  used = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }
}

export interface BatchObserver {
  batchFinished(rows: number, seconds: number): void;
  requestStarted(waitSeconds: number): void;
  batchFailed(error: unknown): void;
}

interface PendingRequest {
  rows: Float64Array;
  rowCount: number;
  enqueuedAt: number;
  resolve(predictions: Float32Array): void;
  reject(error: unknown): void;
}

export type PredictFunction = (rows: Float64Array, rowCount: number) => Float32Array;

/** Seconds a client is told to wait after a 429 for a full queue. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 1;

/**
 * Returns the error for a request whose predictions include NaN or Infinity, which JSON cannot
 * carry. Only that request fails, before anything records its predictions.
 */
function nonFinitePrediction(predictions: Float32Array): ModelServerError | undefined {
  for (let row = 0; row < predictions.length; row++) {
    if (Number.isFinite(predictions[row])) continue;
    return new ModelServerError(
      'MS_ERR_INFERENCE_FAILED',
      `the model predicted ${predictions[row]} for row ${row}; check the model and the input row`,
    );
  }
  return undefined;
}

export class Batcher {
  private readonly predict: PredictFunction;
  private readonly featureCount: number;
  private readonly options: BatchingOptions;
  private readonly budget: QueueBudget;
  private readonly observer: BatchObserver;
  private readonly queue: PendingRequest[] = [];
  private queuedRows = 0;
  private scheduled: 'immediate' | 'timer' | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    predict: PredictFunction,
    featureCount: number,
    options: BatchingOptions,
    budget: QueueBudget,
    observer: BatchObserver,
  ) {
    this.predict = predict;
    this.featureCount = featureCount;
    this.options = options;
    this.budget = budget;
    this.observer = observer;
  }

  /**
   * Queues `rowCount` rows and resolves with their predictions. Raises MS_ERR_QUEUE_FULL (429)
   * at once when the shared queue budget cannot take the rows.
   */
  submit(rows: Float64Array, rowCount: number): Promise<Float32Array> {
    if (this.budget.used + rowCount > this.budget.capacity) {
      throw new ModelServerError(
        'MS_ERR_QUEUE_FULL',
        `the batching queue is full (${this.budget.used} of ${this.budget.capacity} rows waiting); retry later`,
        { retryAfterSeconds: QUEUE_FULL_RETRY_AFTER_SECONDS },
      );
    }
    this.budget.used += rowCount;
    this.queuedRows += rowCount;
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, rowCount, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Rows waiting in this batcher. */
  get pendingRows(): number {
    return this.queuedRows;
  }

  /** Resolves once the queue is empty, for shutdown and for retiring a replaced model. */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    const full = this.queuedRows >= this.options.maxBatchSize;
    if (this.scheduled === 'immediate') return;
    if (this.scheduled === 'timer' && !full) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (full || this.options.maxBatchDelayMs === 0) {
      this.scheduled = 'immediate';
      setImmediate(() => this.runBatch());
    } else {
      this.scheduled = 'timer';
      this.timer = setTimeout(() => this.runBatch(), this.options.maxBatchDelayMs);
    }
  }

  private runBatch(): void {
    this.scheduled = undefined;
    this.timer = undefined;
    const batch = this.takeBatch();
    if (batch.length > 0) this.execute(batch);
    if (this.queue.length > 0) {
      // Requests left over already waited through a batch, so they run on the next turn.
      this.scheduled = 'immediate';
      setImmediate(() => this.runBatch());
    } else {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private takeBatch(): PendingRequest[] {
    const batch: PendingRequest[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as PendingRequest;
      if (batch.length > 0 && rows + next.rowCount > this.options.maxBatchSize) break;
      this.queue.shift();
      batch.push(next);
      rows += next.rowCount;
    }
    this.queuedRows -= rows;
    this.budget.used -= rows;
    return batch;
  }

  private execute(batch: PendingRequest[]): void {
    const started = performance.now();
    for (const request of batch)
      this.observer.requestStarted((started - request.enqueuedAt) / 1000);
    const totalRows = batch.reduce((sum, request) => sum + request.rowCount, 0);
    let predictions: Float32Array;
    try {
      predictions = this.predict(this.concatenate(batch, totalRows), totalRows);
    } catch (error) {
      this.observer.batchFailed(error);
      const failure = new ModelServerError(
        'MS_ERR_INFERENCE_FAILED',
        `inference failed: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
      for (const request of batch) request.reject(failure);
      return;
    }
    this.observer.batchFinished(totalRows, (performance.now() - started) / 1000);
    let offset = 0;
    for (const request of batch) {
      const own = predictions.subarray(offset, offset + request.rowCount);
      offset += request.rowCount;
      const failure = nonFinitePrediction(own);
      if (failure === undefined) request.resolve(own);
      else request.reject(failure);
    }
  }

  private concatenate(batch: PendingRequest[], totalRows: number): Float64Array {
    if (batch.length === 1) return (batch[0] as PendingRequest).rows;
    const merged = new Float64Array(totalRows * this.featureCount);
    let offset = 0;
    for (const request of batch) {
      merged.set(request.rows, offset);
      offset += request.rows.length;
    }
    return merged;
  }
}
