// The retraining Job: its deterministic name, its manifest and how its outcome is read.
import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1JobSpec,
  V1Pod,
  V1Volume,
} from '@kubernetes/client-node';
import { Label, MANAGED_BY } from '../api/labels.ts';
import { API_VERSION, KIND } from '../api/model-deployment.ts';
import type { JobTemplate } from '../api/retraining.ts';
import type { Trigger } from './triggers.ts';

/** Mount path of the feedback claim in the serving pods and the Job. */
export const FEEDBACK_MOUNT = '/var/lib/modelwarden/feedback';
/** Mount path of the output claim in the Job. */
export const OUTPUT_MOUNT = '/var/lib/modelwarden/output';
export const ATTEMPT_LABEL = 'modelwarden.io/retrain-attempt';
export const TRIGGER_ANNOTATION = 'modelwarden.io/trigger';
export const VERSION_ANNOTATION = 'modelwarden.io/model-version';

const MAX_NAME = 63;

/**
 * Derives the Job name from the ModelDeployment name and the attempt number, so that an
 * operator restarted between creating a Job and recording it finds the same Job instead of
 * starting a second one. Long names are cut and suffixed with a hash of the full name.
 */
export function retrainingJobName(deploymentName: string, attempt: number): string {
  const suffix = `-retrain-${attempt}`;
  const name = `${deploymentName}${suffix}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(deploymentName).digest('hex').slice(0, 6);
  const keep = MAX_NAME - suffix.length - hash.length - 1;
  return `${deploymentName.slice(0, keep).replace(/-+$/, '')}-${hash}${suffix}`;
}

/** Version label of the artifact an attempt trains. */
export function retrainedVersion(attempt: number): string {
  return `retrain-${attempt}`;
}

/** Everything the Job manifest is built from. */
export interface RetrainingJobInput {
  deployment: { name: string; namespace: string; uid: string };
  attempt: number;
  template: JobTemplate;
  currentModel: { uri: string; version: string | undefined };
  output: { claimName: string; pathPrefix: string };
  /** Claim holding the captured feedback rows, when feedback capture writes to one. */
  feedbackClaim: string | undefined;
  baseDataset: string | undefined;
  trigger: Trigger;
  triggerDetail: string;
  /** Image of the trainer container used when the template lists no containers. */
  trainerImage: string;
  /** Job deadline in milliseconds, used when the template sets no activeDeadlineSeconds. */
  timeoutMs: number;
}

/** Artifact location of an attempt: the URI the serving pods use and the path in the Job. */
export function outputLocation(
  output: RetrainingJobInput['output'],
  version: string,
): { uri: string; path: string } {
  const relative = [output.pathPrefix.replace(/^\/+|\/+$/g, ''), version].filter(Boolean).join('/');
  return { uri: `pvc://${output.claimName}/${relative}`, path: `${OUTPUT_MOUNT}/${relative}` };
}

const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/**
 * Maps a dataset URI to a path the trainer can read: file:// URIs and plain paths as they are,
 * pvc:// URIs of the output claim to its mount. Other URIs pass unchanged.
 */
export function datasetPath(uri: string, outputClaim: string): string {
  if (uri.startsWith('file://')) return decodeURIComponent(new URL(uri).pathname);
  const prefix = `pvc://${outputClaim}/`;
  if (uri.startsWith(prefix)) return `${OUTPUT_MOUNT}/${uri.slice(prefix.length)}`;
  return uri;
}

/**
 * Completes a `model-server train` container, the default trainer: adds the captured feedback
 * and the base dataset as --data, and --out, --version and --termination-message-path, unless
 * its args set them already. The template supplies --features, --label and --name. Containers
 * whose first arg is not `train` are left as they are.
 */
export function completeTrainerArgs(
  container: V1Container,
  input: RetrainingJobInput,
  output: { path: string },
): V1Container {
  const args = container.args ?? [];
  if (args[0] !== 'train') return container;
  const has = (flag: string): boolean =>
    args.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
  const extra: string[] = [];
  if (!has('--data')) {
    if (input.feedbackClaim) extra.push('--data', FEEDBACK_MOUNT);
    if (input.baseDataset)
      extra.push('--data', datasetPath(input.baseDataset, input.output.claimName));
  }
  if (!has('--out')) extra.push('--out', output.path);
  if (!has('--version')) extra.push('--version', retrainedVersion(input.attempt));
  if (!has('--termination-message-path')) {
    extra.push(
      '--termination-message-path',
      container.terminationMessagePath ?? DEFAULT_TERMINATION_MESSAGE_PATH,
    );
  }
  return { ...container, args: [...args, ...extra] };
}

/**
 * Maps the artifact URI a Job reported to one the serving pods can load: a file:// URI inside
 * the output mount becomes pvc://CLAIM/PATH, since the serving pods mount the claim elsewhere.
 */
export function servingUri(reported: string, output: RetrainingJobInput['output']): string {
  if (!reported.startsWith('file://')) return reported;
  const path = decodeURIComponent(new URL(reported).pathname).replace(/\/+$/, '');
  if (!path.startsWith(`${OUTPUT_MOUNT}/`)) return reported;
  return `pvc://${output.claimName}/${path.slice(OUTPUT_MOUNT.length + 1)}`;
}

