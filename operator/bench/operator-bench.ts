// Benchmark of the operator against a baseline measured in the same run, on the local cluster:
//
// 1. probe loop: the operator's probe and evaluate steps against fake scrape targets, CPU from
//    /proc of that process (no apiserver involved);
// 2. baseline: a plain loop that creates each ModelDeployment's Deployment and Service with the
//    operator's own builders;
// 3. ours: the operator converging the same number of ModelDeployments (replicas 0, no
//    monitoring, so no pod runs), then its RSS, then the apiserver's request counts over an idle
//    period of several resync intervals.
//
//   npm run bench:operator -- [--count 1000] [--resync 20s] [--idle-intervals 3]
//     [--probe-targets 1000] [--probe-interval 15s] [--probe-seconds 60] [--skip-probe]
//     [--skip-cluster] [--cpu-prof DIR] [--operator-flag=--concurrency=4 ...]
//     [--operator-node-flag=--max-semi-space-size=1 ...] [--node-options STRING]
//
// The operator runs with the NODE_OPTIONS of its image (Dockerfile.operator); --node-options
// replaces them, and --node-options= runs it with none.
//
// It starts the local cluster when it is not running and stops it again at the end; a running
// cluster is left running. The namespaces it creates are deleted at the end.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { parseDuration } from '../src/util/duration.ts';
import { loadClusterConfig, repoRoot } from '../../test/cluster/config.ts';
import { down, up } from '../../test/cluster/control-plane.ts';
import { describeStats, diffStats, scrapeRequestStats, sumCounts } from './api-requests.ts';
import { startNode, stopChild } from './child-process.ts';
import {
  ConvergenceWatch,
  createChildrenDirectly,
  createModelDeployments,
  createNamespace,
  deleteNamespace,
  installCrd,
  scrapeOperator,
  imageNodeOptions,
  startOperator,
  type OperatorProcess,
} from './cluster-phase.ts';
import { measureCpu, readMemory, type CpuReading, type MemoryReading } from './process-stats.ts';

const BASELINE_NAMESPACES = [
  'modelwarden-bench-baseline-1',
  'modelwarden-bench-baseline-2',
] as const;
const OPERATOR_NAMESPACE = 'modelwarden-bench';
/** Resources the operator reads or writes for a ModelDeployment, as apiserver_request_total keys. */
const OPERATOR_RESOURCES = [
  'modelwarden.io/modeldeployments',
  'modelwarden.io/modeldeployments/status',
  'apps/deployments',
  'core/services',
  'core/pods',
  'batch/jobs',
  'events.k8s.io/events',
];
const MIB = 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    resync: { type: 'string', default: '20s' },
    'idle-intervals': { type: 'string', default: '3' },
    'probe-targets': { type: 'string', default: '1000' },
    'probe-interval': { type: 'string', default: '15s' },
    'probe-seconds': { type: 'string', default: '60' },
    'skip-probe': { type: 'boolean', default: false },
    'skip-cluster': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'operator-flag': { type: 'string', multiple: true, default: [] },
    'operator-node-flag': { type: 'string', multiple: true, default: [] },
    'node-options': { type: 'string' },
    'timeout-minutes': { type: 'string', default: '15' },
  },
});

function positiveInteger(flag: string, max: number): number {
  const value = Number(flags[flag as keyof typeof flags]);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(
      `--${flag} ${String(flags[flag as keyof typeof flags])} is invalid: give an integer from 1 to ${max}`,
    );
  }
  return value;
}

const count = positiveInteger('count', 5000);
const idleIntervals = positiveInteger('idle-intervals', 20);
const probeTargets = positiveInteger('probe-targets', 10_000);
const probeSeconds = positiveInteger('probe-seconds', 600);
const timeoutMs = positiveInteger('timeout-minutes', 60) * 60_000;
const resyncMs = parseDuration(flags.resync);
/** The operator image's NODE_OPTIONS unless --node-options is given ('' for none). */
const nodeOptions = flags['node-options'] ?? imageNodeOptions(repoRoot);
const probeIntervalMs = parseDuration(flags['probe-interval']);

