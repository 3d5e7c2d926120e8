// One operator process against the local cluster: apply, roll out, edit, scale, a broken
// artifact and deletion, checked through kubectl and the API as a user would see them.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { isNotFound } from '../../operator/src/errors.ts';
import { RESOURCES, resourcePath } from '../../operator/src/kube/client.ts';
import {
  apiClient,
  installCrd,
  MODEL_DEPLOYMENTS,
  repoRoot,
  startOperator,
  type OperatorProcess,
} from './operator-harness.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from './support/index.ts';

const execFileAsync = promisify(execFile);
const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
// Pods on the test node see host paths, except /tmp, which the operator mounts as an emptyDir.
const artifactRoot = path.join(
  repoRoot,
  '.modelwarden',
  'operator-test',
  `lifecycle-${process.pid}`,
);

let namespace = '';
let operator: OperatorProcess | undefined;

/** Trains a one-feature model on y = 2x + 1 and returns its file:// URI. */
async function trainArtifact(version: string): Promise<string> {
  const dataPath = path.join(artifactRoot, 'data.json');
  const rows = Array.from({ length: 40 }, (_, i) => ({ x: i / 10, y: (2 * i) / 10 + 1 }));
  mkdirSync(artifactRoot, { recursive: true });
  await import('node:fs/promises').then((fs) => fs.writeFile(dataPath, JSON.stringify(rows)));
  const out = path.join(artifactRoot, version);
  await execFileAsync(
    node,
    [
      'model-server/dist/cli.js',
      'train',
      '--data',
      dataPath,
      '--features',
      'x',
      '--label',
      'y',
      '--name',
      'cars',
      '--version',
      version,
      '--epochs',
      '3',
      '--out',
      out,
    ],
    { cwd: repoRoot },
  );
  return `file://${out}`;
}

function exampleManifest(name: string, uri: string, version: string): string {
  const example = parse(
    readFileSync(path.join(repoRoot, 'examples', 'minimal.yaml'), 'utf8'),
  ) as ModelDeployment;
  example.metadata = { name, namespace };
  example.spec.model = { ...example.spec.model, uri, version };
  return stringify(example);
}

async function getModelDeployment(name: string): Promise<ModelDeployment> {
  return apiClient().get<ModelDeployment>(resourcePath(MODEL_DEPLOYMENTS, namespace, name));
}

function condition(resource: ModelDeployment, type: string) {
  return resource.status?.conditions?.find((entry) => entry.type === type);
}

async function exists(
  type: (typeof RESOURCES)[keyof typeof RESOURCES],
  name: string,
): Promise<boolean> {
  try {
    await apiClient().get(resourcePath(type, namespace, name));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Polls the resource until `done` holds, recording each Progressing status seen on the way. */
async function watchRollout(name: string, done: (resource: ModelDeployment) => boolean) {
  const progressing = new Set<string>();
  const resource = await waitFor(
    async () => {
      const current = await getModelDeployment(name);
      const status = condition(current, 'Progressing')?.status;
      if (status) progressing.add(status);
      return done(current) ? current : undefined;
    },
    { description: `rollout of ${name}`, timeout: 120_000, interval: 200 },
  );
  return { resource, progressing };
}

let uriV1 = '';
let uriV2 = '';

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('mdep-lifecycle');
  [uriV1, uriV2] = await Promise.all([trainArtifact('v1'), trainArtifact('v2')]);
  operator = startOperator('lifecycle', [`--namespaces=${namespace}`, '--no-leader-elect']);
});

afterAll(async () => {
  const code = await operator?.stop();
  if (code !== 0) console.log(operator?.logs().slice(-20));
  if (namespace) await deleteNamespace(namespace);
  rmSync(artifactRoot, { recursive: true, force: true });
});

