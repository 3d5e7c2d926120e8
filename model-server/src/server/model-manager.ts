// The model lifecycle: initial load, reloads (SIGHUP or the admin endpoint) and the swap from
// one runtime to the next without failing requests.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ModelServerError, errorMessage } from '../errors.ts';
import { QueueBudget, type BatchingOptions } from '../inference/batcher.ts';
import { redactUri } from '../model/artifact-uri.ts';
import { loadServableModel, type LoadLimits, type ModelSource } from '../model/servable-model.ts';
import type { ServerMetrics } from '../monitoring/metrics.ts';
import type { LoggedPrediction } from '../monitoring/prediction-log.ts';
import { ModelRuntime, type RuntimeSizes } from './model-runtime.ts';

export type ModelPhase = 'loading' | 'ready' | 'failed';

export interface ModelManagerOptions {
  source: ModelSource;
  nameOverride: string | undefined;
  backend: string;
  limits: LoadLimits;
  batching: BatchingOptions;
  sizes: RuntimeSizes;
  maxQueueRows: number;
}

/** Previous runtimes whose prediction ids still resolve for feedback after a swap. */
const RETAINED_RUNTIMES = 2;

export class ModelManager {
  readonly budget: QueueBudget;
  private readonly options: ModelManagerOptions;
  private readonly metrics: ServerMetrics;
  private readonly logger: Logger;
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private source: ModelSource;
  private runtime: ModelRuntime | undefined;
  private retained: ModelRuntime[] = [];
  private retiring = new Set<Promise<void>>();
  private generation = 0;
  private loading: Promise<ModelRuntime> | undefined;
  private lastError: ModelServerError | undefined;

  constructor(options: ModelManagerOptions, metrics: ServerMetrics, logger: Logger) {
    this.options = options;
    this.source = options.source;
    this.metrics = metrics;
    this.logger = logger.child({ component: 'model-manager' });
    this.budget = new QueueBudget(options.maxQueueRows);
  }

  get current(): ModelRuntime | undefined {
    return this.runtime;
  }

  get phase(): ModelPhase {
    if (this.runtime !== undefined) return 'ready';
    return this.lastError === undefined ? 'loading' : 'failed';
  }

  /** The error of the last failed load, while no model is serving. */
  get failure(): ModelServerError | undefined {
    return this.runtime === undefined ? this.lastError : undefined;
  }

  get reloading(): boolean {
    return this.loading !== undefined;
  }

  /**
   * Loads `source` (default: the current source) and swaps it in. Raises
   * MS_ERR_RELOAD_IN_PROGRESS while another load runs, and the load error on failure, in which
   * case the previous model keeps serving.
   */
  load(source: ModelSource = this.source): Promise<ModelRuntime> {
    if (this.loading !== undefined) {
      throw new ModelServerError(
        'MS_ERR_RELOAD_IN_PROGRESS',
        'a model load is already in progress; retry when it finishes',
      );
    }
    this.loading = this.loadAndSwap(source).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async loadAndSwap(source: ModelSource): Promise<ModelRuntime> {
    const started = performance.now();
    const uri = redactUri(source.uri);
    this.logger.info({ uri, sha256: source.sha256 }, 'model load started');
    let runtime: ModelRuntime;
    try {
      const model = await loadServableModel(source, this.options.limits, this.options.nameOverride);
      const previous = this.runtime;
      if (previous !== undefined && previous.model.name !== model.name) {
        model.layersModel.dispose();
        throw new ModelServerError(
          'MS_ERR_ARTIFACT_INVALID',
          `artifact at ${model.location} is model '${model.name}' but '${previous.model.name}' is being served; ` +
            'start the server with --model-name to serve a fixed name',
        );
      }
      this.generation += 1;
      runtime = new ModelRuntime(
        model,
        {
          generation: this.generation,
          idPrefix: this.idPrefix,
          backend: this.options.backend,
          batching: this.options.batching,
          sizes: this.options.sizes,
        },
        this.budget,
        this.metrics,
      );
    } catch (error) {
      const failure = asLoadError(error);
      this.lastError = failure;
      this.metrics.modelLoads.inc({ result: 'failure' });
      this.metrics.errors.inc({ code: failure.code });
      this.logger.error(
        { uri, code: failure.code, err: failure },
        `model load failed: ${failure.message}`,
      );
      throw failure;
    }
    this.swap(runtime, source);
    this.logger.info(
      {
        name: runtime.model.name,
        version: runtime.model.version,
        backend: runtime.backend,
        location: runtime.model.location,
        modelJsonSha256: runtime.model.modelJsonSha256,
        filesVerified: runtime.model.filesVerified,
        durationMs: Math.round(performance.now() - started),
      },
      'model loaded',
    );
    return runtime;
  }

  private swap(runtime: ModelRuntime, source: ModelSource): void {
    const previous = this.runtime;
    this.runtime = runtime;
    this.source = source;
    this.lastError = undefined;
    this.metrics.modelLoads.inc({ result: 'success' });
    this.metrics.setModelInfo(runtime.model.name, runtime.model.version, runtime.backend);
    this.metrics.usePredictionBuckets(runtime.model.manifest.drift.label.edges);
    if (previous === undefined) return;
    this.retained = [previous, ...this.retained].slice(0, RETAINED_RUNTIMES);
    const retirement = previous.retire().catch((error: unknown) => {
      this.logger.error(
        { err: error, version: previous.model.version },
        'disposing the previous model failed',
      );
    });
    this.retiring.add(retirement);
    void retirement.finally(() => this.retiring.delete(retirement));
  }

  /**
   * Finds a logged prediction by id in the current runtime or a retained previous one. Returns
   * the runtime it came from, so that feedback counts toward the right window.
   */
  findPrediction(id: string): { runtime: ModelRuntime; prediction: LoggedPrediction } | undefined {
    const candidates =
      this.runtime === undefined ? this.retained : [this.runtime, ...this.retained];
    for (const runtime of candidates) {
      if (!runtime.predictionLog.owns(id)) continue;
      const prediction = runtime.predictionLog.lookup(id);
      return prediction === undefined ? undefined : { runtime, prediction };
    }
    return undefined;
  }

  /** Rows waiting in every runtime, including ones being retired. */
  get queuedRows(): number {
    return this.budget.used;
  }

  /** Waits for the current and retiring runtimes to finish their queued work. */
  async drain(): Promise<void> {
    await Promise.all([this.runtime?.whenIdle(), ...this.retiring]);
  }

  /** Waits for a running load (used at shutdown) without raising its error. */
  async settle(): Promise<void> {
    await this.loading?.catch(() => undefined);
  }

  dispose(): void {
    this.runtime?.model.layersModel.dispose();
    this.runtime = undefined;
  }
}

function asLoadError(error: unknown): ModelServerError {
  if (error instanceof ModelServerError) return error;
  return new ModelServerError(
    'MS_ERR_ARTIFACT_INVALID',
    `model load failed: ${errorMessage(error)}`,
    { cause: error },
  );
}