/** Builds the Job from spec.retraining.jobTemplate with the operator's env and volumes added. */
export function buildRetrainingJob(input: RetrainingJobInput): V1Job {
  const { deployment, attempt, template } = input;
  const version = retrainedVersion(attempt);
  const output = outputLocation(input.output, version);
  const spec = structuredClone(template.spec) as V1JobSpec;
  const podSpec = spec.template?.spec ?? { containers: [] };
  const templateContainers = podSpec.containers?.length
    ? podSpec.containers
    : [{ name: 'trainer', image: input.trainerImage, args: ['train'] }];
  const containers = templateContainers.map((container) =>
    completeTrainerArgs(container, input, output),
  );

  const env: V1EnvVar[] = [
    { name: 'MODELWARDEN_CURRENT_MODEL_URI', value: input.currentModel.uri },
    { name: 'MODELWARDEN_CURRENT_MODEL_VERSION', value: input.currentModel.version ?? '' },
    { name: 'MODELWARDEN_NEW_VERSION', value: version },
    { name: 'MODELWARDEN_OUTPUT_URI', value: output.uri },
    { name: 'MODELWARDEN_OUTPUT_DIR', value: output.path },
    { name: 'MODELWARDEN_TRIGGER', value: input.trigger },
    { name: 'MODELWARDEN_TRIGGER_DETAIL', value: input.triggerDetail },
    { name: 'MODELWARDEN_FEEDBACK_DIR', value: input.feedbackClaim ? FEEDBACK_MOUNT : '' },
    { name: 'MODELWARDEN_BASE_DATASET', value: input.baseDataset ?? '' },
  ];
  const injected = new Set(env.map((variable) => variable.name));
  const volumes: V1Volume[] = [
    ...(podSpec.volumes ?? []).filter(
      (volume) => !['modelwarden-feedback', 'modelwarden-output'].includes(volume.name),
    ),
    { name: 'modelwarden-output', persistentVolumeClaim: { claimName: input.output.claimName } },
  ];
  if (input.feedbackClaim) {
    volumes.push({
      name: 'modelwarden-feedback',
      persistentVolumeClaim: { claimName: input.feedbackClaim, readOnly: true },
    });
  }

  const withEnv = containers.map((container): V1Container => ({
    ...container,
    env: [...(container.env ?? []).filter((variable) => !injected.has(variable.name)), ...env],
    volumeMounts: [
      ...(container.volumeMounts ?? []).filter(
        (mount) => mount.name !== 'modelwarden-feedback' && mount.name !== 'modelwarden-output',
      ),
      { name: 'modelwarden-output', mountPath: OUTPUT_MOUNT },
      ...(input.feedbackClaim
        ? [{ name: 'modelwarden-feedback', mountPath: FEEDBACK_MOUNT, readOnly: true }]
        : []),
    ],
  }));

  const labels = {
    ...template.metadata?.labels,
    [Label.managedBy]: MANAGED_BY,
    [Label.modelDeployment]: deployment.name,
    // Keeps trainer pods out of the Service and the operator's serving-pod filter.
    [Label.component]: 'retraining',
    [ATTEMPT_LABEL]: String(attempt),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: retrainingJobName(deployment.name, attempt),
      namespace: deployment.namespace,
      labels,
      annotations: {
        ...template.metadata?.annotations,
        [TRIGGER_ANNOTATION]: input.trigger,
        [VERSION_ANNOTATION]: version,
      },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: KIND,
          name: deployment.name,
          uid: deployment.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.max(1, Math.ceil(input.timeoutMs / 1000)),
      ...spec,
      template: {
        ...spec.template,
        metadata: {
          ...spec.template?.metadata,
          labels: { ...spec.template?.metadata?.labels, ...labels },
        },
        spec: {
          ...podSpec,
          restartPolicy: podSpec.restartPolicy ?? 'Never',
          containers: withEnv,
          volumes,
        },
      },
    },
  };
}

/** State of a retraining Job as the operator acts on it. */
export type JobOutcome =
  | { state: 'Running' }
  | { state: 'Succeeded'; artifactUri: string | undefined; completedAt: Date | undefined }
  | { state: 'Failed'; reason: string; message: string };

/**
 * Reads a Job's outcome from its conditions, and on success the artifact URI from the
 * termination message of its succeeded pod's first container.
 */
export function jobOutcome(job: V1Job, pods: readonly V1Pod[]): JobOutcome {
  const conditions = job.status?.conditions ?? [];
  const failed = conditions.find(
    (condition) => condition.type === 'Failed' && condition.status === 'True',
  );
  if (failed) {
    return {
      state: 'Failed',
      reason: failed.reason ?? 'JobFailed',
      message: failed.message ?? `Job ${job.metadata?.name ?? ''} failed`,
    };
  }
  const complete = conditions.find(
    (condition) => condition.type === 'Complete' && condition.status === 'True',
  );
  if (!complete) return { state: 'Running' };
  const succeeded = pods.find((pod) => pod.status?.phase === 'Succeeded');
  const message = succeeded?.status?.containerStatuses
    ?.map((status) => status.state?.terminated?.message?.trim())
    .find((text) => text !== undefined && text !== '');
  const completedAt = job.status?.completionTime ? new Date(job.status.completionTime) : undefined;
  return { state: 'Succeeded', artifactUri: message?.split('\n')[0], completedAt };
}
