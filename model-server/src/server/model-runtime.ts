// One loaded model with its batching queue and its monitoring state. A reload creates a new
// runtime; the old one drains its queue before its model is disposed.
import { Batcher, type BatchingOptions, type QueueBudget } from '../inference/batcher.ts';
import type { ServableModel } from '../model/servable-model.ts';
import { DriftMonitor } from '../monitoring/drift.ts';
import { FeedbackWindow } from '../monitoring/feedback-window.ts';
import type { ServerMetrics } from '../monitoring/metrics.ts';
import { PredictionLog, type PredictionIds } from '../monitoring/prediction-log.ts';

export interface RuntimeSizes {
  predictionLogSize: number;
  feedbackWindowSize: number;
  driftWindowSize: number;
}

export interface PredictionResult {
  predictions: Float32Array;
  ids: PredictionIds;
}

export class ModelRuntime {
  readonly model: ServableModel;
  readonly generation: number;
  readonly backend: string;
  readonly predictionLog: PredictionLog;
  readonly feedbackWindow: FeedbackWindow;
  readonly drift: DriftMonitor;
  private readonly batcher: Batcher;
  private readonly metrics: ServerMetrics;

  /** `idPrefix` makes prediction ids unique across processes; the generation separates loads. */
  constructor(
    model: ServableModel,
    options: {
      generation: number;
      idPrefix: string;
      backend: string;
      batching: BatchingOptions;
      sizes: RuntimeSizes;
    },
    budget: QueueBudget,
    metrics: ServerMetrics,
  ) {
    this.model = model;
    this.generation = options.generation;
    this.backend = options.backend;
    this.metrics = metrics;
    const featureCount = model.manifest.features.length;
    this.predictionLog = new PredictionLog(
      `${options.idPrefix}-${options.generation}-`,
      options.sizes.predictionLogSize,
      featureCount,
    );
    this.feedbackWindow = new FeedbackWindow(options.sizes.feedbackWindowSize);
    this.drift = new DriftMonitor(model.manifest.drift.features, options.sizes.driftWindowSize);
    this.batcher = new Batcher(
      (rows, rowCount) => model.predictor.predict(rows, rowCount),
      featureCount,
      options.batching,
      budget,
      {
        batchFinished(rows, seconds) {
          metrics.batchSize.observe(rows);
          metrics.inferenceDuration.observe(seconds);
          metrics.inferenceRows.inc(rows);
        },
        requestStarted(waitSeconds) {
          metrics.queueWait.observe(waitSeconds);
        },
        batchFailed() {
          metrics.errors.inc({ code: 'MS_ERR_INFERENCE_FAILED' });
        },
      },
    );
  }

  /** Predicts client rows: batched inference, then ids, the drift window and the value histogram. */
  async predict(rows: Float64Array, rowCount: number): Promise<PredictionResult> {
    const predictions = await this.batcher.submit(rows, rowCount);
    const ids = this.predictionLog.record(rows, predictions, rowCount);
    this.drift.add(rows, rowCount);
    this.metrics.observePredictions(predictions);
    return { predictions, ids };
  }

  /** Predicts rows that arrived with their labels; they enter neither the drift window nor the log. */
  predictLabelled(rows: Float64Array, rowCount: number): Promise<Float32Array> {
    return this.batcher.submit(rows, rowCount);
  }

  get pendingRows(): number {
    return this.batcher.pendingRows;
  }

  /** Waits for queued requests, then releases the TF.js model. */
  async retire(): Promise<void> {
    await this.batcher.whenIdle();
    this.model.layersModel.dispose();
  }

  whenIdle(): Promise<void> {
    return this.batcher.whenIdle();
  }
}
