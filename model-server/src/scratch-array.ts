// Working arrays reused from one request to the next. A large typed array keeps its memory
// outside the V8 heap, and allocating such arrays per request kept the garbage collector's
// threads about twice as busy freeing them under load.

interface SizedArray {
  readonly length: number;
  readonly byteLength: number;
}

export class ScratchArray<T extends SizedArray> {
  private readonly create: (length: number) => T;
  private readonly maxRetainedBytes: number;
  private array: T;

  /** Arrays up to `maxRetainedBytes` are kept for later calls, and larger ones are used once. */
  constructor(create: (length: number) => T, initialLength: number, maxRetainedBytes: number) {
    this.create = create;
    this.maxRetainedBytes = maxRetainedBytes;
    this.array = create(initialLength);
  }

  /**
   * Returns an array of at least `length` elements with undefined contents. The next call may
   * return the same array, so the caller must be done with it by then.
   */
  get(length: number): T {
    if (length <= this.array.length) return this.array;
    const array = this.create(length);
    if (array.byteLength <= this.maxRetainedBytes) this.array = array;
    return array;
  }
}
