// A model-server process started from the checkout on 127.0.0.1 for the hostile-input tests:
// its log lines, its resident memory from /proc, and raw HTTP requests that bypass fetch's
// own checks (wrong Content-Length, invalid UTF-8, no Content-Type).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { REPOSITORY_ROOT } from './model-server/fixtures.ts';

const NODE = path.join(REPOSITORY_ROOT, 'node_modules', '.bin', 'node');
const CLI = path.join(REPOSITORY_ROOT, 'model-server', 'src', 'cli.ts');

export interface ServerProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` once the server listens. */
  readonly url: string;
  /** Every line the process wrote to stdout and stderr so far. */
  output(): string[];
  /** Resident set size of the process in bytes, from /proc/PID/status. */
  rssBytes(): number;
  /** Exit code and signal once the process has exited, else undefined. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Sends SIGTERM and resolves with the exit code; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartOptions {
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Time to wait for the first load to make the server Ready; 0 waits only for listening. */
  readyTimeoutMs?: number;
}

/** Starts `model-server serve --host 127.0.0.1 --port 0 ARGS` and waits until it is Ready. */
export async function startServerProcess(options: StartOptions): Promise<ServerProcess> {
  const child = spawn(NODE, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', ...options.args], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let url: string | undefined;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(code);
    }),
  );
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        url ??= listeningUrl(line);
      }
    });
  }
  const deadline = Date.now() + 30_000;
  while (url === undefined) {
    if (exit !== undefined || Date.now() > deadline) {
      throw new Error(
        `model server did not start (exit ${JSON.stringify(exit)}):\n${lines.join('\n')}`,
      );
    }
    await delay(50);
  }
  const listening = url;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  if (readyTimeoutMs > 0) {
    await waitUntilReady(listening, readyTimeoutMs, () => lines.join('\n'));
  }
  return {
    child,
    url: listening,
    output: () => lines,
    rssBytes: () => readRssBytes(child.pid as number),
    exited: () => exit,
    stop: async (graceMs = 20_000) => {
      if (exit === undefined) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exitPromise;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function listeningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    return entry.msg === 'model server listening' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}

async function waitUntilReady(url: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/v2/health/ready`).catch(() => undefined);
    if (response?.status === 200) return;
    await response?.body?.cancel();
    await delay(100);
  }
  throw new Error(`model server at ${url} did not become Ready in ${timeoutMs} ms:\n${log()}`);
}

export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export interface RawRequest {
  method?: string;
  path: string;
  /** Header values; `content-type` is sent only when given. */
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one request with node:http, which passes the bytes and headers through as given, and
 * reads the whole answer. Rejects when the server closes the connection without an answer.
 *
 * With `earlyResponseMs`, the headers go first and the body only if no response came within
 * that time. A server that rejects a body by its Content-Length responds and closes the
 * connection at once, so a client still writing the body could fail with EPIPE before it read
 * the response.
 */
export function sendRaw(
  baseUrl: string,
  raw: RawRequest,
  timeoutMs = 30_000,
  earlyResponseMs = 0,
): Promise<RawResponse> {
  const url = new URL(raw.path, baseUrl);
  return new Promise((resolve, reject) => {
    let bodySent = false;
    let bodyTimer: NodeJS.Timeout | undefined;
    const request = httpRequest(
      url,
      {
        method: raw.method ?? 'POST',
        headers: {
          ...(raw.body === undefined ? {} : { 'content-length': String(raw.body.length) }),
          ...raw.headers,
        },
        timeout: timeoutMs,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
          clearTimeout(bodyTimer);
          // The body was never sent, so the request cannot end by itself.
          if (!bodySent) request.destroy();
        });
        response.on('error', reject);
      },
    );
    const sendBody = () => {
      if (bodySent || request.destroyed) return;
      bodySent = true;
      request.end(raw.body);
    };
    request.on('timeout', () => request.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    request.on('error', reject);
    if (earlyResponseMs > 0 && raw.body !== undefined) {
      request.flushHeaders();
      bodyTimer = setTimeout(sendBody, earlyResponseMs);
    } else {
      sendBody();
    }
  });
}
