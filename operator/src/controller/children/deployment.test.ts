import { describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../api/model-deployment.ts';
import type { V1Pod } from '@kubernetes/client-node';
import { buildDeployment, buildService, isServingPod } from './deployment.ts';
import { resolveModelUri, selectModel } from './model.ts';

const options = { images: { default: 'modelwarden/model-server:0.1.0', byFormat: {} } };

function resource(
  overrides: Partial<ModelDeployment['spec']> = {},
  status?: ModelDeployment['status'],
): ModelDeployment {
  return {
    apiVersion: 'modelwarden.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'cars', namespace: 'ml', uid: 'uid-1', generation: 2 },
    spec: {
      model: { name: 'mpg', uri: 'file:///models/cars/v1', format: 'tfjs-layers', version: 'v1' },
      replicas: 2,
      ...overrides,
    },
    ...(status ? { status } : {}),
  };
}

function container(deployment: ReturnType<typeof buildDeployment>) {
  const first = deployment.spec?.template.spec?.containers[0];
  if (!first) throw new Error('no container');
  return first;
}

describe('buildDeployment', () => {
  it('passes model, host and port flags', () => {
    const md = resource();
    const args = container(buildDeployment(md, selectModel(md), options)).args;
    expect(args).toEqual([
      'serve',
      '--model',
      'file:///models/cars/v1',
      '--model-name',
      'mpg',
      '--host',
      '$(POD_IP)',
      '--port',
      '8080',
      '--shutdown-delay-ms',
      '5000',
      '--shutdown-timeout-ms',
      '20000',
    ]);
  });

  it('gives pods the default shutdown delay and grace period', () => {
    const md = resource();
    const deployment = buildDeployment(md, selectModel(md), options);
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBe(30);
  });

  it('passes a custom shutdown delay and extends the grace period', () => {
    const md = resource({ server: { port: 8080, shutdownDelaySeconds: 12 } });
    const deployment = buildDeployment(md, selectModel(md), options);
    const args = container(deployment).args ?? [];
    expect(args[args.indexOf('--shutdown-delay-ms') + 1]).toBe('12000');
    expect(args[args.indexOf('--shutdown-timeout-ms') + 1]).toBe('20000');
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBe(37);
  });

  it('passes a zero shutdown delay', () => {
    const md = resource({ server: { port: 8080, shutdownDelaySeconds: 0 } });
    const deployment = buildDeployment(md, selectModel(md), options);
    const args = container(deployment).args ?? [];
    expect(args[args.indexOf('--shutdown-delay-ms') + 1]).toBe('0');
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBe(25);
  });

  it('takes POD_IP from the downward API', () => {
    const md = resource();
    const env = container(buildDeployment(md, selectModel(md), options)).env ?? [];
    expect(env.find((variable) => variable.name === 'POD_IP')?.valueFrom?.fieldRef?.fieldPath).toBe(
      'status.podIP',
    );
  });

  it('sets owner reference, replicas and selector', () => {
    const md = resource();
    const deployment = buildDeployment(md, selectModel(md), options);
    expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'ModelDeployment',
      uid: 'uid-1',
      controller: true,
    });
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.spec?.selector.matchLabels).toEqual({
      'modelwarden.io/model-deployment': 'cars',
    });
  });

  it('labels pods with the model version', () => {
    const md = resource();
    const template = buildDeployment(md, selectModel(md), options).spec?.template;
    expect(template?.metadata?.labels?.['modelwarden.io/model-version']).toBe('v1');
    expect(template?.metadata?.annotations?.['modelwarden.io/model-uri']).toBe(
      'file:///models/cars/v1',
    );
  });

  it('mounts a pvc model read-only', () => {
    const md = resource({
      model: { name: 'mpg', uri: 'pvc://models/cars/v2', format: 'tfjs-layers' },
    });
    const deployment = buildDeployment(md, selectModel(md), options);
    const main = container(deployment);
    expect(main.args?.[2]).toBe('file:///mnt/models/cars/v2');
    expect(main.volumeMounts).toContainEqual({
      name: 'model',
      mountPath: '/mnt/models',
      readOnly: true,
    });
    expect(deployment.spec?.template.spec?.volumes).toContainEqual({
      name: 'model',
      persistentVolumeClaim: { claimName: 'models', readOnly: true },
    });
  });

  it('mounts the feedback claim and passes batching flags', () => {
    const md = resource({
      server: {
        port: 9000,
        batching: { maxBatchSize: 16, maxBatchDelayMs: 5, maxQueueRows: 256 },
        feedback: { capture: true, claimName: 'feedback', maxBytes: '64Mi', maxAge: '36h' },
      },
    });
    const main = container(buildDeployment(md, selectModel(md), options));
    expect(main.args).toEqual(
      expect.arrayContaining([
        '--port',
        '9000',
        '--max-batch-size',
        '16',
        '--max-batch-delay-ms',
        '5',
        '--max-queue-rows',
        '256',
      ]),
    );
    expect(main.args).toEqual(
      expect.arrayContaining(['--capture-dir', '/var/lib/modelwarden/feedback']),
    );
    expect(main.volumeMounts).toContainEqual({
      name: 'feedback',
      mountPath: '/var/lib/modelwarden/feedback',
    });
  });

  it('hardens the container', () => {
    const md = resource();
    const deployment = buildDeployment(md, selectModel(md), options);
    const security = container(deployment).securityContext;
    expect(security?.readOnlyRootFilesystem).toBe(true);
    expect(security?.runAsNonRoot).toBe(true);
    expect(security?.capabilities?.drop).toEqual(['ALL']);
    expect(deployment.spec?.template.spec?.securityContext?.seccompProfile?.type).toBe(
      'RuntimeDefault',
    );
  });

  it('probes the health endpoints', () => {
    const md = resource();
    const main = container(buildDeployment(md, selectModel(md), options));
    expect(main.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(main.livenessProbe?.httpGet?.path).toBe('/v2/health/live');
    expect(main.startupProbe?.httpGet?.path).toBe('/v2/health/live');
  });

  it('prefers the image per format over the default', () => {
    const md = resource();
    const image = container(
      buildDeployment(md, selectModel(md), {
        images: { default: 'a:1', byFormat: { 'tfjs-layers': 'b:2' } },
      }),
    ).image;
    expect(image).toBe('b:2');
  });
});

