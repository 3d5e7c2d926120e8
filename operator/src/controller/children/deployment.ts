// Desired Deployment and Service of a ModelDeployment, as server-side apply bodies.
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1Pod,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { API_VERSION, KIND, type ModelDeployment } from '../../api/model-deployment.ts';
import { Annotation, Label, MANAGED_BY } from '../../api/labels.ts';
import { parseDuration } from '../../util/duration.ts';
import { parseQuantity } from '../../util/quantity.ts';
import { MODEL_MOUNT_PATH, resolveModelUri, type ServedModel } from './model.ts';

export const CONTAINER_NAME = 'model-server';
export const DEFAULT_PORT = 8080;
export const FEEDBACK_MOUNT_PATH = '/var/lib/modelwarden/feedback';
export const READY_PATH = '/v2/health/ready';
export const LIVE_PATH = '/v2/health/live';
export const DEFAULT_SHUTDOWN_DELAY_SECONDS = 5;
/** Time the server drains in-flight requests after the shutdown delay before it exits anyway. */
export const SHUTDOWN_DRAIN_SECONDS = 20;
/** Margin between the server's own exit deadline and the kubelet's SIGKILL. */
const TERMINATION_MARGIN_SECONDS = 5;
/** Default of the server's --max-request-rows (model-server serve --help). */
const SERVER_MAX_REQUEST_ROWS = 4096;

export interface ChildOptions {
  /** Image per model format; `default` applies to formats without an entry. */
  images: { default: string; byFormat: Record<string, string> };
}

function ownerReference(resource: ModelDeployment) {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: resource.metadata.name ?? '',
    uid: resource.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Labels of the Deployment's `spec.selector`. Retraining Job pods carry them too, so they select
 * more than the serving pods; they stay as they are because a Deployment's selector is immutable.
 */
export function selectorLabels(resource: ModelDeployment): Record<string, string> {
  return { [Label.modelDeployment]: resource.metadata.name ?? '' };
}

/** Labels that select only the serving pods of a ModelDeployment, not its retraining pods. */
export function servingSelectorLabels(resource: ModelDeployment): Record<string, string> {
  return { ...selectorLabels(resource), [Label.component]: 'serving' };
}

/** Tells whether a pod is a serving pod of the ModelDeployment `name`. */
export function isServingPod(pod: V1Pod, name: string): boolean {
  const labels = pod.metadata?.labels;
  return labels?.[Label.modelDeployment] === name && labels[Label.component] === 'serving';
}

function commonLabels(resource: ModelDeployment): Record<string, string> {
  return {
    ...servingSelectorLabels(resource),
    [Label.name]: 'model-server',
    [Label.instance]: resource.metadata.name ?? '',
    [Label.managedBy]: MANAGED_BY,
  };
}

export function serverPort(resource: ModelDeployment): number {
  return resource.spec.server?.port ?? DEFAULT_PORT;
}

function shutdownDelaySeconds(resource: ModelDeployment): number {
  return resource.spec.server?.shutdownDelaySeconds ?? DEFAULT_SHUTDOWN_DELAY_SECONDS;
}

/**
 * Grace period of a serving pod: the shutdown delay, the drain time and a margin, so that the
 * server exits on its own before the kubelet kills it.
 */
export function terminationGracePeriodSeconds(resource: ModelDeployment): number {
  return shutdownDelaySeconds(resource) + SHUTDOWN_DRAIN_SECONDS + TERMINATION_MARGIN_SECONDS;
}

function serverArgs(resource: ModelDeployment, model: ServedModel, serverUri: string): string[] {
  const server = resource.spec.server;
  const args = [
    'serve',
    '--model',
    serverUri,
    '--model-name',
    resource.spec.model.name,
    '--host',
    '$(POD_IP)',
    '--port',
    String(serverPort(resource)),
    '--shutdown-delay-ms',
    String(shutdownDelaySeconds(resource) * 1000),
    '--shutdown-timeout-ms',
    String(SHUTDOWN_DRAIN_SECONDS * 1000),
  ];
  if (model.sha256) args.push('--model-sha256', model.sha256.toLowerCase());
  const batching = server?.batching;
  if (batching?.maxBatchSize !== undefined)
    args.push('--max-batch-size', String(batching.maxBatchSize));
  if (batching?.maxBatchDelayMs !== undefined) {
    args.push('--max-batch-delay-ms', String(batching.maxBatchDelayMs));
  }
  if (batching?.maxQueueRows !== undefined) {
    args.push('--max-queue-rows', String(batching.maxQueueRows));
    // The server refuses to start when its request row limit exceeds the queue.
    if (batching.maxQueueRows < SERVER_MAX_REQUEST_ROWS)
      args.push('--max-request-rows', String(batching.maxQueueRows));
  }
  const feedback = server?.feedback;
  if (feedback?.capture) {
    args.push('--capture-dir', FEEDBACK_MOUNT_PATH);
    if (feedback.maxBytes !== undefined) {
      args.push('--capture-max-bytes', String(Math.floor(parseQuantity(feedback.maxBytes))));
    }
    if (feedback.maxAge !== undefined) {
      args.push('--capture-max-age-hours', String(parseDuration(feedback.maxAge) / 3_600_000));
    }
  }
  return args;
}

function serverEnv(resource: ModelDeployment): V1EnvVar[] {
  const fieldEnv = (name: string, fieldPath: string): V1EnvVar => ({
    name,
    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } },
  });
  const extra = (resource.spec.server?.env ?? []) as V1EnvVar[];
  return [
    fieldEnv('POD_IP', 'status.podIP'),
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    ...extra,
  ];
}

