import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  buildRetrainingJob,
  datasetPath,
  jobOutcome,
  retrainingJobName,
  servingUri,
  type RetrainingJobInput,
} from './job.ts';

const input: RetrainingJobInput = {
  deployment: { name: 'cars', namespace: 'ml', uid: 'uid-1' },
  attempt: 2,
  template: {
    metadata: { labels: { team: 'ml' } },
    spec: {
      activeDeadlineSeconds: 600,
      template: {
        spec: {
          containers: [
            {
              name: 'train',
              image: 'modelwarden/model-server:0.1.0',
              args: ['train'],
              env: [
                { name: 'MODELWARDEN_TRIGGER', value: 'overridden' },
                { name: 'SEED', value: '1' },
              ],
            },
          ],
        },
      },
    },
  },
  currentModel: { uri: 'pvc://models/cars/v1', version: 'v1' },
  output: { claimName: 'models', pathPrefix: 'cars/' },
  feedbackClaim: 'feedback',
  baseDataset: undefined,
  trigger: 'Degradation',
  triggerDetail: 'sustained degradation of mae',
  trainerImage: 'modelwarden/model-server:0.1.0',
  timeoutMs: 3_600_000,
};

describe('retrainingJobName', () => {
  it('joins name and attempt', () => {
    expect(retrainingJobName('cars', 3)).toBe('cars-retrain-3');
  });

  it('cuts long names to 63 characters with a hash', () => {
    const long = 'a'.repeat(60);
    const name = retrainingJobName(long, 12);
    expect(name).toHaveLength(63);
    expect(name).toMatch(/^a+-[0-9a-f]{6}-retrain-12$/);
    expect(retrainingJobName(long, 12)).toBe(name);
    expect(retrainingJobName(`${'a'.repeat(59)}b`, 12)).not.toBe(name);
  });
});

