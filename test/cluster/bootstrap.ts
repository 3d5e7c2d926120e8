// Cluster objects that `up` creates once the apiserver is ready, before the test node starts.
import * as k8s from '@kubernetes/client-node';

/** Provisioner name of the test node's StorageClass; its PersistentVolumes are local folders. */
export const provisionerName = 'modelwarden.io/test-node';
export const storageClassName = 'modelwarden-local';

function isAlreadyExists(error: unknown): boolean {
  return error instanceof k8s.ApiException && error.code === 409;
}

async function createIfMissing(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!isAlreadyExists(error)) {
      throw error;
    }
  }
}

/**
 * Creates the default StorageClass and the RBAC rules that let the test node provision volumes
 * for it. The Node authorizer grants a node only what a kubelet needs, and provisioning is not
 * part of that.
 */
export async function bootstrapCluster(
  kubeconfig: k8s.KubeConfig,
  nodeName: string,
): Promise<void> {
  const storage = kubeconfig.makeApiClient(k8s.StorageV1Api);
  const rbac = kubeconfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  await createIfMissing(() =>
    storage.createStorageClass({
      body: {
        metadata: {
          name: storageClassName,
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
        provisioner: provisionerName,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
      },
    }),
  );

  const roleName = 'modelwarden:test-node-provisioner';
  await createIfMissing(() =>
    rbac.createClusterRole({
      body: {
        metadata: { name: roleName },
        rules: [
          {
            apiGroups: [''],
            resources: ['persistentvolumes'],
            verbs: ['get', 'list', 'watch', 'create', 'delete'],
          },
          {
            apiGroups: [''],
            resources: ['persistentvolumeclaims'],
            verbs: ['get', 'list', 'watch'],
          },
          {
            apiGroups: ['storage.k8s.io'],
            resources: ['storageclasses'],
            verbs: ['get', 'list', 'watch'],
          },
          { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
        ],
      },
    }),
  );
  await createIfMissing(() =>
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${roleName}:${nodeName}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${nodeName}` },
        ],
      },
    }),
  );
}
