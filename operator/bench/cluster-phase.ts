// The parts of the operator benchmark that run against the local cluster: the baseline loop that
// creates the children directly, the operator converging the ModelDeployments, and the idle
// period in which the apiserver counts the operator's requests.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { buildCrd } from '../src/api/crd.ts';
import type { ModelDeployment } from '../src/api/model-deployment.ts';
import { buildDeployment, buildService } from '../src/controller/children/deployment.ts';
import { selectModel } from '../src/controller/children/model.ts';
import { isNotFound } from '../src/errors.ts';
import { RESOURCES, resourcePath, type KubeClient, type KubeObject } from '../src/kube/client.ts';
import { Informer } from '../src/kube/informer.ts';
import { parseTextFormat } from '../src/probing/text-format.ts';
import { freePort, type Child } from './child-process.ts';
import { benchModelDeployment } from './objects.ts';

/** The image the operator uses by default; the builders need one, no pod ever starts. */
const IMAGES = { default: 'modelwarden/model-server:0.1.0', byFormat: {} };
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const POLL_MS = 200;

/** Installs the CRD from operator/src/api by server-side apply and waits until it is Established. */
export async function installCrd(kube: KubeClient): Promise<void> {
  const crd = buildCrd() as { metadata: { name: string } };
  const crdPath = `${CRD_PATH}/${crd.metadata.name}`;
  await kube.apply(crdPath, crd, 'modelwarden-bench');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const current = await kube.get<{
      status?: { conditions?: { type: string; status: string }[] };
    }>(crdPath);
    const established = current.status?.conditions?.find((c) => c.type === 'Established');
    if (established?.status === 'True') return;
    await sleep(250);
  }
  throw new Error(`CRD ${crd.metadata.name} did not become Established within 30 s`);
}

/** Creates `namespace`, first waiting (up to `timeoutMs`) for an earlier run's copy to go. */
export async function createNamespace(
  kube: KubeClient,
  namespace: string,
  timeoutMs: number,
): Promise<void> {
  const nsPath = resourcePath({ basePath: '/api/v1', plural: 'namespaces' }, undefined, namespace);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await kube.get(nsPath);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      break;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `namespace ${namespace} from an earlier run still exists after ${timeoutMs / 1000} s; ` +
          `delete it (kubectl delete namespace ${namespace}) and run again`,
      );
    }
    await sleep(1000);
  }
  await kube.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace, labels: { 'app.kubernetes.io/part-of': 'modelwarden-bench' } },
  });
}

/** Deletes `namespace` and waits up to `timeoutMs` for it to be gone; returns whether it went. */
export async function deleteNamespace(
  kube: KubeClient,
  namespace: string,
  timeoutMs: number,
): Promise<boolean> {
  const nsPath = `/api/v1/namespaces/${namespace}`;
  try {
    await kube.delete(nsPath);
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await kube.get(nsPath);
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
    await sleep(1000);
  }
  return false;
}

/** Creates `count` bench ModelDeployments one after another and returns them as stored. */
export async function createModelDeployments(
  kube: KubeClient,
  namespace: string,
  count: number,
): Promise<ModelDeployment[]> {
  const collection = resourcePath(RESOURCES.modelDeployments, namespace);
  const created: ModelDeployment[] = [];
  for (let index = 0; index < count; index++) {
    created.push(
      await kube.create<ModelDeployment>(collection, benchModelDeployment(namespace, index)),
    );
  }
  return created;
}

/**
 * The baseline: creates the Deployment and Service of each ModelDeployment with the operator's
 * own builders, one POST after another, and returns the elapsed seconds.
 */
export async function createChildrenDirectly(
  kube: KubeClient,
  owners: readonly ModelDeployment[],
): Promise<number> {
  const started = performance.now();
  for (const owner of owners) {
    const namespace = owner.metadata.namespace;
    const deployment = buildDeployment(owner, selectModel(owner), { images: IMAGES });
    await kube.create<V1Deployment>(resourcePath(RESOURCES.deployments, namespace), deployment);
    await kube.create<V1Service>(resourcePath(RESOURCES.services, namespace), buildService(owner));
  }
  return (performance.now() - started) / 1000;
}

/** A running operator process, started from operator/src/main.ts. */
export interface OperatorProcess extends Child {
  metricsUrl: string;
  logFile: string;
}

export interface OperatorOptions {
  kubeconfig: string;
  namespace: string;
  resync: string;
  logDir: string;
  /** Extra Node flags, e.g. --cpu-prof. */
  nodeFlags: string[];
  /** Operator flags after the ones above, e.g. --concurrency=4. */
  operatorFlags: string[];
  /** NODE_OPTIONS of the operator process, usually imageNodeOptions(). */
  nodeOptions: string;
}

/**
 * NODE_OPTIONS of the operator image, read from Dockerfile.operator, so that the benchmark runs
 * the operator with the V8 settings it has in production.
 */
