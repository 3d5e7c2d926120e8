// The `serve` process: start the server and wire the signals (SIGHUP reloads, SIGTERM and
// SIGINT shut down gracefully, a second one exits at once).
import type { ServeConfig } from '../config/serve-config.ts';
import { createLogger } from '../logger.ts';
import { ModelServer } from './model-server.ts';

export async function runServer(config: ServeConfig): Promise<void> {
  const logger = createLogger(config.logLevel);
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
  const server = await ModelServer.start(config, logger);
  logger.info({ url: server.url, backend: server.backend }, 'model server listening');

  process.on('SIGHUP', () => {
    if (server.manager.reloading) {
      logger.warn('SIGHUP ignored: a model load is already in progress');
      return;
    }
    logger.info('SIGHUP received; reloading the model');
    // A failed reload is logged and counted by the manager; the previous model keeps serving.
    server.reload().catch(() => undefined);
  });

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal received; exiting without draining');
      process.exit(1);
    }
    signalled = true;
    const delayMs = config.shutdownDelayMs;
    const timeoutMs = config.shutdownTimeoutMs;
    logger.info({ signal, delayMs, timeoutMs }, 'shutdown started');
    // The drain timeout starts after the delay, during which the server still serves.
    const timer = setTimeout(() => {
      logger.error({ delayMs, timeoutMs }, 'shutdown timed out; exiting with requests in flight');
      process.exit(1);
    }, delayMs + timeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
