// Runs the real helm binary for the chart tests, from the local cluster's build cache and
// against the cluster's kubeconfig. kubectl and waiting come from ./support.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { binaryPath, loadComponents } from '../cluster/components.ts';
import { loadClusterConfig, repoRoot } from '../cluster/config.ts';
import { kubeconfigPath, kubectl } from './support/index.ts';

export const chartDir = path.join(repoRoot, 'charts', 'modelwarden');
export const fullValuesFile = path.join(chartDir, 'ci', 'full-values.yaml');

const clusterConfig = loadClusterConfig();
const helmComponent = loadComponents().find((component) => component.name === 'helm');
if (!helmComponent) throw new Error('test/cluster/components.ts defines no helm component');

/** The helm binary that `npm run cluster -- up` builds. */
export const helmBinary = binaryPath(clusterConfig.binDir, helmComponent);
export const { nodeName, stateDir } = clusterConfig;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its exit code and output; it never throws on exit. */
export function run(
  command: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          KUBECONFIG: kubeconfigPath(),
          HELM_CACHE_HOME: helmHome('cache'),
          HELM_CONFIG_HOME: helmHome('config'),
          HELM_DATA_HOME: helmHome('data'),
        },
        timeout: options.timeoutMs ?? 240_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${command} ${args.join(' ')} failed to run: ${error.message}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

// Keeps helm's cache, config and data inside the cluster's state folder, not in $HOME.
function helmHome(kind: string): string {
  return path.join(clusterConfig.stateDir, 'helm', kind);
}

/** Runs a command and throws with its output when it exits non-zero. */
export async function runOk(
  command: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${path.basename(command)} ${args.join(' ')} exited with ${result.code}:\n` +
        `${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

export function helm(args: string[], options?: { timeoutMs?: number }): Promise<CommandResult> {
  return run(helmBinary, args, options);
}
/** Runs `kubectl get ... -o json` and returns the parsed object. */
export async function kubectlJson<T>(args: string[]): Promise<T> {
  const { stdout } = await kubectl(['get', ...args, '-o', 'json']);
  return JSON.parse(stdout) as T;
}

/** A rendered Kubernetes object, as far as the tests read it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Renders the chart with `helm template` and parses every object it prints. */
export async function renderChart(args: string[] = []): Promise<Manifest[]> {
  const output = await runOk(helmBinary, ['template', 'render', chartDir, ...args]);
  return parseAllDocuments(output)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

/** Returns the one object of a kind (and name, if given), failing the test when it is missing. */
export function findManifest(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter(
    (manifest) => manifest.kind === kind && (name === undefined || manifest.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, rendered ${found.length}`);
  }
  return found[0] as Manifest;
}
