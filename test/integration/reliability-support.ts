// Shared parts of the reliability tests on the local cluster: an operator process with its parsed
// log and metrics, ModelDeployment manifests, a trained artifact outside any pod's /tmp, and the
// restart of one control-plane daemon under a running operator.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadClusterConfig } from '../cluster/config.ts';
import { up } from '../cluster/control-plane.ts';
import { pidFile, type DaemonName } from '../cluster/daemons.ts';
import { stopByPidFile } from '../cluster/processes.ts';
import type { Condition, ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { KubeApiError } from '../../operator/src/errors.ts';
import {
  KubeClient,
  loadKubeConfig,
  RESOURCES,
  resourcePath,
} from '../../operator/src/kube/client.ts';
import { renderCrd } from '../../operator/src/api/crd.ts';
import { parse } from 'yaml';
import { kubeconfigPath } from './support/index.ts';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const nodeBinary = path.join(repoRoot, 'node_modules', '.bin', 'node');

/**
 * Folder for artifacts and logs of these tests. Pods mount an emptyDir at /tmp, so an artifact
 * under the machine's /tmp would be hidden from them.
 */
export function workDir(name: string): string {
  const dir = path.join(repoRoot, '.modelwarden', 'reliability', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function kube(): KubeClient {
  return new KubeClient(loadKubeConfig(kubeconfigPath()));
}

export const mdepCollection = (namespace: string) =>
  resourcePath(RESOURCES.modelDeployments, namespace);
export const mdepPath = (namespace: string, name: string) =>
  resourcePath(RESOURCES.modelDeployments, namespace, name);

/** Installs the committed CRD by server-side apply and waits until it is Established. */
export async function installCrd(client: KubeClient): Promise<void> {
  const crd = parse(renderCrd()) as { metadata: { name: string } };
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
  await client.apply(crdPath, crd, 'modelwarden-reliability');
  for (let attempt = 0; attempt < 120; attempt++) {
    const current = await client.get<{
      status?: { conditions?: { type: string; status: string }[] };
    }>(crdPath);
    const established = current.status?.conditions?.find((c) => c.type === 'Established');
    if (established?.status === 'True') return;
    await sleep(250);
  }
  throw new Error(`CRD ${crd.metadata.name} did not become Established in 30 s`);
}

/** Trains a small cars model with the real trainer CLI, once per folder. */
export async function trainArtifact(dir: string, version = 'v1', epochs = 3): Promise<string> {
  const out = path.join(dir, `cars-${version}`);
  if (existsSync(path.join(out, 'model.json'))) return out;
  await runNode(
    [
      'model-server/src/cli.ts',
      'train',
      '--data',
      'node_modules/vega-datasets/data/cars.json',
      '--features',
      'Cylinders,Displacement,Horsepower,Weight_in_lbs,Acceleration',
      '--label',
      'Miles_per_Gallon',
      '--name',
      'cars',
      '--version',
      version,
      '--epochs',
      String(epochs),
      '--out',
      out,
      '--log-level',
      'warn',
    ],
    120_000,
  );
  return out;
}

function runNode(args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}

export interface ManifestOptions {
  replicas?: number;
  spec?: Record<string, unknown>;
  labels?: Record<string, string>;
}

/** Builds a ModelDeployment that serves `uri` as model `cars`, with extra spec fields merged in. */
export function modelDeployment(
  namespace: string,
  name: string,
  uri: string,
  options: ManifestOptions = {},
): ModelDeployment {
  return {
    apiVersion: 'modelwarden.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name, namespace, labels: options.labels },
    spec: {
      model: { name: 'cars', uri, version: 'v1' },
      replicas: options.replicas ?? 1,
      ...options.spec,
    },
  } as ModelDeployment;
}

export function condition(resource: ModelDeployment | undefined, type: string) {
  return resource?.status?.conditions?.find((entry: Condition) => entry.type === type);
}

/** Returns the resource, or undefined when it does not exist. */
export async function getOrUndefined<T>(client: KubeClient, objectPath: string) {
  try {
    return await client.get<T>(objectPath);
  } catch (error) {
    if (error instanceof KubeApiError && error.statusCode === 404) return undefined;
    throw error;
  }
}

export interface OperatorProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far; a line that is not JSON is kept as `{ msg }`. */
  logs(): Record<string, unknown>[];
  /** Every byte of output, for secret checks. */
  rawLog(): string;
  /** `http://127.0.0.1:PORT` of /metrics, once the operator listens. */
  metricsUrl(): Promise<string>;
  /** Sends SIGTERM, then SIGKILL after 20 s; resolves on exit. */
  stop(): Promise<void>;
  /** Sends SIGKILL and resolves on exit. */
  kill(): Promise<void>;
}

/**
 * Starts `node operator/src/main.ts` for `namespaces` without leader election, with its log
 * also appended to `logFile`.
 */
export function startOperator(namespaces: string[], logFile: string, args: string[] = []) {
  const child = spawn(
    nodeBinary,
    [
      'operator/src/main.ts',
      '--kubeconfig',
      kubeconfigPath(),
      '--namespaces',
      namespaces.join(','),
      '--no-leader-elect',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...args,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  let pending = '';
  const onData = (chunk: string) => {
    raw += chunk;
    void appendFile(logFile, chunk);
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    logs: () => lines,
    rawLog: () => raw,
    metricsUrl: async () => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const line = lines.find((entry) => String(entry.msg).startsWith('Server listening at'));
        if (line) return String(line.msg).replace('Server listening at ', '');
        if (!running()) throw new Error(`operator exited before listening:\n${raw}`);
        await sleep(100);
      }
      throw new Error(`operator did not listen in 20 s:\n${raw}`);
    },
    stop: async () => {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      if (!running()) return;
      child.kill('SIGKILL');
      await exited;
    },
  } satisfies OperatorProcess;
}

/** Reads one sample of the operator's /metrics, by series name and label subset. */
export async function metricValue(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) =>
      line.includes(`${key}="${value}"`),
    );
    if (matches) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Stops one control-plane daemon by its pid file, as a crash or a node reboot would. */
export async function stopDaemon(name: DaemonName): Promise<void> {
  const result = await stopByPidFile(pidFile(loadClusterConfig(), name), 15_000);
  if (result === 'not-running') throw new Error(`${name} was not running`);
}

/**
 * Starts every daemon that is not running with the cluster's own `up`, each after the one it
 * depends on is healthy, and waits for their health endpoints.
 */
export async function startStoppedDaemons(): Promise<void> {
  await up(loadClusterConfig(), { log: () => undefined });
}

/** Stops `names` in order, keeps them down for `downMs` in total, and starts them again. */
export async function restartDaemons(names: DaemonName[], downMs: number): Promise<number> {
  const stopped = Date.now();
  for (const name of names) await stopDaemon(name);
  const remaining = downMs - (Date.now() - stopped);
  if (remaining > 0) await sleep(remaining);
  await startStoppedDaemons();
  return Date.now() - stopped;
}
