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
 * Keeps the last `windowSize` input rows in a ring buffer and bins them only when a snapshot is
 * taken. Rows arrive at up to a million per second but are read once per scrape, so binning them
 * as they arrived spent most of its work on rows that left the window unread. For a 1024-row
 * request that took 60 to 70 µs here. A snapshot bins the rows added since the last one, at most
 * `windowSize`, and keeps each slot's bins so that it can take them out of the counts later.
 */
export class DriftMonitor {
  private readonly baselines: readonly HistogramBaseline[];
  private readonly windowSize: number;
  private readonly featureCount: number;
  private readonly binOffsets: number[];
  /** Raw rows, row-major, slot by slot. */
  private readonly values: Float64Array;
  /** The bin of every value of `values` as of the last snapshot. */
  private readonly bins: Uint8Array;
  private readonly counts: Uint32Array;
  private nextSlot = 0;
  private filled = 0;
  /** Rows added since the monitor was created, and how many of them were binned. */
  private added = 0;
  private binned = 0;

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
    this.values = new Float64Array(windowSize * this.featureCount);
    this.bins = new Uint8Array(windowSize * this.featureCount);
    this.counts = new Uint32Array(offset);
  }

  /** Adds `rowCount` rows stored row-major in `rows`, evicting the oldest once the window is full. */
  add(rows: Float64Array, rowCount: number): void {
    const width = this.featureCount;
    // Only the last windowSize rows can still be in the window afterwards.
    const copied = Math.min(rowCount, this.windowSize);
    let source = (rowCount - copied) * width;
    let remaining = copied;
    while (remaining > 0) {
      const run = Math.min(remaining, this.windowSize - this.nextSlot);
      this.values.set(rows.subarray(source, source + run * width), this.nextSlot * width);
      source += run * width;
      remaining -= run;
      this.nextSlot = (this.nextSlot + run) % this.windowSize;
    }
    this.filled = Math.min(this.windowSize, this.filled + rowCount);
    this.added += rowCount;
  }

  snapshot(): DriftSnapshot {
    this.binPending();
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

  /** Brings the counts up to the window: the rows added since the last snapshot replace older ones. */
  private binPending(): void {
    const pending = this.added - this.binned;
    if (pending === 0) return;
    if (pending >= this.windowSize) {
      // Every slot changed, so the counts start again from zero.
      this.counts.fill(0);
      for (let slot = 0; slot < this.filled; slot++) this.binSlot(slot, false);
    } else {
      // The slots that were filled at the last snapshot contain binned rows to take out first.
      const filledBefore = Math.min(this.windowSize, this.binned);
      const first = (this.nextSlot - pending + this.windowSize) % this.windowSize;
      for (let step = 0; step < pending; step++) {
        const slot = (first + step) % this.windowSize;
        this.binSlot(slot, slot < filledBefore);
      }
    }
    this.binned = this.added;
  }

  private binSlot(slot: number, evict: boolean): void {
    const width = this.featureCount;
    for (let column = 0; column < width; column++) {
      const cell = slot * width + column;
      const base = this.binOffsets[column] as number;
      if (evict) {
        const previous = base + (this.bins[cell] as number);
        this.counts[previous] = (this.counts[previous] as number) - 1;
      }
      const bin = binIndex(
        (this.baselines[column] as HistogramBaseline).edges,
        this.values[cell] as number,
      );
      this.bins[cell] = bin;
      this.counts[base + bin] = (this.counts[base + bin] as number) + 1;
    }
  }
}
