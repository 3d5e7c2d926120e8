// Requests the apiserver served, from its own apiserver_request_total counter and
// apiserver_request_duration_seconds histogram, so that the figures include every request the
// operator sent, whatever client code sent it.
import type { KubeClient } from '../src/kube/client.ts';
import { parseTextFormat } from '../src/probing/text-format.ts';

/** Verbs that change stored state, as apiserver_request_total spells them. */
export const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION'];

/** A `group/resource[/subresource]` key, e.g. `apps/deployments` or `core/services`. */
export type ResourceKey = string;

/** Requests of one resource and verb, and the seconds the apiserver spent serving them. */
export interface VerbStats {
  count: number;
  seconds: number;
}

/** Request figures by resource key and verb. */
export type RequestStats = Map<ResourceKey, Map<string, VerbStats>>;

function add(stats: RequestStats, key: ResourceKey, verb: string, delta: Partial<VerbStats>) {
  const byVerb = stats.get(key) ?? new Map<string, VerbStats>();
  const current = byVerb.get(verb) ?? { count: 0, seconds: 0 };
  byVerb.set(verb, {
    count: current.count + (delta.count ?? 0),
    seconds: current.seconds + (delta.seconds ?? 0),
  });
  stats.set(key, byVerb);
}

/** Scrapes the apiserver's /metrics, which the admin kubeconfig may read. */
export async function scrapeRequestStats(kube: KubeClient): Promise<RequestStats> {
  const response = await kube.stream('/metrics');
  const stats: RequestStats = new Map();
  for (const sample of parseTextFormat(await response.text())) {
    const isCount = sample.name === 'apiserver_request_total';
    if (!isCount && sample.name !== 'apiserver_request_duration_seconds_sum') continue;
    const { group = '', resource = '', subresource = '', verb = '' } = sample.labels;
    if (!resource) continue;
    const key = [group || 'core', resource, subresource].filter(Boolean).join('/');
    add(stats, key, verb, isCount ? { count: sample.value } : { seconds: sample.value });
  }
  return stats;
}

/** Returns `after - before` for every resource and verb whose count changed. */
export function diffStats(before: RequestStats, after: RequestStats): RequestStats {
  const diff: RequestStats = new Map();
  for (const [key, verbs] of after) {
    for (const [verb, value] of verbs) {
      const previous = before.get(key)?.get(verb) ?? { count: 0, seconds: 0 };
      const count = value.count - previous.count;
      if (count !== 0) add(diff, key, verb, { count, seconds: value.seconds - previous.seconds });
    }
  }
  return diff;
}

/** Sums the counts of the given resources, split into reads and writes. */
export function sumCounts(
  stats: RequestStats,
  resources: readonly ResourceKey[],
): { reads: number; writes: number; byVerb: Map<string, number> } {
  let reads = 0;
  let writes = 0;
  const byVerb = new Map<string, number>();
  for (const key of resources) {
    for (const [verb, { count }] of stats.get(key) ?? []) {
      byVerb.set(verb, (byVerb.get(verb) ?? 0) + count);
      if (WRITE_VERBS.includes(verb)) writes += count;
      else reads += count;
    }
  }
  return { reads, writes, byVerb };
}

/** Formats one line per resource and verb: count and mean apiserver latency (not for WATCH). */
export function describeStats(stats: RequestStats, resources: readonly ResourceKey[]): string[] {
  const lines: string[] = [];
  for (const key of resources) {
    for (const [verb, { count, seconds }] of stats.get(key) ?? []) {
      const latency = verb === 'WATCH' ? '' : `, mean ${((1000 * seconds) / count).toFixed(1)} ms`;
      lines.push(`${key} ${verb}: ${count}${latency}`);
    }
  }
  return lines;
}
