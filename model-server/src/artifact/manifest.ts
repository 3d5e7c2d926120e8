// The artifact manifest `modelwarden.json`: what the trainer learnt about the data and what the
// server needs besides the TF.js weights (feature order, normalisation, drift baseline).
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ModelServerError } from '../errors.ts';

export const MANIFEST_FILE = 'modelwarden.json';
export const MODEL_JSON_FILE = 'model.json';
export const MANIFEST_FORMAT = 'modelwarden.model/v1';

/** Names and version labels appear in URLs, file names and metric labels. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';
const NAME_REGEXP = new RegExp(NAME_PATTERN);

const FiniteNumber = Type.Number();
const Count = Type.Integer({ minimum: 0 });

const HistogramBaselineSchema = Type.Object({
  name: Type.String(),
  edges: Type.Array(FiniteNumber),
  proportions: Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { minItems: 1 }),
});

const ErrorMetricsSchema = Type.Object({
  mae: FiniteNumber,
  rmse: FiniteNumber,
  rows: Count,
});

export const ManifestSchema = Type.Object({
  format: Type.Literal(MANIFEST_FORMAT),
  name: Type.String({ pattern: NAME_PATTERN }),
  version: Type.String({ pattern: NAME_PATTERN }),
  /** ISO 8601 time the trainer wrote the artifact. */
  created: Type.String({ minLength: 1 }),
  features: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  label: Type.String({ minLength: 1 }),
  /** Z-score parameters: the model sees (x - mean) / std and predicts (y - mean) / std. */
  normalization: Type.Object({
    featureMean: Type.Array(FiniteNumber),
    featureStd: Type.Array(Type.Number({ exclusiveMinimum: 0 })),
    labelMean: FiniteNumber,
    labelStd: Type.Number({ exclusiveMinimum: 0 }),
  }),
  holdout: ErrorMetricsSchema,
  training: Type.Intersect([
    ErrorMetricsSchema,
    Type.Object({
      epochs: Count,
      batchSize: Count,
      learningRate: FiniteNumber,
      seed: Type.Integer(),
      holdoutFraction: FiniteNumber,
      backend: Type.String(),
      durationSeconds: FiniteNumber,
    }),
  ]),
  rows: Type.Object({
    read: Count,
    filtered: Count,
    skipped: Count,
    skippedByReason: Type.Record(Type.String(), Count),
    skippedByColumn: Type.Record(Type.String(), Count),
    used: Count,
    train: Count,
    holdout: Count,
  }),
  /** SHA-256 of the used rows, each as a JSON array of feature values then label, one per line. */
  dataSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  sources: Type.Array(Type.Object({ path: Type.String(), rows: Count })),
  filters: Type.Array(Type.String()),
  drift: Type.Object({
    features: Type.Array(HistogramBaselineSchema),
    label: HistogramBaselineSchema,
  }),
});

export type Manifest = Static<typeof ManifestSchema>;

/**
 * Validates a parsed `modelwarden.json` and returns it typed. Raises MS_ERR_ARTIFACT_INVALID
 * naming the first offending field, also for inconsistencies a schema cannot express (array
 * lengths that must match the feature list, drift baselines in feature order).
 */
export function parseManifest(value: unknown, source: string): Manifest {
  const firstError = Value.Errors(ManifestSchema, value).First();
  if (firstError !== undefined) {
    const field = firstError.path === '' ? '(root)' : firstError.path;
    throw invalidManifest(source, `${field} ${firstError.message}`);
  }
  const manifest = value as Manifest;
  if (Number.isNaN(Date.parse(manifest.created))) {
    throw invalidManifest(source, `/created '${manifest.created}' is not an ISO 8601 time`);
  }
  const featureCount = manifest.features.length;
  if (new Set(manifest.features).size !== featureCount) {
    throw invalidManifest(source, '/features contains a duplicate name');
  }
  if (manifest.features.includes(manifest.label)) {
    throw invalidManifest(source, `/label '${manifest.label}' is also listed as a feature`);
  }
  for (const key of ['featureMean', 'featureStd'] as const) {
    if (manifest.normalization[key].length !== featureCount) {
      throw invalidManifest(
        source,
        `/normalization/${key} must have ${featureCount} entries, one per feature`,
      );
    }
  }
  manifest.drift.features.forEach((baseline, index) => {
    if (baseline.name !== manifest.features[index]) {
      throw invalidManifest(
        source,
        `/drift/features/${index} must describe feature '${manifest.features[index]}'`,
      );
    }
  });
  if (manifest.drift.features.length !== featureCount) {
    throw invalidManifest(
      source,
      `/drift/features must have ${featureCount} entries, one per feature`,
    );
  }
  for (const baseline of [...manifest.drift.features, manifest.drift.label]) {
    validateBaseline(source, baseline);
  }
  return manifest;
}

function validateBaseline(source: string, baseline: Static<typeof HistogramBaselineSchema>): void {
  const where = `/drift baseline '${baseline.name}'`;
  if (baseline.proportions.length !== baseline.edges.length + 1) {
    throw invalidManifest(source, `${where} must have one proportion more than edges`);
  }
  for (let index = 1; index < baseline.edges.length; index++) {
    if ((baseline.edges[index] as number) <= (baseline.edges[index - 1] as number)) {
      throw invalidManifest(source, `${where} edges must be strictly ascending`);
    }
  }
  const sum = baseline.proportions.reduce((total, share) => total + share, 0);
  if (Math.abs(sum - 1) > 1e-6) {
    throw invalidManifest(source, `${where} proportions must sum to 1, not ${sum}`);
  }
}

function invalidManifest(source: string, problem: string): ModelServerError {
  return new ModelServerError('MS_ERR_ARTIFACT_INVALID', `${source} is invalid: ${problem}`);
}

/** Returns whether `value` is a valid model name or version label. */
export function isValidName(value: string): boolean {
  return NAME_REGEXP.test(value);
}
