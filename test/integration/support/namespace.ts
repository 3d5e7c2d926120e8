// A fresh namespace per test file, deleted afterwards.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { kubeClient } from './kube.ts';
import { waitFor } from './wait.ts';

/**
 * Creates a namespace named `<prefix>-<random>` and waits until its `default` ServiceAccount
 * exists, because pods cannot be created before the controller-manager adds it.
 */
export async function createNamespace(prefix: string): Promise<string> {
  const core = kubeClient(k8s.CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name, labels: { 'modelwarden.io/test': prefix } } },
  });
  await waitFor(() => core.readNamespacedServiceAccount({ namespace: name, name: 'default' }), {
    timeout: 30_000,
    description: `the default ServiceAccount of namespace ${name}`,
  });
  return name;
}

/** Deletes a namespace without waiting for its pods to finish terminating. */
export async function deleteNamespace(name: string): Promise<void> {
  const core = kubeClient(k8s.CoreV1Api);
  try {
    await core.deleteNamespace({ name, propagationPolicy: 'Background' });
  } catch (error) {
    if (!(error instanceof k8s.ApiException && error.code === 404)) {
      throw error;
    }
  }
}

/**
 * Registers hooks that create a namespace before the tests of the current file (or describe
 * block) and delete it after them. Read `.name` inside tests and hooks, not at import time.
 */
export function useNamespace(prefix: string): { readonly name: string } {
  let current: string | undefined;
  beforeAll(async () => {
    current = await createNamespace(prefix);
  });
  afterAll(async () => {
    if (current && process.env['MODELWARDEN_KEEP_NAMESPACES'] !== '1') {
      await deleteNamespace(current);
    }
  });
  return {
    get name(): string {
      if (!current) {
        throw new Error(
          'the namespace exists only inside tests and hooks of the block that called useNamespace',
        );
      }
      return current;
    },
  };
}
