// A fixed-size ring of recent predictions, so that feedback can name a prediction by its id.
// An id is `<prefix><sequence in base 36>`; the sequence gives the ring slot directly, so a
// lookup needs no map and the memory is capacity x (8 bytes per feature + 5).

export interface LoggedPrediction {
  slot: number;
  features: Float64Array;
  prediction: number;
  labelled: boolean;
}

export class PredictionLog {
  readonly prefix: string;
  private readonly capacity: number;
  private readonly featureCount: number;
  private readonly features: Float64Array;
  private readonly predictions: Float32Array;
  private readonly labelled: Uint8Array;
  private nextSequence = 0;

  /** `prefix` must be unique per process and model load, and must not end in a base-36 digit. */
  constructor(prefix: string, capacity: number, featureCount: number) {
    this.prefix = prefix;
    this.capacity = capacity;
    this.featureCount = featureCount;
    this.features = new Float64Array(capacity * featureCount);
    this.predictions = new Float32Array(capacity);
    this.labelled = new Uint8Array(capacity);
  }

  /** Stores `rowCount` rows with their predictions and returns their ids in row order. */
  record(rows: Float64Array, predictions: Float32Array, rowCount: number): string[] {
    const ids = new Array<string>(rowCount);
    const width = this.featureCount;
    for (let row = 0; row < rowCount; row++) {
      const sequence = this.nextSequence++;
      const slot = sequence % this.capacity;
      for (let column = 0; column < width; column++)
        this.features[slot * width + column] = rows[row * width + column] as number;
      this.predictions[slot] = predictions[row] as number;
      this.labelled[slot] = 0;
      ids[row] = this.prefix + sequence.toString(36);
    }
    return ids;
  }

  /** Returns whether `id` was issued by this log, even if it has been overwritten since. */
  owns(id: string): boolean {
    return id.startsWith(this.prefix);
  }

  /** Returns the prediction behind `id`, or undefined if it was never issued or was overwritten. */
  lookup(id: string): LoggedPrediction | undefined {
    if (!this.owns(id)) return undefined;
    const digits = id.slice(this.prefix.length);
    if (!/^[0-9a-z]{1,11}$/.test(digits)) return undefined;
    const sequence = parseInt(digits, 36);
    if (sequence >= this.nextSequence || sequence < this.nextSequence - this.capacity)
      return undefined;
    const slot = sequence % this.capacity;
    const width = this.featureCount;
    return {
      slot,
      features: this.features.slice(slot * width, (slot + 1) * width),
      prediction: this.predictions[slot] as number,
      labelled: this.labelled[slot] === 1,
    };
  }

  markLabelled(slot: number): void {
    this.labelled[slot] = 1;
  }
}
