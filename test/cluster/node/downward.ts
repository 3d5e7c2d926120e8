// Values of the downward API: pod fields and container resources, as the kubelet formats them.
import type * as k8s from '@kubernetes/client-node';
import { parseQuantity } from './quantity.ts';

/** Facts about a pod that only the node has: its address and the node's resources. */
export interface PodRuntimeInfo {
  podIP: string;
  hostIP: string;
  /** Node allocatable resources, the value of a limit the container does not set. */
  allocatable: Record<string, string>;
}

/** Raised when a pod refers to something the node cannot resolve; the message is for the pod's status. */
export class PodConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodConfigError';
  }
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}=${JSON.stringify(map?.[key] ?? '')}`)
    .join('\n');
}

const subscript = /^metadata\.(labels|annotations)\['([^']*)'\]$/;

/** Resolves a `fieldRef.fieldPath`. Whole label and annotation maps are allowed in volumes only. */
export function podFieldValue(pod: k8s.V1Pod, fieldPath: string, info: PodRuntimeInfo): string {
  const keyed = subscript.exec(fieldPath);
  if (keyed?.[1] && keyed[2] !== undefined) {
    const map = keyed[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[keyed[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return info.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return info.podIP;
    default:
      throw new PodConfigError(`unsupported fieldRef.fieldPath ${JSON.stringify(fieldPath)}`);
  }
}

/**
 * Resolves a `resourceFieldRef` against `container`: a limit the container does not set is the
 * node's allocatable amount, and the result is rounded up to whole divisors.
 */
export function resourceFieldValue(
  container: k8s.V1Container,
  selector: k8s.V1ResourceFieldSelector,
  info: PodRuntimeInfo,
): string {
  const [kind, resource] = selector.resource.split(/\.(.*)/s);
  if ((kind !== 'limits' && kind !== 'requests') || !resource) {
    throw new PodConfigError(
      `unsupported resourceFieldRef.resource ${JSON.stringify(selector.resource)}`,
    );
  }
  const declared = container.resources?.[kind]?.[resource];
  const fallback = kind === 'limits' ? info.allocatable[resource] : undefined;
  const quantity = declared ?? fallback ?? '0';
  const divisor = selector.divisor === undefined ? 1 : parseQuantity(String(selector.divisor));
  if (divisor <= 0) {
    throw new PodConfigError(
      `resourceFieldRef.divisor ${String(selector.divisor)} must be positive`,
    );
  }
  return String(Math.ceil(parseQuantity(String(quantity)) / divisor - 1e-9));
}
