import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScannedInstances, scanInstances } from './instances-scanner.ts';

const FLOAT32_MAX = 3.4028234663852886e38;

function scan(text: string): ScannedInstances | undefined {
  return scanInstances(Buffer.from(text, 'utf8'));
}

/** Returns whether two lists of numbers are equal value for value, telling 0 from -0. */
function sameValues(actual: ArrayLike<number>, expected: ArrayLike<number>): boolean {
  if (actual.length !== expected.length) return false;
  for (let index = 0; index < actual.length; index++) {
    if (!Object.is(actual[index], expected[index])) return false;
  }
  return true;
}

/**
 * Checks the scanner against JSON.parse: when it accepts a body, the body must be JSON with only
 * an `instances` field of equally long, non-empty rows of numbers, and the scanner's cells must
 * be exactly those numbers.
 */
function agreesWithJsonParse(text: string): boolean {
  const scanned = scan(text);
  if (scanned === undefined) return true;
  const parsed = JSON.parse(text) as { instances: number[][] };
  expect(Object.keys(parsed)).toEqual(['instances']);
  const rows = parsed.instances;
  expect(scanned.rowCount).toBe(rows.length);
  for (const row of rows) expect(row.length).toBe(scanned.width);
  const flat = rows.flat();
  expect(flat.every((value) => typeof value === 'number' && Math.abs(value) <= FLOAT32_MAX)).toBe(
    true,
  );
  expect(sameValues(scanned.rows, flat)).toBe(true);
  expect(sameValues(scanned.toJsonValue().instances.flat(), flat)).toBe(true);
  return true;
}

/** Number text in JSON syntax with every optional part, and some outside it. */
const numberText = fc
  .tuple(
    fc.constantFrom('', '-', '+'),
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[0-9]{1,25}$/)),
    fc.option(fc.stringMatching(/^\.[0-9]{0,25}$/), { nil: '' }),
    fc.option(fc.stringMatching(/^[eE][+-]?[0-9]{0,4}$/), { nil: '' }),
  )
  .map((parts) => parts.join(''));

const whitespace = fc.stringMatching(/^[ \t\n\r]{0,2}$/);

describe('scanInstances', () => {
  it('reads rows in row order', () => {
    const scanned = scan('{"instances": [[8, 307, 130.5], [-4, 0.25, 1e3]]}');
    expect(scanned).toBeInstanceOf(ScannedInstances);
    expect(scanned?.rowCount).toBe(2);
    expect(scanned?.width).toBe(3);
    expect(Array.from(scanned?.rows ?? [])).toEqual([8, 307, 130.5, -4, 0.25, 1000]);
  });

  it('rebuilds the JSON.parse value', () => {
    const text = ' {\n"instances" :[ [1,-0] ,[2,3e-2] ] } ';
    const value = (scan(text) as ScannedInstances).toJsonValue();
    expect(value).toEqual(JSON.parse(text));
    expect(Object.is(value.instances[0]?.[1], -0)).toBe(true);
  });

  it.each([
    ['another field', '{"instances": [[1]], "signature_name": ""}'],
    ['another key', '{"inputs": [[1]]}'],
    ['no rows', '{"instances": []}'],
    ['an empty row', '{"instances": [[]]}'],
    ['rows of two lengths', '{"instances": [[1, 2], [3]]}'],
    ['object rows', '{"instances": [{"a": 1}]}'],
    ['a string cell', '{"instances": [["1"]]}'],
    ['null', '{"instances": [[null]]}'],
    ['a value beyond float32', '{"instances": [[3.5e38]]}'],
    ['an overflowing exponent', '{"instances": [[1e400]]}'],
    ['a leading zero', '{"instances": [[01]]}'],
    ['a bare dot', '{"instances": [[1.]]}'],
    ['a plus sign', '{"instances": [[+1]]}'],
    ['an empty exponent', '{"instances": [[1e]]}'],
    ['a trailing comma', '{"instances": [[1,]]}'],
    ['text after the object', '{"instances": [[1]]} x'],
    ['a byte order mark', '\ufeff{"instances": [[1]]}'],
    ['a missing bracket', '{"instances": [[1]}'],
    ['only whitespace', '  '],
    ['an empty body', ''],
  ])('leaves a body with %s to JSON.parse', (_, text) => {
    expect(scan(text)).toBeUndefined();
  });

  it('converts every number as JSON.parse does', () => {
    const tricky = [
      '0.1',
      '-0',
      '-0.0',
      '5e-324',
      '9007199254740993',
      '123456789012345678901234567890',
      '0.000000000000000000000000001',
      '1.7976931348623157e308',
      '3.4028234663852886e38',
      '3.4028234663852887e38',
      '1e22',
      '1e23',
      '123456789012345e22',
      '0.1e-22',
      '4.9406564584124654e-324',
    ];
    for (const number of tricky) agreesWithJsonParse(`{"instances":[[${number}]]}`);
    // 10^-10000 written with zeros after the point, times 10^100000: JSON.parse gives Infinity.
    const longExponent = `{"instances":[[0.${'0'.repeat(9999)}1e100000]]}`;
    expect(scan(longExponent)).toBeUndefined();
    agreesWithJsonParse(`{"instances":[[0.${'0'.repeat(9999)}1e10005]]}`);
    fc.assert(
      fc.property(fc.array(numberText, { minLength: 1, maxLength: 6 }), (numbers) => {
        const text = `{"instances":[[${numbers.join(',')}]]}`;
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        if (!valid) expect(scan(text)).toBeUndefined();
        return agreesWithJsonParse(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads JSON.stringify output with whitespace', () => {
    const cell = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.float({ noNaN: true, noDefaultInfinity: true }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((width) =>
          fc.array(fc.array(cell, { minLength: width, maxLength: width }), {
            minLength: 1,
            maxLength: 20,
          }),
        ),
        whitespace,
        (rows, space) => {
          const text = JSON.stringify({ instances: rows })
            .replaceAll(',', `${space},${space}`)
            .replaceAll('[', `[${space}`);
          const scanned = scan(text);
          const inRange = rows.flat().every((value) => Math.abs(value) <= FLOAT32_MAX);
          expect(scanned !== undefined).toBe(inRange);
          return agreesWithJsonParse(text);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('agrees with JSON.parse on mutated bodies', () => {
    const base = '{"instances": [[8, 307.5, -1.25e2], [4, 0, 3]]}';
    const bytes = [...'{}[]",:.-+eE0123456789 \n\tx'].map((char) => char.charCodeAt(0));
    fc.assert(
      fc.property(
        fc.nat({ max: base.length - 1 }),
        fc.constantFrom(...bytes),
        fc.boolean(),
        (index, byte, insert) => {
          const char = String.fromCharCode(byte);
          const text = insert
            ? base.slice(0, index) + char + base.slice(index)
            : base.slice(0, index) + char + base.slice(index + 1);
          return agreesWithJsonParse(text);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
