// The operator's own HTTP server: Prometheus metrics and the health endpoints kubelet probes.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { OperatorMetrics } from './metrics.ts';

export interface HealthSource {
  /** Live unless the process is wedged; failing it makes kubelet restart the pod. */
  live(): { ok: boolean; detail: string };
  /** Ready to do its work: caches synced when leading, or waiting as a standby. */
  ready(): { ok: boolean; detail: string };
}

export async function startHttpServer(options: {
  host: string;
  port: number;
  log: Logger;
  metrics: OperatorMetrics;
  health: HealthSource;
}): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: options.log.child({ subsystem: 'http' }) as FastifyBaseLogger,
  });

  server.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode ?? 500;
    const level = statusCode >= 500 ? 'error' : 'info';
    request.log[level]({ err: error.message, url: request.url }, 'request failed');
    void reply.status(statusCode).send({
      error: statusCode >= 500 ? 'Internal Server Error' : 'Bad Request',
      code: error.code ?? 'MW_ERR_HTTP',
      message: error.message,
      statusCode,
    });
  });

  // Scrapes and probes arrive every few seconds, so their requests log only at warn and above.
  const quiet = { logLevel: 'warn' } as const;

  server.get('/metrics', quiet, async (_request, reply) => {
    void reply.header('content-type', options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });

  for (const [path, check] of [
    ['/healthz', () => options.health.live()],
    ['/readyz', () => options.health.ready()],
  ] as const) {
    server.get(path, quiet, async (_request, reply) => {
      const { ok, detail } = check();
      void reply.status(ok ? 200 : 503).header('content-type', 'text/plain; charset=utf-8');
      return `${ok ? 'ok' : 'not ok'}: ${detail}\n`;
    });
  }

  await server.listen({ host: options.host, port: options.port });
  return server;
}