export function imageNodeOptions(root: string): string {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile.operator'), 'utf8');
  const match = /^ENV NODE_OPTIONS=(\S+)$/m.exec(dockerfile);
  if (!match?.[1]) {
    throw new Error(
      'Dockerfile.operator has no ENV NODE_OPTIONS=... line; add the one the operator image runs with',
    );
  }
  return match[1];
}

/** Starts the operator on one namespace without leader election and waits for /readyz. */
export async function startOperator(
  root: string,
  options: OperatorOptions,
): Promise<OperatorProcess> {
  const port = await freePort();
  const logFile = path.join(options.logDir, 'operator.log');
  const log = openSync(logFile, 'a');
  const args = [
    ...options.nodeFlags,
    path.join(root, 'operator/src/main.ts'),
    `--kubeconfig=${options.kubeconfig}`,
    `--namespaces=${options.namespace}`,
    '--no-leader-elect',
    '--host=127.0.0.1',
    `--port=${port}`,
    '--log-level=warn',
    `--resync-period=${options.resync}`,
    ...options.operatorFlags,
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', log, log],
    cwd: options.logDir,
    env: { ...process.env, NODE_OPTIONS: options.nodeOptions },
  });
  closeSync(log);

  const pid = child.pid;
  if (pid === undefined) throw new Error('the operator process did not start');
  const operator: OperatorProcess = {
    process: child,
    pid,
    lines: [],
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    logFile,
  };

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`the operator exited with ${child.exitCode}; see ${logFile}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.ok) return operator;
    } catch {
      // Not listening yet.
    }
    await sleep(POLL_MS);
  }
  child.kill('SIGKILL');
  throw new Error(`the operator was not ready within 60 s; see ${logFile}`);
}

/** Sums each operator metric over its label sets, from the operator's /metrics. */
export async function scrapeOperator(operator: OperatorProcess): Promise<Map<string, number>> {
  const response = await fetch(operator.metricsUrl);
  const totals = new Map<string, number>();
  for (const sample of parseTextFormat(await response.text())) {
    const key =
      sample.name === 'modelwarden_operator_reconcile_total' ||
      sample.name === 'modelwarden_operator_status_writes_total' ||
      sample.name === 'modelwarden_operator_events_total'
        ? `${sample.name}{${Object.values(sample.labels).join(',')}}`
        : sample.name;
    totals.set(key, (totals.get(key) ?? 0) + sample.value);
  }
  return totals;
}

/** Watches the ModelDeployments and children of a namespace with the operator's informer. */
export class ConvergenceWatch {
  private readonly informers: {
    modelDeployments: Informer<ModelDeployment>;
    deployments: Informer<KubeObject>;
    services: Informer<KubeObject>;
  };

  constructor(kube: KubeClient, namespace: string) {
    const log = pino({ level: 'warn' }, pino.destination(2));
    const informer = <T extends KubeObject>(type: (typeof RESOURCES)[keyof typeof RESOURCES]) =>
      new Informer<T>({ client: kube, type, namespace, log, onEvent: () => undefined });
    this.informers = {
      modelDeployments: informer<ModelDeployment>(RESOURCES.modelDeployments),
      deployments: informer(RESOURCES.deployments),
      services: informer(RESOURCES.services),
    };
  }

  async start(): Promise<void> {
    const all = Object.values(this.informers);
    for (const informer of all) informer.start();
    await Promise.all(all.map((informer) => informer.synced));
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.informers).map((informer) => informer.stop()));
  }

  /** Counts ModelDeployments whose status has the current generation and whose children exist. */
  converged(): number {
    const { modelDeployments, deployments, services } = this.informers;
    let done = 0;
    for (const resource of modelDeployments.list()) {
      const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
      if (
        resource.status?.observedGeneration === resource.metadata.generation &&
        deployments.get(key) !== undefined &&
        services.get(key) !== undefined
      ) {
        done += 1;
      }
    }
    return done;
  }

  /** Counts ModelDeployments by the status and reason of one condition, e.g. `True/RolloutInProgress`. */
  conditionCounts(type: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const resource of this.informers.modelDeployments.list()) {
      const condition = resource.status?.conditions?.find((c) => c.type === type);
      const key = condition ? `${condition.status}/${condition.reason}` : 'missing';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  /** Waits until `count` ModelDeployments have condition `type` as `statusAndReason`. */
  async waitForCondition(
    type: string,
    statusAndReason: string,
    count: number,
    timeoutMs: number,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((this.conditionCounts(type).get(statusAndReason) ?? 0) >= count) return true;
      await sleep(1000);
    }
    return false;
  }

  /** Waits until `count` have converged; returns false after `timeoutMs`. */
  async waitForConverged(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.converged() >= count) return true;
      await sleep(POLL_MS);
    }
    return this.converged() >= count;
  }
}
