// Kubeconfig files of the local cluster, with the certificates embedded so that a copy works anywhere.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { KeyPair } from './pki.ts';

export interface KubeconfigOptions {
  file: string;
  server: string;
  caFile: string;
  user: string;
  credentials: KeyPair;
}

/** Name of the cluster and context in every kubeconfig that `up` writes. */
export const contextName = 'modelwarden';

function base64File(file: string): string {
  return readFileSync(file).toString('base64');
}

/** Writes a kubeconfig with one cluster, one user and a current context selecting both. */
export function writeKubeconfig(options: KubeconfigOptions): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: contextName,
        cluster: {
          server: options.server,
          'certificate-authority-data': base64File(options.caFile),
        },
      },
    ],
    users: [
      {
        name: options.user,
        user: {
          'client-certificate-data': base64File(options.credentials.cert),
          'client-key-data': base64File(options.credentials.key),
        },
      },
    ],
    contexts: [{ name: contextName, context: { cluster: contextName, user: options.user } }],
    'current-context': contextName,
  };
  mkdirSync(path.dirname(options.file), { recursive: true });
  writeFileSync(options.file, stringify(config), { mode: 0o600 });
}
