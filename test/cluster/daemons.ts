// Command lines and health endpoints of the processes that make up the local cluster.
import path from 'node:path';
import type { BinaryPaths } from './build.ts';
import { statePaths, type ClusterConfig } from './config.ts';
import type { HealthTarget } from './health.ts';
import type { ClusterPki } from './pki.ts';

export type DaemonName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'test-node';

/** Start order; `down` stops them in reverse. */
export const daemonNames: readonly DaemonName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'test-node',
];

export interface DaemonSpec {
  name: DaemonName;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  health: HealthTarget;
  /** How long `up` waits for the health endpoint after starting the process. */
  startTimeoutMs: number;
}

export function pidFile(config: ClusterConfig, name: DaemonName): string {
  return path.join(statePaths(config).run, `${name}.pid`);
}

export function daemonLogFile(config: ClusterConfig, name: DaemonName): string {
  return path.join(statePaths(config).logs, `${name}.log`);
}

function etcd(config: ClusterConfig, binaries: BinaryPaths): DaemonSpec {
  const client = `http://${config.host}:${config.ports.etcdClient}`;
  const peer = `http://${config.host}:${config.ports.etcdPeer}`;
  return {
    name: 'etcd',
    command: binaries.etcd,
    args: [
      '--name=modelwarden',
      `--data-dir=${statePaths(config).etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=modelwarden=${peer}`,
      '--log-level=warn',
      // A throw-away test store: skipping fsync makes writes several times faster, and a crash
      // at worst loses the latest writes.
      '--unsafe-no-fsync',
    ],
    health: { url: `${client}/health` },
    startTimeoutMs: 30_000,
  };
}

function apiserver(config: ClusterConfig, binaries: BinaryPaths, pki: ClusterPki): DaemonSpec {
  return {
    name: 'kube-apiserver',
    command: binaries['kube-apiserver'],
    args: [
      `--etcd-servers=http://${config.host}:${config.ports.etcdClient}`,
      `--bind-address=${config.host}`,
      `--advertise-address=${config.host}`,
      `--secure-port=${config.ports.apiserver}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${config.serviceClusterIpRange}`,
      // Endpoints may not hold loopback addresses, so the apiserver cannot publish its own
      // address in the `kubernetes` Endpoints; pods reach it through KUBERNETES_SERVICE_HOST.
      '--endpoint-reconciler-type=none',
      `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
      `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
      `--kubelet-certificate-authority=${pki.ca.cert}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      '--allow-privileged=true',
      '--profiling=false',
      // ConfigMap watches go to etcd, so that a test that compacts etcd gets 410 Gone for an old
      // resourceVersion. From the watch cache it gets one only once the cache has dropped events.
      '--watch-cache-sizes=configmaps#0',
      `--cert-dir=${path.join(statePaths(config).run, 'kube-apiserver')}`,
    ],
    health: {
      url: `https://${config.host}:${config.ports.apiserver}/readyz`,
      caFile: pki.ca.cert,
      client: pki.admin,
    },
    startTimeoutMs: 90_000,
  };
}

/** Flags that the controller-manager and the scheduler share. */
function componentBaseArgs(
  config: ClusterConfig,
  name: DaemonName,
  port: number,
  tls: ClusterPki['scheduler'],
): string[] {
  const kubeconfig = statePaths(config).componentKubeconfig(name);
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${config.host}`,
    `--secure-port=${port}`,
    `--tls-cert-file=${tls.cert}`,
    `--tls-private-key-file=${tls.key}`,
    // One instance only: leader election would make a restart wait for the old lease to expire.
    '--leader-elect=false',
  ];
}

function controllerManager(
  config: ClusterConfig,
  binaries: BinaryPaths,
  pki: ClusterPki,
): DaemonSpec {
  const port = config.ports.controllerManager;
  return {
    name: 'kube-controller-manager',
    command: binaries['kube-controller-manager'],
    args: [
      ...componentBaseArgs(config, 'kube-controller-manager', port, pki.controllerManager),
      '--controllers=*',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.ca.cert}`,
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      '--cluster-name=modelwarden',
    ],
    health: { url: `https://${config.host}:${port}/healthz`, caFile: pki.ca.cert },
    startTimeoutMs: 60_000,
  };
}

function scheduler(config: ClusterConfig, binaries: BinaryPaths, pki: ClusterPki): DaemonSpec {
  const port = config.ports.scheduler;
  return {
    name: 'kube-scheduler',
    command: binaries['kube-scheduler'],
    args: componentBaseArgs(config, 'kube-scheduler', port, pki.scheduler),
    health: { url: `https://${config.host}:${port}/healthz`, caFile: pki.ca.cert },
    startTimeoutMs: 60_000,
  };
}

function testNode(config: ClusterConfig, pki: ClusterPki): DaemonSpec {
  return {
    name: 'test-node',
    command: process.execPath,
    args: [path.join(config.repoRoot, 'test', 'cluster', 'node', 'main.ts')],
    env: {
      ...process.env,
      MODELWARDEN_CLUSTER_DIR: config.stateDir,
      MODELWARDEN_CLUSTER_PORT_BASE: String(config.portBase),
      MODELWARDEN_BIN_DIR: config.binDir,
      MODELWARDEN_NODE_NAME: config.nodeName,
    },
    health: {
      url: `https://${config.host}:${config.ports.kubelet}/healthz`,
      caFile: pki.ca.cert,
      client: pki.admin,
    },
    startTimeoutMs: 30_000,
  };
}

/** Describes every daemon of the cluster with its full command line. */
export function daemonSpecs(
  config: ClusterConfig,
  binaries: BinaryPaths,
  pki: ClusterPki,
): DaemonSpec[] {
  return [
    etcd(config, binaries),
    apiserver(config, binaries, pki),
    controllerManager(config, binaries, pki),
    scheduler(config, binaries, pki),
    testNode(config, pki),
  ];
}
