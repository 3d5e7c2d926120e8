// Two operator processes share one Lease: only the leader reconciles, and the standby takes
// over when the leader is killed (after the lease expires) or stops (at once, by release).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound } from '../../operator/src/errors.ts';
import { RESOURCES, resourcePath } from '../../operator/src/kube/client.ts';
import {
  apiClient,
  installCrd,
  MODEL_DEPLOYMENTS,
  startOperator,
  type OperatorProcess,
} from './operator-harness.ts';
import { createNamespace, deleteNamespace, waitFor } from './support/index.ts';

interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number };
}

let namespace = '';
const operators: OperatorProcess[] = [];
const leaseName = 'modelwarden-operator-test';

function start(identity: string): OperatorProcess {
  const operator = startOperator(identity, [
    `--namespaces=${namespace}`,
    '--leader-elect',
    `--leader-election-namespace=${namespace}`,
    `--leader-election-id=${leaseName}`,
    '--lease-duration=4s',
    '--renew-deadline=3s',
    '--retry-period=500ms',
  ]);
  operators.push(operator);
  return operator;
}

async function holder(): Promise<string | undefined> {
  try {
    const lease = await apiClient().get<Lease>(
      resourcePath(RESOURCES.leases, namespace, leaseName),
    );
    return lease.spec.holderIdentity || undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function reconciled(operator: OperatorProcess): boolean {
  return operator
    .logs()
    .some((line) => line.msg === 'reconciled' || line.msg === 'caches synced, starting workers');
}

async function createModelDeployment(name: string, replicas: number): Promise<void> {
  await apiClient().create(resourcePath(MODEL_DEPLOYMENTS, namespace), {
    apiVersion: 'modelwarden.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name, namespace },
    spec: { model: { name: 'cars', uri: 'file:///models/none', version: 'v1' }, replicas },
  });
}

async function deploymentReplicas(name: string): Promise<number | undefined> {
  try {
    const deployment = await apiClient().get<{ spec: { replicas: number } }>(
      resourcePath(RESOURCES.deployments, namespace, name),
    );
    return deployment.spec.replicas;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('mdep-leader');
});

afterAll(async () => {
  await Promise.all(operators.map((operator) => operator.kill()));
  if (namespace) await deleteNamespace(namespace);
});

describe('leader election', () => {
  it('lets only the leader reconcile and hands over on failure', async () => {
    const first = start('operator-a');
    await waitFor(async () => ((await holder()) === 'operator-a' ? true : undefined), {
      description: 'operator-a to lead',
    });
    const second = start('operator-b');
    await waitFor(
      async () =>
        second.logs().some((line) => line.msg === 'operator started') ? true : undefined,
      { description: 'operator-b to campaign' },
    );

    await createModelDeployment('leader-a', 1);
    await waitFor(() => deploymentReplicas('leader-a'), {
      description: 'the leader to create the Deployment',
    });
    expect(reconciled(first)).toBe(true);
    expect(reconciled(second)).toBe(false);

    // SIGKILL leaves the Lease held: operator-b must wait out the 4s lease duration.
    const killedAt = Date.now();
    await first.kill();
    await waitFor(async () => ((await holder()) === 'operator-b' ? true : undefined), {
      description: 'operator-b to take over',
      timeout: 30_000,
    });
    const takeoverMs = Date.now() - killedAt;
    console.log(`takeover after SIGKILL of the leader: ${takeoverMs} ms (lease duration 4000 ms)`);
    expect(takeoverMs).toBeGreaterThanOrEqual(3000);

    await createModelDeployment('leader-b', 2);
    expect(
      await waitFor(() => deploymentReplicas('leader-b'), {
        description: 'the new leader to create the Deployment',
      }),
    ).toBe(2);
    expect(reconciled(second)).toBe(true);
  });

  it('releases the lease on SIGTERM so a standby takes over at once', async () => {
    const leader = operators.find((operator) => operator.identity === 'operator-b');
    if (!leader) throw new Error('operator-b is not running');
    const standby = start('operator-c');
    await waitFor(
      async () =>
        standby.logs().some((line) => line.msg === 'operator started') ? true : undefined,
      { description: 'operator-c to campaign' },
    );
    const stoppedAt = Date.now();
    expect(await leader.stop()).toBe(0);
    expect(leader.logs().some((line) => line.msg === 'released leadership')).toBe(true);
    await waitFor(async () => ((await holder()) === 'operator-c' ? true : undefined), {
      description: 'operator-c to take over',
      timeout: 30_000,
    });
    console.log(`takeover after SIGTERM of the leader: ${Date.now() - stoppedAt} ms`);

    const lease = await apiClient().get<Lease>(
      resourcePath(RESOURCES.leases, namespace, leaseName),
    );
    expect(lease.spec.leaseTransitions).toBe(2);
  });
});
