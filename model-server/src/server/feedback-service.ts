// Ground-truth feedback: labels for earlier predictions (by id) or labelled rows, turned into
// error counters, the sliding accuracy window and capture rows for retraining.
import type { Logger } from 'pino';
import { invalidRequest } from '../errors.ts';
import {
  checkRowCount,
  describeType,
  parseRows,
  rejectUnknownFields,
} from '../inference/request-rows.ts';
import type { CaptureWriter } from '../monitoring/capture.ts';
import type { FeedbackStats } from '../monitoring/feedback-window.ts';
import type { ServerMetrics } from '../monitoring/metrics.ts';
import type { ModelManager } from './model-manager.ts';
import type { ModelRuntime } from './model-runtime.ts';

export interface RejectedLabel {
  index: number;
  id: string;
  reason: 'unknown_id' | 'duplicate';
  message: string;
}

export interface FeedbackResult {
  accepted: number;
  rejected: RejectedLabel[];
  /** Rows queued for the capture directory (0 without --capture-dir). */
  captured: number;
  /** The feedback window of the served model version after this request. */
  window: FeedbackStats;
}

interface Sample {
  runtime: ModelRuntime;
  features: ArrayLike<number>;
  label: number;
  prediction: number;
  predictionId: string | undefined;
}

interface LabelEntry {
  id: string;
  label: number;
}

export class FeedbackService {
  private readonly manager: ModelManager;
  private readonly metrics: ServerMetrics;
  private readonly capture: CaptureWriter | undefined;
  private readonly maxRows: number;
  private readonly logger: Logger;

  constructor(
    manager: ModelManager,
    metrics: ServerMetrics,
    capture: CaptureWriter | undefined,
    maxRows: number,
    logger: Logger,
  ) {
    this.manager = manager;
    this.metrics = metrics;
    this.capture = capture;
    this.maxRows = maxRows;
    this.logger = logger;
  }

