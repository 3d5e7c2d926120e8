// Settings of the local cluster, parsed once from the environment into a typed object.
import path from 'node:path';

/** Root of the repository checkout that this file belongs to. */
export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** Loopback ports of the control plane, all derived from one base so that two checkouts can coexist. */
export interface ClusterPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  /** The test node's kubelet API (logs and health), advertised in the Node's daemonEndpoints. */
  kubelet: number;
}

export interface ClusterConfig {
  repoRoot: string;
  /** Built binaries, one folder per component and version. */
  binDir: string;
  /** Everything a running cluster keeps: certificates, etcd data, pid files, logs, volumes. */
  stateDir: string;
  portBase: number;
  ports: ClusterPorts;
  /** Address the control plane listens on and advertises. */
  host: string;
  nodeName: string;
  /** Range of Service cluster IPs; kept in loopback so that a client dialling one stays local. */
  serviceClusterIpRange: string;
  /** First ClusterIP of that range, the `kubernetes` Service in `default`. */
  kubernetesServiceIp: string;
  /** Loopback range of pod addresses, different for each port base so that clusters side by side do not collide. */
  podCidr: string;
}

const defaultPortBase = 16400;

/** Reads the cluster settings from `env` and fails with the variable's name on a bad value. */
export function loadClusterConfig(env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const portBase = parsePortBase(env['MODELWARDEN_CLUSTER_PORT_BASE']);
  const stateDir = path.resolve(
    env['MODELWARDEN_CLUSTER_DIR'] ?? path.join(repoRoot, '.modelwarden', 'cluster'),
  );
  const binDir = path.resolve(
    env['MODELWARDEN_BIN_DIR'] ?? path.join(repoRoot, '.modelwarden', 'bin'),
  );
  const nodeName = env['MODELWARDEN_NODE_NAME'] ?? 'modelwarden-node';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(nodeName)) {
    throw new Error(
      `MODELWARDEN_NODE_NAME=${JSON.stringify(nodeName)} is not a valid node name: ` +
        'use lower-case letters, digits and dashes',
    );
  }
  return {
    repoRoot,
    binDir,
    stateDir,
    portBase,
    ports: {
      etcdClient: portBase + 79,
      etcdPeer: portBase + 80,
      apiserver: portBase + 43,
      controllerManager: portBase + 57,
      scheduler: portBase + 59,
      kubelet: portBase + 50,
    },
    host: '127.0.0.1',
    nodeName,
    serviceClusterIpRange: '127.100.0.0/16',
    kubernetesServiceIp: '127.100.0.1',
    podCidr: env['MODELWARDEN_NODE_POD_CIDR'] || defaultPodCidr(portBase),
  };
}

/**
 * 127.0.0.0/16 for the default port base, so that pods get 127.0.0.2 upwards, and another /16
 * inside 127.0.0.0/8 for each other hundred of port bases: 17400 gets 127.10.0.0/16.
 */
export function defaultPodCidr(portBase: number): string {
  const block = ((Math.floor((portBase - defaultPortBase) / 100) % 255) + 255) % 255;
  return `127.${block}.0.0/16`;
}

function parsePortBase(value: string | undefined): number {
  if (value === undefined || value === '') {
    return defaultPortBase;
  }
  const base = Number(value);
  if (!Number.isInteger(base) || base < 1024 || base > 65_400) {
    throw new Error(
      `MODELWARDEN_CLUSTER_PORT_BASE=${JSON.stringify(value)} is invalid: ` +
        'set an integer from 1024 to 65400; the cluster uses the ports from base+43 to base+80',
    );
  }
  return base;
}

/** Paths inside the state folder, in one place so that `up`, `down` and the node agree. */
export function statePaths(config: ClusterConfig) {
  const dir = config.stateDir;
  return {
    pki: path.join(dir, 'pki'),
    etcdData: path.join(dir, 'etcd'),
    run: path.join(dir, 'run'),
    /** Pid files of container processes, so that `down` finds them even after a node crash. */
    containerRecords: path.join(dir, 'run', 'containers'),
    /** Marker of a cluster started by a vitest run, which the last such run stops; `down` removes it. */
    startedByTests: path.join(dir, 'run', 'started-by-tests'),
    /** Pid files of the vitest runs that use the cluster. */
    testUsers: path.join(dir, 'run', 'test-users'),
    logs: path.join(dir, 'logs'),
    pods: path.join(dir, 'pods'),
    persistentVolumes: path.join(dir, 'pv'),
    kubeconfig: path.join(dir, 'kubeconfig'),
    componentKubeconfig: (component: string) =>
      path.join(dir, 'kubeconfigs', `${component}.kubeconfig`),
  };
}
