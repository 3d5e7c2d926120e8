// Kubernetes Events (events.k8s.io/v1) about ModelDeployments. Repeats of the same event within
// the series window update one Event's series instead of creating new ones, and a token bucket
// per object drops bursts, so a flapping resource cannot flood the apiserver.
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { RESOURCES, resourcePath } from '../kube/client.ts';
import { errorMessage } from '../errors.ts';
import type { OperatorMetrics } from '../http/metrics.ts';
import { toMicroTime, type Clock } from '../util/clock.ts';
import type { Reason } from './reasons.ts';

export const REPORTING_CONTROLLER = 'modelwarden.io/operator';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: Reason;
  /** Action the operator took or observed, a verb such as Reconcile, Apply or Probe. */
  action: string;
  note: string;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

export interface EventRecorderOptions {
  client: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  clock: Clock;
  /** Reporting instance, the operator pod name. */
  instance: string;
  /** Events allowed in a burst per object. */
  burst?: number;
  /** Tokens refilled per object per minute. */
  refillPerMinute?: number;
  /** Repeats within this time join one Event's series. */
  seriesWindowMs?: number;
}

export class EventRecorder {
  private readonly options: EventRecorderOptions;
  private readonly series = new Map<string, Series>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: EventRecorderOptions) {
    this.options = options;
  }

  /** Records an Event about `regarding`; failures are logged and counted, never thrown. */
  async record(regarding: KubeObject, event: EventSpec): Promise<void> {
    const { metrics, log } = this.options;
    const uid = regarding.metadata?.uid ?? '';
    const now = this.options.clock.now();
    const seriesKey = [uid, event.type, event.reason, event.action, event.note].join('\u0000');
    const existing = this.series.get(seriesKey);
    const windowMs = this.options.seriesWindowMs ?? 10 * 60_000;
    try {
      if (existing && now.getTime() - existing.lastSeen < windowMs) {
        existing.count += 1;
        existing.lastSeen = now.getTime();
        await this.options.client.mergePatch(
          resourcePath(RESOURCES.events, existing.namespace, existing.name),
          { series: { count: existing.count, lastObservedTime: toMicroTime(now) } },
        );
        metrics.eventsTotal.inc({ type: event.type, reason: event.reason, outcome: 'merged' });
        return;
      }
      if (!this.take(uid, now.getTime())) {
        metrics.eventsTotal.inc({ type: event.type, reason: event.reason, outcome: 'dropped' });
        log.debug({ reason: event.reason }, 'event dropped by rate limit');
        return;
      }
      const namespace = regarding.metadata?.namespace ?? 'default';
      const name = `${regarding.metadata?.name ?? 'unknown'}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
      await this.options.client.create(resourcePath(RESOURCES.events, namespace), {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace },
        eventTime: toMicroTime(now),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.options.instance,
        action: event.action,
        reason: event.reason,
        note: event.note.slice(0, 1024),
        type: event.type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: regarding.metadata?.name,
          namespace,
          uid,
          resourceVersion: regarding.metadata?.resourceVersion,
        },
      });
      this.series.set(seriesKey, { name, namespace, count: 1, lastSeen: now.getTime() });
      this.prune(now.getTime(), windowMs);
      metrics.eventsTotal.inc({ type: event.type, reason: event.reason, outcome: 'sent' });
    } catch (error) {
      // The Event may have expired; the next repeat then creates a new one.
      this.series.delete(seriesKey);
      metrics.eventsTotal.inc({ type: event.type, reason: event.reason, outcome: 'failed' });
      log.warn({ err: errorMessage(error), reason: event.reason }, 'recording event failed');
    }
  }

  /** Takes one token from the object's bucket; false when it is empty. */
  private take(uid: string, now: number): boolean {
    // client-go's event spam filter also allows a burst of 25 per object; 10 dropped Events of
    // a single degrade-retrain-promote cycle, which emits about 15 within a minute.
    const burst = this.options.burst ?? 25;
    const refill = (this.options.refillPerMinute ?? 2) / 60_000;
    const bucket = this.buckets.get(uid) ?? { tokens: burst, updated: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updated) * refill);
    bucket.updated = now;
    this.buckets.set(uid, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private prune(now: number, windowMs: number): void {
    for (const [key, entry] of this.series) {
      if (now - entry.lastSeen >= windowMs) this.series.delete(key);
    }
  }

  /** Drops the rate-limit state of a deleted object. */
  forget(uid: string): void {
    this.buckets.delete(uid);
  }
}
