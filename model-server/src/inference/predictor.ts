// Synchronous batch inference: normalise raw feature rows, run the Layers model, return
// predictions in label units.
import * as tf from '@tensorflow/tfjs';
import type { Manifest } from '../artifact/manifest.ts';

export class Predictor {
  readonly featureCount: number;
  private readonly model: tf.LayersModel;
  private readonly featureMean: Float32Array;
  private readonly featureScale: Float32Array;
  private readonly labelMean: number;
  private readonly labelStd: number;

  constructor(model: tf.LayersModel, manifest: Manifest) {
    this.model = model;
    this.featureCount = manifest.features.length;
    this.featureMean = Float32Array.from(manifest.normalization.featureMean);
    this.featureScale = Float32Array.from(manifest.normalization.featureStd, (std) => 1 / std);
    this.labelMean = manifest.normalization.labelMean;
    this.labelStd = manifest.normalization.labelStd;
  }

  /**
   * Predicts `rowCount` rows stored row-major in `rows` (raw feature values in manifest order)
   * and returns one prediction per row. `rows` is not modified.
   */
  predict(rows: ArrayLike<number>, rowCount: number): Float32Array {
    const width = this.featureCount;
    const normalised = new Float32Array(rowCount * width);
    for (let offset = 0; offset < normalised.length; offset += width) {
      for (let column = 0; column < width; column++) {
        const raw = rows[offset + column] as number;
        normalised[offset + column] =
          (raw - (this.featureMean[column] as number)) * (this.featureScale[column] as number);
      }
    }
    const output = tf.tidy(
      () => this.model.predict(tf.tensor2d(normalised, [rowCount, width])) as tf.Tensor,
    );
    let values: Float32Array;
    try {
      values = Float32Array.from(output.dataSync() as Float32Array);
    } finally {
      output.dispose();
    }
    for (let index = 0; index < values.length; index++) {
      values[index] = (values[index] as number) * this.labelStd + this.labelMean;
    }
    return values;
  }
}
