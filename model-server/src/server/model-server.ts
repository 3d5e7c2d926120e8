// Assembly of the serving process: backend, metrics, capture, model manager and HTTP app, with
// start, reload and graceful close.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.ts';
import { buildApp } from '../http/app.ts';
import { selectBackend } from '../model/backend.ts';
import type { ModelSource } from '../model/servable-model.ts';
import { CaptureWriter } from '../monitoring/capture.ts';
import { ServerMetrics } from '../monitoring/metrics.ts';
import { FeedbackService } from './feedback-service.ts';
import { ModelManager } from './model-manager.ts';
import type { ModelRuntime } from './model-runtime.ts';

const HOUR_MS = 3_600_000;
/** Capture rows that may wait for the disk before new ones are dropped. */
const CAPTURE_MAX_PENDING_BYTES = 16 * 1024 * 1024;

export class ModelServer {
  readonly app: FastifyInstance;
  readonly manager: ModelManager;
  readonly metrics: ServerMetrics;
  readonly backend: string;
  private readonly config: ServeConfig;
  private readonly logger: Logger;
  private readonly capture: CaptureWriter | undefined;
  private shuttingDown = false;
  private closing: Promise<void> | undefined;
  private firstLoad: Promise<void> = Promise.resolve();

  private constructor(parts: {
    config: ServeConfig;
    logger: Logger;
    backend: string;
    metrics: ServerMetrics;
    capture: CaptureWriter | undefined;
  }) {
    this.config = parts.config;
    this.logger = parts.logger;
    this.backend = parts.backend;
    this.metrics = parts.metrics;
    this.capture = parts.capture;
    this.manager = new ModelManager(
      {
        source: { uri: parts.config.model, sha256: parts.config.modelSha256 },
        nameOverride: parts.config.modelName,
        backend: parts.backend,
        limits: {
          maxBytes: parts.config.modelMaxBytes,
          timeoutMs: parts.config.modelDownloadTimeoutMs,
        },
        batching: {
          maxBatchSize: parts.config.maxBatchSize,
          maxBatchDelayMs: parts.config.maxBatchDelayMs,
        },
        sizes: {
          predictionLogSize: parts.config.predictionLogSize,
          feedbackWindowSize: parts.config.feedbackWindowSize,
          driftWindowSize: parts.config.driftWindowSize,
        },
        maxQueueRows: parts.config.maxQueueRows,
      },
      parts.metrics,
      parts.logger,
    );
    const manager = this.manager;
    parts.metrics.setSnapshotSource({
      drift: () => manager.current?.drift.snapshot(),
      feedbackWindow: () => manager.current?.feedbackWindow.stats(),
      queuedRows: () => manager.queuedRows,
    });
    const feedback = new FeedbackService(
      manager,
      parts.metrics,
      parts.capture,
      parts.config.maxRequestRows,
      parts.logger,
    );
    this.app = buildApp(
      {
        manager,
        feedback,
        metrics: parts.metrics,
        nameOverride: parts.config.modelName,
        maxRequestRows: parts.config.maxRequestRows,
        adminToken: parts.config.adminToken,
        isShuttingDown: () => this.shuttingDown,
        reload: (source) => this.reload(source),
      },
      {
        bodyLimit: parts.config.bodyLimit,
        requestTimeoutMs: parts.config.requestTimeoutMs,
        logger: parts.logger,
      },
    );
  }

  /** Settles when the first load finished, successfully or not. */
  get initialLoad(): Promise<void> {
    return this.firstLoad;
  }

  /**
   * Starts listening at once, so liveness responds while the model loads, then loads the model
   * in the background; readiness turns 200 when it is served.
   */
  static async start(config: ServeConfig, logger: Logger): Promise<ModelServer> {
    const backend = await selectBackend(config.backend, logger);
    const metrics = new ServerMetrics();
    const capture =
      config.captureDir === undefined ? undefined : createCapture(config, metrics, logger);
    await capture?.start();
    const server = new ModelServer({ config, logger, backend, metrics, capture });
    await server.app.listen({ host: config.host, port: config.port });
    server.firstLoad = server.manager.load().then(
      () => undefined,
      () => undefined, // The manager logged and counted the failure; readiness reports it.
    );
    return server;
  }

  /** The bound address, useful with --port 0. */
  get address(): { host: string; port: number } {
    const address = this.app.server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Loads `source` (default: the current URI) and swaps it in; the old model serves until then. */
  reload(source?: ModelSource): Promise<ModelRuntime> {
    return this.manager.load(source);
  }

  /** Resolves once every feedback row accepted so far is in the capture directory. */
  async flushCapture(): Promise<void> {
    await this.capture?.flush();
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Fails readiness, waits --shutdown-delay-ms, stops accepting connections, lets in-flight
   * requests finish (their queued rows are still predicted), flushes capture and disposes the
   * model. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.config.shutdownDelayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.config.shutdownDelayMs));
    }
    await this.app.close();
    await this.manager.settle();
    await this.manager.drain();
    await this.capture?.close();
    this.manager.dispose();
    this.logger.info('server closed');
  }
}

function createCapture(config: ServeConfig, metrics: ServerMetrics, logger: Logger): CaptureWriter {
  const directory = config.captureDir as string;
  return new CaptureWriter(
    directory,
    {
      maxBytes: config.captureMaxBytes,
      maxAgeMs: config.captureMaxAgeHours * HOUR_MS,
      segmentBytes: Math.max(
        1,
        Math.min(config.captureSegmentBytes, Math.floor(config.captureMaxBytes / 4)),
      ),
      maxPendingBytes: CAPTURE_MAX_PENDING_BYTES,
    },
    {
      written(rows, bytes) {
        metrics.captureRows.inc(rows);
        metrics.captureBytes.inc(bytes);
      },
      dropped(rows) {
        metrics.captureDroppedRows.inc(rows);
      },
      failed() {
        metrics.captureErrors.inc();
      },
      deleted(reason, files) {
        metrics.captureFilesDeleted.inc({ reason }, files);
      },
      directoryBytes(bytes) {
        metrics.captureDirectoryBytes.set(bytes);
      },
    },
    logger,
  );
}
