// Entry point of the operator: `node operator/src/main.ts` from a checkout (Node 24 strips the
// types) or `node operator/dist/main.js` in the image.
import pino from 'pino';
import { parseConfig, type OperatorConfig } from './config.ts';
import { Controller } from './controller/controller.ts';
import { EventRecorder } from './controller/events.ts';
import { Reconciler } from './controller/reconciler.ts';
import { errorMessage } from './errors.ts';
import { OperatorMetrics } from './http/metrics.ts';
import { startHttpServer } from './http/server.ts';
import { KubeClient, loadKubeConfig } from './kube/client.ts';
import { LeaseElector } from './leader/lease-elector.ts';
import { systemClock } from './util/clock.ts';

async function main(config: OperatorConfig): Promise<number> {
  // Synchronous writes, so the lines logged during shutdown are out before the process exits.
  const log = pino(
    { level: config.logLevel, base: { component: 'operator' } },
    pino.destination({ fd: 1, sync: true }),
  );
  const metrics = new OperatorMetrics();
  const kube = new KubeClient(loadKubeConfig(config.kubeconfig));
  const identity = config.leaderElection.identity;
  const controller = new Controller({
    kube,
    metrics,
    log,
    namespaces: config.namespaces,
    concurrency: config.concurrency,
  });
  const events = new EventRecorder({
    client: kube,
    log,
    metrics,
    clock: systemClock,
    instance: identity,
  });
  const reconciler = new Reconciler({
    kube,
    cache: controller,
    events,
    metrics,
    clock: systemClock,
    log,
    children: { images: config.images },
    resyncMs: config.resyncMs,
  });
  const elector = config.leaderElection.enabled
    ? new LeaseElector({ client: kube, log, clock: systemClock, ...config.leaderElection })
    : undefined;

  let started = false;
  let stopping = false;
  const server = await startHttpServer({
    ...config.http,
    log,
    metrics,
    health: {
      live: () => ({ ok: true, detail: stopping ? 'stopping' : 'running' }),
      ready: () => {
        if (stopping) return { ok: false, detail: 'stopping' };
        if (!started) return { ok: true, detail: 'standby, waiting for the leader lease' };
        return controller.synced
          ? { ok: true, detail: 'caches synced' }
          : { ok: false, detail: 'caches syncing' };
      },
    },
  });
  log.info(
    { address: server.addresses(), namespaces: config.namespaces, identity },
    'operator started',
  );

  const startController = () => {
    started = true;
    metrics.leader.set(1);
    controller.start(reconciler).catch((error: unknown) => {
      log.fatal({ err: errorMessage(error) }, 'controller failed to start');
      process.exitCode = 1;
      void shutdown('controller failure');
    });
  };

  let finished: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finished = resolve));

  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    const timeout = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out, exiting');
      finished(1);
    }, config.shutdownTimeoutMs);
    timeout.unref();
    try {
      if (started) await controller.stop();
      await elector?.stop();
      metrics.leader.set(0);
      await server.close();
    } catch (error) {
      log.error({ err: errorMessage(error) }, 'shutdown failed');
    }
    clearTimeout(timeout);
    log.info('operator stopped');
    finished(process.exitCode === 1 ? 1 : 0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  if (elector) {
    elector
      .run(startController)
      .then((lost) => {
        // A replica that lost its lease exits, so it restarts as a clean standby.
        if (lost) {
          process.exitCode = 1;
          void shutdown('lost leadership');
        }
      })
      .catch((error: unknown) => {
        log.fatal({ err: errorMessage(error) }, 'leader election failed');
        process.exitCode = 1;
        void shutdown('leader election failure');
      });
  } else {
    startController();
  }
  return done;
}

const config = parseConfig(process.argv.slice(2));
main(config).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`modelwarden operator failed to start: ${errorMessage(error)}`);
    process.exit(1);
  },
);
