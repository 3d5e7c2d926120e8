// Settings of the test node, parsed once from the environment.
import { statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadClusterConfig, statePaths, type ClusterConfig } from '../config.ts';
import { parseQuantity } from './quantity.ts';

export interface NodeSettings {
  cluster: ClusterConfig;
  kubeconfig: string;
  imagesFile: string;
  podCidr: string;
  capacity: Record<string, string>;
  backoff: { baseMs: number; maxMs: number };
  volumeRefreshMs: number;
  /** Grace period of containers when the node process itself stops (`cluster down`). */
  shutdownGraceMs: number;
  podsDir: string;
  logsDir: string;
  containerRecordsDir: string;
  persistentVolumesDir: string;
  pkiDir: string;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') {
    return fallback;
  }
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new Error(`${name}=${JSON.stringify(value)} is invalid: set a positive number`);
  }
  return number;
}

function quantity(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    return fallback;
  }
  try {
    parseQuantity(value);
  } catch (error) {
    throw new Error(`${name}=${JSON.stringify(value)} is invalid: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return value;
}

/**
 * Reads the node's settings. Capacity defaults to this machine's cores, memory and disk, so
 * that the scheduler places pods as it would on a real node of this size.
 */
export function loadNodeSettings(env: NodeJS.ProcessEnv = process.env): NodeSettings {
  const cluster = loadClusterConfig(env);
  const paths = statePaths(cluster);
  const disk = statfsSync(cluster.stateDir);
  const capacity = {
    cpu: quantity(env, 'MODELWARDEN_NODE_CPU', String(os.availableParallelism())),
    memory: quantity(env, 'MODELWARDEN_NODE_MEMORY', `${Math.floor(os.totalmem() / 1024)}Ki`),
    'ephemeral-storage': `${Math.floor((disk.blocks * disk.bsize) / 1024)}Ki`,
    pods: String(positiveNumber(env, 'MODELWARDEN_NODE_PODS', 110)),
  };
  return {
    cluster,
    kubeconfig: paths.componentKubeconfig('test-node'),
    imagesFile: path.resolve(
      env['MODELWARDEN_NODE_IMAGES'] ??
        path.join(cluster.repoRoot, 'test', 'cluster', 'images.json'),
    ),
    podCidr: cluster.podCidr,
    capacity,
    backoff: {
      baseMs: positiveNumber(env, 'MODELWARDEN_NODE_BACKOFF_BASE_SECONDS', 10) * 1000,
      maxMs: positiveNumber(env, 'MODELWARDEN_NODE_BACKOFF_MAX_SECONDS', 300) * 1000,
    },
    volumeRefreshMs: 20_000,
    shutdownGraceMs: 10_000,
    podsDir: paths.pods,
    logsDir: paths.logs,
    containerRecordsDir: paths.containerRecords,
    persistentVolumesDir: paths.persistentVolumes,
    pkiDir: paths.pki,
  };
}
