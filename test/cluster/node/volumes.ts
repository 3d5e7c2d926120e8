// Pod volumes as folders on this machine, which container mounts then bind into place.
import type * as k8s from '@kubernetes/client-node';
import { existsSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fingerprint, writeAtomically, type ProjectedFile } from './atomic-writer.ts';
import {
  PodConfigError,
  podFieldValue,
  resourceFieldValue,
  type PodRuntimeInfo,
} from './downward.ts';
import { expandReferences, type ObjectSource } from './env.ts';

/** Reads what PVC volumes and service account tokens need from the API. */
export interface VolumeSource extends ObjectSource {
  persistentVolumeClaim(
    namespace: string,
    name: string,
  ): Promise<k8s.V1PersistentVolumeClaim | undefined>;
  persistentVolume(name: string): Promise<k8s.V1PersistentVolume | undefined>;
  /** Requests a token for the pod's service account, bound to the pod. */
  serviceAccountToken(
    pod: k8s.V1Pod,
    audience: string | undefined,
    expirationSeconds: number,
  ): Promise<string>;
}

/** A bind mount of one container: `source` on this machine appears at `target` inside it. */
export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

const defaultMode = 0o644;
const supportedTypes =
  'emptyDir, configMap, secret, downwardAPI, projected, persistentVolumeClaim and hostPath';

