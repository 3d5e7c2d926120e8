// What a finished container instance reports, and whether its restart policy runs it again.
import type * as k8s from '@kubernetes/client-node';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Termination } from './container-state.ts';
import type { Exit } from './process-runner.ts';

/** The kubelet's limit on a termination message, in bytes. */
const maxTerminationMessage = 4096;

/** Reads the last `maxLines` lines of `file` after byte `from`, at most `maxBytes` of them. */
export function readTail(file: string, from: number, maxBytes: number, maxLines: number): string {
  if (!existsSync(file)) {
    return '';
  }
  const size = statSync(file).size;
  const start = Math.max(from, size - maxBytes);
  const buffer = Buffer.alloc(Math.max(0, size - start));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8').split('\n').slice(-maxLines).join('\n').trim();
}

export interface ExitContext {
  container: k8s.V1Container;
  exit: Exit;
  startedAt: Date;
  containerID: string;
  /** File bind-mounted at the container's terminationMessagePath. */
  messageFile: string;
  logFile: string;
  /** Where this instance's output starts in the log file. */
  logOffset: number;
}

/**
 * Builds the terminated state of an instance. The message is the termination message file, or
 * with FallbackToLogsOnError and a failure the log's tail; a process that died before exec'ing
 * the program (a mount failed) is a StartError with the start script's output.
 */
export function terminationOf(context: ExitContext): Termination {
  const { exit } = context;
  let message = existsSync(context.messageFile)
    ? readFileSync(context.messageFile).subarray(0, maxTerminationMessage).toString('utf8')
    : '';
  let reason = exit.exitCode === 0 ? 'Completed' : 'Error';
  if (!exit.reachedProgram) {
    reason = 'StartError';
    message = readTail(context.logFile, context.logOffset, 2048, 20);
  } else if (
    !message &&
    exit.exitCode !== 0 &&
    context.container.terminationMessagePolicy === 'FallbackToLogsOnError'
  ) {
    message = readTail(context.logFile, context.logOffset, 2048, 80);
  }
  const termination: Termination = {
    exitCode: exit.exitCode,
    reason,
    message: message || undefined,
    startedAt: context.startedAt,
    finishedAt: exit.finishedAt,
    containerID: context.containerID,
  };
  if (exit.signal) {
    termination.signal = exit.exitCode - 128;
  }
  return termination;
}

/**
 * Applies the restart policy: a regular container restarts under Always, and under OnFailure
 * after a failure; an init container restarts after a failure unless the policy is Never.
 */
export function restartsAfter(init: boolean, policy: string, exitCode: number): boolean {
  const failed = exitCode !== 0;
  if (init) {
    return failed && policy !== 'Never';
  }
  return policy === 'Always' || (policy === 'OnFailure' && failed);
}
