// The part of the kubelet's HTTPS API that the apiserver calls for `kubectl logs`, plus /healthz.
import type * as k8s from '@kubernetes/client-node';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { containerLogFile } from './launch.ts';

export interface KubeletServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  caFile: string;
  logsDir: string;
  findPod: (namespace: string, name: string) => k8s.V1Pod | undefined;
  /** Byte offsets of the current and previous instance of a container in its log file. */
  logOffsets: (
    uid: string,
    container: string,
  ) => { current: number; previous: number | undefined } | undefined;
  log: Logger;
}

function readRange(file: string, start: number, end: number): Buffer {
  const length = Math.max(0, end - start);
  const buffer = Buffer.alloc(length);
  if (length === 0) {
    return buffer;
  }
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, start);
  } finally {
    closeSync(fd);
  }
  return buffer;
}

function lastLines(buffer: Buffer, count: number): Buffer {
  if (count <= 0) {
    return Buffer.alloc(0);
  }
  let newlines = 0;
  // A trailing newline ends the last line; it does not start another.
  for (let i = buffer.length - 2; i >= 0; i--) {
    if (buffer[i] === 0x0a && ++newlines === count) {
      return buffer.subarray(i + 1);
    }
  }
  return buffer;
}

/** Only clients in system:masters (the apiserver's kubelet client, the admin) may read logs. */
function isAuthorized(socket: TLSSocket): boolean {
  const subject = socket.getPeerCertificate().subject as
    Record<string, string | string[]> | undefined;
  const organizations = subject?.['O'];
  const list = Array.isArray(organizations) ? organizations : [organizations];
  return list.includes('system:masters');
}

function streamLogs(
  request: import('node:http').IncomingMessage,
  response: import('node:http').ServerResponse,
  options: KubeletServerOptions,
  parts: string[],
  query: URLSearchParams,
): void {
  const [namespace = '', podName = '', containerName] = parts;
  const pod = options.findPod(namespace, podName);
  if (!pod) {
    response.writeHead(404).end(`pod ${namespace}/${podName} not found on this node\n`);
    return;
  }
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
    (c) => c.name,
  );
  const container = containerName ?? (names.length === 1 ? names[0] : undefined);
  if (!container || !names.includes(container)) {
    response
      .writeHead(400)
      .end(
        `container ${JSON.stringify(containerName)} is not valid for pod ${podName}; choose one of ${names.join(', ')}\n`,
      );
    return;
  }
  const file = containerLogFile(options.logsDir, pod, container);
  if (!existsSync(file)) {
    response
      .writeHead(400)
      .end(`container "${container}" in pod "${podName}" is waiting to start\n`);
    return;
  }
  const offsets = options.logOffsets(pod.metadata?.uid ?? '', container) ?? {
    current: 0,
    previous: undefined,
  };
  const size = existsSync(file) ? statSync(file).size : 0;
  const previous = query.get('previous') === 'true';
  if (previous && offsets.previous === undefined) {
    response
      .writeHead(400)
      .end(`previous terminated container "${container}" in pod "${podName}" not found\n`);
    return;
  }
  const start = previous ? (offsets.previous ?? 0) : offsets.current;
  const end = previous ? offsets.current : size;
  let body = readRange(file, start, end);
  const tail = query.get('tailLines');
  if (tail !== null) {
    body = lastLines(body, Number(tail));
  }
  const limit = query.get('limitBytes');
  if (limit !== null) {
    body = body.subarray(0, Number(limit));
  }
  response.writeHead(200, { 'Content-Type': 'text/plain' });
  response.write(body);
  if (query.get('follow') !== 'true' || previous) {
    response.end();
    return;
  }
  // Following polls the file, which is enough for a test node and needs no watcher per file.
  let position = end;
  const timer = setInterval(() => {
    const now = existsSync(file) ? statSync(file).size : 0;
    if (now > position) {
      response.write(readRange(file, position, now));
      position = now;
    }
    if (!options.findPod(namespace, podName)) {
      clearInterval(timer);
      response.end();
    }
  }, 500);
  request.on('close', () => clearInterval(timer));
}

/** Starts the HTTPS server; it requires a client certificate signed by the cluster CA. */
export function startKubeletServer(options: KubeletServerOptions): Promise<https.Server> {
  const server = https.createServer(
    {
      cert: readFileSync(options.certFile),
      key: readFileSync(options.keyFile),
      ca: readFileSync(options.caFile),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (request, response) => {
      const url = new URL(request.url ?? '/', 'https://node');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (url.pathname === '/healthz') {
        response.writeHead(200).end('ok');
        return;
      }
      if (parts[0] !== 'containerLogs') {
        response.writeHead(404).end('the test node serves only /healthz and /containerLogs\n');
        return;
      }
      if (!isAuthorized(request.socket as TLSSocket)) {
        response
          .writeHead(403)
          .end('forbidden: logs need a client certificate in system:masters\n');
        return;
      }
      try {
        streamLogs(request, response, options, parts.slice(1), url.searchParams);
      } catch (error) {
        options.log.error({ err: error, path: url.pathname }, 'serving container logs failed');
        response.writeHead(500).end(`reading the log failed: ${(error as Error).message}\n`);
      }
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
