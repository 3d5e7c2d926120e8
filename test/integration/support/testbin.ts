// Pod specs that run the test programs of test/cluster/testbin/testbin.ts on the test node.
import type * as k8s from '@kubernetes/client-node';
import { backoffAnnotation } from '../../cluster/node/pod-worker.ts';

/** Image that the test node maps to testbin.ts (see test/cluster/images.json). */
export const testbinImage = 'modelwarden/testbin';

/** Port that `serve` containers listen on in the cluster tests. */
export const testbinPort = 18080;

/** Annotations that shorten the crash-loop back-off of one pod to 1 s, 2 s, 4 s... */
export const fastBackoff: Record<string, string> = { [backoffAnnotation]: '1' };

/** Builds a container running `testbin ARGS` with POD_IP set from the downward API. */
export function testbinContainer(
  name: string,
  args: string[],
  extra: Partial<k8s.V1Container> = {},
): k8s.V1Container {
  return {
    name,
    image: testbinImage,
    args,
    env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
    ...extra,
  };
}

/** Builds a container serving HTTP on the pod's address at `testbinPort`. */
export function serveContainer(
  name: string,
  extra: Partial<k8s.V1Container> = {},
): k8s.V1Container {
  return testbinContainer(name, ['serve', '--port', String(testbinPort)], {
    ports: [{ name: 'http', containerPort: testbinPort }],
    ...extra,
  });
}
