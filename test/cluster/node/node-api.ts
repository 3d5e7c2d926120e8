// The test node's calls to the apiserver, made with its own system:node identity.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { VolumeSource } from './volumes.ts';

function isNotFound(error: unknown): boolean {
  return error instanceof k8s.ApiException && error.code === 404;
}

/** Returns undefined for 404 and rethrows anything else. */
async function getOrUndefined<T>(request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch (error) {
    if (isNotFound(error)) {
      return undefined;
    }
    throw error;
  }
}

interface CachedToken {
  token: string;
  /** When the node requests a new one: at 80% of its lifetime, as the kubelet does. */
  refreshAt: number;
}

const strategicMergePatch = k8s.setHeaderOptions(
  'Content-Type',
  k8s.PatchStrategy.StrategicMergePatch,
);

/** Reads and writes what a kubelet reads and writes, and requests service account tokens. */
export class NodeApi implements VolumeSource {
  readonly core: k8s.CoreV1Api;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly nodeName: string;
  private readonly log: Logger;
  private readonly events = new Map<
    string,
    { name: string; namespace: string; count: number; at: number }
  >();

  constructor(kubeconfig: k8s.KubeConfig, nodeName: string, log: Logger) {
    this.core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    this.nodeName = nodeName;
    this.log = log;
  }

  configMap(namespace: string, name: string): Promise<k8s.V1ConfigMap | undefined> {
    return getOrUndefined(() => this.core.readNamespacedConfigMap({ namespace, name }));
  }

  secret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    return getOrUndefined(() => this.core.readNamespacedSecret({ namespace, name }));
  }

  persistentVolumeClaim(
    namespace: string,
    name: string,
  ): Promise<k8s.V1PersistentVolumeClaim | undefined> {
    return getOrUndefined(() => this.core.readNamespacedPersistentVolumeClaim({ namespace, name }));
  }

  persistentVolume(name: string): Promise<k8s.V1PersistentVolume | undefined> {
    return getOrUndefined(() => this.core.readPersistentVolume({ name }));
  }

  /** Requests a token bound to the pod through the TokenRequest API, reusing it until 80% of its lifetime. */
  async serviceAccountToken(
    pod: k8s.V1Pod,
    audience: string | undefined,
    expirationSeconds: number,
  ): Promise<string> {
    const uid = pod.metadata?.uid ?? '';
    const key = `${uid}/${audience ?? ''}/${expirationSeconds}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) {
      return cached.token;
    }
    const serviceAccount = pod.spec?.serviceAccountName || 'default';
    const response = await this.core.createNamespacedServiceAccountToken({
      namespace: pod.metadata?.namespace ?? 'default',
      name: serviceAccount,
      body: {
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid },
        },
      },
    });
    const token = response.status?.token;
    if (!token) {
      throw new Error(`the TokenRequest for service account "${serviceAccount}" returned no token`);
    }
    const expires = response.status?.expirationTimestamp
      ? new Date(response.status.expirationTimestamp).getTime()
      : Date.now() + expirationSeconds * 1000;
    const now = Date.now();
    this.tokens.set(key, { token, refreshAt: now + 0.8 * (expires - now) });
    return token;
  }

  /** Forgets the tokens of a pod that is gone. */
  forgetPod(uid: string): void {
    for (const key of this.tokens.keys()) {
      if (key.startsWith(`${uid}/`)) {
        this.tokens.delete(key);
      }
    }
    for (const key of this.events.keys()) {
      if (key.startsWith(`${uid}/`)) {
        this.events.delete(key);
      }
    }
  }

  async patchPodStatus(pod: k8s.V1Pod, status: k8s.V1PodStatus): Promise<void> {
    await this.core.patchNamespacedPodStatus(
      {
        namespace: pod.metadata?.namespace ?? 'default',
        name: pod.metadata?.name ?? '',
        body: { status },
      },
      strategicMergePatch,
    );
  }

  /** Deletes the pod object with grace period 0 once its containers are gone; a missing pod is fine. */
  async deletePod(pod: k8s.V1Pod): Promise<void> {
    await getOrUndefined(() =>
      this.core.deleteNamespacedPod({
        namespace: pod.metadata?.namespace ?? 'default',
        name: pod.metadata?.name ?? '',
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } },
      }),
    );
  }

  /**
   * Records an Event on the pod. A repeat of the same reason and message within ten minutes
   * increases the count of the existing Event, as the kubelet's recorder does. Failures are
   * logged and otherwise ignored, because Events are informational.
   */
  async recordEvent(
    pod: k8s.V1Pod,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    fieldPath?: string,
  ): Promise<void> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const key = `${pod.metadata?.uid}/${reason}/${fieldPath ?? ''}/${message}`;
    const now = new Date();
    const previous = this.events.get(key);
    try {
      if (previous && now.getTime() - previous.at < 10 * 60_000) {
        previous.count += 1;
        previous.at = now.getTime();
        await this.core.patchNamespacedEvent(
          { namespace, name: previous.name, body: { count: previous.count, lastTimestamp: now } },
          strategicMergePatch,
        );
        return;
      }
      const name = `${pod.metadata?.name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 6)}`;
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata?.name,
            namespace,
            uid: pod.metadata?.uid,
            fieldPath,
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: 'kubelet', host: this.nodeName },
          reportingComponent: 'kubelet',
          reportingInstance: this.nodeName,
        },
      });
      this.events.set(key, { name, namespace, count: 1, at: now.getTime() });
    } catch (error) {
      this.log.warn(
        { err: error, reason, pod: `${namespace}/${pod.metadata?.name}` },
        'recording an event failed',
      );
    }
  }
}
