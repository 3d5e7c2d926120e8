// The fastify application: request metrics, error handling and all routes.
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling } from './error-handler.ts';
import { installJsonParser } from './json-body.ts';
import { registerAdminRoutes } from './routes-admin.ts';
import { registerV1Routes } from './routes-v1.ts';
import { registerV2Routes } from './routes-v2.ts';
import type { RouteContext } from './route-context.ts';

export interface AppOptions {
  bodyLimit: number;
  /** Time a client has to send a whole request; Node answers 408 after it. */
  requestTimeoutMs: number;
  logger: Logger;
}

const UNMATCHED_ROUTE = 'unmatched';

declare module 'fastify' {
  interface FastifyRequest {
    /** Whether the request is counted in flight and not yet settled. */
    inFlight: boolean;
  }
}

export function buildApp(context: RouteContext, options: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // Fastify sets no request timeout by default, so a client that stops halfway through its
    // body would hold the connection for ever. Node checks the deadline every
    // connectionsCheckingInterval, so the interval is a fraction of the timeout.
    requestTimeout: options.requestTimeoutMs,
    http: {
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.ceil(options.requestTimeoutMs / 4)),
    },
    // One log line per request at info would dominate the log and cost throughput; the
    // onResponse hook below logs requests at debug instead.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    // Fastify's defaults strip unknown properties and coerce types; a client mistake such as a
    // misspelt field must be reported instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  // Only JSON bodies are accepted; text/plain would otherwise reach the handlers as a string.
  app.removeContentTypeParser('text/plain');
  installJsonParser(app);
  installRequestMetrics(app, context);
  // During shutdown every response closes its connection. Node closes only idle keep-alive
  // connections when the server closes, so a connection busy at that moment would otherwise
  // stay open until its keep-alive timeout and hold up the shutdown.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (context.isShuttingDown()) void reply.header('connection', 'close');
    done(null, payload);
  });
  installErrorHandling(app, context.metrics, options.bodyLimit);
  registerV1Routes(app, context);
  registerV2Routes(app, context);
  registerAdminRoutes(app, context);
  return app;
}

function installRequestMetrics(app: FastifyInstance, context: RouteContext): void {
  const { metrics } = context;
  // A field declared up front keeps every request object the same shape.
  app.decorateRequest('inFlight', false);
  app.addHook('onRequest', (request, _reply, done) => {
    request.inFlight = true;
    metrics.requestStarted();
    done();
  });
  // A request the client aborts may never reach onResponse, so both hooks settle the count once.
  const settle = (request: FastifyRequest) => {
    if (!request.inFlight) return;
    request.inFlight = false;
    metrics.requestSettled();
  };
  app.addHook('onRequestAbort', (request, done) => {
    settle(request);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    settle(request);
    const route = request.routeOptions.config.routeLabel ?? UNMATCHED_ROUTE;
    const seconds = reply.elapsedTime / 1000;
    metrics.observeRequest(route, request.method, reply.statusCode, seconds);
    request.log.debug(
      { route, method: request.method, statusCode: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
    done();
  });
}
