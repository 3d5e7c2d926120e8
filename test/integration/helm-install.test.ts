// The chart's lifecycle with the real helm on the local cluster. It installs into a namespace
// that enforces the restricted Pod Security Standard and reconciles a ModelDeployment with the
// operator running as a pod under its ServiceAccount. It then checks the operator's rights with
// `kubectl auth can-i`, upgrades to two replicas in namespaced mode, and uninstalls. The steps
// share one release, so they run in order.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot } from '../cluster/config.ts';
import {
  chartDir,
  helm,
  helmBinary,
  kubectlJson,
  nodeName,
  runOk,
  stateDir,
} from './helm-harness.ts';
import { deleteNamespace, kubectl, waitFor } from './support/index.ts';

const suffix = Math.random().toString(16).slice(2, 8);
const namespace = `helm-${suffix}`;
const release = `mw${suffix}`;
const fullname = `${release}-modelwarden`;
const serviceAccount = `system:serviceaccount:${namespace}:${fullname}`;
const modelDir = path.join(stateDir, 'helm-test', namespace, 'cars-v1');
const operatorSelector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=operator`;

interface Pod {
  metadata: { name: string; uid: string };
  spec: {
    nodeName?: string;
    serviceAccountName: string;
    volumes?: { projected?: { sources: { serviceAccountToken?: unknown }[] } }[];
    containers: { image: string; args?: string[] }[];
  };
  status: { phase: string; conditions?: { type: string; status: string }[] };
}

function isReady(pod: Pod): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function operatorPods(): Promise<Pod[]> {
  const list = await kubectlJson<{ items: Pod[] }>([
    'pods',
    '-n',
    namespace,
    '-l',
    operatorSelector,
  ]);
  return list.items;
}

/** Runs `kubectl auth can-i` as the operator's ServiceAccount and returns yes or no. */
async function canI(args: string[]): Promise<boolean> {
  const result = await kubectl(['auth', 'can-i', ...args, `--as=${serviceAccount}`], {
    allowFailure: true,
  });
  if (result.stdout.trim() !== 'yes' && result.stdout.trim() !== 'no') {
    throw new Error(`kubectl auth can-i ${args.join(' ')} failed: ${result.stderr}`);
  }
  return result.stdout.trim() === 'yes';
}

/** Parses `kubectl auth can-i --list` into resource → verbs, skipping non-resource URLs. */
async function rightsIn(namespaceFlag: string[]): Promise<Map<string, string[]>> {
  const { stdout: output } = await kubectl([
    'auth',
    'can-i',
    '--list',
    ...namespaceFlag,
    `--as=${serviceAccount}`,
  ]);
  console.log(
    `kubectl auth can-i --list ${namespaceFlag.join(' ')} --as=${serviceAccount}\n${output}`,
  );
  const rights = new Map<string, string[]>();
  for (const line of output.split('\n').slice(1)) {
    const match = /^(\S+)\s+\[[^\]]*\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]/.exec(line);
    if (!match?.[1]) continue;
    const names = match[2] ? `/${match[2]}` : '';
    rights.set(`${match[1]}${names}`, (match[3] ?? '').split(' ').filter(Boolean));
  }
  return rights;
}

async function trainModel(): Promise<void> {
  mkdirSync(path.dirname(modelDir), { recursive: true });
  // Three epochs are enough: the test needs a servable artifact, not an accurate one.
  await runOk(path.join(repoRoot, 'node_modules', '.bin', 'node'), [
    path.join(repoRoot, 'model-server', 'dist', 'cli.js'),
    'train',
    '--data',
    path.join(repoRoot, 'node_modules', 'vega-datasets', 'data', 'cars.json'),
    '--features',
    'Cylinders,Displacement,Horsepower,Weight_in_lbs,Acceleration',
    '--label',
    'Miles_per_Gallon',
    '--name',
    'cars',
    '--version',
    'v1',
    '--epochs',
    '3',
    '--out',
    modelDir,
    '--overwrite',
  ]);
}

const modelDeployment = `
apiVersion: modelwarden.io/v1alpha1
kind: ModelDeployment
metadata:
  name: cars
  namespace: ${namespace}
