// Registers the Node object and keeps it Ready with a Lease heartbeat, as a kubelet does.
import * as k8s from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';

export interface NodeIdentity {
  name: string;
  address: string;
  kubeletPort: number;
  capacity: Record<string, string>;
  kubeletVersion: string;
}

/** Seconds a Lease stays valid; renewed every quarter of that, the kubelet's defaults. */
const leaseDurationSeconds = 40;
const leaseRenewMs = 10_000;
/** How often the node status (conditions' heartbeat times) is posted even when nothing changed. */
const statusReportMs = 60_000;

const strategicMergePatch = k8s.setHeaderOptions(
  'Content-Type',
  k8s.PatchStrategy.StrategicMergePatch,
);
const bootID = randomUUID();

function conditions(now: Date): k8s.V1NodeCondition[] {
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return [
    condition(
      'MemoryPressure',
      'False',
      'KubeletHasSufficientMemory',
      'kubelet has sufficient memory available',
    ),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    condition(
      'PIDPressure',
      'False',
      'KubeletHasSufficientPID',
      'kubelet has sufficient PID available',
    ),
    condition('Ready', 'True', 'KubeletReady', 'the modelwarden test node is posting ready status'),
  ];
}

function nodeStatus(identity: NodeIdentity, now: Date): k8s.V1NodeStatus {
  return {
    capacity: identity.capacity,
    allocatable: identity.capacity,
    conditions: conditions(now),
    addresses: [
      { type: 'InternalIP', address: identity.address },
      { type: 'Hostname', address: identity.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: identity.kubeletPort } },
    nodeInfo: {
      machineID: bootID.replaceAll('-', ''),
      systemUUID: bootID,
      bootID,
      kernelVersion: os.release(),
      osImage: `${os.type()} (modelwarden test node)`,
      containerRuntimeVersion: 'test-node://0.1.0',
      kubeletVersion: identity.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

/** Keeps the conditions' transition times stable across status posts, because a kubelet only moves them on a flip. */
function keepTransitionTimes(status: k8s.V1NodeStatus, existing: k8s.V1Node | undefined): void {
  for (const condition of status.conditions ?? []) {
    const old = existing?.status?.conditions?.find((c) => c.type === condition.type);
    if (old?.status === condition.status && old.lastTransitionTime) {
      condition.lastTransitionTime = old.lastTransitionTime;
    }
  }
}

/** Creates the Node if needed, posts its status periodically and renews its Lease. */
export class NodeRegistration {
  private readonly identity: NodeIdentity;
  private readonly core: k8s.CoreV1Api;
  private readonly coordination: k8s.CoordinationV1Api;
  private readonly log: Logger;
  private leaseTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;

  constructor(kubeconfig: k8s.KubeConfig, identity: NodeIdentity, log: Logger) {
    this.identity = identity;
    this.core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    this.coordination = kubeconfig.makeApiClient(k8s.CoordinationV1Api);
    this.log = log;
  }

  async start(): Promise<void> {
    await this.register();
    await this.renewLease();
    this.leaseTimer = setInterval(() => void this.renewLease(), leaseRenewMs);
    this.statusTimer = setInterval(() => void this.postStatus(), statusReportMs);
  }

  stop(): void {
    clearInterval(this.leaseTimer);
    clearInterval(this.statusTimer);
  }

  private async readNode(): Promise<k8s.V1Node | undefined> {
    try {
      return await this.core.readNode({ name: this.identity.name });
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) {
        return undefined;
      }
      throw error;
    }
  }

  private async register(): Promise<void> {
    const existing = await this.readNode();
    if (existing) {
      await this.postStatus();
      return;
    }
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    await this.core.createNode({
      body: {
        metadata: {
          name: this.identity.name,
          labels: {
            'kubernetes.io/hostname': this.identity.name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': arch,
            'beta.kubernetes.io/os': 'linux',
            'beta.kubernetes.io/arch': arch,
          },
          annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
        },
        status: nodeStatus(this.identity, new Date()),
      },
    });
    this.log.info({ node: this.identity.name }, 'node registered');
  }

  /** Posts capacity and conditions; re-registers the Node if someone deleted it. */
  private async postStatus(): Promise<void> {
    try {
      const existing = await this.readNode();
      if (!existing) {
        await this.register();
        return;
      }
      const status = nodeStatus(this.identity, new Date());
      keepTransitionTimes(status, existing);
      await this.core.patchNodeStatus(
        { name: this.identity.name, body: { status } },
        strategicMergePatch,
      );
    } catch (error) {
      this.log.warn({ err: error }, 'posting the node status failed; retrying at the next report');
    }
  }

  private async renewLease(): Promise<void> {
    const namespace = 'kube-node-lease';
    const name = this.identity.name;
    const spec: k8s.V1LeaseSpec = {
      holderIdentity: name,
      leaseDurationSeconds,
      renewTime: new k8s.V1MicroTime(),
    };
    try {
      const lease = await this.coordination
        .readNamespacedLease({ namespace, name })
        .catch((error: unknown) => {
          if (error instanceof k8s.ApiException && error.code === 404) {
            return undefined;
          }
          throw error;
        });
      if (!lease) {
        const node = await this.readNode();
        const ownerReferences = node?.metadata?.uid
          ? [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }]
          : undefined;
        await this.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace, ownerReferences }, spec },
        });
        return;
      }
      lease.spec = { ...lease.spec, ...spec };
      await this.coordination.replaceNamespacedLease({ namespace, name, body: lease });
    } catch (error) {
      this.log.warn({ err: error }, 'renewing the node lease failed; retrying in 10s');
    }
  }
}
