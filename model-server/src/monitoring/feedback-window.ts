// Sliding-window accuracy over the last N labelled predictions.

export interface FeedbackStats {
  samples: number;
  /** Mean absolute error in label units; null while the window is empty (no error is known). */
  mae: number | null;
  /** Root mean squared error in label units; null while the window is empty. */
  rmse: number | null;
}

/**
 * Keeps the absolute and squared errors of the last `size` samples with running sums. The sums
 * are recomputed from the ring each time it wraps, so rounding from repeated subtraction cannot
 * accumulate.
 */
export class FeedbackWindow {
  private readonly absolute: Float64Array;
  private readonly squared: Float64Array;
  private nextSlot = 0;
  private filled = 0;
  private absoluteSum = 0;
  private squaredSum = 0;

  constructor(size: number) {
    this.absolute = new Float64Array(size);
    this.squared = new Float64Array(size);
  }

  add(prediction: number, label: number): void {
    const error = prediction - label;
    const absolute = Math.abs(error);
    const squared = error * error;
    if (this.filled === this.absolute.length) {
      this.absoluteSum -= this.absolute[this.nextSlot] as number;
      this.squaredSum -= this.squared[this.nextSlot] as number;
    } else {
      this.filled += 1;
    }
    this.absolute[this.nextSlot] = absolute;
    this.squared[this.nextSlot] = squared;
    this.absoluteSum += absolute;
    this.squaredSum += squared;
    this.nextSlot = (this.nextSlot + 1) % this.absolute.length;
    if (this.nextSlot === 0) this.recomputeSums();
  }

  stats(): FeedbackStats {
    if (this.filled === 0) return { samples: 0, mae: null, rmse: null };
    return {
      samples: this.filled,
      mae: Math.max(0, this.absoluteSum) / this.filled,
      rmse: Math.sqrt(Math.max(0, this.squaredSum) / this.filled),
    };
  }

  private recomputeSums(): void {
    this.absoluteSum = 0;
    this.squaredSum = 0;
    for (let slot = 0; slot < this.filled; slot++) {
      this.absoluteSum += this.absolute[slot] as number;
      this.squaredSum += this.squared[slot] as number;
    }
  }
}