describe('buildRetrainingJob', () => {
  const job = buildRetrainingJob(input);
  const container = job.spec?.template.spec?.containers[0];
  const env = Object.fromEntries(
    (container?.env ?? []).map((variable) => [variable.name, variable.value]),
  );

  it('names and owns the Job', () => {
    expect(job.metadata?.name).toBe('cars-retrain-2');
    expect(job.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'modelwarden.io/v1alpha1',
        kind: 'ModelDeployment',
        name: 'cars',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(job.metadata?.labels).toEqual({
      team: 'ml',
      'app.kubernetes.io/managed-by': 'modelwarden',
      'modelwarden.io/model-deployment': 'cars',
      'app.kubernetes.io/component': 'retraining',
      'modelwarden.io/retrain-attempt': '2',
    });
  });

  it('injects the env, replacing template values of the same name', () => {
    expect(env).toEqual({
      SEED: '1',
      MODELWARDEN_CURRENT_MODEL_URI: 'pvc://models/cars/v1',
      MODELWARDEN_CURRENT_MODEL_VERSION: 'v1',
      MODELWARDEN_NEW_VERSION: 'retrain-2',
      MODELWARDEN_OUTPUT_URI: 'pvc://models/cars/retrain-2',
      MODELWARDEN_OUTPUT_DIR: '/var/lib/modelwarden/output/cars/retrain-2',
      MODELWARDEN_TRIGGER: 'Degradation',
      MODELWARDEN_TRIGGER_DETAIL: 'sustained degradation of mae',
      MODELWARDEN_FEEDBACK_DIR: '/var/lib/modelwarden/feedback',
      MODELWARDEN_BASE_DATASET: '',
    });
  });

  it('mounts the output and feedback claims', () => {
    expect(job.spec?.template.spec?.volumes).toEqual([
      { name: 'modelwarden-output', persistentVolumeClaim: { claimName: 'models' } },
      {
        name: 'modelwarden-feedback',
        persistentVolumeClaim: { claimName: 'feedback', readOnly: true },
      },
    ]);
    expect(container?.volumeMounts?.map((mount) => mount.mountPath)).toEqual([
      '/var/lib/modelwarden/output',
      '/var/lib/modelwarden/feedback',
    ]);
  });

  it('keeps template settings and defaults the rest', () => {
    expect(job.spec?.activeDeadlineSeconds).toBe(600);
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
  });

  it('keeps the template deadline over the timeout', () => {
    const short = buildRetrainingJob({ ...input, timeoutMs: 60_000 });
    expect(short.spec?.activeDeadlineSeconds).toBe(600);
  });

  it('applies the default timeout without a template deadline', () => {
    const bare = buildRetrainingJob({ ...input, template: { spec: {} } });
    expect(bare.spec?.activeDeadlineSeconds).toBe(3600);
  });

  it('applies a custom timeout in whole seconds', () => {
    const custom = buildRetrainingJob({ ...input, template: { spec: {} }, timeoutMs: 90_500 });
    expect(custom.spec?.activeDeadlineSeconds).toBe(91);
  });

  it('uses the default trainer without containers', () => {
    const bare = buildRetrainingJob({ ...input, template: { spec: {} } });
    expect(bare.spec?.template.spec?.containers[0]?.args?.[0]).toBe('train');
  });

  it('completes the model-server train args', () => {
    expect(container?.args).toEqual([
      'train',
      '--data',
      '/var/lib/modelwarden/feedback',
      '--out',
      '/var/lib/modelwarden/output/cars/retrain-2',
      '--version',
      'retrain-2',
      '--termination-message-path',
      '/dev/termination-log',
    ]);
  });

  it('adds the base dataset and keeps flags the template sets', () => {
    const template = structuredClone(input.template);
    const spec = template.spec as { template: { spec: { containers: { args: string[] }[] } } };
    const first = spec.template.spec.containers[0];
    if (first) first.args = ['train', '--version', 'mine'];
    const job = buildRetrainingJob({
      ...input,
      template,
      baseDataset: 'pvc://models/data/cars.json',
    });
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual([
      'train',
      '--version',
      'mine',
      '--data',
      '/var/lib/modelwarden/feedback',
      '--data',
      '/var/lib/modelwarden/output/data/cars.json',
      '--out',
      '/var/lib/modelwarden/output/cars/retrain-2',
      '--termination-message-path',
      '/dev/termination-log',
    ]);
  });

  it('leaves the template untouched', () => {
    expect(input.template.spec).not.toHaveProperty('backoffLimit');
  });
});

describe('servingUri', () => {
  const output = { claimName: 'models', pathPrefix: 'cars' };

  it.each([
    ['file:///var/lib/modelwarden/output/cars/retrain-1', 'pvc://models/cars/retrain-1'],
    ['file:///var/lib/modelwarden/output/cars/retrain-1/', 'pvc://models/cars/retrain-1'],
    ['file:///elsewhere/model', 'file:///elsewhere/model'],
    ['pvc://models/cars/retrain-1', 'pvc://models/cars/retrain-1'],
  ])('maps %s', (reported, expected) => {
    expect(servingUri(reported, output)).toBe(expected);
  });
});

describe('datasetPath', () => {
  it.each([
    ['file:///data/cars.json', '/data/cars.json'],
    ['/data/cars.json', '/data/cars.json'],
    ['pvc://models/base/cars.json', '/var/lib/modelwarden/output/base/cars.json'],
    ['pvc://other/cars.json', 'pvc://other/cars.json'],
  ])('maps %s', (uri, expected) => {
    expect(datasetPath(uri, 'models')).toBe(expected);
  });
});

describe('jobOutcome', () => {
  const job = (type: string, reason?: string): V1Job => ({
    metadata: { name: 'cars-retrain-1' },
    status: {
      conditions: [{ type, status: 'True', ...(reason ? { reason, message: 'boom' } : {}) }],
    },
  });
  const pod = (message: string): V1Pod => ({
    status: {
      phase: 'Succeeded',
      containerStatuses: [
        {
          name: 't',
          image: 'i',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, message } },
        },
      ],
    },
  });

  it('reads the artifact URI from the termination message', () => {
    expect(jobOutcome(job('Complete'), [pod('pvc://models/cars/retrain-1\n')])).toEqual({
      state: 'Succeeded',
      artifactUri: 'pvc://models/cars/retrain-1',
      completedAt: undefined,
    });
  });

  it('reports the failure reason', () => {
    expect(jobOutcome(job('Failed', 'BackoffLimitExceeded'), [])).toEqual({
      state: 'Failed',
      reason: 'BackoffLimitExceeded',
      message: 'boom',
    });
  });

  it('is Running without a final condition', () => {
    expect(jobOutcome({ status: {} }, [])).toEqual({ state: 'Running' });
  });
});
