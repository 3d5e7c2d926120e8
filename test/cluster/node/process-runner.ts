// Runs one container as a local process in its own mount and UTS namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processStartTime, writeRecord } from '../processes.ts';
import type { Mount } from './volumes.ts';

export interface LaunchSpec {
  /** Program and arguments after image defaults and `$(VAR)` expansion. */
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
  hostname: string;
  mounts: Mount[];
  logFile: string;
  /** Folder for the start script and the start marker. */
  runDir: string;
  /** Pid file that lets `down` and a restarted node find the process. */
  recordFile: string;
  /**
   * Host folders that must stay visible at their own path even when a mount covers a parent of
   * them: the repository, the state folder and the Node binary, which the program needs.
   */
  keepVisible: string[];
}

export interface Exit {
  exitCode: number;
  signal: NodeJS.Signals | null;
  finishedAt: Date;
  /** False when the process died before exec'ing the container's program (a mount failed). */
  reachedProgram: boolean;
}

/** Quotes `value` for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Finds `program` on the container's PATH, as the runtime would before exec. */
export function findExecutable(program: string, env: Record<string, string>): string | undefined {
  const candidates = program.includes('/')
    ? [program]
    : (env['PATH'] ?? '')
        .split(':')
        .filter(Boolean)
        .map((dir) => path.join(dir, program));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) {
        return candidate;
      }
    } catch {
      // Not here; try the next folder.
    }
  }
  return undefined;
}

function mountDepth(mount: Mount): number {
  return path.normalize(mount.target).split('/').filter(Boolean).length;
}

function isWithin(child: string, parent: string): boolean {
  const normalParent = path.resolve(parent);
  const normalChild = path.resolve(child);
  return (
    normalChild === normalParent ||
    normalChild.startsWith(`${normalParent === '/' ? '' : normalParent}/`)
  );
}

/**
 * Folder inside the container's mount namespace where covered host folders are bind-mounted
 * before the volumes go on top of them. It is a tmpfs of the namespace, so nothing is left on
 * the machine but the empty mount point, and `/run` is never a container mountPath.
 */
const stashRoot = '/run/modelwarden-test-node';

/**
 * Writes the shell script that runs inside the new namespaces. It sets the hostname, then keeps
 * every `keepVisible` folder that a mount would cover reachable through the stash. It creates
 * each missing mount point on this machine's file system and bind-mounts the volumes, parents
 * before children as container runtimes order them. It then binds the covered folders back at
 * their own paths, remounts the read-only volumes, enters the working directory and execs the
 * program.
 */
export function startScript(spec: LaunchSpec, marker: string): string {
  const lines = ['set -e', `hostname ${shellQuote(spec.hostname)}`];
  const covered = spec.keepVisible.filter((folder) =>
    spec.mounts.some((mount) => isWithin(folder, mount.target)),
  );
  const stashOf = (folder: string) => path.join(stashRoot, String(covered.indexOf(folder)));
  if (covered.length > 0) {
    lines.push(`mkdir -p ${stashRoot}`, `mount -t tmpfs modelwarden-stash ${stashRoot}`);
    for (const folder of covered) {
      lines.push(`mkdir -p ${shellQuote(stashOf(folder))}`);
      lines.push(`mount --rbind ${shellQuote(folder)} ${shellQuote(stashOf(folder))}`);
    }
  }
  // Sources under a covered folder are read through the stash, because a parent mount may
  // already hide their host path when they are bound.
  const sourceOf = (source: string) => {
    const folder = covered.find((candidate) => isWithin(source, candidate));
    return folder === undefined
      ? source
      : path.join(stashOf(folder), path.relative(folder, source));
  };

  const ordered = [...spec.mounts].sort((a, b) => mountDepth(a) - mountDepth(b));
  for (const mount of ordered) {
    const target = shellQuote(mount.target);
    if (statSync(mount.source).isDirectory()) {
      lines.push(`mkdir -p ${target}`);
    } else {
      lines.push(
        `mkdir -p ${shellQuote(path.dirname(mount.target))}`,
        `[ -e ${target} ] || : > ${target}`,
      );
    }
    lines.push(`mount --bind ${shellQuote(sourceOf(mount.source))} ${target}`);
  }
  for (const folder of covered) {
    lines.push(`mkdir -p ${shellQuote(folder)}`);
    lines.push(`mount --rbind ${shellQuote(stashOf(folder))} ${shellQuote(folder)}`);
  }
  for (const mount of ordered.filter((candidate) => candidate.readOnly)) {
    lines.push(`mount -o remount,bind,ro ${shellQuote(mount.target)}`);
  }
  lines.push(`mkdir -p ${shellQuote(spec.workingDir)}`, `cd ${shellQuote(spec.workingDir)}`);
  lines.push(`: > ${shellQuote(marker)}`, 'exec "$@"');
  return `${lines.join('\n')}\n`;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) {
    return code;
  }
  const number = signal ? os.constants.signals[signal] : undefined;
  return 128 + (number ?? 0);
}

/** A started container process. */
export class ContainerProcess {
  readonly pid: number;
  readonly startedAt: Date;
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private done = false;

  private constructor(child: ChildProcess, pid: number, exited: Promise<Exit>) {
    this.child = child;
    this.pid = pid;
    this.startedAt = new Date();
    this.exited = exited;
    void this.exited.then(() => {
      this.done = true;
    });
  }

  /** Starts the container; the process runs in its own process group so that a kill reaches its children. */
  static launch(spec: LaunchSpec): ContainerProcess {
    mkdirSync(spec.runDir, { recursive: true });
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const marker = path.join(spec.runDir, 'started');
    rmSync(marker, { force: true });
    const script = path.join(spec.runDir, 'start.sh');
    writeFileSync(script, startScript(spec, marker));

    const log = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        'unshare',
        ['--mount', '--uts', '--propagation', 'private', '/bin/sh', script, ...spec.argv],
        { env: spec.env, detached: true, stdio: ['ignore', log, log] },
      );
    } finally {
      closeSync(log);
    }
    const pid = child.pid;
    if (pid === undefined) {
      throw new Error('could not start unshare; install util-linux');
    }
    const startTime = processStartTime(pid);
    if (startTime !== undefined) {
      writeRecord(spec.recordFile, { pid, startTime, command: spec.argv });
    }
    const exited = new Promise<Exit>((resolve) => {
      child.on('exit', (code, signal) => {
        // A container ends with all of its processes, as when a runtime removes its cgroup.
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // No process of the group is left.
        }
        rmSync(spec.recordFile, { force: true });
        resolve({
          exitCode: exitCodeOf(code, signal),
          signal,
          finishedAt: new Date(),
          reachedProgram: existsSync(marker),
        });
      });
    });
    return new ContainerProcess(child, pid, exited);
  }

  get running(): boolean {
    return !this.done;
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The group is gone; the process itself may still be exiting.
      this.child.kill(signal);
    }
  }

  /** Sends SIGTERM to the process group, then SIGKILL after `graceMs`, and waits for the exit. */
  async stop(graceMs: number): Promise<Exit> {
    if (this.done) {
      return this.exited;
    }
    this.signal('SIGTERM');
    const timeout = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited, timeout])) === 'timeout') {
      this.signal('SIGKILL');
    }
    return this.exited;
  }
}