describe('selectModel', () => {
  it('serves spec.model by default', () => {
    expect(selectModel(resource())).toMatchObject({
      uri: 'file:///models/cars/v1',
      source: 'Spec',
    });
  });

  it('serves a promoted model while spec.model.uri is unchanged', () => {
    const md = resource(
      {},
      {
        activeModel: {
          uri: 'pvc://out/models/v2',
          version: 'v2',
          source: 'Promotion',
          specUri: 'file:///models/cars/v1',
        },
      },
    );
    expect(selectModel(md)).toMatchObject({
      uri: 'pvc://out/models/v2',
      version: 'v2',
      source: 'Promotion',
    });
  });

  it('returns to spec.model once spec.model.uri changes', () => {
    const md = resource(
      {},
      {
        activeModel: {
          uri: 'pvc://out/models/v2',
          version: 'v2',
          source: 'Promotion',
          specUri: 'file:///models/cars/v0',
        },
      },
    );
    expect(selectModel(md).source).toBe('Spec');
  });
});

describe('resolveModelUri', () => {
  it.each([
    ['file:///a/b', { serverUri: 'file:///a/b' }],
    ['https://host/m', { serverUri: 'https://host/m' }],
    ['pvc://claim/dir/v1', { serverUri: 'file:///mnt/models/dir/v1', claimName: 'claim' }],
  ])('maps %s', (uri, expected) => {
    expect(resolveModelUri(uri)).toEqual(expected);
  });
});

describe('buildService', () => {
  it('targets the http port of the serving pods', () => {
    const service = buildService(resource());
    expect(service.spec?.selector).toEqual({
      'modelwarden.io/model-deployment': 'cars',
      'app.kubernetes.io/component': 'serving',
    });
    expect(service.spec?.ports?.[0]).toMatchObject({ port: 8080, targetPort: 'http' });
  });

  it('selects labels that the serving pod template carries', () => {
    const md = resource();
    const labels = buildDeployment(md, selectModel(md), options).spec?.template.metadata?.labels;
    for (const [key, value] of Object.entries(buildService(resource()).spec?.selector ?? {})) {
      expect(labels?.[key], key).toBe(value);
    }
  });
});

describe('isServingPod', () => {
  const pod = (labels: Record<string, string>): V1Pod => ({ metadata: { labels } });
  const cases: [string, Record<string, string>, boolean][] = [
    [
      'serving pod',
      { 'modelwarden.io/model-deployment': 'cars', 'app.kubernetes.io/component': 'serving' },
      true,
    ],
    [
      'retraining pod',
      { 'modelwarden.io/model-deployment': 'cars', 'app.kubernetes.io/component': 'retraining' },
      false,
    ],
    ['pod without a component', { 'modelwarden.io/model-deployment': 'cars' }, false],
    [
      'serving pod of another deployment',
      { 'modelwarden.io/model-deployment': 'bikes', 'app.kubernetes.io/component': 'serving' },
      false,
    ],
  ];
  it.each(cases)('%s', (_name, labels, expected) => {
    expect(isServingPod(pod(labels), 'cars')).toBe(expected);
  });
});