describe('ModelDeployment lifecycle', () => {
  it('serves the minimal example', async () => {
    const applied = await kubectl(['apply', '-f', '-'], {
      input: exampleManifest('cars', uriV1, 'v1'),
      allowFailure: true,
    });
    expect(applied.stderr).toBe('');

    const deployment = await waitFor(
      () => apiClient().get<V1Deployment>(resourcePath(RESOURCES.deployments, namespace, 'cars')),
      { description: 'the Deployment' },
    );
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.args).toEqual([
      'serve',
      '--model',
      uriV1,
      '--model-name',
      'cars',
      '--host',
      '$(POD_IP)',
      '--port',
      '8080',
      '--shutdown-delay-ms',
      '5000',
      '--shutdown-timeout-ms',
      '20000',
    ]);
    expect(container?.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(deployment.metadata?.ownerReferences?.[0]?.kind).toBe('ModelDeployment');
    expect(
      deployment.metadata?.managedFields?.some(
        (entry) => entry.manager === 'modelwarden' && entry.operation === 'Apply',
      ),
    ).toBe(true);

    // The operator applies the Service after the Deployment, so it may not exist yet.
    const service = await waitFor(
      () => apiClient().get<V1Service>(resourcePath(RESOURCES.services, namespace, 'cars')),
      { description: 'the Service' },
    );
    expect(service.spec?.selector).toEqual({
      'modelwarden.io/model-deployment': 'cars',
      'app.kubernetes.io/component': 'serving',
    });
    expect(service.spec?.ports?.[0]?.port).toBe(8080);

    const waited = await kubectl(
      ['wait', '-n', namespace, '--for=condition=Available', 'mdep/cars', '--timeout=120s'],
      { allowFailure: true },
    );
    expect(waited.stdout).toContain('condition met');

    const table = await kubectl(['get', 'mdep', 'cars', '-n', namespace], { allowFailure: true });
    const [header, row] = table.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual([
      'NAME',
      'READY',
      'MODEL',
      'VERSION',
      'HEALTH',
      'P99',
      'ERRORS',
      'MAE',
      'DRIFT',
      'AGE',
    ]);
    expect(row?.split(/\s+/).slice(0, 5)).toEqual(['cars', '1/1', 'cars', 'v1', 'Healthy']);

    const resource = await getModelDeployment('cars');
    expect(resource.status?.observedGeneration).toBe(resource.metadata.generation);
    expect(resource.status?.activeModel).toMatchObject({
      uri: uriV1,
      version: 'v1',
      source: 'Spec',
    });
    expect(condition(resource, 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'RolloutComplete',
    });

    const reasons = await waitFor(
      async () => {
        const events = await kubectl(
          [
            'get',
            'events',
            '-n',
            namespace,
            '--field-selector',
            'involvedObject.kind=ModelDeployment,involvedObject.name=cars',
            '-o',
            'jsonpath={.items[*].reason}',
          ],
          { allowFailure: true },
        );
        const listed = events.stdout.split(' ');
        return listed.includes('MinimumReplicasAvailable') ? listed : undefined;
      },
      { description: 'the Available event' },
    );
    expect(reasons).toContain('RolloutComplete');
  });

  it('rolls out a new model version', async () => {
    const before = await getModelDeployment('cars');
    const patched = await kubectl(
      [
        'patch',
        'mdep',
        'cars',
        '-n',
        namespace,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { model: { uri: uriV2, version: 'v2' } } }),
      ],
      { allowFailure: true },
    );
    expect(patched.code).toBe(0);
    const generation = (before.metadata.generation ?? 0) + 1;

    const { resource, progressing } = await watchRollout(
      'cars',
      (current) =>
        current.status?.observedGeneration === generation &&
        condition(current, 'Available')?.status === 'True' &&
        condition(current, 'Progressing')?.status === 'False' &&
        current.status.activeModel?.version === 'v2',
    );
    expect(progressing.has('True')).toBe(true);
    expect(resource.status?.history?.map((entry) => [entry.version, entry.outcome])).toEqual([
      ['v1', 'Superseded'],
      ['v2', 'Active'],
    ]);
    // The v1 pod keeps serving for its shutdown delay (5 s by default) before it is gone.
    const versions = await waitFor(
      async () => {
        const pods = await kubectl(
          [
            'get',
            'pods',
            '-n',
            namespace,
            '-l',
            'modelwarden.io/model-deployment=cars',
            '-o',
            'jsonpath={.items[*].metadata.labels.modelwarden\\.io/model-version}',
          ],
          { allowFailure: true },
        );
        const listed = pods.stdout.trim().split(' ');
        return listed.includes('v1') ? undefined : listed;
      },
      { timeout: 30_000, description: 'the v1 pod to terminate' },
    );
    expect(versions).toEqual(['v2']);
  });

  it('scales through the spec and the scale subresource', async () => {
    await kubectl(
      ['patch', 'mdep', 'cars', '-n', namespace, '--type=merge', '-p', '{"spec":{"replicas":2}}'],
      { allowFailure: true },
    );
    const edited = await watchRollout(
      'cars',
      (current) =>
        current.status?.readyReplicas === 2 && condition(current, 'Available')?.status === 'True',
    );
    expect(edited.resource.status?.observedGeneration).toBe(edited.resource.metadata.generation);

    const scaled = await kubectl(['scale', 'mdep/cars', '-n', namespace, '--replicas=3'], {
      allowFailure: true,
    });
    expect(scaled.stdout).toContain('scaled');
    const { resource } = await watchRollout(
      'cars',
      (current) =>
        current.status?.readyReplicas === 3 &&
        condition(current, 'Progressing')?.status === 'False',
    );
    expect(resource.spec.replicas).toBe(3);
    const deployment = await apiClient().get<V1Deployment>(
      resourcePath(RESOURCES.deployments, namespace, 'cars'),
    );
    expect(deployment.spec?.replicas).toBe(3);
    const ready = await kubectl(
      ['get', 'mdep', 'cars', '-n', namespace, '-o', 'jsonpath={.status.summary.ready}'],
      { allowFailure: true },
    );
    expect(ready.stdout).toBe('3/3');
  });

  it('reports a broken artifact as ModelLoadFailed', async () => {
    const missing = `file://${path.join(artifactRoot, 'missing')}`;
    await kubectl(['apply', '-f', '-'], {
      input: exampleManifest('broken', missing, 'v1'),
      allowFailure: true,
    });
    const resource = await waitFor(
      async () => {
        const current = await getModelDeployment('broken');
        return condition(current, 'Available')?.reason === 'ModelLoadFailed' ? current : undefined;
      },
      { description: 'Available=False with ModelLoadFailed', timeout: 120_000 },
    );
    const available = condition(resource, 'Available');
    expect(available?.status).toBe('False');
    expect(available?.message).toContain(missing);
    expect(resource.status?.health).toBe('Unavailable');

    const waited = await kubectl(
      ['wait', '-n', namespace, '--for=condition=Available=False', 'mdep/broken', '--timeout=10s'],
      { allowFailure: true },
    );
    expect(waited.code).toBe(0);
    expect(operator?.child.exitCode).toBeNull();
    const failures =
      operator?.logs().filter((line) => line.msg === 'reconcile failed, retrying') ?? [];
    expect(failures).toEqual([]);
  });

  it('stops retrying a spec the apiserver rejects', async () => {
    // The CRD accepts any EnvVarSource, but the Deployment's validation rejects this field path.
    const manifest = parse(exampleManifest('rejected', uriV1, 'v1')) as ModelDeployment;
    manifest.spec.server = {
      port: 8080,
      env: [{ name: 'BOGUS', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }],
    };
    await kubectl(['apply', '-f', '-'], { input: stringify(manifest), allowFailure: true });
    const resource = await waitFor(
      async () => {
        const current = await getModelDeployment('rejected');
        return condition(current, 'Progressing')?.reason === 'InvalidSpec' ? current : undefined;
      },
      { description: 'Progressing=False with InvalidSpec' },
    );
    expect(condition(resource, 'Progressing')?.status).toBe('False');
    expect(condition(resource, 'Progressing')?.message).toContain(
      'spec.template.spec.containers[0].env[3].valueFrom.fieldRef.fieldPath',
    );
    expect(await exists(RESOURCES.deployments, 'rejected')).toBe(false);
    // The status write comes before the work queue logs the terminal error, so wait for it.
    const terminal = await waitFor(
      async () => {
        const lines =
          operator
            ?.logs()
            .filter((line) => line.msg === 'reconcile failed terminally, not retrying') ?? [];
        return lines.length > 0 ? lines : undefined;
      },
      { description: 'the terminal reconcile error in the operator log', timeout: 15_000 },
    );
    expect(terminal.length).toBeGreaterThanOrEqual(1);
    await kubectl(['delete', 'mdep', 'rejected', '-n', namespace], { allowFailure: true });
  });

  it('serves metrics and health endpoints', async () => {
    const url = operator?.url();
    expect(url).toBeDefined();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /modelwarden_operator_reconcile_total\{result="(success|requeue)"\} \d+/,
    );
    expect(metrics).toContain('modelwarden_operator_reconcile_duration_seconds_bucket');
    expect(metrics).toContain('modelwarden_operator_queue_depth');
    expect(metrics).toMatch(/modelwarden_operator_reconcile_total\{result="terminal"\} [1-9]/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('caches synced');
  });

  it('garbage-collects children on delete', async () => {
    const deleted = await kubectl(
      ['delete', 'mdep', 'cars', 'broken', '-n', namespace, '--wait=true', '--timeout=60s'],
      { allowFailure: true },
    );
    expect(deleted.code).toBe(0);
    for (const name of ['cars', 'broken']) {
      await waitFor(async () => ((await exists(RESOURCES.deployments, name)) ? undefined : true), {
        description: `Deployment ${name} to be collected`,
        timeout: 60_000,
      });
      await waitFor(async () => ((await exists(RESOURCES.services, name)) ? undefined : true), {
        description: `Service ${name} to be collected`,
        timeout: 60_000,
      });
    }
    const pods = await waitFor(
      async () => {
        const listed = await kubectl(['get', 'pods', '-n', namespace, '-o', 'name'], {
          allowFailure: true,
        });
        return listed.stdout.trim() === '' ? true : undefined;
      },
      { description: 'serving pods to go', timeout: 60_000 },
    );
    expect(pods).toBe(true);
  });
});
