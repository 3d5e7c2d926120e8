// Go-style durations (`1h30m`, `15s`, `250ms`) as used in the CRD and on the command line.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/gy;

/** Parses a Go-style duration into milliseconds; throws naming the value when it is invalid. */
export function parseDuration(text: string): number {
  PART.lastIndex = 0;
  let total = 0;
  let matched = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
    matched = PART.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new Error(
      `invalid duration "${text}": use a number with a unit ms, s, m or h, e.g. 30s or 1h30m`,
    );
  }
  return total;
}
