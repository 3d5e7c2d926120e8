// Kubernetes resource quantities ("500m", "1Gi", "2e3") as plain numbers.

const binarySuffixes: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const decimalSuffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * Parses a quantity into its value in base units (cores, bytes). Precision beyond a double's is
 * lost, which is fine for the sizes a test node handles.
 */
export function parseQuantity(quantity: string): number {
  const match =
    /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
      quantity.trim(),
    );
  if (!match?.[1]) {
    throw new Error(
      `invalid resource quantity ${JSON.stringify(quantity)}: expected a form like 500m, 2 or 1Gi`,
    );
  }
  const number = Number(match[1]);
  if (match[2]) {
    return number * 10 ** Number(match[2].slice(1));
  }
  const suffix = match[3] ?? '';
  return number * (binarySuffixes[suffix] ?? decimalSuffixes[suffix] ?? 1);
}
