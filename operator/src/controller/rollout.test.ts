import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/model-deployment.ts';
import { summarizeHealth } from './health.ts';
import {
  currentModelFirst,
  deriveRollout,
  findCrashLoop,
  findUnreadyPods,
  findWaitingFailure,
  parseReadyReply,
} from './rollout.ts';

function deployment(status: V1Deployment['status'], generation = 1): V1Deployment {
  return { metadata: { generation }, status: { observedGeneration: generation, ...status } };
}

const uri = 'file:///models/v1';

describe('deriveRollout', () => {
  it('reports a complete rollout as Available', () => {
    const state = deriveRollout(
      2,
      uri,
      deployment({ replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 }),
      undefined,
    );
    expect(state.available).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(state.progressing).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
  });

  it('reports old pods as Progressing', () => {
    const state = deriveRollout(
      2,
      uri,
      deployment({ replicas: 3, updatedReplicas: 1, availableReplicas: 2 }),
      undefined,
    );
    expect(state.available.status).toBe('True');
    expect(state.progressing).toMatchObject({ status: 'True', reason: 'RolloutInProgress' });
  });

  it('waits for the Deployment controller to observe a new generation', () => {
    const stale: V1Deployment = {
      metadata: { generation: 3 },
      status: { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    };
    expect(deriveRollout(1, uri, stale, undefined).progressing.status).toBe('True');
  });

  it('names the URI on a model load failure', () => {
    const failure = {
      reason: 'ModelLoadFailed' as const,
      pod: 'cars-abc',
      message: 'model.json not found',
    };
    const state = deriveRollout(
      1,
      uri,
      deployment({ replicas: 1, updatedReplicas: 1, availableReplicas: 0 }),
      failure,
    );
    expect(state.available).toMatchObject({ status: 'False', reason: 'ModelLoadFailed' });
    expect(state.available.message).toContain(uri);
    expect(state.available.message).toContain('model.json not found');
  });

  it('reports zero replicas as unavailable', () => {
    expect(deriveRollout(0, uri, deployment({}), undefined).available.reason).toBe('ScaledToZero');
  });

  it('reports an exceeded progress deadline', () => {
    const stuck = deployment({
      replicas: 1,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    });
    expect(deriveRollout(1, uri, stuck, undefined).progressing).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
  });
});

function pod(status: V1Pod['status']): V1Pod {
  return { metadata: { name: 'p' }, status };
}

describe('pod diagnosis', () => {
  it('finds a crash loop with its termination message', () => {
    const crashing = pod({
      containerStatuses: [
        {
          name: 'model-server',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1, message: 'starting\ncannot read model.json' } },
        },
      ],
    });
    expect(findCrashLoop([crashing])?.message).toBe(
      'model-server exited with code 1: cannot read model.json',
    );
  });

  it('finds running unready pods', () => {
    const unready = pod({
      phase: 'Running',
      podIP: '127.0.0.5',
      containerStatuses: [
        {
          name: 'model-server',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { running: {} },
        },
      ],
    });
    expect(findUnreadyPods([unready])).toHaveLength(1);
  });
});

describe('findWaitingFailure', () => {
  function waitingPod(reason: string, message?: string): V1Pod {
    return pod({
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'model-server',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason, ...(message ? { message } : {}) } },
        },
      ],
    });
  }

  const cases: [string, string][] = [
    ['ErrImagePull', 'ImagePullFailed'],
    ['ImagePullBackOff', 'ImagePullFailed'],
    ['InvalidImageName', 'ImagePullFailed'],
    ['CreateContainerConfigError', 'ContainerConfigInvalid'],
    ['CreateContainerError', 'ContainerConfigInvalid'],
  ];
  it.each(cases)('maps %s to %s', (waiting, reason) => {
    const failure = findWaitingFailure([waitingPod(waiting, 'kubelet says no')]);
    expect(failure?.reason).toBe(reason);
    expect(failure?.pod).toBe('p');
    expect(failure?.message).toBe(
      `container model-server is waiting with ${waiting}: kubelet says no`,
    );
  });

  it.each(['ContainerCreating', 'PodInitializing', 'CrashLoopBackOff'])('ignores %s', (waiting) => {
    expect(findWaitingFailure([waitingPod(waiting)])).toBeUndefined();
  });

  it('names the pod and the URI in the Available message', () => {
    const failure = findWaitingFailure([waitingPod('ImagePullBackOff', 'Back-off pulling image')]);
    const state = deriveRollout(1, uri, deployment({ replicas: 1 }), failure);
    expect(state.available).toMatchObject({ status: 'False', reason: 'ImagePullFailed' });
    expect(state.available.message).toBe(
      `pod p cannot serve model ${uri}: container model-server is waiting with ` +
        'ImagePullBackOff: Back-off pulling image',
    );
  });
});