const log = (line: string) => console.log(`[bench] ${line}`);
const fmt = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface ProbeResult {
  cpu: CpuReading;
  targetsCpu: CpuReading;
  summary: {
    probes: number;
    outcomes: Record<string, number>;
    probeMsP50: number;
    probeMsP99: number;
  };
  peakRssBytes: number;
}

/** Runs the probe loop against fake targets and measures its CPU over a fixed wall time. */
async function benchProbeLoop(): Promise<ProbeResult> {
  const network = '127.201';
  const port = '8080';
  log(
    `probe loop: ${probeTargets} fake targets on ${network}.0.0/16, interval ${flags['probe-interval']}`,
  );
  const targets = await startNode(
    [
      path.join(repoRoot, 'operator/bench/fake-targets.ts'),
      `--count=${probeTargets}`,
      `--network=${network}`,
      `--port=${port}`,
    ],
    /^listening /,
    60_000,
  );
  try {
    // The probe loop runs with the operator image's V8 settings, as command-line flags.
    const loop = await startNode(
      [
        ...nodeOptions.split(/\s+/).filter(Boolean),
        path.join(repoRoot, 'operator/bench/probe-loop.ts'),
        `--count=${probeTargets}`,
        `--network=${network}`,
        `--port=${port}`,
        `--interval=${flags['probe-interval']}`,
      ],
      /^started$/,
      60_000,
    );
    // The first interval only sets each pod's baseline scrape, so it is left out.
    await sleep(probeIntervalMs);
    log(`probe loop: measuring CPU for ${probeSeconds} s`);
    const [cpu, targetsCpu] = await Promise.all([
      measureCpu(loop.pid, probeSeconds * 1000),
      measureCpu(targets.pid, probeSeconds * 1000),
    ]);
    const peakRssBytes = readMemory(loop.pid).peakRssBytes;
    await stopChild(loop);
    const summaryLine = loop.lines.find((line) => line.startsWith('{'));
    if (!summaryLine) throw new Error('the probe loop printed no summary');
    return {
      cpu,
      targetsCpu,
      summary: JSON.parse(summaryLine) as ProbeResult['summary'],
      peakRssBytes,
    };
  } finally {
    await stopChild(targets);
  }
}

interface ClusterResult {
  /** Seconds of the baseline run before and of the one after the operator's run. */
  baselineSeconds: [number, number];
  createSeconds: number;
  convergeSeconds: number;
  memoryAtConvergence: OperatorMemory;
  memoryAfterIdle: OperatorMemory;
  idleSeconds: number;
  idleReads: number;
  idleWrites: number;
  idleByVerb: Map<string, number>;
  idleReconciles: number;
  convergeReconciles: number;
  convergeEvents: number;
}

/** RSS from /proc and the V8 heap from the operator's own metrics. */
interface OperatorMemory extends MemoryReading {
  heapUsedBytes: number;
  heapTotalBytes: number;
}

async function operatorMemory(operator: OperatorProcess): Promise<OperatorMemory> {
  const metrics = await scrapeOperator(operator);
  return {
    ...readMemory(operator.pid),
    heapUsedBytes: metrics.get('modelwarden_operator_nodejs_heap_size_used_bytes') ?? 0,
    heapTotalBytes: metrics.get('modelwarden_operator_nodejs_heap_size_total_bytes') ?? 0,
  };
}

/** Sums the samples of one operator metric whose key starts with `prefix` and ends with `suffix`. */
function sumMetric(metrics: Map<string, number>, prefix: string, suffix = ''): number {
  let total = 0;
  for (const [key, value] of metrics) {
    if (key.startsWith(prefix) && key.endsWith(suffix)) total += value;
  }
  return total;
}

const reconciles = (metrics: Map<string, number>) =>
  sumMetric(metrics, 'modelwarden_operator_reconcile_total{');
const eventsSent = (metrics: Map<string, number>) =>
  sumMetric(metrics, 'modelwarden_operator_events_total{', ',sent}');

/**
 * Times the baseline in its own namespace: owner ModelDeployments first (not timed), then the
 * children. The namespace is deleted afterwards, so that the deployment controller does not
 * work through its Deployments while the operator runs.
 */
