// Input drift: per-feature PSI of a sliding window of recent prediction inputs against the
// training baseline in the manifest.
import { binIndex, populationStabilityIndex, type HistogramBaseline } from './histogram.ts';

export interface DriftSnapshot {
  /** PSI per feature, in manifest feature order. */
  psi: { feature: string; value: number }[];
  /** Rows currently in the window. */
  samples: number;
}

/**
 * Keeps the bin of every feature of the last `windowSize` rows in a ring buffer and the bin
 * counts beside it, so adding a row and computing PSI cost O(features) and O(features x bins).
 */
export class DriftMonitor {
  private readonly baselines: readonly HistogramBaseline[];
  private readonly windowSize: number;
  private readonly featureCount: number;
  private readonly binOffsets: number[];
  private readonly ring: Uint8Array;
  private readonly counts: Uint32Array;
  private nextSlot = 0;
  private filled = 0;

  constructor(baselines: readonly HistogramBaseline[], windowSize: number) {
    this.baselines = baselines;
    this.windowSize = windowSize;
    this.featureCount = baselines.length;
    this.binOffsets = [];
    let offset = 0;
    for (const baseline of baselines) {
      if (baseline.proportions.length > 255)
        throw new Error(`baseline '${baseline.name}' has more than 255 bins`);
      this.binOffsets.push(offset);
      offset += baseline.proportions.length;
    }
    this.ring = new Uint8Array(windowSize * this.featureCount);
    this.counts = new Uint32Array(offset);
  }

  /** Adds `rowCount` rows stored row-major in `rows`, evicting the oldest once the window is full. */
  add(rows: Float64Array, rowCount: number): void {
    const width = this.featureCount;
    for (let row = 0; row < rowCount; row++) {
      const slotOffset = this.nextSlot * width;
      for (let column = 0; column < width; column++) {
        const base = this.binOffsets[column] as number;
        if (this.filled === this.windowSize) {
          const counter = base + (this.ring[slotOffset + column] as number);
          this.counts[counter] = (this.counts[counter] as number) - 1;
        }
        const bin = binIndex(
          (this.baselines[column] as HistogramBaseline).edges,
          rows[row * width + column] as number,
        );
        this.ring[slotOffset + column] = bin;
        this.counts[base + bin] = (this.counts[base + bin] as number) + 1;
      }
      if (this.filled < this.windowSize) this.filled += 1;
      this.nextSlot = (this.nextSlot + 1) % this.windowSize;
    }
  }

  snapshot(): DriftSnapshot {
    const psi = this.baselines.map((baseline, column) => {
      const base = this.binOffsets[column] as number;
      const counts = this.counts.subarray(base, base + baseline.proportions.length);
      return {
        feature: baseline.name,
        value: populationStabilityIndex(baseline.proportions, counts, this.filled),
      };
    });
    return { psi, samples: this.filled };
  }
}
