// Turns a container spec into the command line, environment and mounts of a local process.
import type * as k8s from '@kubernetes/client-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PodConfigError, type PodRuntimeInfo } from './downward.ts';
import { containerEnvironment, expandReferences, type ObjectSource } from './env.ts';
import { imageName, resolveProgram, type ImageMap } from './images.ts';
import { findExecutable, type LaunchSpec } from './process-runner.ts';
import type { Mount, PodVolumes } from './volumes.ts';

/**
 * PATH of a container whose image sets none: the usual one of Linux images, after the folder of
 * the Node binary the node runs on, so that `node` in a container's shell script is that one.
 */
const defaultPath = [
  path.dirname(process.execPath),
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
].join(':');

export interface LaunchContext {
  pod: k8s.V1Pod;
  container: k8s.V1Container;
  images: ImageMap;
  source: ObjectSource;
  volumes: PodVolumes;
  info: PodRuntimeInfo;
  serviceEnv: Record<string, string>;
  /** `<namespace>_<pod>_<container>.log` goes here. */
  logsDir: string;
  /** Per-container folder for the start script and the termination message file. */
  runDir: string;
  recordFile: string;
  /** Folders the node itself needs inside the container's namespace (repository, state, Node). */
  protectedPaths: string[];
}

export interface PreparedLaunch {
  spec: LaunchSpec;
  /** The image's name without tag, for the container status. */
  imageName: string;
  terminationMessageFile: string;
  /** Set when the program cannot be found, which the kubelet reports as StartError. */
  startError?: string;
}

/** Folders whose hiding would break every container, because its shell and tools live there. */
const systemPaths = [
  '/bin',
  '/sbin',
  '/usr',
  '/lib',
  '/lib64',
  '/etc',
  '/dev',
  '/proc',
  '/sys',
  '/run',
];

/**
 * Rejects a mountPath that would cover a system folder. Containers here share this machine's
 * file system instead of having an image's root, so a mount at `/usr` would hide the shell and
 * the tools. The repository, the state folder and the Node binary may be covered (a clone
 * under /tmp with an emptyDir at /tmp), because the start script binds them back in place.
 */
function checkMountTarget(target: string): void {
  const normal = path.resolve(target);
  for (const needed of systemPaths) {
    if (normal === needed || needed.startsWith(`${normal === '/' ? '' : normal}/`)) {
      throw new PodConfigError(
        `mountPath ${JSON.stringify(target)} would hide ${needed} on the test node, whose containers share ` +
          "the machine's file system; choose a mountPath that is not a parent of it",
      );
    }
  }
}

/** Returns the pod's hostname: spec.hostname or the pod name, cut to the 63 characters a hostname allows. */
export function podHostname(pod: k8s.V1Pod): string {
  return (pod.spec?.hostname || pod.metadata?.name || 'pod').slice(0, 63);
}

export function containerLogFile(logsDir: string, pod: k8s.V1Pod, container: string): string {
  return path.join(logsDir, `${pod.metadata?.namespace}_${pod.metadata?.name}_${container}.log`);
}

/**
 * Builds the argv as Docker and Kubernetes do: `command` replaces the image's entrypoint and
 * drops its default arguments; `args` alone replaces only the default arguments.
 */
function commandLine(container: k8s.V1Container, entrypoint: string[], cmd: string[]): string[] {
  if (container.command && container.command.length > 0) {
    return [...container.command, ...(container.args ?? [])];
  }
  return [...entrypoint, ...(container.args && container.args.length > 0 ? container.args : cmd)];
}

/** Resolves image, env, command and mounts; throws ImageNotMappedError or PodConfigError. */
export async function prepareLaunch(context: LaunchContext): Promise<PreparedLaunch> {
  const { pod, container } = context;
  const image = context.images.resolve(container.image ?? '');
  const kubeEnv = await containerEnvironment(
    pod,
    container,
    context.source,
    context.info,
    context.serviceEnv,
  );
  const lookup = (name: string) => kubeEnv[name];
  const argv = commandLine(container, image.entrypoint, image.cmd).map((part) =>
    expandReferences(part, lookup),
  );
  if (argv.length === 0 || !argv[0]) {
    throw new Error(
      `container "${container.name}" has no command and its image mapping sets no entrypoint`,
    );
  }
  argv[0] = resolveProgram(argv[0]);

  const hostname = podHostname(pod);
  const env = { PATH: defaultPath, HOME: '/root', HOSTNAME: hostname, ...image.env, ...kubeEnv };
  const mounts: Mount[] = (container.volumeMounts ?? []).map((mount) =>
    context.volumes.mountFor(mount, kubeEnv),
  );
  for (const mount of mounts) {
    checkMountTarget(mount.target);
  }

  mkdirSync(context.runDir, { recursive: true });
  const terminationMessageFile = path.join(context.runDir, 'termination-log');
  writeFileSync(terminationMessageFile, '');
  mounts.push({
    source: terminationMessageFile,
    target: container.terminationMessagePath ?? '/dev/termination-log',
    readOnly: false,
  });

  // A relative program path such as ./run.sh is relative to the working directory.
  const workingDir = container.workingDir || image.workingDir;
  const program = argv[0].includes('/') ? path.resolve(workingDir, argv[0]) : argv[0];
  const insideMount = mounts.some((m) => program.startsWith(`${m.target.replace(/\/$/, '')}/`));
  const startError =
    insideMount || findExecutable(program, env)
      ? undefined
      : `exec: ${JSON.stringify(program)}: executable file not found in $PATH`;

  return {
    spec: {
      argv,
      env,
      workingDir,
      hostname,
      mounts,
      logFile: containerLogFile(context.logsDir, pod, container.name),
      runDir: context.runDir,
      recordFile: context.recordFile,
      keepVisible: context.protectedPaths,
    },
    imageName: imageName(container.image ?? ''),
    terminationMessageFile,
    startError,
  };
}
