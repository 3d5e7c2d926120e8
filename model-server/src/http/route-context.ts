// What the route handlers share: the server's parts and the lookup of the requested model.
import { ModelServerError } from '../errors.ts';
import type { ServerMetrics } from '../monitoring/metrics.ts';
import type { FeedbackService } from '../server/feedback-service.ts';
import type { ModelManager } from '../server/model-manager.ts';
import type { ModelRuntime } from '../server/model-runtime.ts';
import type { ModelSource } from '../model/servable-model.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Bounded route label for metrics, such as `/v1/models/:name:predict`. */
    routeLabel?: string;
    /** Whether a body of plain numeric rows reaches the handler as ScannedInstances. */
    scanInstances?: boolean;
  }
}

export interface RouteContext {
  manager: ModelManager;
  feedback: FeedbackService;
  metrics: ServerMetrics;
  /** The name requests must use before a model is loaded, when the operator fixed one. */
  nameOverride: string | undefined;
  maxRequestRows: number;
  adminToken: string | undefined;
  isShuttingDown(): boolean;
  reload(source?: ModelSource): Promise<ModelRuntime>;
}

/** Seconds a client is told to wait while the model is loading. */
const LOADING_RETRY_AFTER_SECONDS = 5;

export interface ModelParams {
  name: string;
  version?: string;
}

/**
 * Returns the runtime serving `params.name` (and `params.version` when given). Raises 404 for
 * another name or version and 503 with Retry-After while no model is loaded.
 */
export function resolveRuntime(context: RouteContext, params: ModelParams): ModelRuntime {
  const runtime = context.manager.current;
  const servedName = runtime?.model.name ?? context.nameOverride;
  if (servedName !== undefined && params.name !== servedName) {
    throw new ModelServerError(
      'MS_ERR_MODEL_NOT_FOUND',
      `model '${params.name}' is not served here; this server serves '${servedName}'`,
    );
  }
  if (runtime === undefined) throw notReady(context);
  if (params.version !== undefined && params.version !== runtime.model.version) {
    throw new ModelServerError(
      'MS_ERR_MODEL_VERSION_NOT_FOUND',
      `model '${params.name}' has no version '${params.version}'; the served version is '${runtime.model.version}'`,
    );
  }
  return runtime;
}

function notReady(context: RouteContext): ModelServerError {
  const failure = context.manager.failure;
  const message =
    failure === undefined
      ? 'the model is still loading; retry shortly'
      : `the model failed to load (${failure.code}): ${failure.message}`;
  return new ModelServerError('MS_ERR_MODEL_NOT_READY', message, {
    retryAfterSeconds: LOADING_RETRY_AFTER_SECONDS,
  });
}