function volumes(resource: ModelDeployment, claimName: string | undefined) {
  const podVolumes: V1Volume[] = [{ name: 'tmp', emptyDir: {} }];
  const mounts: V1VolumeMount[] = [{ name: 'tmp', mountPath: '/tmp' }];
  if (claimName) {
    podVolumes.push({ name: 'model', persistentVolumeClaim: { claimName, readOnly: true } });
    mounts.push({ name: 'model', mountPath: MODEL_MOUNT_PATH, readOnly: true });
  }
  const feedback = resource.spec.server?.feedback;
  if (feedback?.capture) {
    podVolumes.push(
      feedback.claimName
        ? { name: 'feedback', persistentVolumeClaim: { claimName: feedback.claimName } }
        : { name: 'feedback', emptyDir: {} },
    );
    mounts.push({ name: 'feedback', mountPath: FEEDBACK_MOUNT_PATH });
  }
  return { podVolumes, mounts };
}

function imageFor(resource: ModelDeployment, options: ChildOptions): string {
  const format = resource.spec.model.format ?? 'tfjs-layers';
  return resource.spec.server?.image ?? options.images.byFormat[format] ?? options.images.default;
}

function container(
  resource: ModelDeployment,
  model: ServedModel,
  serverUri: string,
  mounts: V1VolumeMount[],
  options: ChildOptions,
): V1Container {
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: 'http' },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  return {
    name: CONTAINER_NAME,
    image: imageFor(resource, options),
    ...(resource.spec.server?.imagePullPolicy
      ? { imagePullPolicy: resource.spec.server.imagePullPolicy }
      : {}),
    args: serverArgs(resource, model, serverUri),
    env: serverEnv(resource),
    ports: [{ name: 'http', containerPort: serverPort(resource), protocol: 'TCP' }],
    readinessProbe: probe(READY_PATH, 5, 3),
    livenessProbe: probe(LIVE_PATH, 10, 3),
    // Loading a large artifact may take a while; liveness starts only after this succeeds.
    startupProbe: probe(LIVE_PATH, 2, 60),
    ...(resource.spec.resources
      ? { resources: resource.spec.resources as V1Container['resources'] }
      : {}),
    volumeMounts: mounts,
    // A server that exits on start-up leaves its last log lines in lastState.terminated.message.
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

/** Builds the Deployment that runs the model-server pods. */
export function buildDeployment(
  resource: ModelDeployment,
  model: ServedModel,
  options: ChildOptions,
): V1Deployment {
  const { serverUri, claimName } = resolveModelUri(model.uri);
  const { podVolumes, mounts } = volumes(resource, claimName);
  const version = model.version ?? 'unversioned';
  const labels = commonLabels(resource);
  const podLabels = {
    ...labels,
    [Label.model]: resource.spec.model.name,
    [Label.modelVersion]: version,
  };
  // The URI and version annotations change the pod template, so a new model rolls the pods.
  const podAnnotations: Record<string, string> = {
    [Annotation.modelUri]: model.uri,
    [Annotation.modelVersion]: version,
  };
  if (model.sha256) podAnnotations[Annotation.modelSha256] = model.sha256.toLowerCase();
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: resource.metadata.name,
      namespace: resource.metadata.namespace,
      labels,
      annotations: { [Annotation.modelVersion]: version },
      ownerReferences: [ownerReference(resource)],
    },
    spec: {
      replicas: resource.spec.replicas,
      selector: { matchLabels: selectorLabels(resource) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      progressDeadlineSeconds: 600,
      template: {
        metadata: { labels: podLabels, annotations: podAnnotations },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: terminationGracePeriodSeconds(resource),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [container(resource, model, serverUri, mounts, options)],
          volumes: podVolumes,
        },
      },
    },
  };
}

/** Builds the ClusterIP Service in front of the serving pods. */
export function buildService(resource: ModelDeployment): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: resource.metadata.name,
      namespace: resource.metadata.namespace,
      labels: commonLabels(resource),
      ownerReferences: [ownerReference(resource)],
    },
    spec: {
      type: 'ClusterIP',
      selector: servingSelectorLabels(resource),
      ports: [{ name: 'http', port: serverPort(resource), targetPort: 'http', protocol: 'TCP' }],
    },
  };
}
