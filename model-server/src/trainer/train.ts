// `model-server train`: fit the reference regression network on tabular data and write an
// artifact with its manifest.
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { MANIFEST_FORMAT, type Manifest } from '../artifact/manifest.ts';
import { ModelServerError } from '../errors.ts';
import { Predictor } from '../inference/predictor.ts';
import type { Logger } from '../logger.ts';
import { selectBackend, type BackendPreference } from '../model/backend.ts';
import { computeBaseline } from '../monitoring/histogram.ts';
import { checkOutputDirectory, writeArtifact } from './artifact-writer.ts';
import { loadData, type SourceSummary } from './dataset.ts';
import { parseRowFilter } from './row-filter.ts';
import { createRandom, shuffleInPlace } from './seeded-random.ts';
import { buildTrainingTable, skippedCount, type TrainingTable } from './training-table.ts';

export interface TrainOptions {
  data: string[];
  features: string[];
  label: string;
  name: string;
  out: string;
  epochs: number;
  seed: number;
  /** Fraction of the used rows held out for evaluation, in (0, 1). */
  holdout: number;
  batchSize: number;
  learningRate: number;
  version: string;
  where: string[];
  /** Bins per feature in the drift baseline. */
  bins: number;
  backend: BackendPreference;
  overwrite: boolean;
}

export interface ErrorMetrics {
  mae: number;
  rmse: number;
  rows: number;
}

/** What `model-server train` prints on stdout when it finishes. */
export interface TrainSummary {
  name: string;
  version: string;
  artifact: string;
  uri: string;
  backend: string;
  rows: Manifest['rows'];
  holdout: ErrorMetrics;
  training: ErrorMetrics;
  dataSha256: string;
  durationSeconds: number;
}

/** Rows needed at least: two to estimate a standard deviation plus one to hold out. */
const MIN_USED_ROWS = 3;

export async function trainModel(options: TrainOptions, logger: Logger): Promise<TrainSummary> {
  const started = performance.now();
  await checkOutputDirectory(options.out, options.overwrite);
  const filters = options.where.map(parseRowFilter);
  const loaded = await loadData(options.data);
  const table = buildTrainingTable(loaded.rows, loaded.malformedLines, options, filters);
  logger.info(
    {
      read: table.read,
      used: table.labels.length,
      filtered: table.filtered,
      skipped: table.skippedByReason,
    },
    'training data loaded',
  );
  if (table.labels.length < MIN_USED_ROWS) {
    throw new ModelServerError(
      'MS_ERR_DATA_INVALID',
      `only ${table.labels.length} usable rows remain after filters and skipping; at least ` +
        `${MIN_USED_ROWS} are needed (check --data, --features, --label and --where)`,
    );
  }

  const split = splitHoldout(table, options.holdout, options.seed);
  const normalization = computeNormalization(split.train, table);
  const backend = await selectBackend(options.backend, logger);
  const model = buildReferenceModel(options.features.length, options.seed, options.learningRate);
  try {
    await fit(model, split.train, table, normalization, options, logger);
    const manifest = buildManifest({
      options,
      table,
      split,
      normalization,
      backend,
      sources: loaded.sources,
    });
    const predictor = new Predictor(model, { ...manifest });
    manifest.training = { ...manifest.training, ...evaluate(predictor, split.train, table) };
    manifest.holdout = evaluate(predictor, split.holdout, table);
    manifest.training.durationSeconds = (performance.now() - started) / 1000;
    const directory = await writeArtifact(options.out, model, manifest, options.overwrite);
    logger.info({ directory, holdout: manifest.holdout }, 'artifact written');
    return {
      name: manifest.name,
      version: manifest.version,
      artifact: directory,
      uri: pathToFileURL(directory).href,
      backend,
      rows: manifest.rows,
      holdout: manifest.holdout,
      training: {
        mae: manifest.training.mae,
        rmse: manifest.training.rmse,
        rows: manifest.training.rows,
      },
      dataSha256: manifest.dataSha256,
      durationSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
}

interface Split {
  train: number[];
  holdout: number[];
}

/** Shuffles row indices with the seed and takes the first `fraction` of them as holdout. */
function splitHoldout(table: TrainingTable, fraction: number, seed: number): Split {
  const indices = shuffleInPlace(
    Array.from(table.labels, (_, index) => index),
    createRandom(seed),
  );
  const holdoutCount = Math.min(
    indices.length - 2,
    Math.max(1, Math.round(indices.length * fraction)),
  );
  return { holdout: indices.slice(0, holdoutCount), train: indices.slice(holdoutCount) };
}

type Normalization = Manifest['normalization'];

/** Means and standard deviations of the training rows; a constant column gets std 1. */
function computeNormalization(train: readonly number[], table: TrainingTable): Normalization {
  const featureCount = table.features[0]?.length ?? 0;
  const featureMean: number[] = [];
  const featureStd: number[] = [];
  for (let column = 0; column < featureCount; column++) {
    const stats = meanAndStd(train.map((row) => table.features[row]?.[column] as number));
    featureMean.push(stats.mean);
    featureStd.push(stats.std);
  }
  const label = meanAndStd(train.map((row) => table.labels[row] as number));
  return { featureMean, featureStd, labelMean: label.mean, labelStd: label.std };
}

function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((total, value) => total + value, 0) / values.length;
  const variance = values.reduce((total, value) => total + (value - mean) ** 2, 0) / values.length;
  const std = Math.sqrt(variance);
  return { mean, std: std > 1e-12 ? std : 1 };
}

/** Dense 64 relu, Dense 64 relu, Dense 1; adam; mean squared error loss; MAE metric. */
function buildReferenceModel(
  featureCount: number,
  seed: number,
  learningRate: number,
): tf.Sequential {
  const initializer = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 64,
        activation: 'relu',
        inputShape: [featureCount],
        kernelInitializer: initializer(0),
      }),
      tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: initializer(1) }),
      tf.layers.dense({ units: 1, kernelInitializer: initializer(2) }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(learningRate),
    loss: 'meanSquaredError',
    metrics: ['mae'],
  });
  return model;
}

