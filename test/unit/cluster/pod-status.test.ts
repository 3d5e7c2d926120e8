// Pod phase and conditions as the test node reports them, by the kubelet's rules.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { ContainerRun } from '../../cluster/node/container-state.ts';
import {
  ConditionClock,
  podConditions,
  podPhase,
  type PodView,
} from '../../cluster/node/pod-status.ts';

const backoff = { baseMs: 10_000, maxMs: 300_000 };

function run(
  state: 'waiting' | 'running' | 'terminated',
  exitCode?: number,
  init = false,
): ContainerRun {
  const container = new ContainerRun(
    { name: `c${Math.random().toString(36).slice(2, 6)}` },
    init,
    backoff,
  );
  container.state = state;
  if (exitCode !== undefined) {
    const at = new Date(0);
    container.lastTermination = {
      exitCode,
      reason: '',
      startedAt: at,
      finishedAt: at,
      containerID: '',
    };
  }
  return container;
}

function view(restartPolicy: string, runs: ContainerRun[], initRuns: ContainerRun[] = []): PodView {
  const pod: k8s.V1Pod = { spec: { restartPolicy, containers: [] } };
  return {
    pod,
    runs,
    initRuns,
    sandboxReady: true,
    podIP: '127.0.0.2',
    hostIP: '127.0.0.1',
    startTime: new Date(0),
    terminating: false,
  };
}

describe('podPhase', () => {
  test.each([
    ['Always', [run('waiting')], 'Pending'],
    ['Always', [run('running')], 'Running'],
    ['Always', [run('waiting', 1)], 'Running'],
    ['Never', [run('terminated', 0)], 'Succeeded'],
    ['Never', [run('terminated', 1)], 'Failed'],
    ['Never', [run('terminated', 1), run('running')], 'Running'],
    ['OnFailure', [run('waiting', 1)], 'Running'],
    ['OnFailure', [run('terminated', 0), run('terminated', 0)], 'Succeeded'],
  ])('%s with %o is %s', (policy, runs, phase) => {
    expect(podPhase(view(policy, runs))).toBe(phase);
  });

  test('pending while an init container runs', () => {
    expect(podPhase(view('Always', [run('waiting')], [run('running', undefined, true)]))).toBe(
      'Pending',
    );
  });

  test('failed when an init container fails under Never', () => {
    expect(podPhase(view('Never', [run('waiting')], [run('terminated', 1, true)]))).toBe('Failed');
  });

  test('terminal once a deleted pod stopped', () => {
    const deleted = { ...view('Always', [run('terminated', 143)]), terminating: true };
    expect(podPhase(deleted)).toBe('Failed');
  });
});

describe('podConditions', () => {
  test('names the unready containers', () => {
    const waiting = run('waiting');
    const conditions = podConditions(view('Always', [waiting]), 'Pending');
    expect(conditions['Ready']).toEqual({
      status: 'False',
      reason: 'ContainersNotReady',
      message: `containers with unready status: [${waiting.name}]`,
    });
    expect(conditions['Initialized']?.status).toBe('True');
  });
});

describe('ConditionClock', () => {
  test('moves the transition time only on a flip', () => {
    const clock = new ConditionClock(undefined);
    const first = clock.stamp({ Ready: { status: 'False' } }, new Date('2026-01-01T00:00:00.700Z'));
    const same = clock.stamp({ Ready: { status: 'False' } }, new Date('2026-01-01T00:01:00Z'));
    const flipped = clock.stamp({ Ready: { status: 'True' } }, new Date('2026-01-01T00:02:00Z'));
    expect(first[0]?.lastTransitionTime).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(same[0]?.lastTransitionTime).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(flipped[0]?.lastTransitionTime).toEqual(new Date('2026-01-01T00:02:00Z'));
  });
});
