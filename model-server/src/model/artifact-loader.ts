// Reads and verifies a complete artifact: model.json (against the expected checksum), the
// manifest and the weights (against the digests model.json records).
import {
  MANIFEST_FILE,
  MODEL_JSON_FILE,
  parseManifest,
  type Manifest,
} from '../artifact/manifest.ts';
import {
  expectedWeightBytes,
  parseModelJson,
  recordedDigests,
  sha256Hex,
  type FileDigests,
  type ModelJson,
  type WeightSpec,
} from '../artifact/model-json.ts';
import { ModelServerError } from '../errors.ts';
import type { ArtifactReader } from './artifact-reader.ts';

/** The verified contents of an artifact, ready to hand to TF.js. */
export interface ArtifactContents {
  modelJson: ModelJson;
  manifest: Manifest;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  modelJsonSha256: string;
  /** Whether the weights and manifest were checked against digests recorded in model.json. */
  filesVerified: boolean;
}

export async function readArtifact(
  reader: ArtifactReader,
  expectedModelJsonSha256: string | undefined,
): Promise<ArtifactContents> {
  const source = reader.description;
  const modelJsonBytes = await reader.readFile(MODEL_JSON_FILE);
  const modelJsonSha256 = sha256Hex(modelJsonBytes);
  if (
    expectedModelJsonSha256 !== undefined &&
    modelJsonSha256 !== expectedModelJsonSha256.toLowerCase()
  ) {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_CHECKSUM_MISMATCH',
      `model.json of ${source} has SHA-256 ${modelJsonSha256} but --model-sha256 expects ` +
        `${expectedModelJsonSha256.toLowerCase()}; the artifact changed or the checksum is wrong`,
    );
  }
  const modelJson = parseModelJson(modelJsonBytes, source);
  const digests = recordedDigests(modelJson, source);

  const manifestBytes = await readVerified(reader, MANIFEST_FILE, digests);
  let manifestValue: unknown;
  try {
    manifestValue = JSON.parse(manifestBytes.toString('utf8'));
  } catch (error) {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_INVALID',
      `${MANIFEST_FILE} of ${source} is not valid JSON (${(error as Error).message})`,
    );
  }
  const manifest = parseManifest(manifestValue, `${MANIFEST_FILE} of ${source}`);

  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const weightParts: Buffer[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const name of group.paths) weightParts.push(await readVerified(reader, name, digests));
  }
  const weights = Buffer.concat(weightParts);
  const expectedBytes = expectedWeightBytes(weightSpecs);
  if (expectedBytes !== undefined && expectedBytes !== weights.byteLength) {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_INVALID',
      `weights of ${source} have ${weights.byteLength} bytes but model.json describes ${expectedBytes}`,
    );
  }
  const weightData = weights.buffer.slice(
    weights.byteOffset,
    weights.byteOffset + weights.byteLength,
  );
  return {
    modelJson,
    manifest,
    weightSpecs,
    weightData: weightData as ArrayBuffer,
    modelJsonSha256,
    filesVerified: Object.keys(digests).length > 0,
  };
}

async function readVerified(
  reader: ArtifactReader,
  name: string,
  digests: FileDigests,
): Promise<Buffer> {
  const bytes = await reader.readFile(name);
  const expected = digests[name];
  if (expected !== undefined) {
    const actual = sha256Hex(bytes);
    if (actual !== expected) {
      throw new ModelServerError(
        'MS_ERR_ARTIFACT_CHECKSUM_MISMATCH',
        `${name} of ${reader.description} has SHA-256 ${actual} but model.json records ${expected}`,
      );
    }
  }
  return bytes;
}