/**
 * Runs the epochs one `fit` call at a time over a permutation drawn from the seeded generator,
 * because `fit`'s own shuffling uses Math.random and would make runs differ.
 */
async function fit(
  model: tf.Sequential,
  train: readonly number[],
  table: TrainingTable,
  normalization: Normalization,
  options: TrainOptions,
  logger: Logger,
): Promise<void> {
  const random = createRandom(options.seed ^ 0x5bd1e995);
  const order = [...train];
  const labelScale = 1 / normalization.labelStd;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    shuffleInPlace(order, random);
    const inputs = order.map((row) =>
      (table.features[row] as number[]).map(
        (value, column) =>
          (value - (normalization.featureMean[column] as number)) /
          (normalization.featureStd[column] as number),
      ),
    );
    const targets = order.map((row) => [
      ((table.labels[row] as number) - normalization.labelMean) * labelScale,
    ]);
    const x = tf.tensor2d(inputs);
    const y = tf.tensor2d(targets);
    try {
      const history = await model.fit(x, y, {
        epochs: 1,
        batchSize: options.batchSize,
        shuffle: false,
        verbose: 0,
      });
      if (epoch % 10 === 0 || epoch === options.epochs) {
        logger.debug({ epoch, loss: history.history.loss?.[0] }, 'epoch finished');
      }
    } finally {
      x.dispose();
      y.dispose();
    }
  }
}

/** MAE and RMSE in label units, computed with the same Predictor the server uses. */
function evaluate(
  predictor: Predictor,
  rowIndices: readonly number[],
  table: TrainingTable,
): ErrorMetrics {
  const width = predictor.featureCount;
  const rows = new Float64Array(rowIndices.length * width);
  rowIndices.forEach((row, index) => rows.set(table.features[row] as number[], index * width));
  const predictions = predictor.predict(rows, rowIndices.length);
  let absolute = 0;
  let squared = 0;
  rowIndices.forEach((row, index) => {
    const error = (predictions[index] as number) - (table.labels[row] as number);
    absolute += Math.abs(error);
    squared += error * error;
  });
  const count = rowIndices.length;
  return { mae: absolute / count, rmse: Math.sqrt(squared / count), rows: count };
}

interface ManifestInputs {
  options: TrainOptions;
  table: TrainingTable;
  split: Split;
  normalization: Normalization;
  backend: string;
  sources: SourceSummary[];
}

function buildManifest(inputs: ManifestInputs): Manifest {
  const { options, table, split, normalization, backend, sources } = inputs;
  const column = (index: number) =>
    split.train.map((row) => table.features[row]?.[index] as number);
  const placeholder = { mae: 0, rmse: 0, rows: 0 };
  return {
    format: MANIFEST_FORMAT,
    name: options.name,
    version: options.version,
    created: new Date().toISOString(),
    features: options.features,
    label: options.label,
    normalization,
    holdout: placeholder,
    training: {
      ...placeholder,
      epochs: options.epochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      seed: options.seed,
      holdoutFraction: options.holdout,
      backend,
      durationSeconds: 0,
    },
    rows: {
      read: table.read,
      filtered: table.filtered,
      skipped: skippedCount(table),
      skippedByReason: table.skippedByReason,
      skippedByColumn: table.skippedByColumn,
      used: table.labels.length,
      train: split.train.length,
      holdout: split.holdout.length,
    },
    dataSha256: hashRows(table),
    sources,
    filters: options.where,
    drift: {
      features: options.features.map((name, index) =>
        computeBaseline(name, column(index), options.bins),
      ),
      label: computeBaseline(
        options.label,
        split.train.map((row) => table.labels[row] as number),
        options.bins,
      ),
    },
  };
}

/** SHA-256 of the used rows, each as a JSON array of feature values then label, one per line. */
function hashRows(table: TrainingTable): string {
  const hash = createHash('sha256');
  table.labels.forEach((label, index) => {
    hash.update(`${JSON.stringify([...(table.features[index] as number[]), label])}\n`);
  });
  return hash.digest('hex');
}