  /**
   * Handles `{ labels: [{ id, label }] }` and/or `{ instances: [{ ...features, <label>: y }] }`.
   * Malformed input fails the whole request with 400 before anything is counted; labels for
   * unknown or already labelled ids are reported in `rejected` and the rest are counted.
   */
  async submit(runtime: ModelRuntime, body: unknown): Promise<FeedbackResult> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidRequest('body', `must be a JSON object, got ${describeType(body)}`);
    }
    const record = body as Record<string, unknown>;
    rejectUnknownFields(record, ['labels', 'instances']);
    if (record.labels === undefined && record.instances === undefined) {
      throw invalidRequest(
        'body',
        "must contain 'labels' (by prediction id) or 'instances' (rows with the label column)",
      );
    }
    const labels = record.labels === undefined ? [] : parseLabels(record.labels, this.maxRows);
    const instances =
      record.instances === undefined ? undefined : this.parseInstances(runtime, record.instances);

    const rejected: RejectedLabel[] = [];
    const samples = this.resolveLabels(labels, rejected);
    if (instances !== undefined) {
      const predictions = await runtime.predictLabelled(instances.rows, instances.rowCount);
      const width = runtime.model.manifest.features.length;
      for (let row = 0; row < instances.rowCount; row++) {
        samples.push({
          runtime,
          features: instances.rows.subarray(row * width, (row + 1) * width),
          label: instances.labels[row] as number,
          prediction: predictions[row] as number,
          predictionId: undefined,
        });
      }
    }
    this.count(samples, rejected);
    const captured = this.captureSamples(samples);
    return {
      accepted: samples.length,
      rejected,
      captured,
      window: (this.manager.current ?? runtime).feedbackWindow.stats(),
    };
  }

  private parseInstances(runtime: ModelRuntime, value: unknown) {
    const { features, label } = runtime.model.manifest;
    if (Array.isArray(value)) {
      value.forEach((row: unknown, index) => {
        if (typeof row !== 'object' || row === null || Array.isArray(row)) {
          throw invalidRequest(
            `instances[${index}]`,
            `must be an object with the features and the label '${label}', got ${describeType(row)}`,
          );
        }
      });
    }
    const parsed = parseRows(value, 'instances', { features, maxRows: this.maxRows }, label);
    const width = features.length;
    const rows = new Float64Array(parsed.rowCount * width);
    const labels = new Float64Array(parsed.rowCount);
    for (let row = 0; row < parsed.rowCount; row++) {
      rows.set(parsed.rows.subarray(row * (width + 1), row * (width + 1) + width), row * width);
      labels[row] = parsed.rows[row * (width + 1) + width] as number;
    }
    return { rows, labels, rowCount: parsed.rowCount };
  }

  private resolveLabels(labels: LabelEntry[], rejected: RejectedLabel[]): Sample[] {
    const samples: Sample[] = [];
    labels.forEach(({ id, label }, index) => {
      const found = this.manager.findPrediction(id);
      if (found === undefined) {
        rejected.push({
          index,
          id,
          reason: 'unknown_id',
          message: `prediction '${id}' is unknown or too old (only the last predictions are kept, see --prediction-log-size)`,
        });
        return;
      }
      if (found.prediction.labelled) {
        rejected.push({
          index,
          id,
          reason: 'duplicate',
          message: `prediction '${id}' already has a label`,
        });
        return;
      }
      found.runtime.predictionLog.markLabelled(found.prediction.slot);
      samples.push({
        runtime: found.runtime,
        features: found.prediction.features,
        label,
        prediction: found.prediction.prediction,
        predictionId: id,
      });
    });
    return samples;
  }

  private count(samples: Sample[], rejected: RejectedLabel[]): void {
    let absolute = 0;
    let squared = 0;
    for (const sample of samples) {
      const error = sample.prediction - sample.label;
      absolute += Math.abs(error);
      squared += error * error;
      sample.runtime.feedbackWindow.add(sample.prediction, sample.label);
    }
    if (samples.length > 0) {
      this.metrics.feedbackSamples.inc(samples.length);
      this.metrics.feedbackAbsoluteError.inc(absolute);
      this.metrics.feedbackSquaredError.inc(squared);
    }
    for (const rejection of rejected)
      this.metrics.feedbackRejected.inc({ reason: rejection.reason });
    if (rejected.length > 0)
      this.logger.debug({ rejected: rejected.length }, 'feedback labels rejected');
  }

  /** Appends each sample as a flat row (features, label) with its provenance under `_capture`. */
  private captureSamples(samples: Sample[]): number {
    if (this.capture === undefined || samples.length === 0) return 0;
    const time = new Date().toISOString();
    const rows = samples.map((sample) => {
      const { manifest, name } = sample.runtime.model;
      const row: Record<string, unknown> = {};
      manifest.features.forEach((feature, column) => {
        row[feature] = sample.features[column];
      });
      row[manifest.label] = sample.label;
      row._capture = {
        time,
        model: name,
        version: manifest.version,
        prediction: sample.prediction,
        ...(sample.predictionId === undefined ? {} : { predictionId: sample.predictionId }),
      };
      return row;
    });
    return this.capture.append(rows);
  }
}

function parseLabels(value: unknown, maxRows: number): LabelEntry[] {
  if (!Array.isArray(value))
    throw invalidRequest('labels', `must be an array of { id, label }, got ${describeType(value)}`);
  checkRowCount(value.length, 'labels', { features: [], maxRows });
  return value.map((entry: unknown, index) => {
    const field = `labels[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw invalidRequest(field, `must be an object { id, label }, got ${describeType(entry)}`);
    }
    const { id, label } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || id === '')
      throw invalidRequest(
        `${field}.id`,
        `must be a prediction id string, got ${describeType(id)}`,
      );
    if (typeof label !== 'number')
      throw invalidRequest(`${field}.label`, `must be a number, got ${describeType(label)}`);
    if (!Number.isFinite(label))
      throw invalidRequest(`${field}.label`, `must be a finite number, got ${label}`);
    return { id, label };
  });
}
