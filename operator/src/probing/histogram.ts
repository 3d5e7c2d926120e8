// Quantiles of classic Prometheus histograms.

/** Cumulative bucket counts keyed by upper bound (`le`), +Infinity included. */
export type Buckets = Map<number, number>;

/**
 * Estimates the q-quantile (0 <= q <= 1) from cumulative bucket counts the way PromQL's
 * histogram_quantile does: find the bucket holding rank q * count and interpolate linearly
 * inside it, with 0 as the lower bound of the first bucket. Returns the upper bound of the
 * highest finite bucket when the rank falls into +Inf, and NaN without observations or
 * without a +Inf bucket.
 */
export function histogramQuantile(q: number, buckets: Buckets): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  if (bounds.length < 2 || bounds.at(-1) !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Counts scraped at slightly different moments can be non-monotonic; PromQL clamps them too.
  const counts: number[] = [];
  for (const bound of bounds) counts.push(Math.max(buckets.get(bound) ?? 0, counts.at(-1) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0 || Number.isNaN(q)) return Number.NaN;
  if (q <= 0) return Number.NEGATIVE_INFINITY;
  if (q >= 1) return bounds.at(-2) ?? Number.NaN;

  const rank = q * total;
  const index = counts.findIndex((count) => count >= rank);
  if (index === bounds.length - 1) return bounds.at(-2) ?? Number.NaN;
  const upper = bounds[index] ?? Number.NaN;
  if (index === 0 && upper <= 0) return upper;
  const lower = index === 0 ? 0 : (bounds[index - 1] ?? 0);
  const below = index === 0 ? 0 : (counts[index - 1] ?? 0);
  const inBucket = (counts[index] ?? 0) - below;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}

/** Adds `b` into `a` bucket by bucket, for histograms with the same bucket layout. */
export function addBuckets(a: Buckets, b: Buckets): void {
  for (const [bound, count] of b) a.set(bound, (a.get(bound) ?? 0) + count);
}
