// JSON notifications of health transitions to spec.monitoring.webhook.url.
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';
import { redactUrl } from '../util/redact.ts';
import type { Transition } from './evaluate.ts';

/** Body of one webhook POST. */
export interface WebhookPayload {
  apiVersion: 'modelwarden.io/v1alpha1';
  kind: 'ModelDeploymentTransition';
  namespace: string;
  name: string;
  /** Probe time, RFC 3339. */
  time: string;
  /** Degraded condition status after the probe. */
  degraded: string;
  transitions: Transition[];
}

/**
 * POSTs the payload and logs the outcome; never throws, because a receiver that is down must
 * not block reconciles. Delivery is at least once: a reconcile retried after a status conflict
 * can send the same transition again.
 */
export async function notifyWebhook(
  url: string,
  payload: WebhookPayload,
  timeoutMs: number,
  log: Logger,
): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (response.ok) return true;
    log.warn({ url: redactUrl(url), status: response.status }, 'webhook rejected the transition');
  } catch (error) {
    log.warn({ url: redactUrl(url), error: errorMessage(error) }, 'webhook request failed');
  }
  return false;
}
