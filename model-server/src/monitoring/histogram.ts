// Histogram baselines and the population stability index (PSI). The trainer computes one baseline
// per feature from the training rows; the server bins live inputs with the same edges and
// compares the proportions.

/**
 * Bin layout and training proportions of one column. `edges` are the interior cut points in
 * ascending order; bin 0 holds values `<= edges[0]`, bin i holds `edges[i-1] < x <= edges[i]`
 * and the last bin holds values `> edges[edges.length - 1]`, so there are `edges.length + 1`
 * proportions.
 */
export interface HistogramBaseline {
  name: string;
  edges: number[];
  proportions: number[];
}

/**
 * Proportion that stands in for an empty bin, so that the logarithm in PSI stays finite. The
 * value is the common choice in credit-risk practice, where PSI comes from.
 */
export const PSI_EMPTY_BIN_PROPORTION = 1e-4;

/** Returns the bin of `value` for the layout described on HistogramBaseline. */
export function binIndex(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  // Binary search for the first edge >= value; that edge's index is the bin.
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value <= (edges[middle] as number)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * Computes the baseline of one column: cut points at the quantiles 1/binCount ... (binCount-1)/
 * binCount of `values`, with repeated cut points merged, so that a discrete column such as a
 * cylinder count gets one bin per value instead of empty duplicates.
 */
export function computeBaseline(
  name: string,
  values: readonly number[],
  binCount: number,
): HistogramBaseline {
  if (values.length === 0)
    throw new Error(`cannot compute a histogram baseline of '${name}' from no values`);
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (let k = 1; k < binCount; k++) {
    const edge = quantile(sorted, k / binCount);
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of values) {
    const bin = binIndex(edges, value);
    counts[bin] = (counts[bin] as number) + 1;
  }
  return { name, edges, proportions: counts.map((count) => count / values.length) };
}

/**
 * Empirical quantile without interpolation: the smallest value with at least `probability` of
 * the values at or below it. Cut points are then always observed values, which keeps the bins of
 * a discrete column on its values.
 */
function quantile(sorted: Float64Array, probability: number): number {
  const index = Math.max(0, Math.ceil(probability * sorted.length) - 1);
  return sorted[Math.min(index, sorted.length - 1)] as number;
}

/**
 * Computes PSI = sum over bins of (actual - expected) * ln(actual / expected), where `counts`
 * are the observed counts per bin and `expected` the baseline proportions. Empty bins on either
 * side count as PSI_EMPTY_BIN_PROPORTION. Returns 0 when `total` is 0.
 */
export function populationStabilityIndex(
  expected: readonly number[],
  counts: ArrayLike<number>,
  total: number,
): number {
  if (total === 0) return 0;
  let psi = 0;
  for (let bin = 0; bin < expected.length; bin++) {
    const expectedShare = Math.max(expected[bin] as number, PSI_EMPTY_BIN_PROPORTION);
    const actualShare = Math.max((counts[bin] as number) / total, PSI_EMPTY_BIN_PROPORTION);
    psi += (actualShare - expectedShare) * Math.log(actualShare / expectedShare);
  }
  return psi;
}