async function runBaseline(kube: KubeClient, namespace: string): Promise<number> {
  await createNamespace(kube, namespace, 300_000);
  log(`baseline: creating ${count} owner ModelDeployments in ${namespace} (not timed)`);
  const owners = await createModelDeployments(kube, namespace, count);
  log(`baseline: creating ${count} Deployments and ${count} Services directly`);
  const before = await scrapeRequestStats(kube);
  const seconds = await createChildrenDirectly(kube, owners);
  const stats = diffStats(before, await scrapeRequestStats(kube));
  for (const line of describeStats(stats, OPERATOR_RESOURCES)) log(`baseline: ${line}`);
  log(`baseline: ${fmt(seconds, 1)} s`);
  if (!(await deleteNamespace(kube, namespace, 300_000))) {
    throw new Error(`namespace ${namespace} was not deleted within 300 s`);
  }
  return seconds;
}

async function benchCluster(
  kube: KubeClient,
  kubeconfig: string,
  logDir: string,
): Promise<ClusterResult> {
  await installCrd(kube);
  // The operator's run sits between two baseline runs, because the load of the shared machine
  // changes over minutes and one baseline alone may catch a quiet or a busy spell.
  const before = await runBaseline(kube, BASELINE_NAMESPACES[0]);
  const ours = await runOperator(kube, kubeconfig, logDir);
  const after = await runBaseline(kube, BASELINE_NAMESPACES[1]);
  return { baselineSeconds: [before, after], ...ours };
}

