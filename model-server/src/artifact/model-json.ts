// The TF.js Layers `model.json` as modelwarden writes and reads it. The trainer records the
// SHA-256 of every other artifact file under `userDefinedMetadata.modelwarden.files`, so that one
// checksum of `model.json` (the `--model-sha256` flag) covers the whole artifact.
import { createHash } from 'node:crypto';
import type { io } from '@tensorflow/tfjs';
import { ModelServerError } from '../errors.ts';

export type ModelJson = io.ModelJSON;
export type WeightSpec = io.WeightsManifestEntry;

/** Per-file SHA-256 digests (lower-case hex) keyed by the file name relative to the artifact. */
export type FileDigests = Record<string, string>;

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Bytes per element of each weight dtype TF.js stores, before quantisation. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Parses and checks `model.json`: a Layers model with a weights manifest. */
export function parseModelJson(bytes: Buffer, source: string): ModelJson {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw invalid(source, `is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(value)) throw invalid(source, 'must be a JSON object');
  if (!isRecord(value.modelTopology)) throw invalid(source, 'has no modelTopology object');
  if (value.format !== undefined && value.format !== 'layers-model') {
    throw invalid(
      source,
      `has format '${String(value.format)}'; only TF.js Layers models ('layers-model') can be served`,
    );
  }
  const manifest = value.weightsManifest;
  if (!Array.isArray(manifest)) throw invalid(source, 'has no weightsManifest array');
  manifest.forEach((group: unknown, index) => {
    if (!isRecord(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw invalid(source, `weightsManifest[${index}] must have 'paths' and 'weights' arrays`);
    }
    if (!group.paths.every((entry) => typeof entry === 'string')) {
      throw invalid(source, `weightsManifest[${index}].paths must contain file names`);
    }
  });
  return value as unknown as ModelJson;
}

/** Returns the digests the trainer recorded in `model.json`, or an empty map for other producers. */
export function recordedDigests(modelJson: ModelJson, source: string): FileDigests {
  const metadata = modelJson.userDefinedMetadata?.modelwarden;
  if (metadata === undefined) return {};
  const files = isRecord(metadata) ? metadata.files : undefined;
  if (!isRecord(files))
    throw invalid(source, 'userDefinedMetadata.modelwarden.files must be an object');
  const digests: FileDigests = {};
  for (const [name, digest] of Object.entries(files)) {
    if (typeof digest !== 'string' || !SHA256_HEX.test(digest)) {
      throw invalid(
        source,
        `userDefinedMetadata.modelwarden.files['${name}'] must be a SHA-256 hex digest`,
      );
    }
    digests[name] = digest;
  }
  return digests;
}

/** Returns the byte length the weight specs need, or undefined when a string weight makes it variable. */
export function expectedWeightBytes(specs: readonly WeightSpec[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const elementBytes =
      spec.quantization === undefined
        ? DTYPE_BYTES[spec.dtype]
        : QUANTIZED_BYTES[spec.quantization.dtype];
    if (elementBytes === undefined) return undefined;
    total += spec.shape.reduce((product, size) => product * size, 1) * elementBytes;
  }
  return total;
}

/** Builds the `model.json` the trainer writes next to one weights file. */
export function buildModelJson(
  artifacts: io.ModelArtifacts,
  weightsFile: string,
  digests: FileDigests,
): ModelJson {
  if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined) {
    throw new Error('TF.js returned model artifacts without topology or weight specs');
  }
  return {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? 'modelwarden',
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    ...(artifacts.trainingConfig === undefined ? {} : { trainingConfig: artifacts.trainingConfig }),
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs }],
    userDefinedMetadata: { modelwarden: { files: digests } },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(source: string, problem: string): ModelServerError {
  return new ModelServerError('MS_ERR_ARTIFACT_INVALID', `model.json of ${source} ${problem}`);
}
