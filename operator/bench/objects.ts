// The ModelDeployments the benchmark creates, and the names and namespaces it uses.
import { API_VERSION, KIND, type ModelDeployment } from '../src/api/model-deployment.ts';
import type { MonitoringSpec } from '../src/api/monitoring.ts';

/** Name of ModelDeployment `index`, zero-padded so that names sort in creation order. */
export function benchName(index: number): string {
  return `bench-${String(index).padStart(4, '0')}`;
}

/**
 * A minimal ModelDeployment with no pods: replicas 0 and no monitoring, so that the operator
 * does all its API work (children, status, Events) while no model server starts.
 */
export function benchModelDeployment(namespace: string, index: number): ModelDeployment {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: benchName(index), namespace },
    spec: {
      model: {
        name: 'cars',
        uri: 'file:///var/lib/modelwarden/models/cars/v1',
        format: 'tfjs-layers',
        version: 'v1',
      },
      replicas: 0,
    },
  } as ModelDeployment;
}

/** Monitoring of the probe-loop benchmark: every metric the fake targets export, at `interval`. */
export function benchMonitoring(interval: string): MonitoringSpec {
  return {
    interval,
    window: '5m',
    scrapeTimeout: '5s',
    minSamples: 20,
    failureThreshold: 3,
    successThreshold: 2,
    maxProbeErrors: 3,
    metrics: [
      { name: 'latencyP99', max: 0.5, triggersRetraining: false },
      { name: 'errorRate', max: 0.05, triggersRetraining: false },
      { name: 'requestRate', min: 1, triggersRetraining: false },
      { name: 'mae', max: 3, triggersRetraining: true },
      { name: 'rmse', max: 4, triggersRetraining: true },
      { name: 'drift', max: 0.2, triggersRetraining: true },
    ],
  } as MonitoringSpec;
}

/** Addresses per /24 of the network, skipping .0 so that every address looks like a host. */
/** Command-line options that the fake targets and the probe loop share, so that they match. */
export const TARGET_OPTIONS = {
  count: { type: 'string', default: '1000' },
  network: { type: 'string', default: '127.201' },
  port: { type: 'string', default: '8080' },
} as const;

const HOSTS_PER_BLOCK = 250;

/** Returns the address of target `index` (0-based) inside the /16 `network`, e.g. 127.201. */
export function targetAddress(network: string, index: number): string {
  return `${network}.${Math.floor(index / HOSTS_PER_BLOCK)}.${(index % HOSTS_PER_BLOCK) + 1}`;
}
