// Security of a served ModelDeployment on the real cluster. The serving pod runs as non-root
// with a read-only root filesystem and no service-account token. Neither a Secret's value, a
// token in the webhook URL, nor a marker in request bodies appears in the operator's log, the
// pod's log, Events or status. The chart's RBAC, which grants no access to Secrets, is checked
// by the chart tests.
import type { V1Pod } from '@kubernetes/client-node';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, statePaths } from '../cluster/config.ts';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { RESOURCES, resourcePath, type KubeClient } from '../../operator/src/kube/client.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from './support/index.ts';
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

const dir = workDir('security');
const SECRET_VALUE = 'mw-secret-value-0b7e4c';
const WEBHOOK_TOKEN = 'mw-webhook-token-91d3aa';
const BODY_MARKER = 'mw-body-marker-5f20c8';
const ROW = [8, 307, 130, 3504, 12];
const MATRIX = { name: 'input', shape: [1, 5], datatype: 'FP32', data: ROW };

let namespace = '';
let client: KubeClient;
let operator: OperatorProcess;
let pod: V1Pod;

/** Returns a loopback port with nothing listening, so every webhook delivery is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

beforeAll(async () => {
  client = kube();
  await installCrd(client);
  namespace = await createNamespace('rel-security');
  const artifact = await trainArtifact(dir);
  await client.create(resourcePath({ basePath: '/api/v1', plural: 'secrets' }, namespace), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'model-token' },
    stringData: { token: SECRET_VALUE },
  });
  operator = startOperator([namespace], `${dir}/operator.log`);
  const port = await closedPort();
  await client.create(
    mdepCollection(namespace),
    modelDeployment(namespace, 'secure', `file://${artifact}`, {
      spec: {
        server: {
          env: [
            {
              name: 'MODEL_SERVER_ADMIN_TOKEN',
              valueFrom: { secretKeyRef: { name: 'model-token', key: 'token' } },
            },
          ],
        },
        monitoring: {
          interval: '2s',
          window: '10s',
          scrapeTimeout: '1s',
          minSamples: 5,
          metrics: [{ name: 'errorRate', max: 0.5 }],
          webhook: { url: `http://127.0.0.1:${port}/hook?token=${WEBHOOK_TOKEN}` },
        },
      },
    }),
  );
  await waitFor(
    async () =>
      condition(await client.get<ModelDeployment>(mdepPath(namespace, 'secure')), 'Available')
        ?.status === 'True',
    { timeout: 120_000, description: 'secure to become Available' },
  );
  const pods = await client.list<V1Pod>(resourcePath(RESOURCES.pods, namespace), {
    labelSelector: 'modelwarden.io/model-deployment=secure',
  });
  pod = pods.items[0] as V1Pod;
});

afterAll(async () => {
  await operator?.stop();
  if (namespace) await deleteNamespace(namespace);
});

async function post(route: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`http://${pod.status?.podIP}:8080${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

describe('security of a served ModelDeployment', () => {
  it('runs the server as non-root with a read-only root filesystem', () => {
    const container = pod.spec?.containers.find((item) => item.name === 'model-server');
    const podContext = pod.spec?.securityContext;
    const context = container?.securityContext;
    expect(podContext?.runAsNonRoot).toBe(true);
    expect(podContext?.runAsUser).toBeGreaterThan(0);
    expect(context?.readOnlyRootFilesystem).toBe(true);
    expect(context?.allowPrivilegeEscalation).toBe(false);
    expect(context?.capabilities?.drop).toEqual(['ALL']);
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
  });

  it('answers hostile bodies and a wrong admin token with 4xx', async () => {
    const statuses = [
      await post('/v2/models/cars/infer', { id: BODY_MARKER, inputs: [MATRIX] }),
      await post('/v1/models/cars:predict', { signature_name: BODY_MARKER, instances: [ROW] }),
      await post('/v2/models/cars/infer', {
        inputs: [{ name: BODY_MARKER, shape: [1], datatype: 'FP32', data: [1] }],
      }),
      await post('/v1/models/cars/feedback', { labels: [{ id: BODY_MARKER, label: 3 }] }),
      await post('/v1/models/cars:reload', {}, { authorization: `Bearer ${BODY_MARKER}` }),
    ];
    expect(statuses).toEqual([200, 400, 400, 200, 401]);
    for (let round = 0; round < 20; round++) {
      await post('/v2/models/cars/infer', { id: BODY_MARKER, inputs: [MATRIX] });
    }
  });

  it('logs no secret, token or body', async () => {
    await waitFor(() => operator.logs().some((line) => line.msg === 'webhook request failed'), {
      timeout: 60_000,
      description: 'a failed webhook delivery in the operator log',
    });
    const podLog = readFileSync(
      path.join(
        statePaths(loadClusterConfig()).logs,
        `${namespace}_${pod.metadata?.name}_model-server.log`,
      ),
      'utf8',
    );
    const events = await kubectl(['get', 'events', '-n', namespace, '-o', 'json']);
    const resource = await client.get<ModelDeployment>(mdepPath(namespace, 'secure'));
    // The spec contains the webhook URL as the user wrote it, and status must not repeat it.
    const status = JSON.stringify(resource.status);
    const places = { operator: operator.rawLog(), pod: podLog, events: events.stdout, status };
    for (const [place, text] of Object.entries(places)) {
      expect(text, `${place} contains the Secret's value`).not.toContain(SECRET_VALUE);
      expect(text, `${place} contains the webhook token`).not.toContain(WEBHOOK_TOKEN);
      expect(text, `${place} contains a request body`).not.toContain(BODY_MARKER);
    }
  });
});
