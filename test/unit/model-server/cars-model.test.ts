// The cars model end to end on real data: training on 1970-1976 cars, serving, feedback replay
// of 1977-1982 cars, drift, capture and retraining from the capture directory.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../../model-server/src/artifact/manifest.ts';
import type { ModelServer } from '../../../model-server/src/server/model-server.ts';
import type { TrainSummary } from '../../../model-server/src/trainer/train.ts';
import {
  CARS_FEATURES,
  CARS_JSON,
  CARS_LABEL,
  carsByEra,
  featureRow,
  makeTempDir,
  parseMetrics,
  removeDir,
  startServer,
  trainCars,
  type CarRow,
} from './fixtures.ts';

let workDir: string;
let artifact: string;
let summary: TrainSummary;
let manifest: Manifest;
let server: ModelServer;
let early: CarRow[];
let late: CarRow[];

beforeAll(async () => {
  workDir = await makeTempDir('cars');
  artifact = path.join(workDir, 'cars-v1');
  summary = await trainCars(artifact);
  manifest = JSON.parse(
    await readFile(path.join(artifact, 'modelwarden.json'), 'utf8'),
  ) as Manifest;
  ({ early, late } = await carsByEra());
  server = await startServer({
    model: artifact,
    captureDir: path.join(workDir, 'capture'),
    driftWindowSize: 5000,
  });
});

afterAll(async () => {
  await server?.close();
  await removeDir(workDir);
});

/** Predicts in-process with TF.js from the artifact files, applying the manifest's normalisation. */
async function predictInProcess(rows: number[][]): Promise<number[]> {
  const model = await tf.loadLayersModel({
    load: async () => {
      const modelJson = JSON.parse(
        await readFile(path.join(artifact, 'model.json'), 'utf8'),
      ) as tf.io.ModelJSON;
      const weights = await readFile(path.join(artifact, 'weights.bin'));
      return {
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
        weightData: weights.buffer.slice(
          weights.byteOffset,
          weights.byteOffset + weights.byteLength,
        ) as ArrayBuffer,
      };
    },
  });
  const { featureMean, featureStd, labelMean, labelStd } = manifest.normalization;
  const normalised = rows.map((row) =>
    row.map(
      (value, column) => (value - (featureMean[column] as number)) / (featureStd[column] as number),
    ),
  );
  const output = model.predict(tf.tensor2d(normalised)) as tf.Tensor;
  const values = Array.from(await output.data(), (value) => value * labelStd + labelMean);
  output.dispose();
  model.dispose();
  return values;
}

async function post(route: string, body: unknown) {
  const response = await server.app.inject({ method: 'POST', url: route, payload: body as object });
  return { status: response.statusCode, body: response.json() };
}

