// SIGKILL of the operator while it reconciles 100 ModelDeployments, then a restart: every one
// converges, each retraining request has exactly one Job, every child has a live owner, and no
// condition flips more than once (its first transition from Unknown). Pods are not the point,
// so the deployments run 0 replicas and the retraining Jobs are suspended.
import type { V1Deployment, V1Job, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { RESOURCES, resourcePath } from '../../operator/src/kube/client.ts';
import { createNamespace, deleteNamespace, waitFor } from './support/index.ts';
import {
  condition,
  installCrd,
  kube,
  mdepCollection,
  modelDeployment,
  startOperator,
  workDir,
  type OperatorProcess,
} from './reliability-support.ts';

const COUNT = 100;
/** Every fifth ModelDeployment requests a manual retraining run. */
const RETRAINED = (index: number) => index % 5 === 0;
const KILL_AFTER_CONVERGED = 30;

let namespace = '';
let client: KubeClient;
const logDir = workDir('operator-crash');
const operators: OperatorProcess[] = [];
const figures: Record<string, number> = {};
/** (name, condition type) -> the lastTransitionTime values seen, in order. */
const transitions = new Map<string, string[]>();
let stopWatch: AbortController | undefined;

function name(index: number): string {
  return `crash-${String(index).padStart(3, '0')}`;
}

function manifest(index: number): ModelDeployment {
  const retraining = RETRAINED(index)
    ? {
        enabled: true,
        jobTemplate: { spec: { suspend: true, template: { spec: { containers: [] } } } },
        output: { claimName: 'models' },
        baseDataset: 'file:///data/cars.json',
      }
    : undefined;
  const resource = modelDeployment(namespace, name(index), 'file:///models/cars/v1', {
    replicas: 0,
    spec: retraining ? { retraining } : {},
  });
  if (RETRAINED(index)) resource.metadata.annotations = { 'modelwarden.io/retrain': 'crash-1' };
  return resource;
}

/** Converged: status written for the current generation, and a retraining Job recorded. */
function converged(resource: ModelDeployment): boolean {
  const status = resource.status;
  if (!status || status.observedGeneration !== resource.metadata.generation) return false;
  if (condition(resource, 'Progressing')?.status === 'Unknown') return false;
  const index = Number(resource.metadata.name?.slice('crash-'.length));
  return !RETRAINED(index) || status.retraining?.lastJobName !== undefined;
}

function recordTransitions(resource: ModelDeployment): void {
  for (const entry of resource.status?.conditions ?? []) {
    const key = `${resource.metadata.name}/${entry.type}`;
    const seen = transitions.get(key) ?? [];
    if (seen.at(-1) !== entry.lastTransitionTime) seen.push(entry.lastTransitionTime);
    transitions.set(key, seen);
  }
}

/** Follows every change of the namespace's ModelDeployments from `resourceVersion` on. */
async function watchModelDeployments(resourceVersion: string, signal: AbortSignal) {
  const stream = await client.stream(mdepCollection(namespace), {
    query: { watch: true, resourceVersion, allowWatchBookmarks: false },
    signal,
  });
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for await (const chunk of stream.body) {
      pending += decoder.decode(chunk as Uint8Array, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const event = JSON.parse(line) as { type: string; object: ModelDeployment };
        if (event.type === 'ADDED' || event.type === 'MODIFIED') recordTransitions(event.object);
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

async function listAll(): Promise<ModelDeployment[]> {
  return (await client.list<ModelDeployment>(mdepCollection(namespace))).items;
}

async function countConverged(): Promise<number> {
  return (await listAll()).filter(converged).length;
}

beforeAll(async () => {
  client = kube();
  await installCrd(client);
  namespace = await createNamespace('rel-crash');
  for (let start = 0; start < COUNT; start += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, offset) =>
        client.create(mdepCollection(namespace), manifest(start + offset)),
      ),
    );
  }
  const list = await client.list<ModelDeployment>(mdepCollection(namespace));
  stopWatch = new AbortController();
  void watchModelDeployments(list.metadata?.resourceVersion ?? '', stopWatch.signal);
});

afterAll(async () => {
  stopWatch?.abort();
  for (const operator of operators) await operator.stop();
  console.log(JSON.stringify({ operatorCrash: figures }));
  if (namespace) await deleteNamespace(namespace);
});

describe('operator killed while reconciling 100 ModelDeployments', () => {
  it('converges all after a restart', async () => {
    const first = startOperator([namespace], `${logDir}/operator-1.log`);
    operators.push(first);
    const started = Date.now();
    figures.convergedBeforeKill = await waitFor(
      async () => {
        const count = await countConverged();
        return count >= KILL_AFTER_CONVERGED ? count : undefined;
      },
      { timeout: 120_000, interval: 100, description: `${KILL_AFTER_CONVERGED} converged` },
    );
    await first.kill();
    figures.secondsToKill = (Date.now() - started) / 1000;
    figures.convergedAtKill = await countConverged();

    const restarted = Date.now();
    const second = startOperator([namespace], `${logDir}/operator-2.log`);
    operators.push(second);
    await waitFor(async () => ((await countConverged()) === COUNT ? true : undefined), {
      timeout: 240_000,
      interval: 500,
      description: `all ${COUNT} ModelDeployments to converge`,
    });
    figures.secondsToConvergeAfterRestart = (Date.now() - restarted) / 1000;
    expect(await countConverged()).toBe(COUNT);
  });

  it('creates exactly one Job per retraining request', async () => {
    const jobs = (await client.list<V1Job>(resourcePath(RESOURCES.jobs, namespace))).items;
    const perOwner = new Map<string, number>();
    for (const job of jobs) {
      const owner = job.metadata?.ownerReferences?.[0]?.name ?? '';
      perOwner.set(owner, (perOwner.get(owner) ?? 0) + 1);
    }
    const requested = Array.from({ length: COUNT }, (_, index) => index).filter(RETRAINED);
    figures.jobs = jobs.length;
    expect(jobs.length).toBe(requested.length);
    for (const index of requested) expect(perOwner.get(name(index)), name(index)).toBe(1);
  });

  it('leaves no child without a live owner', async () => {
    const uids = new Set((await listAll()).map((resource) => resource.metadata.uid));
    const children = [
      ...(await client.list<V1Deployment>(resourcePath(RESOURCES.deployments, namespace))).items,
      ...(await client.list<V1Service>(resourcePath(RESOURCES.services, namespace))).items,
      ...(await client.list<V1Job>(resourcePath(RESOURCES.jobs, namespace))).items,
    ];
    figures.children = children.length;
    expect(children.length).toBe(2 * COUNT + COUNT / 5);
    const orphans = children.filter(
      (child) => !child.metadata?.ownerReferences?.some((owner) => uids.has(owner.uid)),
    );
    expect(orphans.map((child) => child.metadata?.name)).toEqual([]);
  });

  it('flips no condition more than once', () => {
    let changes = 0;
    const flapping: string[] = [];
    for (const [key, seen] of transitions) {
      // The first value is the Unknown of the first visit; one later change is its real value.
      changes += seen.length - 1;
      if (seen.length > 2) flapping.push(`${key}: ${seen.join(', ')}`);
    }
    figures.conditionsTracked = transitions.size;
    figures.lastTransitionTimeChanges = changes;
    expect(transitions.size).toBe(4 * COUNT);
    expect(flapping).toEqual([]);
  });
});
