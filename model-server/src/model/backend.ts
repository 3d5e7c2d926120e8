// Selection of the TensorFlow.js backend: the native tfjs-node binding when it is installed, then
// WebAssembly, then the pure JavaScript CPU backend.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';

export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];
type BackendName = Exclude<BackendPreference, 'auto'>;

// A variable specifier keeps tsc from resolving the optional package, which is absent when its
// native library could not be installed.
const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';

let selected: Promise<string> | undefined;

/**
 * Initialises TF.js once per process and returns the backend name TF.js reports
 * (`tensorflow`, `wasm` or `cpu`). With `auto` it tries them in that order and logs why each
 * skipped one failed; with an explicit choice a failure is fatal. Later calls return the first
 * result, since TF.js has one global engine.
 */
export function selectBackend(preference: BackendPreference, logger: Logger): Promise<string> {
  selected ??= initialise(preference, logger);
  return selected;
}

async function initialise(preference: BackendPreference, logger: Logger): Promise<string> {
  // Production mode skips per-op debug checks and the console banner TF.js prints in Node.
  tf.enableProdMode();
  const candidates: BackendName[] =
    preference === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [preference];
  for (const candidate of candidates) {
    try {
      await activate(candidate);
      logger.info(
        { backend: tf.getBackend(), requested: preference },
        'TensorFlow.js backend selected',
      );
      return tf.getBackend();
    } catch (error) {
      if (preference !== 'auto') {
        throw new Error(
          `TensorFlow.js backend '${candidate}' cannot be used: ${errorMessage(error)}`,
          {
            cause: error,
          },
        );
      }
      logger.info(
        { backend: candidate, reason: errorMessage(error) },
        'TensorFlow.js backend unavailable',
      );
    }
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}

async function activate(backend: BackendName): Promise<void> {
  if (backend === 'tensorflow') await import(TFJS_NODE_PACKAGE);
  const activated = await tf.setBackend(backend);
  if (!activated) throw new Error(`tf.setBackend('${backend}') returned false`);
  await tf.ready();
}
