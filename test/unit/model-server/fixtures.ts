// Shared fixtures for the model server tests: the real cars data and a trained cars model.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  defaultServeConfig,
  type ServeConfig,
} from '../../../model-server/src/config/serve-config.ts';
import { createLogger } from '../../../model-server/src/logger.ts';
import { ModelServer } from '../../../model-server/src/server/model-server.ts';
import {
  trainModel,
  type TrainOptions,
  type TrainSummary,
} from '../../../model-server/src/trainer/train.ts';

export const REPOSITORY_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../..',
);
export const CARS_JSON = path.join(REPOSITORY_ROOT, 'node_modules/vega-datasets/data/cars.json');
export const CARS_FEATURES = [
  'Cylinders',
  'Displacement',
  'Horsepower',
  'Weight_in_lbs',
  'Acceleration',
];
export const CARS_LABEL = 'Miles_per_Gallon';

export type CarRow = Record<string, unknown> & { Year: string };

export async function readCars(): Promise<CarRow[]> {
  return JSON.parse(await readFile(CARS_JSON, 'utf8')) as CarRow[];
}

/** Cars with every feature and the label present, split at 1977 as the trainer's filter does. */
export async function carsByEra(): Promise<{ early: CarRow[]; late: CarRow[] }> {
  const usable = (await readCars()).filter((row) =>
    [...CARS_FEATURES, CARS_LABEL].every((column) => typeof row[column] === 'number'),
  );
  return {
    early: usable.filter((row) => row.Year < '1977-01-01'),
    late: usable.filter((row) => row.Year >= '1977-01-01'),
  };
}

export function featureRow(row: Record<string, unknown>): number[] {
  return CARS_FEATURES.map((feature) => row[feature] as number);
}

export const silentLogger = createLogger('silent');

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `modelwarden-${prefix}-`));
}

export async function removeDir(directory: string): Promise<void> {
  await rm(directory, { recursive: true, force: true });
}

/** Trains the cars model on 1970-1976 cars into `out`. */
export function trainCars(
  out: string,
  overrides: Partial<TrainOptions> = {},
): Promise<TrainSummary> {
  return trainModel(
    {
      data: [CARS_JSON],
      features: CARS_FEATURES,
      label: CARS_LABEL,
      name: 'cars',
      out,
      epochs: 100,
      seed: 42,
      holdout: 0.2,
      batchSize: 32,
      learningRate: 0.001,
      version: 'v1',
      where: ['Year<1977-01-01'],
      bins: 10,
      backend: 'auto',
      overwrite: false,
      ...overrides,
    },
    silentLogger,
  );
}

/** Starts a server on 127.0.0.1 with a free port and waits for the first model load. */
export async function startServer(
  overrides: Partial<ServeConfig> & { model: string },
): Promise<ModelServer> {
  const config = defaultServeConfig({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    ...overrides,
  });
  const server = await ModelServer.start(config, silentLogger);
  await server.initialLoad;
  return server;
}

/** Parses Prometheus text into `name{labels}` -> value, skipping comments. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const split = line.lastIndexOf(' ');
    values.set(line.slice(0, split), Number(line.slice(split + 1)));
  }
  return values;
}