function encode(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/** The volume folders of one pod, under `<podDir>/volumes/<name>`. */
export class PodVolumes {
  private readonly pod: k8s.V1Pod;
  private readonly podDir: string;
  private readonly source: VolumeSource;
  private readonly persistentVolumesDir: string;
  private readonly written = new Map<string, string>();
  /** Folders of volumes that live outside the pod folder (PVCs, hostPath). */
  private readonly external = new Map<string, string>();

  constructor(pod: k8s.V1Pod, podDir: string, source: VolumeSource, persistentVolumesDir: string) {
    this.pod = pod;
    this.podDir = podDir;
    this.source = source;
    this.persistentVolumesDir = persistentVolumesDir;
  }

  private volumeDir(name: string): string {
    return this.external.get(name) ?? path.join(this.podDir, 'volumes', name);
  }

  /**
   * Creates every volume, or refreshes the projected ones (ConfigMaps, Secrets, tokens, pod
   * fields), writing only what changed. Throws PodConfigError for a volume it cannot provide.
   */
  async setUp(pod: k8s.V1Pod, info: PodRuntimeInfo): Promise<void> {
    for (const volume of pod.spec?.volumes ?? []) {
      try {
        await this.setUpVolume(pod, volume, info);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new PodConfigError(
          `MountVolume.SetUp failed for volume "${volume.name}": ${message}`,
        );
      }
    }
  }

  private async setUpVolume(
    pod: k8s.V1Pod,
    volume: k8s.V1Volume,
    info: PodRuntimeInfo,
  ): Promise<void> {
    const dir = path.join(this.podDir, 'volumes', volume.name);
    if (volume.emptyDir) {
      mkdirSync(dir, { recursive: true });
      return;
    }
    if (volume.persistentVolumeClaim) {
      this.external.set(volume.name, await this.claimDir(volume.persistentVolumeClaim.claimName));
      return;
    }
    if (volume.hostPath) {
      this.external.set(volume.name, prepareHostPath(volume.hostPath));
      return;
    }
    const files = await this.projectedFiles(pod, volume, info);
    if (files === undefined) {
      throw new Error(
        `volume type is not supported by the test node; it supports ${supportedTypes}`,
      );
    }
    const print = fingerprint(files);
    if (this.written.get(volume.name) !== print) {
      writeAtomically(dir, files);
      this.written.set(volume.name, print);
    }
  }

  private async claimDir(claimName: string): Promise<string> {
    const namespace = this.pod.metadata?.namespace ?? 'default';
    const claim = await this.source.persistentVolumeClaim(namespace, claimName);
    if (!claim) {
      throw new Error(`persistentvolumeclaim "${claimName}" not found`);
    }
    if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) {
      throw new Error(`persistentvolumeclaim "${claimName}" is not bound yet`);
    }
    const volume = await this.source.persistentVolume(claim.spec.volumeName);
    const dir =
      volume?.spec?.hostPath?.path ??
      volume?.spec?.local?.path ??
      path.join(this.persistentVolumesDir, namespace, claimName);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Files of a configMap, secret, downwardAPI or projected volume; undefined for other types. */
  private async projectedFiles(
    pod: k8s.V1Pod,
    volume: k8s.V1Volume,
    info: PodRuntimeInfo,
  ): Promise<Map<string, ProjectedFile> | undefined> {
    const files = new Map<string, ProjectedFile>();
    if (volume.configMap) {
      await this.addConfigMap(files, volume.configMap, volume.configMap.defaultMode ?? defaultMode);
    } else if (volume.secret) {
      await this.addSecret(files, volume.secret, volume.secret.defaultMode ?? defaultMode);
    } else if (volume.downwardAPI) {
      addDownwardApi(
        files,
        pod,
        volume.downwardAPI.items ?? [],
        volume.downwardAPI.defaultMode ?? defaultMode,
        info,
      );
    } else if (volume.projected) {
      const mode = volume.projected.defaultMode ?? defaultMode;
      for (const source of volume.projected.sources ?? []) {
        await this.addProjection(files, pod, source, mode, info);
      }
    } else {
      return undefined;
    }
    return files;
  }

  private async addProjection(
    files: Map<string, ProjectedFile>,
    pod: k8s.V1Pod,
    source: k8s.V1VolumeProjection,
    mode: number,
    info: PodRuntimeInfo,
  ): Promise<void> {
    if (source.configMap) {
      await this.addConfigMap(files, source.configMap, mode);
    } else if (source.secret) {
      await this.addSecret(files, source.secret, mode);
    } else if (source.downwardAPI) {
      addDownwardApi(files, pod, source.downwardAPI.items ?? [], mode, info);
    } else if (source.serviceAccountToken) {
      const request = source.serviceAccountToken;
      const token = await this.source.serviceAccountToken(
        pod,
        request.audience,
        request.expirationSeconds ?? 3600,
      );
      files.set(request.path, { content: encode(token), mode });
    } else {
      throw new Error('projected volume source is not supported by the test node');
    }
  }

  private async addConfigMap(
    files: Map<string, ProjectedFile>,
    ref: k8s.V1ConfigMapVolumeSource | k8s.V1ConfigMapProjection,
    mode: number,
  ): Promise<void> {
    const namespace = this.pod.metadata?.namespace ?? 'default';
    const configMap = await this.source.configMap(namespace, ref.name ?? '');
    if (!configMap) {
      if (ref.optional) {
        return;
      }
      throw new Error(`configmap "${ref.name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(configMap.data ?? {})) {
      data[key] = encode(value);
    }
    for (const [key, value] of Object.entries(configMap.binaryData ?? {})) {
      data[key] = Buffer.from(value, 'base64');
    }
    addItems(files, data, ref.items, mode, ref.optional, `configmap "${ref.name}"`);
  }

  private async addSecret(
    files: Map<string, ProjectedFile>,
    ref: k8s.V1SecretVolumeSource | k8s.V1SecretProjection,
    mode: number,
  ): Promise<void> {
    const namespace = this.pod.metadata?.namespace ?? 'default';
    const name = 'secretName' in ref ? ref.secretName : (ref as k8s.V1SecretProjection).name;
    const secret = await this.source.secret(namespace, name ?? '');
    if (!secret) {
      if (ref.optional) {
        return;
      }
      throw new Error(`secret "${name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      data[key] = Buffer.from(value, 'base64');
    }
    addItems(files, data, ref.items, mode, ref.optional, `secret "${name}"`);
  }

  /**
   * Resolves where `mount` comes from on this machine. A subPath picks a path inside the volume
   * (resolved through the `..data` links), created as a folder if it does not exist.
   */
  mountFor(mount: k8s.V1VolumeMount, env: Record<string, string>): Mount {
    const volume = this.pod.spec?.volumes?.find((v) => v.name === mount.name);
    if (!volume) {
      throw new PodConfigError(`volumeMount "${mount.name}" names no volume of the pod`);
    }
    const base = this.volumeDir(mount.name);
    const subPath = mount.subPathExpr
      ? expandReferences(mount.subPathExpr, (n) => env[n])
      : mount.subPath;
    let source = base;
    if (subPath) {
      const candidate = path.resolve(base, subPath);
      if (!candidate.startsWith(base + path.sep)) {
        throw new PodConfigError(
          `subPath ${JSON.stringify(subPath)} of volumeMount "${mount.name}" leaves the volume`,
        );
      }
      if (!existsSync(candidate)) {
        mkdirSync(candidate, { recursive: true });
      }
      source = realpathSync(candidate);
    }
    // The kubelet mounts the API-backed volumes read-only, whatever the volumeMount sets.
    const alwaysReadOnly = Boolean(
      volume.configMap ?? volume.secret ?? volume.downwardAPI ?? volume.projected,
    );
    return { source, target: mount.mountPath, readOnly: Boolean(mount.readOnly) || alwaysReadOnly };
  }

  /** Deletes the pod's own volume folders; PVC and hostPath folders stay. */
  tearDown(): void {
    rmSync(path.join(this.podDir, 'volumes'), { recursive: true, force: true });
    this.written.clear();
  }
}

function addItems(
  files: Map<string, ProjectedFile>,
  data: Record<string, Buffer>,
  items: k8s.V1KeyToPath[] | undefined,
  mode: number,
  optional: boolean | undefined,
  what: string,
): void {
  if (!items || items.length === 0) {
    for (const [key, content] of Object.entries(data)) {
      files.set(key, { content, mode });
    }
    return;
  }
  for (const item of items) {
    const content = data[item.key];
    if (content === undefined) {
      if (optional) {
        continue;
      }
      throw new Error(`${what} has no key ${JSON.stringify(item.key)}`);
    }
    files.set(item.path, { content, mode: item.mode ?? mode });
  }
}

function addDownwardApi(
  files: Map<string, ProjectedFile>,
  pod: k8s.V1Pod,
  items: k8s.V1DownwardAPIVolumeFile[],
  mode: number,
  info: PodRuntimeInfo,
): void {
  for (const item of items) {
    let value: string;
    if (item.fieldRef) {
      value = podFieldValue(pod, item.fieldRef.fieldPath, info);
    } else if (item.resourceFieldRef) {
      const name = item.resourceFieldRef.containerName;
      const container = pod.spec?.containers.find((c) => c.name === name);
      if (!container) {
        throw new PodConfigError(
          `downwardAPI item ${item.path} names no container ${JSON.stringify(name)}`,
        );
      }
      value = resourceFieldValue(container, item.resourceFieldRef, info);
    } else {
      throw new PodConfigError(
        `downwardAPI item ${item.path} sets neither fieldRef nor resourceFieldRef`,
      );
    }
    files.set(item.path, { content: encode(value), mode: item.mode ?? mode });
  }
}

function prepareHostPath(source: k8s.V1HostPathVolumeSource): string {
  const target = source.path;
  const type = source.type ?? '';
  const exists = existsSync(target);
  switch (type) {
    case 'DirectoryOrCreate':
      mkdirSync(target, { recursive: true });
      break;
    case 'FileOrCreate':
      if (!exists) {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, '');
      }
      break;
    case 'Directory':
      if (!exists || !statSync(target).isDirectory()) {
        throw new Error(`hostPath ${target} is not a directory`);
      }
      break;
    case 'File':
      if (!exists || !statSync(target).isFile()) {
        throw new Error(`hostPath ${target} is not a file`);
      }
      break;
    case '':
      break;
    default:
      if (!exists) {
        throw new Error(`hostPath ${target} of type ${type} does not exist`);
      }
  }
  return target;
}
