// Background processes tracked by pid files, so that a later command can find and stop them.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A started process. The start time (in clock ticks since boot, from /proc) distinguishes a live process
 * apart from an unrelated one that later got the same pid.
 */
export interface ProcessRecord {
  pid: number;
  startTime: string;
  command: string[];
}

/** Reads the start time of `pid`, or undefined when it does not exist or has already exited. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // No such process.
    return undefined;
  }
  // The command name in brackets may contain spaces, so count fields after its closing bracket:
  // field 3 (state) comes first and field 22 (starttime) is 19 further on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') {
    return undefined;
  }
  return fields[19];
}

export function isAlive(record: ProcessRecord): boolean {
  return processStartTime(record.pid) === record.startTime;
}

export function readRecord(file: string): ProcessRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord;
  } catch {
    // A missing pid file means the process was never started or was stopped cleanly.
    return undefined;
  }
}

export function writeRecord(file: string, record: ProcessRecord): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record)}\n`);
}

export interface DaemonOptions {
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts a process in its own process group with output appended to `logFile`, detached from
 * this one so that it outlives the command that started it.
 */
export function startDaemon(options: DaemonOptions): ProcessRecord {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    if (child.pid === undefined) {
      throw new Error(`failed to start ${options.command}; see ${options.logFile}`);
    }
    const startTime = processStartTime(child.pid);
    if (startTime === undefined) {
      throw new Error(`${options.command} exited at once; see ${options.logFile}`);
    }
    const record = { pid: child.pid, startTime, command: [options.command, ...options.args] };
    writeRecord(options.pidFile, record);
    return record;
  } finally {
    closeSync(log);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already; try the process itself in case it left its group.
    try {
      process.kill(pid, signal);
    } catch {
      // Gone as well.
    }
  }
}

/**
 * Sends SIGTERM to the process group of `record`, waits up to `graceMs` for the process to exit
 * and then sends SIGKILL. Returns how it ended.
 */
export async function stopProcess(
  record: ProcessRecord,
  graceMs: number,
): Promise<'not-running' | 'terminated' | 'killed'> {
  if (!isAlive(record)) {
    return 'not-running';
  }
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(50);
    if (!isAlive(record)) {
      return 'terminated';
    }
  }
  signalGroup(record.pid, 'SIGKILL');
  for (let i = 0; i < 100 && isAlive(record); i++) {
    await sleep(20);
  }
  return 'killed';
}

/** Stops the process of a pid file, if any, and removes the file. */
export async function stopByPidFile(
  file: string,
  graceMs: number,
): Promise<'not-running' | 'terminated' | 'killed'> {
  const record = readRecord(file);
  const result = record ? await stopProcess(record, graceMs) : 'not-running';
  rmSync(file, { force: true });
  return result;
}