async function runOperator(
  kube: KubeClient,
  kubeconfig: string,
  logDir: string,
): Promise<Omit<ClusterResult, 'baselineSeconds'>> {
  await createNamespace(kube, OPERATOR_NAMESPACE, 300_000);
  const nodeFlags = [
    ...flags['operator-node-flag'],
    ...(flags['cpu-prof']
      ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(flags['cpu-prof'])}`]
      : []),
  ];
  const operator = await startOperator(repoRoot, {
    kubeconfig,
    namespace: OPERATOR_NAMESPACE,
    resync: flags.resync,
    logDir,
    nodeFlags,
    operatorFlags: flags['operator-flag'],
    nodeOptions,
  });
  log(`operator: pid ${operator.pid}, NODE_OPTIONS '${nodeOptions}', log in ${operator.logFile}`);
  const watch = new ConvergenceWatch(kube, OPERATOR_NAMESPACE);
  try {
    await watch.start();
    const metricsBefore = await scrapeOperator(operator);
    log(`ours: creating ${count} ModelDeployments in ${OPERATOR_NAMESPACE}, the operator running`);
    const apiBefore = await scrapeRequestStats(kube);
    const started = performance.now();
    await createModelDeployments(kube, OPERATOR_NAMESPACE, count);
    const createSeconds = (performance.now() - started) / 1000;
    const converged = await watch.waitForConverged(count, timeoutMs);
    const convergeSeconds = (performance.now() - started) / 1000;
    if (!converged) {
      throw new Error(
        `only ${watch.converged()} of ${count} ModelDeployments converged within ${timeoutMs / 60_000} min; see ${operator.logFile}`,
      );
    }
    const memoryAtConvergence = await operatorMemory(operator);
    const convergeStats = diffStats(apiBefore, await scrapeRequestStats(kube));
    for (const line of describeStats(convergeStats, OPERATOR_RESOURCES)) {
      log(`until converged: ${line}`);
    }
    const metricsAfter = await scrapeOperator(operator);
    log(`ours: ${fmt(convergeSeconds, 1)} s (creates done after ${fmt(createSeconds, 1)} s)`);

    await settle(watch);
    const metricsSettled = await scrapeOperator(operator);
    const settleReconciles = reconciles(metricsSettled) - reconciles(metricsAfter);
    const memorySettled = await operatorMemory(operator);
    log(
      `idle: ${fmt(settleReconciles)} reconciles while settling; RSS ${fmt(memorySettled.rssBytes / MIB, 1)} MiB`,
    );
    log(`idle: counting for ${idleIntervals} resync intervals`);
    const idle = await measureIdle(kube, operator);
    for (const type of ['Available', 'Progressing']) {
      const counts = [...watch.conditionCounts(type)].map(([key, value]) => `${key} ${value}`);
      log(`after idle: ${type} ${counts.join(', ')}`);
    }
    return {
      createSeconds,
      convergeSeconds,
      memoryAtConvergence,
      memoryAfterIdle: await operatorMemory(operator),
      convergeReconciles: reconciles(metricsAfter) - reconciles(metricsBefore),
      convergeEvents: eventsSent(metricsAfter) - eventsSent(metricsBefore),
      ...idle,
    };
  } finally {
    await watch.stop();
    await stopChild(operator);
    if (!(await deleteNamespace(kube, OPERATOR_NAMESPACE, 300_000))) {
      log(`namespace ${OPERATOR_NAMESPACE} is still terminating; it goes on in the background`);
    }
  }
}

/**
 * Waits for steady state: every rollout complete and one more resync interval passed. The
 * deployment controller reports a rollout complete only after it created the ReplicaSet, at its
 * client's rate limit, so this takes minutes for 1000 Deployments.
 */
async function settle(watch: ConvergenceWatch): Promise<void> {
  log('idle: waiting until every rollout is complete');
  const started = performance.now();
  const settled = await watch.waitForCondition(
    'Progressing',
    'False/RolloutComplete',
    count,
    timeoutMs,
  );
  if (!settled) throw new Error(`rollouts did not complete within ${timeoutMs / 60_000} min`);
  log(`idle: rollouts complete after ${fmt((performance.now() - started) / 1000, 1)} s`);
  await sleep(resyncMs + 5_000);
}

async function measureIdle(kube: KubeClient, operator: OperatorProcess) {
  const apiBefore = await scrapeRequestStats(kube);
  const operatorBefore = await scrapeOperator(operator);
  const started = performance.now();
  await sleep(idleIntervals * resyncMs);
  const apiAfter = await scrapeRequestStats(kube);
  const operatorAfter = await scrapeOperator(operator);
  const idleSeconds = (performance.now() - started) / 1000;
  const sums = sumCounts(diffStats(apiBefore, apiAfter), OPERATOR_RESOURCES);
  return {
    idleSeconds,
    idleReads: sums.reads,
    idleWrites: sums.writes,
    idleByVerb: sums.byVerb,
    idleReconciles: reconciles(operatorAfter) - reconciles(operatorBefore),
  };
}

function memoryRow(label: string, memory: OperatorMemory): string[] {
  const peakMiB = memory.peakRssBytes / MIB;
  const heap = `V8 heap ${fmt(memory.heapUsedBytes / MIB, 1)} MiB used of ${fmt(memory.heapTotalBytes / MIB, 1)} MiB`;
  return [
    label,
    `${fmt(memory.rssBytes / MIB, 1)} MiB; ${fmt(peakMiB, 1)} MiB`,
    `${heap}; peak ${fmt(peakMiB / 256, 2)} of 256 MiB`,
    peakMiB <= 256 ? 'met (at most 256 MiB)' : 'missed (at most 256 MiB)',
  ];
}

function clusterRows(cluster: ClusterResult): string[][] {
  const perObjectPerInterval = (value: number) => value / count / idleIntervals;
  const [before, after] = cluster.baselineSeconds;
  const baseline = (before + after) / 2;
  const ratio = cluster.convergeSeconds / baseline;
  return [
    [
      `baseline: ${count} Deployments + ${count} Services by a plain create loop, mean of the runs before and after ours`,
      `${fmt(baseline, 1)} s`,
      `${fmt(before, 1)} s before, ${fmt(after, 1)} s after`,
      '',
    ],
    [
      `ours: ${count} ModelDeployments created until observedGeneration is current and children exist`,
      `${fmt(cluster.convergeSeconds, 1)} s`,
      `${fmt(ratio, 2)}x baseline (${fmt(cluster.convergeSeconds / Math.max(before, after), 2)}x to ${fmt(cluster.convergeSeconds / Math.min(before, after), 2)}x of either run)`,
      ratio <= 2 ? 'met (at most 2x)' : 'missed (at most 2x)',
    ],
    memoryRow(`operator RSS at ${count} (VmRSS; VmHWM peak)`, cluster.memoryAtConvergence),
    memoryRow(
      'operator RSS after settling and the idle period (VmRSS; VmHWM peak)',
      cluster.memoryAfterIdle,
    ),
    [
      `API writes per ModelDeployment per resync interval (${flags.resync}), idle`,
      fmt(perObjectPerInterval(cluster.idleWrites), 3),
      `${fmt(cluster.idleWrites)} writes in ${fmt(cluster.idleSeconds)} s`,
      cluster.idleWrites === 0 ? 'met (zero)' : 'missed (zero)',
    ],
    [
      `API reads per ModelDeployment per resync interval, idle`,
      fmt(perObjectPerInterval(cluster.idleReads), 3),
      [...cluster.idleByVerb].map(([verb, value]) => `${verb} ${fmt(value)}`).join(', ') || 'none',
      '',
    ],
    [
      'reconciles per ModelDeployment per resync interval, idle',
      fmt(perObjectPerInterval(cluster.idleReconciles), 2),
      `${fmt(cluster.convergeReconciles)} reconciles and ${fmt(cluster.convergeEvents)} Events until converged`,
      '',
    ],
  ];
}

/** A probe loop whose scrapes failed measured the wrong thing, so it gets no verdict. */
function probeVerdict(probe: ProbeResult): string {
  const failed = probe.summary.probes - (probe.summary.outcomes['success'] ?? 0);
  if (failed > 0) return `invalid: ${failed} probes failed`;
  return probe.cpu.cores < 0.5 ? 'met (under 0.5)' : 'missed (under 0.5)';
}

function probeRows(probe: ProbeResult): string[][] {
  return [
    [
      `probe loop CPU, ${probeTargets} targets every ${flags['probe-interval']}`,
      `${fmt(probe.cpu.cores, 3)} cores`,
      `${fmt(probe.cpu.cpuSeconds, 1)} s CPU in ${fmt(probe.cpu.wallSeconds, 1)} s; fake targets ${fmt(probe.targetsCpu.cores, 3)} cores`,
      probeVerdict(probe),
    ],
    [
      'probe loop: probes, outcomes, time per probe p50 / p99, peak RSS',
      fmt(probe.summary.probes),
      `${JSON.stringify(probe.summary.outcomes)}, ${fmt(probe.summary.probeMsP50, 1)} / ${fmt(probe.summary.probeMsP99, 1)} ms, ${fmt(probe.peakRssBytes / MIB, 1)} MiB`,
      '',
    ],
  ];
}

function printTable(probe: ProbeResult | undefined, cluster: ClusterResult | undefined): void {
  const rows = [...(cluster ? clusterRows(cluster) : []), ...(probe ? probeRows(probe) : [])];
  console.log('');
  console.log('| measurement | value | ratio or detail | target |');
  console.log('| --- | ---: | --- | --- |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

async function main(): Promise<void> {
  const logDir = mkdtempSync(path.join(repoRoot, '.modelwarden', 'bench-operator-'));
  if (flags['cpu-prof']) mkdirSync(path.resolve(flags['cpu-prof']), { recursive: true });
  log(`machine: ${cpus().length} cores, ${fmt(totalmem() / 1024 ** 3)} GiB; logs in ${logDir}`);
  const probe = flags['skip-probe'] ? undefined : await benchProbeLoop();
  const cluster = flags['skip-cluster'] ? undefined : await benchClusterOnce(logDir);
  printTable(probe, cluster);
  log(
    `load average at the end: ${loadavg()
      .map((value) => value.toFixed(1))
      .join(' ')} (1, 5, 15 min)`,
  );
}

/** Runs the cluster part, starting the local cluster first when it is down and stopping it after. */
async function benchClusterOnce(logDir: string): Promise<ClusterResult> {
  const config = loadClusterConfig();
  const { kubeconfig, alreadyUp } = await up(config, { log: (line) => log(`cluster: ${line}`) });
  const kube = new KubeClient(loadKubeConfig(kubeconfig));
  try {
    return await benchCluster(kube, kubeconfig, logDir);
  } finally {
    log('cleaning up: deleting the benchmark namespaces');
    for (const namespace of [OPERATOR_NAMESPACE, ...BASELINE_NAMESPACES]) {
      const gone = await deleteNamespace(kube, namespace, 300_000);
      if (!gone) log(`namespace ${namespace} is still terminating; it goes on in the background`);
    }
    if (!alreadyUp) await down(config, (line) => log(`cluster: ${line}`));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(
      `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
