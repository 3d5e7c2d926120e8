import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../artifact/manifest.ts';
import { Predictor } from './predictor.ts';

const FEATURES = 3;
const normalization = {
  featureMean: [1, 2, 3],
  featureStd: [2, 4, 0.5],
  labelMean: 20,
  labelStd: 5,
};
const manifest = { features: ['a', 'b', 'c'], normalization } as unknown as Manifest;
const models: tf.LayersModel[] = [];

function denseModel(activations: string[]): tf.Sequential {
  const model = tf.sequential();
  activations.forEach((activation, index) => {
    const last = index === activations.length - 1;
    model.add(
      tf.layers.dense({
        units: last ? 1 : 8,
        activation: activation as 'relu',
        kernelInitializer: tf.initializers.randomNormal({ seed: 7 + index }),
        biasInitializer: tf.initializers.randomNormal({ seed: 17 + index }),
        ...(index === 0 ? { inputShape: [FEATURES] } : {}),
      }),
    );
  });
  models.push(model);
  return model;
}

/** Predictions of the Layers API itself, in label units. */
function layersPredict(model: tf.LayersModel, rows: number[][]): number[] {
  const normalised = rows.map((row) =>
    row.map(
      (value, column) =>
        (value - (normalization.featureMean[column] as number)) /
        (normalization.featureStd[column] as number),
    ),
  );
  const output = model.predict(tf.tensor2d(normalised)) as tf.Tensor;
  const values = Array.from(
    output.dataSync(),
    (value) => value * normalization.labelStd + normalization.labelMean,
  );
  output.dispose();
  return values;
}

const ROWS = Array.from({ length: 40 }, (_, row) => [row * 0.3 - 4, 10 - row, (row % 7) * 1.5]);

afterAll(() => {
  for (const model of models) model.dispose();
});

describe('Predictor', () => {
  // The fused activations are the ones tfjs-layers fuses itself. The others take the Layers API.
  it.each([
    { activations: ['relu', 'elu', 'linear'], fused: true },
    { activations: ['relu6', 'linear'], fused: false },
    { activations: ['sigmoid', 'tanh', 'linear'], fused: false },
  ])('matches the Layers API for $activations', ({ activations, fused }) => {
    const model = denseModel(activations);
    const predictor = new Predictor(model, manifest);
    expect(predictor.fused).toBe(fused);
    const predictions = predictor.predict(ROWS.flat(), ROWS.length);
    const expected = layersPredict(model, ROWS);
    predictions.forEach((value, row) => expect(value).toBeCloseTo(expected[row] as number, 4));
  });

  it('fuses past an explicit input layer', () => {
    const model = tf.sequential({
      layers: [tf.layers.inputLayer({ inputShape: [FEATURES] }), tf.layers.dense({ units: 1 })],
    });
    models.push(model);
    expect(new Predictor(model, manifest).fused).toBe(true);
  });

  it('batches rows with row-by-row values', () => {
    const predictor = new Predictor(denseModel(['relu', 'linear']), manifest);
    const batched = predictor.predict(ROWS.flat(), ROWS.length);
    ROWS.forEach((row, index) =>
      expect(predictor.predict(row, 1)[0]).toBeCloseTo(batched[index] as number, 5),
    );
  });
});
