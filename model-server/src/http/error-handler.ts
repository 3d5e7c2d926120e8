// The one error handler of the HTTP API: every error becomes `{ error, code, message, statusCode }`
// with a stable code; 4xx are logged at info without their message, 5xx at error, and every
// error is counted by code.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ModelServerError, isModelServerError, type ErrorCode } from '../errors.ts';
import type { ServerMetrics } from '../monitoring/metrics.ts';

export interface ErrorBody {
  error: string;
  code: string;
  message: string;
  statusCode: number;
}

/** Fastify's own errors that a client can cause, mapped to this server's codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'MS_ERR_REQUEST_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MS_ERR_REQUEST_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MS_ERR_REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MS_ERR_REQUEST_JSON_INVALID',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MS_ERR_REQUEST_JSON_INVALID',
  FST_ERR_VALIDATION: 'MS_ERR_REQUEST_INVALID',
};

export function installErrorHandling(
  app: FastifyInstance,
  metrics: ServerMetrics,
  bodyLimit: number,
): void {
  app.setErrorHandler((error: FastifyError | ModelServerError, request, reply) => {
    const mapped = toModelServerError(error, request, bodyLimit);
    sendError(mapped, request, reply, metrics, mapped.statusCode >= 500 ? error : undefined);
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new ModelServerError(
      'MS_ERR_ROUTE_NOT_FOUND',
      `no route for ${request.method} ${request.url.split('?')[0]}; see /v1/models/{name} and /v2/health/ready`,
    );
    sendError(error, request, reply, metrics, undefined);
  });
}

function sendError(
  error: ModelServerError,
  request: FastifyRequest,
  reply: FastifyReply,
  metrics: ServerMetrics,
  cause: unknown,
): void {
  metrics.errors.inc({ code: error.code });
  const logged = {
    code: error.code,
    statusCode: error.statusCode,
    route: request.routeOptions.config.routeLabel,
  };
  // A 4xx message may quote what the client sent (a tensor name, an unknown property), so the
  // log line carries only the code; the client gets the full message.
  if (error.statusCode >= 500) request.log.error({ ...logged, err: cause ?? error }, error.message);
  else request.log.info(logged, 'request rejected');
  if (error.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(error.retryAfterSeconds));
  const body: ErrorBody = {
    error: STATUS_CODES[error.statusCode] ?? 'Error',
    code: error.code,
    message: error.message,
    statusCode: error.statusCode,
  };
  void reply.status(error.statusCode).send(body);
}

function toModelServerError(
  error: FastifyError | ModelServerError,
  request: FastifyRequest,
  bodyLimit: number,
): ModelServerError {
  if (isModelServerError(error)) return error;
  const code = FASTIFY_CODES[error.code];
  if (code === 'MS_ERR_REQUEST_BODY_TOO_LARGE') {
    return new ModelServerError(
      code,
      `request body exceeds the limit of ${bodyLimit} bytes (--body-limit); split the request`,
    );
  }
  if (code === 'MS_ERR_REQUEST_MEDIA_TYPE') {
    return new ModelServerError(
      code,
      `content type '${request.headers['content-type'] ?? ''}' is not supported; send application/json`,
    );
  }
  if (code === 'MS_ERR_REQUEST_INVALID' && error.validation !== undefined) {
    return new ModelServerError(code, describeValidation(error));
  }
  if (code === 'MS_ERR_REQUEST_JSON_INVALID') {
    return new ModelServerError(code, `request body is not valid JSON: ${error.message}`);
  }
  if (code !== undefined) return new ModelServerError(code, error.message);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500)
    return new ModelServerError('MS_ERR_REQUEST_INVALID', error.message);
  return new ModelServerError(
    'MS_ERR_INTERNAL',
    'internal server error; the server log has the details',
  );
}

/** Turns ajv's `/instances/0/1 must be number` into `instances[0][1] must be number`. */
function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (first === undefined) return error.message;
  const field = toFieldPath(first.instancePath, error.validationContext ?? 'body');
  const missing = (first.params as { missingProperty?: string }).missingProperty;
  if (first.keyword === 'required' && missing !== undefined) {
    return `${field === 'body' ? '' : `${field}.`}${missing} is missing`;
  }
  const extra = (first.params as { additionalProperty?: string }).additionalProperty;
  if (first.keyword === 'additionalProperties' && extra !== undefined) {
    return `${field} has unknown property '${extra}'`;
  }
  return `${field} ${first.message ?? 'is invalid'}`;
}

/** Converts a JSON pointer such as `/instances/0/1` to `instances[0][1]`; the root is `context`. */
function toFieldPath(pointer: string, context: string): string {
  const segments = pointer.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) return context;
  let field = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) field += `[${segment}]`;
    else if (field === '') field = segment;
    else field += `.${segment}`;
  }
  return field;
}
