// A loaded, verified, warmed-up model with everything the request path needs.
import * as tf from '@tensorflow/tfjs';
import type { Manifest } from '../artifact/manifest.ts';
import { ModelServerError, errorMessage } from '../errors.ts';
import { Predictor } from '../inference/predictor.ts';
import { readArtifact } from './artifact-loader.ts';
import { createArtifactReader } from './artifact-reader.ts';
import { describeLocation, parseArtifactUri } from './artifact-uri.ts';

export interface ModelSource {
  uri: string;
  /** Expected SHA-256 of model.json, lower- or upper-case hex. */
  sha256?: string | undefined;
}

export interface LoadLimits {
  maxBytes: number;
  timeoutMs: number;
}

export interface ServableModel {
  /** The name clients use in URLs: the manifest name unless the server overrides it. */
  readonly name: string;
  readonly version: string;
  readonly manifest: Manifest;
  readonly predictor: Predictor;
  readonly source: ModelSource;
  /** Printable artifact location without credentials. */
  readonly location: string;
  readonly modelJsonSha256: string;
  readonly filesVerified: boolean;
  readonly layersModel: tf.LayersModel;
}

/**
 * Downloads or reads the artifact at `source`, verifies it, builds the Layers model and runs one
 * warm-up prediction so that the first request does not pay for kernel setup.
 */
export async function loadServableModel(
  source: ModelSource,
  limits: LoadLimits,
  nameOverride: string | undefined,
): Promise<ServableModel> {
  const location = parseArtifactUri(source.uri);
  const reader = createArtifactReader(location, {
    maxBytes: limits.maxBytes,
    signal: AbortSignal.timeout(limits.timeoutMs),
  });
  const contents = await readArtifact(reader, source.sha256);
  const description = describeLocation(location);
  let layersModel: tf.LayersModel;
  try {
    layersModel = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: contents.modelJson.modelTopology,
        weightSpecs: contents.weightSpecs,
        weightData: contents.weightData,
      }),
    );
  } catch (error) {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_INVALID',
      `TF.js cannot build the model of ${description}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  try {
    checkSignature(layersModel, contents.manifest, description);
    const predictor = new Predictor(layersModel, contents.manifest);
    predictor.predict(Float32Array.from(contents.manifest.normalization.featureMean), 1);
    return {
      name: nameOverride ?? contents.manifest.name,
      version: contents.manifest.version,
      manifest: contents.manifest,
      predictor,
      source,
      location: description,
      modelJsonSha256: contents.modelJsonSha256,
      filesVerified: contents.filesVerified,
      layersModel,
    };
  } catch (error) {
    layersModel.dispose();
    throw error;
  }
}

/** Checks that the model maps [batch, features] to [batch, 1], as the manifest promises. */
function checkSignature(model: tf.LayersModel, manifest: Manifest, description: string): void {
  const input = model.inputs.length === 1 ? model.inputs[0]?.shape : undefined;
  const output = model.outputs.length === 1 ? model.outputs[0]?.shape : undefined;
  const featureCount = manifest.features.length;
  const inputOk = input?.length === 2 && input[1] === featureCount;
  const outputOk = output?.length === 2 && output[1] === 1;
  if (!inputOk || !outputOk) {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_INVALID',
      `model of ${description} maps ${JSON.stringify(input)} to ${JSON.stringify(output)}, ` +
        `but its manifest needs [null, ${featureCount}] to [null, 1]`,
    );
  }
}
