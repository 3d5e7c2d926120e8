// Options of `model-server serve`. Each flag also reads MODEL_SERVER_<FLAG>; a flag wins.
import { NAME_PATTERN } from '../artifact/manifest.ts';
import { ModelServerError } from '../errors.ts';
import { LOG_LEVELS } from '../logger.ts';
import { BACKEND_PREFERENCES } from '../model/backend.ts';
import { option, requireValue, resolveOptions, type OptionValues } from './option-spec.ts';
import {
  integerIn,
  matching,
  numberIn,
  oneOf,
  parseBytes,
  parseSha256,
  parseText,
} from './parse-values.ts';

export const SERVE_ENV_PREFIX = 'MODEL_SERVER_';

const MIB = 1024 * 1024;

export const SERVE_OPTIONS = {
  model: option({
    flag: 'model',
    valueName: 'URI',
    description: 'artifact directory to serve: a path, file:///abs/dir or http(s)://host/dir/',
    parse: parseText,
  }),
  modelSha256: option({
    flag: 'model-sha256',
    valueName: 'HEX',
    description: 'expected SHA-256 of model.json; a mismatch fails loading',
    parse: parseSha256,
  }),
  modelName: option({
    flag: 'model-name',
    valueName: 'NAME',
    description: 'name to serve the model under instead of the manifest name',
    parse: matching(
      new RegExp(NAME_PATTERN),
      'letters, digits, dots, dashes and underscores, at most 63',
    ),
  }),
  host: option({
    flag: 'host',
    valueName: 'ADDRESS',
    description: 'listen address',
    defaultValue: '0.0.0.0',
    parse: parseText,
  }),
  port: option({
    flag: 'port',
    valueName: 'N',
    description: 'listen port (0 picks a free port)',
    defaultValue: 8080,
    parse: integerIn(0, 65535),
  }),
  backend: option({
    flag: 'backend',
    valueName: 'NAME',
    description: `TensorFlow.js backend: ${BACKEND_PREFERENCES.join(', ')} (auto tries tensorflow, wasm, cpu)`,
    defaultValue: 'auto' as (typeof BACKEND_PREFERENCES)[number],
    parse: oneOf(BACKEND_PREFERENCES),
  }),
  maxBatchSize: option({
    flag: 'max-batch-size',
    valueName: 'ROWS',
    description: 'rows merged into one model call at most (1 disables batching)',
    defaultValue: 256,
    parse: integerIn(1, 1_000_000),
  }),
  maxBatchDelayMs: option({
    flag: 'max-batch-delay-ms',
    valueName: 'MS',
    description:
      'time in ms a batch that is not full waits for more requests (0: end of the event-loop turn)',
    defaultValue: 0,
    parse: numberIn(0, 10_000),
  }),
  maxQueueRows: option({
    flag: 'max-queue-rows',
    valueName: 'ROWS',
    description: 'rows waiting for the model at most; beyond it requests get 429 with Retry-After',
    defaultValue: 16_384,
    parse: integerIn(1, 100_000_000),
  }),
  maxRequestRows: option({
    flag: 'max-request-rows',
    valueName: 'ROWS',
    description: 'rows per request at most; more get 413 (must not exceed --max-queue-rows)',
    defaultValue: 4096,
    parse: integerIn(1, 100_000_000),
  }),
  bodyLimit: option({
    flag: 'body-limit',
    valueName: 'BYTES',
    description: 'request body size limit in bytes (suffixes KiB, MiB accepted); more gets 413',
    defaultValue: 8 * MIB,
    defaultText: '8MiB',
    parse: parseBytes,
  }),
  requestTimeoutMs: option({
    flag: 'request-timeout-ms',
    valueName: 'MS',
    description:
      'time in ms a client has to send a whole request, headers and body; a slower one gets 408',
    defaultValue: 30_000,
    parse: integerIn(100, 3_600_000),
  }),
  predictionLogSize: option({
    flag: 'prediction-log-size',
    valueName: 'N',
    description: 'recent predictions kept so that feedback can refer to them by id',
    defaultValue: 100_000,
    parse: integerIn(1, 100_000_000),
  }),
  feedbackWindowSize: option({
    flag: 'feedback-window-size',
    valueName: 'N',
    description: 'labelled predictions behind the live MAE and RMSE gauges',
    defaultValue: 1000,
    parse: integerIn(1, 100_000_000),
  }),
  driftWindowSize: option({
    flag: 'drift-window-size',
    valueName: 'N',
    description: 'recent input rows behind the drift PSI gauges',
    defaultValue: 1000,
    parse: integerIn(1, 100_000_000),
  }),
  captureDir: option({
    flag: 'capture-dir',
    valueName: 'DIR',
    description:
      'directory to append feedback rows to as NDJSON for retraining (unset: no capture)',
    parse: parseText,
  }),
  captureMaxBytes: option({
    flag: 'capture-max-bytes',
    valueName: 'BYTES',
    description: 'total size of capture files kept; the oldest are deleted beyond it',
    defaultValue: 1024 * MIB,
    defaultText: '1GiB',
    parse: parseBytes,
  }),
  captureMaxAgeHours: option({
    flag: 'capture-max-age-hours',
    valueName: 'HOURS',
    description: 'capture files last written longer ago than this are deleted',
    defaultValue: 168,
    parse: numberIn(0.001, 1_000_000),
  }),
  captureSegmentBytes: option({
    flag: 'capture-segment-bytes',
    valueName: 'BYTES',
    description:
      'size at which a capture file is closed and a new one started (at most a quarter of --capture-max-bytes)',
    defaultValue: 16 * MIB,
    defaultText: '16MiB',
    parse: parseBytes,
  }),
  modelMaxBytes: option({
    flag: 'model-max-bytes',
    valueName: 'BYTES',
    description: 'total size limit of the artifact files read or downloaded',
    defaultValue: 512 * MIB,
    defaultText: '512MiB',
    parse: parseBytes,
  }),
  modelDownloadTimeoutMs: option({
    flag: 'model-download-timeout-ms',
    valueName: 'MS',
    description: 'time limit in ms for reading or downloading all artifact files',
    defaultValue: 60_000,
    parse: integerIn(1, 3_600_000),
  }),
  adminToken: option({
    flag: 'admin-token',
    valueName: 'TOKEN',
    description:
      'bearer token required by the reload endpoint; without it the endpoint only reloads the current URI ' +
      '(prefer the environment variable, which does not show in process lists)',
    parse: parseText,
  }),
  shutdownTimeoutMs: option({
    flag: 'shutdown-timeout-ms',
    valueName: 'MS',
    description:
      'time in ms to drain in-flight requests after SIGTERM and the shutdown delay before ' +
      'exiting anyway',
    defaultValue: 25_000,
    parse: integerIn(0, 3_600_000),
  }),
  shutdownDelayMs: option({
    flag: 'shutdown-delay-ms',
    valueName: 'MS',
    description:
      'time in ms to keep serving after SIGTERM with readiness failing, so load balancers notice',
    defaultValue: 0,
    parse: integerIn(0, 3_600_000),
  }),
  logLevel: option({
    flag: 'log-level',
    valueName: 'LEVEL',
    description: `log level: ${LOG_LEVELS.join(', ')} (debug adds one line per request)`,
    defaultValue: 'info' as (typeof LOG_LEVELS)[number],
    parse: oneOf(LOG_LEVELS),
  }),
};

type ServeValues = OptionValues<typeof SERVE_OPTIONS>;

export interface ServeConfig extends Omit<ServeValues, 'model'> {
  model: string;
}

/** Resolves flags and environment into a validated configuration. */
export function parseServeConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): ServeConfig {
  const values = resolveOptions(SERVE_OPTIONS, flags, env, SERVE_ENV_PREFIX);
  const model = requireValue(
    values.model,
    'model',
    `give the artifact URI (or set ${SERVE_ENV_PREFIX}MODEL)`,
  );
  if (values.maxRequestRows > values.maxQueueRows) {
    throw new ModelServerError(
      'MS_ERR_CONFIG_INVALID',
      `--max-request-rows ${values.maxRequestRows} exceeds --max-queue-rows ${values.maxQueueRows}, ` +
        'so the largest requests could never be queued; lower the first or raise the second',
    );
  }
  return { ...values, model };
}

/** Returns a configuration with every default, for embedding the server and for tests. */
export function defaultServeConfig(
  overrides: Partial<ServeConfig> & { model: string },
): ServeConfig {
  return {
    ...parseServeConfig({}, { [`${SERVE_ENV_PREFIX}MODEL`]: overrides.model }),
    ...overrides,
  };
}
