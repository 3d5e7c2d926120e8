// Synchronous batch inference: normalise raw feature rows, run the Layers model, return
// predictions in label units.
import * as tf from '@tensorflow/tfjs';
import type { Manifest } from '../artifact/manifest.ts';

/** One Dense layer as the operands of a fused TF.js matMul. */
interface DenseStep {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D | undefined;
  activation: FusedActivation;
}

type FusedActivation = 'linear' | 'relu' | 'elu';

/**
 * Dense activations that tfjs-layers itself runs as a fused matMul, so both paths add the bias in
 * the same order. Fused relu6 and sigmoid round differently and map NaN otherwise.
 */
const FUSED_ACTIVATIONS: ReadonlySet<string> = new Set(['linear', 'relu', 'elu']);

/**
 * Returns the Dense layers of a Sequential model made only of them (after an optional input
 * layer) with fusable activations, or undefined for any other model. Fused matMuls give the same
 * values as the Layers API without its per-call bookkeeping, which under load cost more than the
 * arithmetic of a small model.
 */
function denseChain(model: tf.LayersModel): DenseStep[] | undefined {
  if (!(model instanceof tf.Sequential) || model.inputs.length !== 1) return undefined;
  const steps: DenseStep[] = [];
  for (const layer of model.layers) {
    // A model saved with an explicit input layer lists it first. It passes its input through.
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.getClassName() !== 'Dense') return undefined;
    const activation = String(layer.getConfig().activation);
    const weights = layer.getWeights();
    const kernel = weights[0];
    if (!FUSED_ACTIVATIONS.has(activation) || kernel?.rank !== 2 || weights.length > 2) {
      return undefined;
    }
    steps.push({
      kernel: kernel as tf.Tensor2D,
      bias: weights[1] as tf.Tensor1D | undefined,
      activation: activation as FusedActivation,
    });
  }
  return steps.length > 0 ? steps : undefined;
}

export class Predictor {
  readonly featureCount: number;
  private readonly model: tf.LayersModel;
  private readonly dense: DenseStep[] | undefined;
  private readonly featureMean: Float32Array;
  private readonly featureScale: Float32Array;
  private readonly labelMean: number;
  private readonly labelStd: number;

  constructor(model: tf.LayersModel, manifest: Manifest) {
    this.model = model;
    this.dense = denseChain(model);
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
    const output = tf.tidy(() => this.run(tf.tensor2d(normalised, [rowCount, width])));
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

  /** Whether the model runs as a chain of fused Dense kernels rather than through the Layers API. */
  get fused(): boolean {
    return this.dense !== undefined;
  }

  private run(input: tf.Tensor2D): tf.Tensor {
    if (this.dense === undefined) {
      // predictOnBatch runs the rows as one batch. predict splits them into batches of 32 and
      // concatenates the outputs, which made a 1024-row call 5 times slower here.
      return this.model.predictOnBatch(input) as tf.Tensor;
    }
    let values = input;
    for (const { kernel, bias, activation } of this.dense)
      values = tf.fused.matMul({ a: values, b: kernel, bias, activation }) as tf.Tensor2D;
    return values;
  }
}
