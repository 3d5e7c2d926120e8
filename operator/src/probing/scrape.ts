// Scrape targets from pods and the HTTP scrape itself.
import type { V1Pod } from '@kubernetes/client-node';
import { readPod } from './readings.ts';
import { parseTextFormat } from './text-format.ts';
import type { ScrapeOutcome } from './window.ts';

/** One pod's metrics endpoint. */
export interface ScrapeTarget {
  pod: string;
  uid: string;
  url: string;
}

/** Tells whether a pod serves traffic: Ready condition True, an IP, and not being deleted. */
export function isReadyPod(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp || !pod.status?.podIP) return false;
  return (pod.status.conditions ?? []).some(
    (condition) => condition.type === 'Ready' && condition.status === 'True',
  );
}

/**
 * Lists `http://podIP:port/metrics` of every Ready pod, sorted by pod name. Targets come from
 * pods rather than Services because endpoints of the local cluster reject loopback pod IPs.
 */
export function scrapeTargets(pods: readonly V1Pod[], port: number): ScrapeTarget[] {
  return pods
    .filter(isReadyPod)
    .map((pod) => {
      const ip = pod.status?.podIP ?? '';
      const host = ip.includes(':') ? `[${ip}]` : ip;
      return {
        pod: pod.metadata?.name ?? '',
        uid: pod.metadata?.uid ?? '',
        url: `http://${host}:${port}/metrics`,
      };
    })
    .sort((a, b) => a.pod.localeCompare(b.pod));
}

/**
 * Fetches and parses one target. Never throws: a timeout, a refused connection, a non-200
 * status or a malformed body comes back as an outcome with `error` set.
 */
export async function scrape(target: ScrapeTarget, timeoutMs: number): Promise<ScrapeOutcome> {
  const base = { pod: target.pod, uid: target.uid };
  try {
    const response = await fetch(target.url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'text/plain;version=0.0.4' },
    });
    const body = await response.text();
    if (!response.ok)
      return { ...base, error: `GET ${target.url} returned HTTP ${response.status}` };
    return { ...base, reading: readPod(parseTextFormat(body)) };
  } catch (error) {
    return { ...base, error: describeScrapeError(target.url, timeoutMs, error) };
  }
}

function describeScrapeError(url: string, timeoutMs: number, error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return `GET ${url} timed out after ${timeoutMs} ms`;
  }
  const cause =
    error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const message = error instanceof Error ? error.message : String(error);
  return `GET ${url} failed: ${message}${cause}`;
}

/** Scrapes every target concurrently. */
export function scrapeAll(
  targets: readonly ScrapeTarget[],
  timeoutMs: number,
): Promise<ScrapeOutcome[]> {
  return Promise.all(targets.map((target) => scrape(target, timeoutMs)));
}
