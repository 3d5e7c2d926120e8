// Container environment and `$(VAR)` expansion, in the kubelet's order and with its error messages.
import type * as k8s from '@kubernetes/client-node';
import {
  PodConfigError,
  podFieldValue,
  resourceFieldValue,
  type PodRuntimeInfo,
} from './downward.ts';

/**
 * Expands `$(NAME)` references as Kubernetes does in env values, command and args: a defined
 * name is replaced, an undefined one stays as written, and `$$` is a literal `$`.
 */
export function expandReferences(
  input: string,
  lookup: (name: string) => string | undefined,
): string {
  let output = '';
  for (let i = 0; i < input.length; i++) {
    const char = input[i];
    const next = input[i + 1];
    if (char !== '$' || next === undefined) {
      output += char;
      continue;
    }
    if (next === '$') {
      output += '$';
      i += 1;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        output += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      output += lookup(name) ?? `$(${name})`;
      i = close;
      continue;
    }
    output += char;
  }
  return output;
}

/** Reads the ConfigMaps and Secrets that env and volumes refer to; undefined means "not found". */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<k8s.V1ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<k8s.V1Secret | undefined>;
}

/** Variables that point in-cluster clients at the apiserver, because no kube-proxy serves the Service. */
export function serviceEnvironment(host: string, port: number): Record<string, string> {
  const url = `tcp://${host}:${port}`;
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: String(port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(port),
    KUBERNETES_PORT: url,
    [`KUBERNETES_PORT_${port}_TCP`]: url,
    [`KUBERNETES_PORT_${port}_TCP_PROTO`]: 'tcp',
    [`KUBERNETES_PORT_${port}_TCP_PORT`]: String(port),
    [`KUBERNETES_PORT_${port}_TCP_ADDR`]: host,
  };
}

function decodeSecret(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

async function configMapData(
  source: ObjectSource,
  namespace: string,
  name: string,
  optional: boolean | undefined,
): Promise<Record<string, string> | undefined> {
  const configMap = await source.configMap(namespace, name);
  if (!configMap) {
    if (optional) {
      return undefined;
    }
    throw new PodConfigError(`configmap "${name}" not found`);
  }
  const binary = Object.fromEntries(
    Object.entries(configMap.binaryData ?? {}).map(([k, v]) => [k, decodeSecret(v)]),
  );
  return { ...binary, ...configMap.data };
}

async function secretData(
  source: ObjectSource,
  namespace: string,
  name: string,
  optional: boolean | undefined,
): Promise<Record<string, string> | undefined> {
  const secret = await source.secret(namespace, name);
  if (!secret) {
    if (optional) {
      return undefined;
    }
    throw new PodConfigError(`secret "${name}" not found`);
  }
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, decodeSecret(v)]),
  );
}

/** Checks that an envFrom variable name is non-empty and free of "=". */
function isValidEnvName(name: string): boolean {
  return name.length > 0 && !name.includes('=');
}

async function valueFrom(
  pod: k8s.V1Pod,
  container: k8s.V1Container,
  from: k8s.V1EnvVarSource,
  source: ObjectSource,
  info: PodRuntimeInfo,
): Promise<string | undefined> {
  const namespace = pod.metadata?.namespace ?? 'default';
  if (from.fieldRef) {
    return podFieldValue(pod, from.fieldRef.fieldPath, info);
  }
  if (from.resourceFieldRef) {
    return resourceFieldValue(container, from.resourceFieldRef, info);
  }
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const data = await configMapData(source, namespace, ref.name ?? '', ref.optional);
    const value = data?.[ref.key];
    if (data && value === undefined && !ref.optional) {
      throw new PodConfigError(
        `couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`,
      );
    }
    return value;
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const data = await secretData(source, namespace, ref.name ?? '', ref.optional);
    const value = data?.[ref.key];
    if (data && value === undefined && !ref.optional) {
      throw new PodConfigError(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
    }
    return value;
  }
  throw new PodConfigError('env valueFrom sets no supported source');
}

/**
 * Builds the variables Kubernetes gives `container`: envFrom sources in order, then env entries
 * in order (each may refer to the ones before it with `$(NAME)`), then the service variables
 * that the container did not set itself.
 */
export async function containerEnvironment(
  pod: k8s.V1Pod,
  container: k8s.V1Container,
  source: ObjectSource,
  info: PodRuntimeInfo,
  serviceEnv: Record<string, string>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const namespace = pod.metadata?.namespace ?? 'default';
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const data = from.configMapRef
      ? await configMapData(
          source,
          namespace,
          from.configMapRef.name ?? '',
          from.configMapRef.optional,
        )
      : from.secretRef
        ? await secretData(source, namespace, from.secretRef.name ?? '', from.secretRef.optional)
        : undefined;
    for (const [key, value] of Object.entries(data ?? {})) {
      if (isValidEnvName(prefix + key)) {
        env[prefix + key] = value;
      }
    }
  }

  const lookup = (name: string) => env[name] ?? serviceEnv[name];
  for (const variable of container.env ?? []) {
    if (variable.valueFrom) {
      const value = await valueFrom(pod, container, variable.valueFrom, source, info);
      if (value !== undefined) {
        env[variable.name] = value;
      }
    } else {
      env[variable.name] = expandReferences(variable.value ?? '', lookup);
    }
  }

  for (const [name, value] of Object.entries(serviceEnv)) {
    env[name] ??= value;
  }
  return env;
}
