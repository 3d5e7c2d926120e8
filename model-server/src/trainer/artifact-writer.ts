// Writing an artifact directory atomically: the files go to a temporary sibling directory that
// is renamed into place, so a reader never sees a half-written artifact.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MANIFEST_FILE, MODEL_JSON_FILE, type Manifest } from '../artifact/manifest.ts';
import { buildModelJson, sha256Hex } from '../artifact/model-json.ts';
import { ModelServerError } from '../errors.ts';

export const WEIGHTS_FILE = 'weights.bin';

/**
 * Raises MS_ERR_CONFIG_INVALID when `directory` exists and is not empty, unless `overwrite`.
 * Runs before training so that a wrong --out fails in a second, not after the fit.
 */
export async function checkOutputDirectory(directory: string, overwrite: boolean): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ModelServerError(
      'MS_ERR_CONFIG_INVALID',
      `--out ${directory} is not a readable directory`,
      {
        cause: error,
      },
    );
  }
  if (entries.length > 0 && !overwrite) {
    throw new ModelServerError(
      'MS_ERR_CONFIG_INVALID',
      `--out ${directory} already exists and is not empty; choose a new directory or pass --overwrite`,
    );
  }
}

/** Writes model.json, the weights and the manifest to `directory` and returns its absolute path. */
export async function writeArtifact(
  directory: string,
  model: tf.LayersModel,
  manifest: Manifest,
  overwrite: boolean,
): Promise<string> {
  const target = path.resolve(directory);
  const artifacts = await captureArtifacts(model);
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  const modelJson = buildModelJson(artifacts, WEIGHTS_FILE, {
    [WEIGHTS_FILE]: sha256Hex(weights),
    [MANIFEST_FILE]: sha256Hex(manifestText),
  });

  await mkdir(path.dirname(target), { recursive: true });
  const staging = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(staging);
  try {
    await writeFile(path.join(staging, WEIGHTS_FILE), weights);
    await writeFile(path.join(staging, MANIFEST_FILE), manifestText);
    await writeFile(path.join(staging, MODEL_JSON_FILE), `${JSON.stringify(modelJson)}\n`);
    await checkOutputDirectory(target, overwrite);
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return target;
}

async function captureArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (captured?.weightData === undefined) throw new Error('TF.js saved no weights');
  return captured;
}
