// Errors of the operator. A TerminalError stops retries for a key until its spec changes; every
// other error thrown by a reconcile is transient and retried with rate-limited backoff.
import type { Reason } from './controller/reasons.ts';

/** An error that retrying cannot fix, such as a spec the apiserver accepted but cannot run. */
export class TerminalError extends Error {
  readonly reason: Reason;

  constructor(reason: Reason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
    this.reason = reason;
  }
}

/** A failed Kubernetes API request with the apiserver's status. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  /** metav1.Status reason, e.g. NotFound, Conflict, Invalid, Expired. */
  readonly reason: string;

  constructor(method: string, path: string, statusCode: number, reason: string, message: string) {
    super(`${method} ${path} failed with ${statusCode} ${reason}: ${message}`);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409;
}

/** Returns the error's message, for errors of unknown type caught from libraries. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
