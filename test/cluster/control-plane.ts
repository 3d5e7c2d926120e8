// `up`, `down` and `status` of the local cluster.
import * as k8s from '@kubernetes/client-node';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { bootstrapCluster } from './bootstrap.ts';
import { buildComponents, formatDuration, type BinaryPaths, type Log } from './build.ts';
import { statePaths, type ClusterConfig } from './config.ts';
import {
  daemonLogFile,
  daemonNames,
  daemonSpecs,
  pidFile,
  type DaemonName,
  type DaemonSpec,
} from './daemons.ts';
import { checkHealth, waitUntil } from './health.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { ensurePki, type ClusterPki } from './pki.ts';
import { withLock } from './lock.ts';
import { isAlive, readRecord, startDaemon, stopByPidFile } from './processes.ts';

function tailOfFile(file: string, lines = 25): string {
  if (!existsSync(file)) {
    return '';
  }
  const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return `Last lines of ${file}:\n${text}`;
}

/** Daemons whose pid file names a live process. */
export function runningDaemons(config: ClusterConfig): Set<DaemonName> {
  const running = new Set<DaemonName>();
  for (const name of daemonNames) {
    const record = readRecord(pidFile(config, name));
    if (record && isAlive(record)) {
      running.add(name);
    }
  }
  return running;
}

export function isClusterUp(config: ClusterConfig): boolean {
  return runningDaemons(config).size === daemonNames.length;
}

function writeKubeconfigs(config: ClusterConfig, pki: ClusterPki): void {
  const paths = statePaths(config);
  const server = `https://${config.host}:${config.ports.apiserver}`;
  const common = { server, caFile: pki.ca.cert };
  writeKubeconfig({ ...common, file: paths.kubeconfig, user: 'admin', credentials: pki.admin });
  const components: [DaemonName, keyof ClusterPki][] = [
    ['kube-controller-manager', 'controllerManager'],
    ['kube-scheduler', 'scheduler'],
    ['test-node', 'node'],
  ];
  for (const [name, role] of components) {
    const credentials = pki[role];
    if (typeof credentials === 'string') {
      throw new Error(`PKI role ${role} is a key, not a certificate`);
    }
    writeKubeconfig({ ...common, file: paths.componentKubeconfig(name), user: name, credentials });
  }
}

function adminClient(config: ClusterConfig): k8s.KubeConfig {
  const kubeconfig = new k8s.KubeConfig();
  kubeconfig.loadFromFile(statePaths(config).kubeconfig);
  return kubeconfig;
}

async function startAndWait(config: ClusterConfig, spec: DaemonSpec, log: Log): Promise<void> {
  const logFile = daemonLogFile(config, spec.name);
  const started = Date.now();
  const record = startDaemon({
    command: spec.command,
    args: spec.args,
    env: spec.env,
    cwd: config.repoRoot,
    logFile,
    pidFile: pidFile(config, spec.name),
  });
  log(`${spec.name}: started as pid ${record.pid}, log in ${logFile}`);
  await waitUntil(
    `${spec.name} at ${spec.health.url}`,
    async () => (await checkHealth(spec.health)).ok,
    {
      timeoutMs: spec.startTimeoutMs,
      stillRunning: () => isAlive(record),
      onFailure: () => tailOfFile(logFile),
    },
  );
  log(`${spec.name}: healthy after ${formatDuration((Date.now() - started) / 1000)}`);
}

function isNodeSchedulable(node: k8s.V1Node): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const notReadyTaint = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'));
  return ready?.status === 'True' && !notReadyTaint;
}

async function waitForNode(config: ClusterConfig): Promise<void> {
  const core = adminClient(config).makeApiClient(k8s.CoreV1Api);
  await waitUntil(
    `node ${config.nodeName} to be Ready without taints`,
    async () => {
      try {
        return isNodeSchedulable(await core.readNode({ name: config.nodeName }));
      } catch {
        // Not registered yet.
        return false;
      }
    },
    { timeoutMs: 60_000, onFailure: () => tailOfFile(daemonLogFile(config, 'test-node')) },
  );
}

export interface UpOptions {
  log: Log;
}

export interface UpResult {
  kubeconfig: string;
  /** True when every daemon was running before, so that `up` did nothing. */
  alreadyUp: boolean;
}

/**
 * Builds missing binaries and starts every daemon that is not running, each after the one it
 * depends on is healthy. A cluster that is fully up is left alone. Concurrent calls for one state
 * folder, from any process, run one after another.
 */
export async function up(config: ClusterConfig, options: UpOptions): Promise<UpResult> {
  return withLock(statePaths(config).run, () => upLocked(config, options));
}

