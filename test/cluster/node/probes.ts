// Startup, liveness and readiness probes of one container, with the kubelet's thresholds.
import type * as k8s from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** What a probe needs to know about the container it checks. */
export interface ProbeTarget {
  podIP: string;
  ports: k8s.V1ContainerPort[];
  pid: number;
  env: Record<string, string>;
  workingDir: string;
}

export interface ProbeResult {
  success: boolean;
  message: string;
}

function resolvePort(port: number | string, ports: k8s.V1ContainerPort[]): number {
  if (typeof port === 'number') {
    return port;
  }
  const numeric = Number(port);
  if (Number.isInteger(numeric)) {
    return numeric;
  }
  const named = ports.find((p) => p.name === port);
  if (!named) {
    throw new Error(`probe port ${JSON.stringify(port)} names no container port`);
  }
  return named.containerPort;
}

function httpProbe(
  action: k8s.V1HTTPGetAction,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const scheme = (action.scheme ?? 'HTTP').toLowerCase();
    const client = scheme === 'https' ? https : http;
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.36', Accept: '*/*' };
    for (const header of action.httpHeaders ?? []) {
      headers[header.name] = header.value;
    }
    const host = action.host || target.podIP;
    const port = resolvePort(action.port, target.ports);
    const url = `${scheme}://${host}:${port}${action.path ?? '/'}`;
    const request = client.get(
      url,
      { headers, timeout: timeoutMs, agent: false, rejectUnauthorized: false },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 400) {
          resolve({ success: true, message: '' });
        } else {
          resolve({ success: false, message: `HTTP probe failed with statuscode: ${status}` });
        }
      },
    );
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    request.on('error', (error) =>
      resolve({ success: false, message: `Get "${url}": ${error.message}` }),
    );
  });
}

function tcpProbe(
  action: k8s.V1TCPSocketAction,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const host = action.host || target.podIP;
    const port = resolvePort(action.port, target.ports);
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.on('connect', () => {
      socket.destroy();
      resolve({ success: true, message: '' });
    });
    socket.on('timeout', () => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    socket.on('error', (error) =>
      resolve({ success: false, message: `dial tcp ${host}:${port}: ${error.message}` }),
    );
  });
}

/** Runs the command inside the container's mount namespace (via nsenter) with its env and folder. */
function execProbe(
  action: k8s.V1ExecAction,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const command = action.command ?? [];
    const child = spawn(
      'nsenter',
      ['--target', String(target.pid), '--mount', '--uts', '--', '/bin/sh', '-c', 'cd "$0" 2>/dev/null; exec "$@"', target.workingDir, ...command],
      { env: target.env, stdio: ['ignore', 'pipe', 'pipe'] },
    ); // prettier-ignore
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < 10_240) {
        output += chunk.toString('utf8');
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ success: false, message: `exec probe could not run: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') {
        resolve({
          success: false,
          message: `command ${JSON.stringify(command)} timed out after ${timeoutMs} ms`,
        });
      } else if (code === 0) {
        resolve({ success: true, message: output.trim() });
      } else {
        resolve({
          success: false,
          message: `command ${JSON.stringify(command)} exited with ${code}: ${output.trim()}`,
        });
      }
    });
  });
}

/** Runs one probe attempt. */
export async function runProbe(probe: k8s.V1Probe, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      return await httpProbe(probe.httpGet, target, timeoutMs);
    }
    if (probe.tcpSocket) {
      return await tcpProbe(probe.tcpSocket, target, timeoutMs);
    }
    if (probe.exec) {
      return await execProbe(probe.exec, target, timeoutMs);
    }
  } catch (error) {
    return { success: false, message: error instanceof Error ? error.message : String(error) };
  }
  return {
    success: false,
    message: 'probe type is not supported by the test node (gRPC probes are not)',
  };
}

/** Called when a probe's result flips after its thresholds, with the last attempt's message. */
export type ProbeListener = (kind: ProbeKind, success: boolean, message: string) => void;

/**
 * Runs a probe every periodSeconds after initialDelaySeconds (counted from the container's
 * start), and reports a flip to failure after failureThreshold failures in a row and to success
 * after successThreshold successes in a row.
 */
export class Prober {
  readonly kind: ProbeKind;
  private readonly probe: k8s.V1Probe;
  private readonly target: ProbeTarget;
  private readonly listener: ProbeListener;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  /** Liveness starts as passing; startup and readiness start as failing until a success. */
  result: boolean;

  constructor(kind: ProbeKind, probe: k8s.V1Probe, target: ProbeTarget, listener: ProbeListener) {
    this.kind = kind;
    this.probe = probe;
    this.target = target;
    this.listener = listener;
    this.result = kind === 'liveness';
  }

  start(containerStartedAt: Date): void {
    const delayMs = (this.probe.initialDelaySeconds ?? 0) * 1000;
    const wait = Math.max(0, containerStartedAt.getTime() + delayMs - Date.now());
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) {
      return;
    }
    const outcome = await runProbe(this.probe, this.target);
    if (this.stopped) {
      return;
    }
    this.record(outcome);
    this.timer = setTimeout(() => void this.tick(), (this.probe.periodSeconds ?? 10) * 1000);
  }

  private record(outcome: ProbeResult): void {
    if (outcome.success) {
      this.failures = 0;
      this.successes += 1;
      if (!this.result && this.successes >= (this.probe.successThreshold ?? 1)) {
        this.result = true;
        this.listener(this.kind, true, outcome.message);
      }
      return;
    }
    this.successes = 0;
    this.failures += 1;
    if (this.failures < (this.probe.failureThreshold ?? 3)) {
      return;
    }
    this.result = false;
    // Every failure past the threshold is reported, as the kubelet records an Unhealthy event
    // for each. A failing startup or liveness probe restarts the container, which starts the
    // count again.
    if (this.kind !== 'readiness') {
      this.failures = 0;
    }
    this.listener(this.kind, false, outcome.message);
  }
}
