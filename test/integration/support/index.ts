// Helpers for integration tests against the local cluster that the global setup starts.
export { kubeClient, kubeClients, kubeConfig, kubeconfigPath } from './kube.ts';
export { kubectl, type KubectlOptions, type KubectlResult } from './kubectl.ts';
export { createNamespace, deleteNamespace, useNamespace } from './namespace.ts';
export { waitFor, type WaitOptions } from './wait.ts';
export {
  fastBackoff,
  serveContainer,
  testbinContainer,
  testbinImage,
  testbinPort,
} from './testbin.ts';
