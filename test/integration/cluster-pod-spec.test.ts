// What the test node gives a container: env, volumes, an in-cluster identity, logs, image errors.
// Scripts run in the `busybox` image, which the test node maps to the machine's own sh.
import type * as k8s from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import path from 'node:path';
import { loadClusterConfig } from '../cluster/config.ts';
import { kubeClients, kubectl, testbinContainer, useNamespace, waitFor } from './support/index.ts';

async function finishedPod(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
): Promise<k8s.V1Pod> {
  return waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name });
      return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? pod : undefined;
    },
    { timeout: 60_000, description: `pod ${name} to finish` },
  );
}

/** Parses `key=value` lines of a log into a map. */
function facts(log: string): Record<string, string> {
  return Object.fromEntries(
    log
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

const writerScript = `
echo "ip=$POD_IP"
echo "name=$POD_NAME"
echo "namespace=$POD_NAMESPACE"
echo "node=$NODE_NAME"
echo "account=$ACCOUNT"
echo "memory=$MEMORY_MI"
echo "greeting=$GREETING"
echo "password=$PASSWORD"
echo "prefixed=$CFG_greeting"
echo "expanded=$EXPANDED"
echo "hostname=$(hostname)"
echo "cwd=$(pwd)"
echo "file_greeting=$(cat /etc/app/greeting)"
echo "file_password=$(cat /etc/secret/password)"
echo "file_labels=$(cat /etc/podinfo/labels)"
echo "sa_namespace=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"
echo "sa_files=$(ls /var/run/secrets/kubernetes.io/serviceaccount | tr '\\n' ,)"
touch /etc/app/new 2>/dev/null && echo "config_writable=yes" || echo "config_writable=no"
echo "shared data" > /mnt/models/data.txt
node -e '
const k8s = require(process.env.CLIENT_PATH);
const config = new k8s.KubeConfig();
config.loadFromCluster();
config.makeApiClient(k8s.CoreV1Api)
  .readNamespacedPod({ namespace: process.env.POD_NAMESPACE, name: process.env.POD_NAME })
  .then((pod) => console.log("in_cluster_ip=" + pod.status.podIP))
  .catch((error) => console.log("in_cluster_error=" + error.message));
'
`;

function fieldEnv(name: string, fieldPath: string): k8s.V1EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

describe('pod spec on the test node', () => {
  const namespace = useNamespace('cluster-podspec');

  test('container gets env, volumes and a service account token', async () => {
    const { core, rbac } = kubeClients();
    const ns = namespace.name;
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'app' }, data: { greeting: 'hello' } },
    });
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'creds' }, stringData: { password: 's3cret' } },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: 'models' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'read-pods' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'read-pods' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-pods' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
      },
    });

    const claimVolume = { name: 'models', persistentVolumeClaim: { claimName: 'models' } };
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'writer', labels: { role: 'writer' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              command: ['sh', '-c', writerScript],
              workingDir: '/mnt/models',
              env: [
                fieldEnv('POD_IP', 'status.podIP'),
                fieldEnv('POD_NAME', 'metadata.name'),
                fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                fieldEnv('NODE_NAME', 'spec.nodeName'),
                fieldEnv('ACCOUNT', 'spec.serviceAccountName'),
                {
                  name: 'MEMORY_MI',
                  valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
                },
                {
                  name: 'GREETING',
                  valueFrom: { configMapKeyRef: { name: 'app', key: 'greeting' } },
                },
                {
                  name: 'PASSWORD',
                  valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } },
                },
                { name: 'EXPANDED', value: '$(POD_NAME)/$(UNSET)/$$(POD_NAME)' },
                {
                  name: 'CLIENT_PATH',
                  value: fileURLToPath(import.meta.resolve('@kubernetes/client-node')),
                },
              ],
              envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'app' } }],
              resources: { limits: { memory: '128Mi' } },
              volumeMounts: [
                { name: 'app', mountPath: '/etc/app' },
                { name: 'creds', mountPath: '/etc/secret' },
                { name: 'podinfo', mountPath: '/etc/podinfo' },
                { name: 'models', mountPath: '/mnt/models' },
              ],
            },
          ],
          volumes: [
            { name: 'app', configMap: { name: 'app' } },
            { name: 'creds', secret: { secretName: 'creds' } },
            {
              name: 'podinfo',
              downwardAPI: {
                items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }],
              },
            },
            claimVolume,
          ],
        },
      },
    });
    const writer = await finishedPod(core, ns, 'writer');
    const { stdout } = await kubectl(['logs', '-n', ns, 'writer']);
    const seen = facts(stdout);
    expect(writer.status?.phase).toBe('Succeeded');
    expect(seen).toMatchObject({
      ip: writer.status?.podIP,
      name: 'writer',
      namespace: ns,
      node: writer.spec?.nodeName,
      account: 'default',
      memory: '128',
      greeting: 'hello',
      password: 's3cret',
      prefixed: 'hello',
      expanded: 'writer/$(UNSET)/$(POD_NAME)',
      hostname: 'writer',
      cwd: '/mnt/models',
      file_greeting: 'hello',
      file_password: 's3cret',
      file_labels: 'role="writer"',
      sa_namespace: ns,
      sa_files: 'ca.crt,namespace,token,',
      config_writable: 'no',
      in_cluster_ip: writer.status?.podIP,
    });

    // A second pod on the same claim reads the file that the first one wrote.
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'reader' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: ['sh', '-c', 'echo "data=$(cat /data/data.txt)"'],
              volumeMounts: [{ name: 'models', mountPath: '/data', readOnly: true }],
            },
          ],
          volumes: [claimVolume],
        },
      },
    });
    await finishedPod(core, ns, 'reader');
    const reader = await kubectl(['logs', '-n', ns, 'reader']);
    expect(facts(reader.stdout)['data']).toBe('shared data');
  });

  // A checkout under /tmp gets covered by the emptyDir at /tmp that serving pods mount; the
  // program and the Node binary inside the checkout must stay reachable.
  const repoParent = path.dirname(loadClusterConfig().repoRoot);
  test.skipIf(repoParent === '/')('volume over the checkout keeps it reachable', async () => {
    const { core } = kubeClients();
    await core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: { name: 'covering' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            testbinContainer('main', ['exit', '0', '--message', 'ran under the cover'], {
              volumeMounts: [{ name: 'scratch', mountPath: repoParent }],
            }),
          ],
          volumes: [{ name: 'scratch', emptyDir: {} }],
        },
      },
    });
    const pod = await finishedPod(core, namespace.name, 'covering');
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(pod.status?.phase).toBe('Succeeded');
    expect(terminated?.message).toBe('ran under the cover');
  });

  test('unmapped image fails like a failed pull', async () => {
    const { core } = kubeClients();
    await core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: { name: 'unknown-image' },
        spec: { containers: [{ name: 'main', image: 'example.com/nobody/unknown:1.0' }] },
      },
    });
    const waiting = await waitFor(
      async () => {
        const pod = await core.readNamespacedPod({
          namespace: namespace.name,
          name: 'unknown-image',
        });
        return pod.status?.containerStatuses?.[0]?.state?.waiting?.message
          ? pod.status.containerStatuses[0].state.waiting
          : undefined;
      },
      { timeout: 30_000, description: 'pod unknown-image to report its image error' },
    );
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(waiting.reason);
    expect(waiting.message).toContain('"example.com/nobody/unknown:1.0"');
    expect(waiting.message).toContain('test/cluster/images.json');
  });
});