spec:
  replicas: 1
  model:
    name: cars
    uri: file://${modelDir}
    version: v1
`;

const namespaceManifest = `
apiVersion: v1
kind: Namespace
metadata:
  name: ${namespace}
  labels:
    modelwarden.io/test: helm
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
`;

beforeAll(async () => {
  await kubectl(['apply', '-f', '-'], { input: namespaceManifest });
  await trainModel();
});

afterAll(async () => {
  await helm(['uninstall', release, '--namespace', namespace, '--ignore-not-found']);
  await deleteNamespace(namespace);
  rmSync(path.dirname(modelDir), { recursive: true, force: true });
});

// Helm 4 applies the chart's CRD with server-side apply. On a cluster that other tests (or an
// older checkout) already gave the CRD through kubectl or the operator harness, their field
// managers own `.spec.versions`, and an install of a changed CRD fails with a conflict unless
// Helm takes those fields over, as docs/install.md tells users to do.
const forceConflicts = '--force-conflicts';

describe('helm chart on the local cluster', () => {
  let firstPod: Pod | undefined;

  test('install with an invalid value fails', async () => {
    const result = await helm([
      'install',
      release,
      chartDir,
      '-n',
      namespace,
      forceConflicts,
      '--set',
      'replicas=2',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("additional properties 'replicas' not allowed");
    const releases = await runOk(helmBinary, ['list', '-n', namespace, '-q']);
    expect(releases.trim()).toBe('');
  });

  test('install runs the operator ready', async () => {
    const installed = await helm(
      [
        'install',
        release,
        chartDir,
        '-n',
        namespace,
        forceConflicts,
        '--wait',
        '--timeout',
        '180s',
      ],
      { timeoutMs: 200_000 },
    );
    expect(installed.stderr).toBe('');
    expect(installed.stdout).toContain('STATUS: deployed');
    expect(installed.stdout).toContain('watches ModelDeployments in all namespaces');

    const pods = await operatorPods();
    expect(pods).toHaveLength(1);
    firstPod = pods[0] as Pod;
    expect(firstPod.status.phase).toBe('Running');
    expect(isReady(firstPod)).toBe(true);
    expect(firstPod.spec.nodeName).toBe(nodeName);
    expect(firstPod.spec.containers[0]?.image).toBe('modelwarden/operator:0.1.0');
  });

  test('operator pod carries its ServiceAccount token', () => {
    expect(firstPod?.spec.serviceAccountName).toBe(fullname);
    const sources = firstPod?.spec.volumes?.flatMap((volume) => volume.projected?.sources ?? []);
    expect(sources?.some((source) => source.serviceAccountToken !== undefined)).toBe(true);
  });

  test('operator reconciles a ModelDeployment to Available', async () => {
    await kubectl(['apply', '-f', '-'], { input: modelDeployment });
    await kubectl(
      ['wait', '--for=condition=Available', 'mdep/cars', '-n', namespace, '--timeout=180s'],
      { timeoutMs: 190_000 },
    );
    const servingPods = await kubectlJson<{ items: Pod[] }>([
      'pods',
      '-n',
      namespace,
      '-l',
      'modelwarden.io/model-deployment=cars',
    ]);
    expect(servingPods.items.length).toBeGreaterThan(0);
    expect(servingPods.items.every(isReady)).toBe(true);
  });

  test('events name the operator pod as reporter', async () => {
    const reporters = await waitFor(
      async () => {
        const events = await kubectlJson<{
          items: { reportingInstance?: string; regarding?: { kind?: string } }[];
        }>(['events.events.k8s.io', '-n', namespace]);
        const instances = events.items
          .filter((event) => event.regarding?.kind === 'ModelDeployment')
          .map((event) => event.reportingInstance);
        return instances.length > 0 ? instances : undefined;
      },
      { description: 'an Event about mdep/cars' },
    );
    expect(reporters).toContain(firstPod?.metadata.name);
  });

  test('ServiceAccount rights match the rules', async () => {
    const rights = await rightsIn(['-n', namespace]);
    const expected: [string, string[]][] = [
      ['modeldeployments.modelwarden.io', ['get', 'list', 'watch']],
      ['modeldeployments.modelwarden.io/status', ['update']],
      ['modeldeployments.modelwarden.io/finalizers', ['update']],
      ['deployments.apps', ['list', 'watch', 'create', 'patch']],
      ['services', ['list', 'watch', 'create', 'patch']],
      ['jobs.batch', ['get', 'list', 'watch', 'create']],
      ['pods', ['list', 'watch']],
      ['events.events.k8s.io', ['create', 'patch']],
      ['leases.coordination.k8s.io', ['create']],
      [`leases.coordination.k8s.io/${fullname}`, ['get', 'update']],
    ];
    for (const [resource, verbs] of expected) expect(rights.get(resource), resource).toEqual(verbs);
    // Every authenticated user may review its own access (the system:basic-user ClusterRole).
    const selfReviews = [
      'selfsubjectreviews.authentication.k8s.io',
      'selfsubjectaccessreviews.authorization.k8s.io',
      'selfsubjectrulesreviews.authorization.k8s.io',
    ];
    const granted = new Set([...expected.map(([resource]) => resource), ...selfReviews]);
    for (const resource of rights.keys())
      expect(granted, `unexpected right on ${resource}`).toContain(resource);
    for (const [resource, verbs] of rights) {
      expect(verbs, resource).not.toContain('*');
      expect(resource).not.toMatch(/^(\*|secrets|configmaps)\b/);
    }
  });

  test('can-i matrix in cluster-wide mode', async () => {
    // [can-i arguments, expected answer]
    const matrix: [string, boolean][] = [
      ['watch modeldeployments.modelwarden.io --all-namespaces', true],
      ['update modeldeployments.modelwarden.io --subresource=status -n default', true],
      ['patch deployments.apps -n default', true],
      ['create services -n default', true],
      ['create jobs.batch -n default', true],
      ['list pods --all-namespaces', true],
      ['create events.events.k8s.io -n default', true],
      [`update leases.coordination.k8s.io/${fullname} -n ${namespace}`, true],
      ['get secrets -n ' + namespace, false],
      ['list secrets --all-namespaces', false],
      ['get configmaps -n default', false],
      ['create modeldeployments.modelwarden.io -n default', false],
      ['update modeldeployments.modelwarden.io -n default', false],
      ['delete modeldeployments.modelwarden.io -n default', false],
      ['delete deployments.apps -n default', false],
      ['update deployments.apps -n default', false],
      ['create pods -n default', false],
      ['delete pods -n default', false],
      ['create pods --subresource=exec -n default', false],
      ['create events -n default', false],
      ['update leases.coordination.k8s.io/other -n ' + namespace, false],
      ['create leases.coordination.k8s.io -n default', false],
      ['list nodes', false],
      ['create clusterrolebindings.rbac.authorization.k8s.io', false],
      ['escalate roles.rbac.authorization.k8s.io -n default', false],
      ['impersonate serviceaccounts -n default', false],
      ['create serviceaccounts --subresource=token -n ' + namespace, false],
    ];
    const answers = await Promise.all(matrix.map(([args]) => canI(args.split(' '))));
    const table = matrix.map(([args], index) => `${answers[index] ? 'yes' : 'no '}  ${args}`);
    console.log(`kubectl auth can-i --as=${serviceAccount}\n${table.join('\n')}`);
    matrix.forEach(([args, expected], index) => expect(answers[index], args).toBe(expected));
  });

  test('upgrade to two namespaced replicas rolls the operator', async () => {
    const upgraded = await helm(
      [
        'upgrade',
        release,
        chartDir,
        '-n',
        namespace,
        '--reuse-values',
        '--set',
        'replicaCount=2',
        '--set',
        `watchNamespaces={${namespace}}`,
        '--wait',
        '--timeout',
        '180s',
      ],
      { timeoutMs: 200_000 },
    );
    expect(upgraded.stdout).toContain('REVISION: 2');
    await kubectl(
      ['wait', '--for=delete', `pod/${firstPod?.metadata.name}`, '-n', namespace, '--timeout=60s'],
      { timeoutMs: 70_000 },
    );

    const pods = await operatorPods();
    expect(pods).toHaveLength(2);
    expect(pods.every(isReady)).toBe(true);
    for (const pod of pods) {
      expect(pod.metadata.uid).not.toBe(firstPod?.metadata.uid);
      expect(pod.spec.containers[0]?.args).toContain(`--namespaces=${namespace}`);
    }
    const holder = await waitFor(
      async () => {
        const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>([
          'lease',
          fullname,
          '-n',
          namespace,
        ]);
        const identity = lease.spec.holderIdentity;
        return pods.some((pod) => pod.metadata.name === identity) ? identity : undefined;
      },
      { description: 'a new pod to hold the Lease' },
    );
    expect(holder).toBeDefined();
    await kubectl(['get', 'pdb', fullname, '-n', namespace]);
  });

  test('namespaced mode drops the cluster-wide rights', async () => {
    const clusterRole = await kubectl(['get', 'clusterrole', fullname], { allowFailure: true });
    expect(clusterRole.stderr).toContain('NotFound');
    expect(await canI(['list', 'modeldeployments.modelwarden.io', '--all-namespaces'])).toBe(false);
    expect(await canI(['patch', 'deployments.apps', '-n', 'default'])).toBe(false);
    expect(await canI(['list', 'modeldeployments.modelwarden.io', '-n', namespace])).toBe(true);
    expect(await canI(['patch', 'deployments.apps', '-n', namespace])).toBe(true);
  });

  test('upgraded operator reconciles a spec change', async () => {
    await kubectl([
      'patch',
      'mdep/cars',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      '{"spec":{"replicas":2}}',
    ]);
    await kubectl(
      [
        'wait',
        '--for=jsonpath={.status.observedGeneration}=2',
        'mdep/cars',
        '-n',
        namespace,
        '--timeout=120s',
      ],
      { timeoutMs: 130_000 },
    );
    await kubectl(
      ['wait', '--for=condition=Available', 'mdep/cars', '-n', namespace, '--timeout=120s'],
      { timeoutMs: 130_000 },
    );
  });

  test('uninstall keeps the CRD and the ModelDeployment', async () => {
    await runOk(helmBinary, ['uninstall', release, '-n', namespace, '--wait', '--timeout', '120s']);
    await kubectl(
      ['wait', '--for=delete', 'pod', '-l', operatorSelector, '-n', namespace, '--timeout=60s'],
      { timeoutMs: 70_000 },
    );
    for (const object of [
      `deployment/${fullname}`,
      `serviceaccount/${fullname}`,
      `service/${fullname}-metrics`,
      `role/${fullname}`,
      `rolebinding/${fullname}`,
      `poddisruptionbudget/${fullname}`,
    ]) {
      const result = await kubectl(['get', object, '-n', namespace], { allowFailure: true });
      expect(result.stderr, object).toContain('NotFound');
    }
    await kubectl(['get', 'crd', 'modeldeployments.modelwarden.io']);
    await kubectl(['get', 'mdep/cars', '-n', namespace]);
    await kubectl(['get', 'deployment/cars', '-n', namespace]);
  });
});
