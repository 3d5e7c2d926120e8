// Options of `model-server train`.
import { NAME_PATTERN } from '../artifact/manifest.ts';
import { ModelServerError } from '../errors.ts';
import { LOG_LEVELS } from '../logger.ts';
import { BACKEND_PREFERENCES } from '../model/backend.ts';
import type { TrainOptions } from '../trainer/train.ts';
import { option, requireValue, resolveOptions, type OptionValues } from './option-spec.ts';
import {
  integerIn,
  matching,
  numberIn,
  oneOf,
  parseBoolean,
  parseNameList,
  parseText,
} from './parse-values.ts';

const NAME = new RegExp(NAME_PATTERN);
const NAME_HINT =
  'letters, digits, dots, dashes and underscores, starting with a letter or digit, at most 63';

export const TRAIN_OPTIONS = {
  data: option({
    flag: 'data',
    valueName: 'PATH',
    description:
      'training data: a .json array, .ndjson, .jsonl or .csv file, or a directory of .ndjson/.jsonl ' +
      'capture files; repeat the flag to combine sources',
    parse: (raw: string, source: string) => [parseText(raw, source)],
    parseList: (raws: string[], source: string) => raws.map((raw) => parseText(raw, source)),
  }),
  features: option({
    flag: 'features',
    valueName: 'a,b,c',
    description: 'feature columns in model input order',
    parse: parseNameList,
  }),
  label: option({
    flag: 'label',
    valueName: 'COLUMN',
    description: 'label column to predict',
    parse: parseText,
  }),
  name: option({
    flag: 'name',
    valueName: 'NAME',
    description: 'model name, used in serving URLs',
    parse: matching(NAME, NAME_HINT),
  }),
  out: option({
    flag: 'out',
    valueName: 'DIR',
    description: 'artifact directory to write (model.json, weights.bin, modelwarden.json)',
    parse: parseText,
  }),
  version: option({
    flag: 'version',
    valueName: 'LABEL',
    description: 'version label of the artifact (default: UTC time as YYYYMMDDTHHMMSSZ)',
    parse: matching(NAME, NAME_HINT),
  }),
  where: option({
    flag: 'where',
    valueName: 'EXPR',
    description:
      "row filter COLUMN OP VALUE with OP one of < <= > >= = !=, such as 'Year<1977-01-01'; VALUE is " +
      'compared as a number, an ISO date or text; rows without the column pass; repeat to combine (AND)',
    defaultValue: [] as string[],
    defaultText: 'none',
    parse: (raw: string, source: string) => [parseText(raw, source)],
    parseList: (raws: string[], source: string) => raws.map((raw) => parseText(raw, source)),
  }),
  epochs: option({
    flag: 'epochs',
    valueName: 'N',
    description: 'training epochs',
    defaultValue: 100,
    parse: integerIn(1, 100_000),
  }),
  seed: option({
    flag: 'seed',
    valueName: 'N',
    description: 'seed for weight initialisation, the holdout split and epoch shuffling',
    defaultValue: 42,
    parse: integerIn(0, 2 ** 31 - 1),
  }),
  holdout: option({
    flag: 'holdout',
    valueName: 'FRACTION',
    description: 'fraction of usable rows held out for evaluation',
    defaultValue: 0.2,
    parse: numberIn(0, 1, { exclusive: true }),
  }),
  batchSize: option({
    flag: 'batch-size',
    valueName: 'N',
    description: 'rows per gradient step',
    defaultValue: 32,
    parse: integerIn(1, 1_000_000),
  }),
  learningRate: option({
    flag: 'learning-rate',
    valueName: 'RATE',
    description: 'Adam learning rate',
    defaultValue: 0.001,
    parse: numberIn(0, 1, { exclusive: true }),
  }),
  bins: option({
    flag: 'bins',
    valueName: 'N',
    description: 'histogram bins per feature in the drift baseline (quantile cut points)',
    defaultValue: 10,
    parse: integerIn(2, 100),
  }),
  backend: option({
    flag: 'backend',
    valueName: 'NAME',
    description: `TensorFlow.js backend: ${BACKEND_PREFERENCES.join(', ')} (auto tries tensorflow, wasm, cpu)`,
    defaultValue: 'auto' as (typeof BACKEND_PREFERENCES)[number],
    parse: oneOf(BACKEND_PREFERENCES),
  }),
  overwrite: option({
    flag: 'overwrite',
    description: 'replace --out if it exists and is not empty',
    defaultValue: false,
    parse: parseBoolean,
  }),
  terminationMessagePath: option({
    flag: 'termination-message-path',
    valueName: 'FILE',
    description: 'file to write the artifact URI (file:///abs/dir) to, for a Kubernetes Job',
    parse: parseText,
  }),
  logLevel: option({
    flag: 'log-level',
    valueName: 'LEVEL',
    description: `log level on stderr: ${LOG_LEVELS.join(', ')}`,
    defaultValue: 'info' as (typeof LOG_LEVELS)[number],
    parse: oneOf(LOG_LEVELS),
  }),
};

export interface TrainConfig extends TrainOptions {
  terminationMessagePath: string | undefined;
  logLevel: OptionValues<typeof TRAIN_OPTIONS>['logLevel'];
}

/** Resolves the parsed flags of `train` into a validated configuration. */
export function parseTrainConfig(
  flags: Record<string, unknown>,
  now: Date = new Date(),
): TrainConfig {
  const values = resolveOptions(TRAIN_OPTIONS, flags, {});
  const features = requireValue(
    values.features,
    'features',
    'list the feature columns, such as --features a,b,c',
  );
  const label = requireValue(values.label, 'label', 'name the column to predict');
  if (features.includes(label)) {
    throw new ModelServerError(
      'MS_ERR_CONFIG_INVALID',
      `--label '${label}' is also listed in --features`,
    );
  }
  return {
    ...values,
    data: requireValue(values.data, 'data', 'give a data file or capture directory'),
    features,
    label,
    name: requireValue(values.name, 'name', 'name the model, such as --name cars'),
    out: requireValue(values.out, 'out', 'give the artifact directory to write'),
    version: values.version ?? defaultVersion(now),
  };
}

/** Returns a version label from the UTC time, such as 20261204T101500Z. */
export function defaultVersion(now: Date): string {
  return `${now.toISOString().slice(0, 19).replaceAll('-', '').replaceAll(':', '')}Z`;
}
