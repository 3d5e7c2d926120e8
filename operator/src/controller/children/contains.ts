// Comparison of a desired child with the stored one, so that a reconcile can skip a server-side
// apply that would change nothing.

/**
 * Tells whether `actual` has every field of `expected` with an equal value. Objects may carry
 * more fields in `actual`, as the apiserver adds defaults and status; arrays must match element
 * by element with the same length. Fields set to undefined in `expected` are ignored.
 *
 * NOTE: values are compared as written, so a quantity the apiserver normalises (cpu `0.5` is
 * stored as `500m`) never matches and its child is applied on every reconcile, as before.
 */
export function containsFields(expected: unknown, actual: unknown): boolean {
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, index) => containsFields(item, actual[index]))
    );
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const fields = actual as Record<string, unknown>;
    return Object.entries(expected).every(
      ([key, value]) => value === undefined || containsFields(value, fields[key]),
    );
  }
  return expected === actual;
}
