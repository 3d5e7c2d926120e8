// Parsers for option values. Each raises MS_ERR_CONFIG_INVALID with the flag or variable, the
// rejected value and what would be accepted.
import { ModelServerError } from '../errors.ts';

function invalid(source: string, raw: string, expected: string): ModelServerError {
  return new ModelServerError(
    'MS_ERR_CONFIG_INVALID',
    `${source} '${raw}' is invalid: expected ${expected}`,
  );
}

export function parseText(raw: string, source: string): string {
  if (raw.trim() === '') throw invalid(source, raw, 'a non-empty value');
  return raw;
}

/** Returns a parser of integers in [min, max]. */
export function integerIn(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return (raw: string, source: string): number => {
    const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw invalid(
        source,
        raw,
        max === Number.MAX_SAFE_INTEGER
          ? `an integer >= ${min}`
          : `an integer from ${min} to ${max}`,
      );
    }
    return value;
  };
}

/** Returns a parser of decimal numbers in the interval (min, max) or [min, max]. */
export function numberIn(min: number, max: number, options: { exclusive?: boolean } = {}) {
  return (raw: string, source: string): number => {
    const value = raw.trim() === '' ? Number.NaN : Number(raw);
    const inRange =
      options.exclusive === true ? value > min && value < max : value >= min && value <= max;
    if (!Number.isFinite(value) || !inRange) {
      const interval = options.exclusive === true ? `(${min}, ${max})` : `[${min}, ${max}]`;
      throw invalid(source, raw, `a number in ${interval}`);
    }
    return value;
  };
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses a byte size: a plain count or a number with B, KB, MB, GB, KiB, MiB or GiB. */
export function parseBytes(raw: string, source: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(raw);
  const factor = BYTE_UNITS[(match?.[2] ?? 'x').toLowerCase()];
  if (match === null || factor === undefined) {
    throw invalid(source, raw, 'a byte count such as 1048576, 512KiB, 64MiB or 2GiB');
  }
  const bytes = Math.floor(Number(match[1]) * factor);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw invalid(source, raw, 'at least 1 byte');
  return bytes;
}

/** Parses a switch: true/false, 1/0, yes/no, on/off. */
export function parseBoolean(raw: string, source: string): boolean {
  const normalised = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalised)) return true;
  if (['false', '0', 'no', 'off'].includes(normalised)) return false;
  throw invalid(source, raw, 'true or false');
}

/** Returns a parser accepting one of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]) {
  return (raw: string, source: string): T => {
    if (!(choices as readonly string[]).includes(raw))
      throw invalid(source, raw, `one of ${choices.join(', ')}`);
    return raw as T;
  };
}

export function parseSha256(raw: string, source: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(raw.trim()))
    throw invalid(source, raw, 'a SHA-256 digest of 64 hex digits');
  return raw.trim().toLowerCase();
}

/** Parses a comma-separated list of non-empty names without duplicates. */
export function parseNameList(raw: string, source: string): string[] {
  const names = raw.split(',').map((name) => name.trim());
  if (names.some((name) => name === ''))
    throw invalid(source, raw, 'comma-separated names such as a,b,c');
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined)
    throw invalid(source, raw, `names without duplicates ('${duplicate}' repeats)`);
  return names;
}

/** Returns a parser that checks a value against a regular expression described by `expected`. */
export function matching(pattern: RegExp, expected: string) {
  return (raw: string, source: string): string => {
    if (!pattern.test(raw)) throw invalid(source, raw, expected);
    return raw;
  };
}
