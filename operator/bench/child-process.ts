// Child processes of the benchmark: started with the same Node binary, stopped on exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

export interface Child {
  process: ChildProcess;
  pid: number;
  /** stdout lines so far. */
  lines: string[];
}

/**
 * Starts `node ARGS` and resolves once a stdout line matches `ready`. Rejects when the process
 * exits first or `timeoutMs` passes, with the tail of its stderr.
 */
export function startNode(
  args: string[],
  ready: RegExp,
  timeoutMs: number,
  stderr: 'pipe' | 'inherit' | number = 'pipe',
): Promise<Child> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', stderr] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  const lines: string[] = [];
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} was not ready after ${timeoutMs} ms\n${errors}`));
    }, timeoutMs);
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (ready.test(line) && child.pid !== undefined) {
          clearTimeout(timer);
          resolve({ process: child, pid: child.pid, lines });
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node ${args.join(' ')} exited with ${code ?? signal}\n${errors}`));
    });
  });
}

/** Sends SIGTERM and waits for the exit, then SIGKILL after `graceMs`. */
export async function stopChild(child: Child, graceMs = 30_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port was assigned');
  return address.port;
}
