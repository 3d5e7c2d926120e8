// Helpers for the operator's integration tests on top of ./support: the operator's own API
// client, the CRD, and operator processes started from the checkout against the local cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { KubeClient, loadKubeConfig, RESOURCES } from '../../operator/src/kube/client.ts';
import { renderCrd } from '../../operator/src/api/crd.ts';
import { kubeconfigPath, kubectl } from './support/index.ts';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const nodeBinary = path.join(repoRoot, 'node_modules', '.bin', 'node');

export function apiClient(): KubeClient {
  return new KubeClient(loadKubeConfig(kubeconfigPath()));
}

/** Installs or updates the CRD and waits until the apiserver serves it. */
export async function installCrd(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: renderCrd() });
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/modeldeployments.modelwarden.io',
  ]);
}

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly identity: string;
  /** Log lines so far, parsed from pino's JSON. */
  logs(): Record<string, unknown>[];
  /** Base URL of the operator's HTTP server, once it has logged its address. */
  url(): string | undefined;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
  /** Sends SIGKILL, as when the leader's node dies. */
  kill(): Promise<void>;
}

/** Starts `node operator/src/main.ts` against the local cluster with extra flags. */
export function startOperator(identity: string, args: string[]): OperatorProcess {
  const child = spawn(
    nodeBinary,
    [
      'operator/src/main.ts',
      '--kubeconfig',
      kubeconfigPath(),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--leader-election-identity',
      identity,
      ...args,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
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
  });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    identity,
    logs: () => lines,
    url: () => {
      const started = lines.find((line) => line.msg === 'operator started');
      const address = (started?.address as { address: string; port: number }[] | undefined)?.[0];
      return address ? `http://${address.address}:${address.port}` : undefined;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export const MODEL_DEPLOYMENTS = RESOURCES.modelDeployments;
