// The chart checked by the real helm without a cluster: lint, the objects `helm template`
// renders for each mode, the RBAC rules, and values that the schema or a template must reject.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  chartDir,
  findManifest,
  fullValuesFile,
  helm,
  renderChart,
  type Manifest,
} from './helm-harness.ts';

const monitorApis = [
  '--api-versions',
  'monitoring.coreos.com/v1/ServiceMonitor',
  '--api-versions',
  'monitoring.coreos.com/v1/PodMonitor',
];

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

interface Container {
  name: string;
  image: string;
  args: string[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
}

interface DeploymentSpec {
  replicas: number;
  strategy: { type: string };
  template: {
    spec: {
      serviceAccountName: string;
      securityContext: Record<string, unknown>;
      containers: Container[];
    };
  };
}

function deploymentSpec(manifests: Manifest[]): DeploymentSpec {
  return findManifest(manifests, 'Deployment').spec as DeploymentSpec;
}

function operatorContainer(manifests: Manifest[]): Container {
  const container = deploymentSpec(manifests).template.spec.containers[0];
  if (!container) throw new Error('the operator Deployment has no container');
  return container;
}

function rulesOf(manifests: Manifest[]): PolicyRule[] {
  return manifests
    .filter((manifest) => manifest.kind === 'Role' || manifest.kind === 'ClusterRole')
    .flatMap((manifest) => manifest['rules'] as PolicyRule[]);
}

function kinds(manifests: Manifest[]): string[] {
  return manifests.map((manifest) => manifest.kind).sort();
}

describe('helm lint', () => {
  test.each([
    ['default values', []],
    ['full values', ['--values', fullValuesFile]],
  ])('passes strict with %s', async (_name, args) => {
    const result = await helm(['lint', '--strict', chartDir, ...args]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });
});

describe('helm template with default values', async () => {
  const manifests = await renderChart(['--namespace', 'modelwarden-system']);
  const container = operatorContainer(manifests);
  const spec = deploymentSpec(manifests);

  test('renders the cluster-wide objects', () => {
    expect(kinds(manifests)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
  });

  test('runs the operator image of the appVersion', () => {
    expect(container.image).toBe('modelwarden/operator:0.1.0');
  });

  test('probes the health endpoints', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  test('sets requests and a memory limit', () => {
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(container.resources.limits?.['memory']).toBe('512Mi');
  });

  test('meets the restricted pod security standard', () => {
    expect(spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('runs as the chart ServiceAccount', () => {
    expect(spec.template.spec.serviceAccountName).toBe(
      findManifest(manifests, 'ServiceAccount').metadata.name,
    );
  });

  test('elects a leader and rolls one replica', () => {
    expect(spec.replicas).toBe(1);
    expect(spec.strategy.type).toBe('RollingUpdate');
    expect(container.args).toContain('--leader-elect');
    expect(container.args).toContain('--leader-election-id=render-modelwarden');
  });

  test('keeps the Lease Role in the release namespace', () => {
    const role = findManifest(manifests, 'Role', 'render-modelwarden-leader-election');
    expect(role.metadata.namespace).toBe('modelwarden-system');
  });

  test('binds the ClusterRole to the ServiceAccount', () => {
    const binding = findManifest(manifests, 'ClusterRoleBinding');
    expect(binding['subjects']).toEqual([
      { kind: 'ServiceAccount', name: 'render-modelwarden', namespace: 'modelwarden-system' },
    ]);
  });
});

describe('helm template without leader election', async () => {
  const manifests = await renderChart(['--set', 'leaderElection.enabled=false']);
  const container = operatorContainer(manifests);

  test('recreates the pod on upgrade', () => {
    expect(deploymentSpec(manifests).strategy.type).toBe('Recreate');
  });

  test('turns the operator default off', () => {
    expect(container.args).toContain('--no-leader-elect');
    expect(container.args).not.toContain('--leader-elect');
  });

  test('grants no Lease rights', () => {
    const resources = rulesOf(manifests).flatMap((rule) => rule.resources);
    expect(resources).not.toContain('leases');
  });
});

describe('RBAC rules', async () => {
  const modes: [string, Manifest[]][] = [
    ['cluster-wide', await renderChart()],
    ['namespaced', await renderChart(['--values', fullValuesFile])],
  ];

  describe.each(modes)('%s', (_mode, manifests) => {
    const rules = rulesOf(manifests);

    test('use no wildcard', () => {
      for (const rule of rules) {
        expect(rule.verbs).not.toContain('*');
        expect(rule.resources).not.toContain('*');
        expect(rule.apiGroups).not.toContain('*');
      }
    });

    test('never name Secrets or ConfigMaps', () => {
      const resources = rules.flatMap((rule) => rule.resources);
      expect(resources).not.toContain('secrets');
      expect(resources).not.toContain('configmaps');
    });

    test('grant each verb the operator uses', () => {
      const grants = new Set(
        rules.flatMap((rule) =>
          rule.resources.flatMap((resource) =>
            rule.verbs.map((verb) => `${verb} ${resource}.${rule.apiGroups[0] ?? ''}`),
          ),
        ),
      );
      const expected = [
        'watch modeldeployments.modelwarden.io',
        'update modeldeployments/status.modelwarden.io',
        'patch deployments.apps',
        'create jobs.batch',
        'patch services.',
        'list pods.',
        'create events.events.k8s.io',
        'create leases.coordination.k8s.io',
        'update leases.coordination.k8s.io',
      ];
      for (const grant of expected) expect(grants).toContain(grant);
    });

    test('never write pods', () => {
      const podVerbs = rules
        .filter((rule) => rule.resources.includes('pods'))
        .flatMap((rule) => rule.verbs);
      expect([...new Set(podVerbs)].sort()).toEqual(['list', 'watch']);
    });

    test('limit Lease updates to the operator Lease', () => {
      const leaseUpdates = rules.filter(
        (rule) => rule.resources.includes('leases') && rule.verbs.includes('update'),
      );
      expect(leaseUpdates).toHaveLength(1);
      expect(leaseUpdates[0]?.resourceNames).toHaveLength(1);
    });
  });

  test('namespaced mode renders no cluster-wide objects', () => {
    const manifests = modes[1]?.[1] ?? [];
    expect(kinds(manifests)).not.toContain('ClusterRole');
    expect(kinds(manifests)).not.toContain('ClusterRoleBinding');
    const roleNamespaces = manifests
      .filter((manifest) => manifest.kind === 'Role')
      .map((manifest) => manifest.metadata.namespace);
    expect(roleNamespaces.sort()).toEqual(['default', 'models-a', 'models-b']);
  });
});

describe('helm template with full values', async () => {
  const manifests = await renderChart([
    '--namespace',
    'ops',
    '--values',
    fullValuesFile,
    ...monitorApis,
  ]);
  const container = operatorContainer(manifests);

  test('renders every optional object', () => {
    expect(new Set(kinds(manifests))).toEqual(
      new Set([
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'PodMonitor',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ]),
    );
  });

  test('pins the image by digest', () => {
    expect(container.image).toBe(
      'registry.example.com/modelwarden/operator@sha256:' + '0'.repeat(64),
    );
  });

  test('names the Lease from the values', () => {
    expect(container.args).toContain('--leader-election-id=modelwarden-leader');
  });

  test('passes the watched namespaces and extra flags', () => {
    expect(container.args).toContain('--namespaces=models-a,models-b');
    expect(container.args).toContain(
      '--format-image=tfjs-graph=registry.example.com/modelwarden/model-server-graph:0.1.0',
    );
    expect(container.args.at(-1)).toBe('--kubeconfig=/etc/modelwarden/kubeconfig');
  });

  test('ships the dashboard JSON unchanged', () => {
    const configMap = findManifest(manifests, 'ConfigMap');
    const data = configMap['data'] as Record<string, string>;
    const file = readFileSync(path.join(chartDir, 'dashboards', 'modelwarden.json'), 'utf8');
    expect(JSON.parse(data['modelwarden.json'] ?? '')).toEqual(JSON.parse(file));
    expect(configMap.metadata.namespace).toBe('monitoring');
    expect(configMap.metadata.labels?.['grafana_dashboard']).toBe('1');
  });
});

describe('monitors', () => {
  const enabled = [
    '--set',
    'metrics.serviceMonitor.enabled=true',
    '--set',
    'metrics.podMonitor.enabled=true',
  ];

  test('are skipped without the Prometheus Operator API', async () => {
    const manifests = await renderChart(enabled);
    expect(kinds(manifests)).not.toContain('ServiceMonitor');
    expect(kinds(manifests)).not.toContain('PodMonitor');
  });

  test('are rendered when the API exists', async () => {
    const manifests = await renderChart([...enabled, ...monitorApis]);
    expect(kinds(manifests)).toContain('ServiceMonitor');
    expect(kinds(manifests)).toContain('PodMonitor');
  });

  test('NOTES warns about a skipped ServiceMonitor', async () => {
    const result = await helm(['install', 'notes', chartDir, '--dry-run=client', ...enabled]);
    expect(result.stdout).toContain('no ServiceMonitor was created');
    expect(result.stdout).toContain('no PodMonitor was created');
  });
});

describe('invalid values', () => {
  // Each case: the --set argument and a part of the message helm must print.
  const cases: [string, string][] = [
    ['replicaCount=-1', "at '/replicaCount': minimum"],
    ['replicas=2', "additional properties 'replicas' not allowed"],
    ['image.pullPolicy=Sometimes', "at '/image/pullPolicy': value must be one of"],
    ['image.digest=sha256:abc', "at '/image/digest'"],
    ['watchNamespaces[0]=Models_A', "at '/watchNamespaces/0': 'Models_A' does not match pattern"],
    ['operator.logLevel=verbose', "at '/operator/logLevel': value must be one of"],
    ['operator.port=70000', "at '/operator/port': maximum"],
    ['operator.resyncPeriod=10 minutes', "at '/operator/resyncPeriod'"],
    ['leaderElection.leaseDuration=15', "at '/leaderElection/leaseDuration'"],
    ['operator.extraArgs[0]=leader-elect', "at '/operator/extraArgs/0'"],
    ['resources.limits.memory=lots', "at '/resources/limits/memory'"],
    ['metrics.serviceMonitor.interval=often', "at '/metrics/serviceMonitor/interval'"],
    ['podDisruptionBudget.maxUnavailable=0', "at '/podDisruptionBudget/maxUnavailable'"],
    ['service.type=ExternalName', "at '/service/type': value must be one of"],
    ['serviceAccount.create=false', 'serviceAccount.name is required'],
    ['replicaCount=2,podDisruptionBudget.maxUnavailable=2', 'must be less than replicaCount (2)'],
    [
      'replicaCount=2,leaderElection.enabled=false',
      'leaderElection.enabled=false needs replicaCount 1',
    ],
  ];

  test.each(cases)('%s is rejected', async (set, message) => {
    const result = await helm(['template', 'bad', chartDir, '--set', set]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  test('string for an integer names the type', async () => {
    const result = await helm(['template', 'bad', chartDir, '--set-string', 'replicaCount=two']);
    expect(result.stderr).toContain("at '/replicaCount': got string, want integer");
  });
});
