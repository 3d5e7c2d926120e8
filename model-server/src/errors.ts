// Coded errors of the model server and trainer. Every error that reaches a client or the command
// line is a ModelServerError with a stable code, so that logs, metrics and the HTTP error body
// `{ error, code, message, statusCode }` name the same thing.

/** The registry of error codes with the HTTP status each one maps to. */
export const ERROR_CODES = {
  MS_ERR_REQUEST_INVALID: 400,
  MS_ERR_REQUEST_JSON_INVALID: 400,
  MS_ERR_REQUEST_BODY_TOO_LARGE: 413,
  MS_ERR_REQUEST_TOO_MANY_ROWS: 413,
  MS_ERR_REQUEST_MEDIA_TYPE: 415,
  MS_ERR_ROUTE_NOT_FOUND: 404,
  MS_ERR_MODEL_NOT_FOUND: 404,
  MS_ERR_MODEL_VERSION_NOT_FOUND: 404,
  MS_ERR_MODEL_NOT_READY: 503,
  MS_ERR_QUEUE_FULL: 429,
  MS_ERR_SHUTTING_DOWN: 503,
  MS_ERR_ADMIN_UNAUTHORIZED: 401,
  MS_ERR_ADMIN_FORBIDDEN: 403,
  MS_ERR_RELOAD_IN_PROGRESS: 409,
  MS_ERR_ARTIFACT_URI_INVALID: 400,
  MS_ERR_ARTIFACT_INVALID: 422,
  MS_ERR_ARTIFACT_CHECKSUM_MISMATCH: 422,
  MS_ERR_ARTIFACT_TOO_LARGE: 422,
  MS_ERR_ARTIFACT_NOT_FOUND: 422,
  MS_ERR_ARTIFACT_DOWNLOAD_FAILED: 502,
  MS_ERR_INFERENCE_FAILED: 500,
  MS_ERR_INTERNAL: 500,
  MS_ERR_CONFIG_INVALID: 400,
  MS_ERR_DATA_INVALID: 400,
  MS_ERR_DATA_NOT_FOUND: 400,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ModelServerErrorOptions {
  /** Seconds the client should wait before retrying; sent as the Retry-After header. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** An error with a stable code and the HTTP status that code maps to. */
export class ModelServerError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: ModelServerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelServerError';
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Raises MS_ERR_REQUEST_INVALID for a request field; `field` is a path such as `instances[2][1]`. */
export function invalidRequest(field: string, problem: string): ModelServerError {
  return new ModelServerError('MS_ERR_REQUEST_INVALID', `${field} ${problem}`);
}

export function isModelServerError(error: unknown): error is ModelServerError {
  return error instanceof ModelServerError;
}

/** Returns the message of any thrown value, for logs and wrapped errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
