// Provisions a folder-backed PersistentVolume for each claim of the test node's StorageClass.
import * as k8s from '@kubernetes/client-node';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { provisionerName } from '../bootstrap.ts';

const provisionerAnnotations = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
];

/**
 * Provisions claims that the PV controller hands to this provisioner, which it marks with the
 * annotations above. Each gets a hostPath PersistentVolume at `<dir>/<namespace>/<claim>`,
 * pre-bound to the claim. The folder and the volume are deleted once the volume is Released.
 */
export class FolderProvisioner {
  private readonly core: k8s.CoreV1Api;
  private readonly claims: k8s.ListWatch<k8s.V1PersistentVolumeClaim>;
  private readonly volumes: k8s.ListWatch<k8s.V1PersistentVolume>;
  private readonly dir: string;
  private readonly nodeName: string;
  private readonly log: Logger;
  private stopped = false;

  constructor(kubeconfig: k8s.KubeConfig, dir: string, nodeName: string, log: Logger) {
    this.core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    this.dir = dir;
    this.nodeName = nodeName;
    this.log = log;
    const watch = new k8s.Watch(kubeconfig);
    this.claims = new k8s.ListWatch(
      '/api/v1/persistentvolumeclaims',
      watch,
      () => this.core.listPersistentVolumeClaimForAllNamespaces(),
      false,
    );
    this.volumes = new k8s.ListWatch(
      '/api/v1/persistentvolumes',
      watch,
      () => this.core.listPersistentVolume(),
      false,
    );
  }

  async start(): Promise<void> {
    const onClaim = (claim: k8s.V1PersistentVolumeClaim) => void this.provision(claim);
    this.claims.on('add', onClaim);
    this.claims.on('update', onClaim);
    const onVolume = (volume: k8s.V1PersistentVolume) => void this.reclaim(volume);
    this.volumes.on('add', onVolume);
    this.volumes.on('update', onVolume);
    for (const informer of [this.claims, this.volumes] as k8s.Informer<k8s.KubernetesObject>[]) {
      informer.on('error', (error: unknown) => {
        if (this.stopped) {
          return;
        }
        this.log.warn({ err: error }, 'volume watch failed; restarting it in 2s');
        setTimeout(() => void informer.start(), 2000);
      });
    }
    await this.claims.start();
    await this.volumes.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.claims.stop();
    await this.volumes.stop();
  }

  private async provision(claim: k8s.V1PersistentVolumeClaim): Promise<void> {
    const annotations = claim.metadata?.annotations ?? {};
    const ours = provisionerAnnotations.some((key) => annotations[key] === provisionerName);
    if (
      !ours ||
      claim.spec?.volumeName ||
      claim.status?.phase !== 'Pending' ||
      claim.metadata?.deletionTimestamp
    ) {
      return;
    }
    const namespace = claim.metadata?.namespace ?? 'default';
    const claimName = claim.metadata?.name ?? '';
    const folder = path.join(this.dir, namespace, claimName);
    mkdirSync(folder, { recursive: true });
    const volumeName = `pvc-${claim.metadata?.uid}`;
    try {
      await this.core.createPersistentVolume({
        body: {
          metadata: {
            name: volumeName,
            annotations: { 'pv.kubernetes.io/provisioned-by': provisionerName },
          },
          spec: {
            capacity: { storage: claim.spec?.resources?.requests?.['storage'] ?? '1Gi' },
            accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: claim.spec?.storageClassName,
            volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
            hostPath: { path: folder, type: 'DirectoryOrCreate' },
            claimRef: {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              namespace,
              name: claimName,
              uid: claim.metadata?.uid,
            },
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: 'kubernetes.io/hostname', operator: 'In', values: [this.nodeName] },
                    ],
                  },
                ],
              },
            },
          },
        },
      });
      this.log.info(
        { claim: `${namespace}/${claimName}`, folder },
        'persistent volume provisioned',
      );
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 409) {
        return;
      }
      this.log.error(
        { err: error, claim: `${namespace}/${claimName}` },
        'provisioning a volume failed',
      );
    }
  }

  private async reclaim(volume: k8s.V1PersistentVolume): Promise<void> {
    const ours =
      volume.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === provisionerName;
    if (
      !ours ||
      volume.status?.phase !== 'Released' ||
      volume.spec?.persistentVolumeReclaimPolicy !== 'Delete'
    ) {
      return;
    }
    const folder = volume.spec?.hostPath?.path;
    const name = volume.metadata?.name ?? '';
    try {
      await this.core.deletePersistentVolume({ name });
    } catch (error) {
      if (!(error instanceof k8s.ApiException && error.code === 404)) {
        this.log.error({ err: error, volume: name }, 'deleting a released volume failed');
      }
      return;
    }
    // Another claim of the same name may have been provisioned into the folder in the meantime.
    const reused = this.volumes
      .list()
      .some((other) => other.metadata?.name !== name && other.spec?.hostPath?.path === folder);
    if (folder && folder.startsWith(this.dir + path.sep) && !reused) {
      rmSync(folder, { recursive: true, force: true });
    }
    this.log.info({ volume: name, folder }, 'released volume deleted');
  }
}
