// The operator's probe loop without the apiserver: ModelDeployments with monitoring, each with
// one Ready pod on a fake target, run through the operator's work queue, probe step and evaluate
// step in the order reconciles run them, at the monitoring interval. The parent process measures
// this process's CPU time from /proc. Kubernetes reads and writes are left out: the status a
// probe computes becomes the next probe's stored status in memory.
//
//   node operator/bench/probe-loop.ts --count 1000 --network 127.201 --port 8080 --interval 15s
//
// Prints `started` once every key is scheduled and a JSON summary line on SIGTERM, then exits.
import type { V1Pod } from '@kubernetes/client-node';
import pino from 'pino';
import { parseArgs } from 'node:util';
import type { ModelDeployment } from '../src/api/model-deployment.ts';
import { servingSelectorLabels } from '../src/controller/children/deployment.ts';
import { initializeConditions } from '../src/controller/conditions.ts';
import type { ReconcileContext } from '../src/controller/context.ts';
import { EventRecorder } from '../src/controller/events.ts';
import { WorkQueue } from '../src/controller/queue.ts';
import { Reason } from '../src/controller/reasons.ts';
import { finalizeStatus } from '../src/controller/steps/write-status.ts';
import { runEvaluate } from '../src/evaluation/run.ts';
import { OperatorMetrics } from '../src/http/metrics.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.ts';
import { probeOf, runProbe } from '../src/probing/run.ts';
import { systemClock } from '../src/util/clock.ts';
import { DEFAULT_CONCURRENCY } from '../src/config.ts';
import { parseDuration } from '../src/util/duration.ts';
import { benchModelDeployment, benchMonitoring, targetAddress, TARGET_OPTIONS } from './objects.ts';

const NAMESPACE = 'bench-probe';

interface Entry {
  resource: ModelDeployment;
  pod: V1Pod;
  memory: Map<string, unknown>;
}

/** A Ready serving pod of `resource` at `ip`, labelled as the operator's Deployment labels it. */
function readyPod(resource: ModelDeployment, ip: string): V1Pod {
  const name = resource.metadata.name ?? '';
  return {
    metadata: {
      name: `${name}-5d9f7c-abcde`,
      namespace: NAMESPACE,
      uid: `uid-${name}`,
      labels: servingSelectorLabels(resource),
    },
    status: {
      podIP: ip,
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

/** The parts of a reconcile context that every ModelDeployment shares. */
type Shared = Pick<ReconcileContext, 'log' | 'kube' | 'events' | 'metrics'>;

/** Builds the context a reconcile of `entry` would start its steps with. */
function reconcileContext(key: string, entry: Entry, shared: Shared): ReconcileContext {
  const now = systemClock.now();
  const status = structuredClone(entry.resource.status ?? {});
  status.conditions ??= [];
  initializeConditions(status.conditions, 1, now, Reason.Reconciling);
  return {
    ...shared,
    key,
    clock: systemClock,
    now,
    cache: {
      modelDeployment: () => entry.resource,
      pods: () => [entry.pod],
      jobs: () => [],
      deployment: () => undefined,
      service: () => undefined,
    },
    options: { images: { default: 'modelwarden/model-server:0.1.0', byFormat: {} } },
    memory: entry.memory,
    resource: entry.resource,
    status,
    pendingEvents: [],
    pods: [entry.pod],
  };
}

/** Returns the p-quantile (0-1) of sorted `values`, nearest rank. */
function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...TARGET_OPTIONS,
      interval: { type: 'string', default: '15s' },
      concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
    },
  });
  const count = Number(values.count);
  const concurrency = Number(values.concurrency);
  const intervalMs = parseDuration(values.interval);
  const log = pino({ level: 'warn' }, pino.destination(2));
  const metrics = new OperatorMetrics();
  // The probe and evaluate steps never call the apiserver; the client only completes the context.
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'unused', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'unused' }],
    contexts: [{ name: 'unused', cluster: 'unused', user: 'unused' }],
    currentContext: 'unused',
  });
  const kube = new KubeClient(kubeConfig);
  const events = new EventRecorder({
    client: kube,
    log,
    metrics,
    clock: systemClock,
    instance: 'bench',
  });

  const entries = new Map<string, Entry>();
  for (let index = 0; index < count; index++) {
    const resource = benchModelDeployment(NAMESPACE, index);
    resource.metadata.uid = `uid-${index}`;
    resource.metadata.generation = 1;
    resource.spec.replicas = 1;
    resource.spec.server = { port: Number(values.port) };
    resource.spec.monitoring = benchMonitoring(values.interval);
    const name = resource.metadata.name ?? '';
    const pod = readyPod(resource, targetAddress(values.network, index));
    entries.set(`${NAMESPACE}/${name}`, { resource, pod, memory: new Map() });
  }

  const outcomes = new Map<string, number>();
  const durationsMs: number[] = [];
  let eventsQueued = 0;

  const shared: Shared = { log, kube, events, metrics };
  const probeOnce = async (key: string, entry: Entry): Promise<number | undefined> => {
    const started = performance.now();
    const context = reconcileContext(key, entry, shared);
    await runProbe(context);
    await runEvaluate(context);
    finalizeStatus(context);
    // The stored status after a write, as the next reconcile would fetch it.
    entry.resource = { ...entry.resource, status: JSON.parse(JSON.stringify(context.status)) };
    eventsQueued += context.pendingEvents.length;
    const run = probeOf(context);
    if (run) {
      const outcome = 'error' in run.input ? 'failed' : 'success';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      durationsMs.push(performance.now() - started);
    }
    return context.requeueAfterMs;
  };

  const queue = new WorkQueue();
  const work = async () => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      const entry = entries.get(key);
      if (entry) {
        const afterMs = await probeOnce(key, entry);
        queue.addAfter(key, afterMs ?? intervalMs);
      }
      queue.done(key);
    }
  };
  // The first probes are spread over one interval, as creation spreads them in a cluster.
  [...entries.keys()].forEach((key, index) => queue.addAfter(key, (index * intervalMs) / count));
  const workers = Array.from({ length: concurrency }, work);
  const keepAlive = setInterval(() => undefined, 60_000);
  console.log('started');

  process.once('SIGTERM', () => {
    queue.shutDown();
    clearInterval(keepAlive);
    void Promise.all(workers).then(() => {
      (globalThis as { gc?: () => void }).gc?.();
      const sorted = durationsMs.sort((a, b) => a - b);
      const summary = {
        probes: durationsMs.length,
        outcomes: Object.fromEntries(outcomes),
        eventsQueued,
        probeMsP50: quantile(sorted, 0.5),
        probeMsP99: quantile(sorted, 0.99),
        memory: process.memoryUsage(),
      };
      console.log(JSON.stringify(summary));
      process.exit(0);
    });
  });
}

main().catch((error: unknown) => {
  console.error(`probe-loop failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
