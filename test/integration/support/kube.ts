// Kubernetes clients for integration tests, built from the local cluster's kubeconfig.
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { loadClusterConfig, statePaths } from '../../cluster/config.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the cluster that the global setup started or found running. */
    kubeconfig: string;
  }
}

/**
 * Returns the kubeconfig path: what the global setup provided, else $KUBECONFIG, else the
 * default state folder's, so that helpers also work outside a vitest worker.
 */
export function kubeconfigPath(): string {
  let provided: string | undefined;
  try {
    provided = inject('kubeconfig');
  } catch {
    // Not inside a vitest worker with the cluster project's global setup.
    provided = undefined;
  }
  return provided ?? process.env['KUBECONFIG'] ?? statePaths(loadClusterConfig()).kubeconfig;
}

/** Loads the admin kubeconfig of the local cluster. */
export function kubeConfig(): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfigPath());
  return config;
}

/** Builds an API client of any generated group: `kubeClient(k8s.AppsV1Api)`. */
export function kubeClient<T extends k8s.ApiType>(api: new (config: k8s.Configuration) => T): T {
  return kubeConfig().makeApiClient(api);
}

/** Creates the clients that most tests need, sharing one kubeconfig. */
export function kubeClients() {
  const config = kubeConfig();
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    batch: config.makeApiClient(k8s.BatchV1Api),
    rbac: config.makeApiClient(k8s.RbacAuthorizationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(config),
  };
}