async function upLocked(config: ClusterConfig, options: UpOptions): Promise<UpResult> {
  const { log } = options;
  const paths = statePaths(config);
  if (isClusterUp(config)) {
    log(`already up; nothing to do`);
    printUsage(config, log);
    return { kubeconfig: paths.kubeconfig, alreadyUp: true };
  }
  const started = Date.now();
  // helm is built too, although the cluster does not run it, because the chart tests use it.
  const binaries = (await buildComponents({ binDir: config.binDir, log })) as BinaryPaths;
  for (const dir of [paths.run, paths.logs, paths.pods, paths.persistentVolumes]) {
    mkdirSync(dir, { recursive: true });
  }
  const pki = ensurePki({
    dir: paths.pki,
    nodeName: config.nodeName,
    kubernetesServiceIp: config.kubernetesServiceIp,
    host: config.host,
  });
  writeKubeconfigs(config, pki);

  const running = runningDaemons(config);
  for (const spec of daemonSpecs(config, binaries, pki)) {
    if (running.has(spec.name)) {
      log(`${spec.name}: already running`);
      continue;
    }
    if (spec.name === 'test-node') {
      await bootstrapCluster(adminClient(config), config.nodeName);
    }
    await startAndWait(config, spec, log);
  }
  await waitForNode(config);
  log(`up in ${formatDuration((Date.now() - started) / 1000)}`);
  printUsage(config, log);
  return { kubeconfig: paths.kubeconfig, alreadyUp: false };
}

function printUsage(config: ClusterConfig, log: Log): void {
  const kubeconfig = statePaths(config).kubeconfig;
  log(`kubeconfig: ${kubeconfig}`);
  log(`use it with:  export KUBECONFIG=${kubeconfig}  and then  kubectl get nodes`);
}

/** Stops the node, any container process it left, and the control plane, newest first. */
export async function down(config: ClusterConfig, log: Log): Promise<void> {
  await withLock(statePaths(config).run, () => stopAll(config, log));
}

async function stopAll(config: ClusterConfig, log: Log): Promise<void> {
  rmSync(statePaths(config).startedByTests, { force: true });
  for (const name of [...daemonNames].reverse()) {
    // The node needs time to stop its containers with their grace periods.
    const grace = name === 'test-node' ? 45_000 : 15_000;
    const result = await stopByPidFile(pidFile(config, name), grace);
    log(`${name}: ${result}`);
    if (name === 'test-node') {
      await sweepContainerProcesses(config, log);
    }
  }
}

/** Kills container processes whose records outlived the node, for example after a crash. */
export async function sweepContainerProcesses(config: ClusterConfig, log: Log): Promise<void> {
  const dir = statePaths(config).containerRecords;
  if (!existsSync(dir)) {
    return;
  }
  for (const file of readdirSync(dir)) {
    const result = await stopByPidFile(path.join(dir, file), 2_000);
    if (result !== 'not-running') {
      log(`container process ${file}: ${result}`);
    }
  }
}

/** Prints one line per daemon: whether its process runs and what its health endpoint returns. */
export async function status(config: ClusterConfig, log: Log): Promise<boolean> {
  const paths = statePaths(config);
  const pkiDir = paths.pki;
  const caFile = path.join(pkiDir, 'ca.crt');
  const admin = { cert: path.join(pkiDir, 'admin.crt'), key: path.join(pkiDir, 'admin.key') };
  const healthUrls: Record<DaemonName, string> = {
    etcd: `http://${config.host}:${config.ports.etcdClient}/health`,
    'kube-apiserver': `https://${config.host}:${config.ports.apiserver}/readyz`,
    'kube-controller-manager': `https://${config.host}:${config.ports.controllerManager}/healthz`,
    'kube-scheduler': `https://${config.host}:${config.ports.scheduler}/healthz`,
    'test-node': `https://${config.host}:${config.ports.kubelet}/healthz`,
  };
  let allHealthy = true;
  for (const name of daemonNames) {
    const record = readRecord(pidFile(config, name));
    const alive = record !== undefined && isAlive(record);
    let health = '-';
    if (alive) {
      const result = await checkHealth({ url: healthUrls[name], caFile, client: admin });
      health = result.ok ? 'healthy' : `unhealthy (${result.detail.slice(0, 120)})`;
      allHealthy &&= result.ok;
    } else {
      allHealthy = false;
    }
    const state = alive ? `running, pid ${record.pid}` : 'stopped';
    log(`${name.padEnd(24)} ${state.padEnd(20)} ${health}`);
  }
  log(`state folder: ${config.stateDir}`);
  if (allHealthy) {
    printUsage(config, log);
  }
  return allHealthy;
}