describe('current model first', () => {
  function annotated(name: string, modelUri?: string): V1Pod {
    return {
      metadata: {
        name,
        ...(modelUri ? { annotations: { 'modelwarden.io/model-uri': modelUri } } : {}),
      },
    };
  }

  it('orders pods of the desired model first', () => {
    const pods = [
      annotated('old-a', 'file:///models/v2'),
      annotated('new', 'file:///models/v3'),
      annotated('plain'),
      annotated('old-b', 'file:///models/v2'),
    ];
    const names = currentModelFirst(pods, 'file:///models/v3').map((p) => p.metadata?.name);
    expect(names).toEqual(['new', 'old-a', 'plain', 'old-b']);
  });

  it("prints the failing pod's own model URI", () => {
    const crashing: V1Pod = {
      metadata: { name: 'old', annotations: { 'modelwarden.io/model-uri': 'file:///models/v2' } },
      status: {
        containerStatuses: [
          {
            name: 'model-server',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, message: 'out of memory' } },
          },
        ],
      },
    };
    const failure = findCrashLoop([crashing]);
    const state = deriveRollout(1, 'file:///models/v3', deployment({ replicas: 2 }), failure);
    expect(state.available.message).toBe(
      'pod old cannot serve model file:///models/v2: model-server exited with code 1: out of memory',
    );
  });

  it('falls back to the desired URI for a pod without the annotation', () => {
    const failure = { reason: 'ModelLoadFailed' as const, pod: 'p', message: 'not found' };
    const state = deriveRollout(1, 'file:///models/v3', deployment({ replicas: 1 }), failure);
    expect(state.available.message).toBe('pod p cannot serve model file:///models/v3: not found');
  });
});

describe('parseReadyReply', () => {
  it.each([
    [200, '{"ready":true,"state":"ready"}', undefined],
    [503, '{"ready":false,"state":"loading"}', undefined],
    [503, '{"ready":false,"state":"shutting_down"}', undefined],
    [
      503,
      '{"ready":false,"state":"failed","message":"model.json not found","code":"MS_ERR_ARTIFACT_NOT_FOUND"}',
      'model.json not found (MS_ERR_ARTIFACT_NOT_FOUND)',
    ],
    [
      503,
      '{"ready":false,"state":"failed"}',
      'the model server reports that loading failed; see the pod log',
    ],
    [503, 'artifact sha256 mismatch', 'artifact sha256 mismatch'],
  ])('reads %i %s', (status, body, expected) => {
    expect(parseReadyReply(status, body)).toBe(expected);
  });
});

function conditions(
  available: string,
  progressing: string,
  degraded: string,
  progressingReason = 'RolloutComplete',
): Condition[] {
  const at = '2025-01-01T00:00:00Z';
  return [
    {
      type: 'Available',
      status: available as Condition['status'],
      reason: 'R',
      message: '',
      lastTransitionTime: at,
    },
    {
      type: 'Progressing',
      status: progressing as Condition['status'],
      reason: progressingReason,
      message: '',
      lastTransitionTime: at,
    },
    {
      type: 'Degraded',
      status: degraded as Condition['status'],
      reason: 'R',
      message: '',
      lastTransitionTime: at,
    },
  ];
}

describe('summarizeHealth', () => {
  it.each([
    [conditions('True', 'False', 'False'), 'Healthy'],
    [conditions('True', 'False', 'True'), 'Degraded'],
    [conditions('True', 'True', 'False', 'RolloutInProgress'), 'Progressing'],
    [conditions('False', 'True', 'Unknown', 'RolloutInProgress'), 'Progressing'],
    [conditions('False', 'True', 'Unknown', 'ModelLoadFailed'), 'Unavailable'],
    [conditions('True', 'False', 'Unknown'), 'Unknown'],
  ])('summarizes case %#', (input, expected) => {
    expect(summarizeHealth(input)).toBe(expected);
  });
});