describe('cars model trained on 1970-1976 cars', () => {
  it('reaches a holdout MAE under 2.5 mpg', () => {
    expect(summary.holdout.mae).toBeLessThan(2.5);
    expect(summary.holdout.rows).toBeGreaterThan(30);
  });

  it('counts filtered and skipped rows', () => {
    expect(summary.rows.read).toBe(406);
    expect(summary.rows.used).toBe(early.length);
    // The filter runs first, so every 1977-1982 row counts as filtered, complete or not.
    expect(summary.rows.filtered).toBe(406 - early.length - summary.rows.skipped);
    expect(summary.rows.skippedByReason.missing).toBe(summary.rows.skipped);
    expect(summary.rows.train + summary.rows.holdout).toBe(summary.rows.used);
  });

  it('writes a manifest with features, normalisation and drift baseline', () => {
    expect(manifest.features).toEqual(CARS_FEATURES);
    expect(manifest.label).toBe(CARS_LABEL);
    expect(manifest.normalization.featureMean).toHaveLength(CARS_FEATURES.length);
    expect(manifest.drift.features.map((baseline) => baseline.name)).toEqual(CARS_FEATURES);
    expect(manifest.holdout).toEqual(summary.holdout);
    expect(manifest.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    for (const baseline of manifest.drift.features) {
      expect(baseline.proportions.reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 9);
    }
  });

  it('serves the same predictions as in-process predict', async () => {
    const rows = [...early.slice(0, 20), ...late.slice(0, 20)].map(featureRow);
    const expected = await predictInProcess(rows);
    const served = await post('/v1/models/cars:predict', { instances: rows });
    expect(served.status).toBe(200);
    served.body.predictions.forEach((value: number, index: number) => {
      expect(value).toBeCloseTo(expected[index] as number, 4);
    });
    const infer = await post('/v2/models/cars/infer', {
      inputs: [
        {
          name: 'input',
          shape: [rows.length, CARS_FEATURES.length],
          datatype: 'FP32',
          data: rows.flat(),
        },
      ],
    });
    expect(infer.body.outputs[0].data).toEqual(served.body.predictions);
  });
});

describe('replay of 1977-1982 cars', () => {
  let offlineMae: number;
  let metricsBefore: Map<string, number>;
  let replayMetrics: Map<string, number>;
  let feedbackWindow: { samples: number; mae: number };

  beforeAll(async () => {
    const rows = late.map(featureRow);
    const predictions = await predictInProcess(rows);
    offlineMae =
      predictions.reduce(
        (sum, value, index) => sum + Math.abs(value - (late[index]?.[CARS_LABEL] as number)),
        0,
      ) / late.length;
    metricsBefore = parseMetrics((await server.app.inject({ url: '/metrics' })).body);

    // Clients send one car per request, then label each prediction by id.
    const ids: string[] = [];
    for (const row of rows) {
      const response = await post('/v1/models/cars:predict', { instances: [row] });
      ids.push(response.body.prediction_ids[0]);
    }
    const labels = ids.map((id, index) => ({ id, label: late[index]?.[CARS_LABEL] }));
    const feedback = await post('/v1/models/cars/feedback', { labels });
    expect(feedback.status).toBe(200);
    expect(feedback.body.accepted).toBe(late.length);
    feedbackWindow = feedback.body.window;
    replayMetrics = parseMetrics((await server.app.inject({ url: '/metrics' })).body);
  });

  it('gives a feedback MAE equal to the offline MAE', () => {
    const samples =
      (replayMetrics.get('modelwarden_feedback_samples_total') ?? Number.NaN) -
      (metricsBefore.get('modelwarden_feedback_samples_total') ?? 0);
    const absolute =
      (replayMetrics.get('modelwarden_feedback_absolute_error_total') ?? Number.NaN) -
      (metricsBefore.get('modelwarden_feedback_absolute_error_total') ?? 0);
    expect(samples).toBe(late.length);
    expect(absolute / samples).toBeCloseTo(offlineMae, 3);
    expect(feedbackWindow.mae).toBeCloseTo(offlineMae, 3);
    expect(replayMetrics.get('modelwarden_feedback_window_mae')).toBeCloseTo(offlineMae, 3);
  });

  it('gives a feedback MAE well above the holdout MAE', () => {
    expect(offlineMae).toBeGreaterThan(1.5 * summary.holdout.mae);
  });

  it('shows drift above 0.1 PSI for at least one feature', () => {
    const psi = CARS_FEATURES.map(
      (feature) => replayMetrics.get(`modelwarden_drift_psi{feature="${feature}"}`) ?? 0,
    );
    expect(Math.max(...psi)).toBeGreaterThan(0.1);
    // The window held the 20 early rows of the first test plus this replay.
    expect(replayMetrics.get('modelwarden_drift_window_samples')).toBeGreaterThanOrEqual(
      late.length,
    );
  });

  it('captures the labelled rows for retraining', async () => {
    const directory = path.join(workDir, 'capture');
    await server.flushCapture();
    const files = await readdir(directory);
    const lines = (
      await Promise.all(files.map((file) => readFile(path.join(directory, file), 'utf8')))
    )
      .join('')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(late.length);
    const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(first[CARS_LABEL]).toBe(late[0]?.[CARS_LABEL]);
    expect(Object.keys(first)).toEqual([...CARS_FEATURES, CARS_LABEL, '_capture']);
  });

  it('retrains on captured rows and the base data', async () => {
    const retrained = await trainCars(path.join(workDir, 'cars-v2'), {
      data: [path.join(workDir, 'capture'), CARS_JSON],
      version: 'v2',
      epochs: 60,
    });
    // Capture rows lack Year, so they pass the filter; the base data keeps only 1970-1976.
    expect(retrained.rows.used).toBe(late.length + early.length);
    expect(retrained.holdout.mae).toBeLessThan(offlineMae);
  });
});

describe('drift on training-like rows', () => {
  it('stays near 0 PSI for the 1970-1976 cars', async () => {
    const fresh = await startServer({ model: artifact, driftWindowSize: early.length });
    try {
      const response = await fresh.app.inject({
        method: 'POST',
        url: '/v1/models/cars:predict',
        payload: { instances: early.map(featureRow) },
      });
      expect(response.statusCode).toBe(200);
      const metrics = parseMetrics((await fresh.app.inject({ url: '/metrics' })).body);
      for (const feature of CARS_FEATURES) {
        expect(metrics.get(`modelwarden_drift_psi{feature="${feature}"}`)).toBeLessThan(0.05);
      }
    } finally {
      await fresh.close();
    }
  });
});
