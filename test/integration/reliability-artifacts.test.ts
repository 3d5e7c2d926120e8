// Broken artifacts on the real cluster: a missing directory, a corrupt model.json, a checksum
// mismatch and truncated weights each keep the pod unready, leave a log line naming the
// problem in the pod's log file, and end in Available=False ModelLoadFailed with the same error.
import type { V1Pod } from '@kubernetes/client-node';
import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, statePaths } from '../cluster/config.ts';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { RESOURCES, resourcePath, type KubeClient } from '../../operator/src/kube/client.ts';
import { createNamespace, deleteNamespace, waitFor } from './support/index.ts';
import {
  condition,
  installCrd,
  kube,
  mdepCollection,
  mdepPath,
  modelDeployment,
  startOperator,
  trainArtifact,
  workDir,
  type OperatorProcess,
} from './reliability-support.ts';

const dir = workDir('artifacts');

/** Each case: name, how to break a copy of a good artifact, extra model fields, log pattern. */
const cases: [string, (artifact: string) => string, Record<string, string>, RegExp][] = [
  ['missing', (artifact) => path.join(artifact, 'does-not-exist'), {}, /MS_ERR_ARTIFACT_NOT_FOUND/],
  [
    'corrupt',
    (artifact) => {
      writeFileSync(path.join(artifact, 'model.json'), '{"modelTopology": [truncated');
      return artifact;
    },
    {},
    /MS_ERR_ARTIFACT_INVALID/,
  ],
  [
    'checksum',
    (artifact) => artifact,
    { sha256: 'a'.repeat(64) },
    /MS_ERR_ARTIFACT_CHECKSUM_MISMATCH/,
  ],
  [
    'truncated',
    (artifact) => {
      truncateSync(path.join(artifact, 'weights.bin'), 100);
      return artifact;
    },
    {},
    /MS_ERR_ARTIFACT_(CHECKSUM_MISMATCH|INVALID)/,
  ],
];

let namespace = '';
let client: KubeClient;
let operator: OperatorProcess;
const uris = new Map<string, string>();
const messages: Record<string, string | undefined> = {};

beforeAll(async () => {
  client = kube();
  await installCrd(client);
  namespace = await createNamespace('rel-artifacts');
  const good = await trainArtifact(dir);
  operator = startOperator([namespace], `${dir}/operator.log`);
  for (const [name, breakArtifact, model] of cases) {
    const copy = path.join(dir, `${name}-copy`);
    cpSync(good, copy, { recursive: true });
    const uri = `file://${breakArtifact(copy)}`;
    uris.set(name, uri);
    const resource = modelDeployment(namespace, name, uri);
    Object.assign(resource.spec.model, model);
    await client.create(mdepCollection(namespace), resource);
  }
});

afterAll(async () => {
  await operator?.stop();
  console.log(JSON.stringify({ modelLoadFailed: messages }));
  if (namespace) await deleteNamespace(namespace);
});

async function podOf(name: string): Promise<V1Pod | undefined> {
  const pods = await client.list<V1Pod>(resourcePath(RESOURCES.pods, namespace), {
    labelSelector: `modelwarden.io/model-deployment=${name}`,
  });
  return pods.items[0];
}

/** Reads the pod's log file, which the test node writes to logs/NAMESPACE_POD_CONTAINER.log. */
function podLog(pod: V1Pod): string {
  const file = path.join(
    statePaths(loadClusterConfig()).logs,
    `${namespace}_${pod.metadata?.name}_model-server.log`,
  );
  return readFileSync(file, 'utf8');
}

describe('broken artifacts', () => {
  it.each(cases)('reports a %s artifact as ModelLoadFailed', async (name, _break, _model, code) => {
    const resource = await waitFor(
      async () => {
        const current = await client.get<ModelDeployment>(mdepPath(namespace, name));
        return condition(current, 'Available')?.reason === 'ModelLoadFailed' ? current : undefined;
      },
      { timeout: 120_000, description: `${name} to report ModelLoadFailed` },
    );
    const available = condition(resource, 'Available');
    messages[name] = available?.message;
    const pod = await podOf(name);
    expect(available?.status).toBe('False');
    expect(available?.message).toContain(`pod ${pod?.metadata?.name}`);
    expect(available?.message).toContain(uris.get(name));
    // The message carries the server's load error, not only a pointer to the log.
    expect(available?.message).toMatch(code);

    const ready = pod?.status?.conditions?.find((entry) => entry.type === 'Ready');
    expect(ready?.status).toBe('False');
    const failure = podLog(pod as V1Pod)
      .split('\n')
      .find((line) => line.includes('"model load failed'));
    expect(failure, 'no "model load failed" line in the pod log').toBeDefined();
    expect(failure).toMatch(code);
  });
});
