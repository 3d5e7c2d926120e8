import { describe, expect, it } from 'vitest';
import { parseRowFilter } from './row-filter.ts';

describe('parseRowFilter', () => {
  it.each([
    ['Year<1977-01-01', { Year: '1976-01-01' }, true],
    ['Year<1977-01-01', { Year: '1977-01-01' }, false],
    ['Year >= 1977-01-01', { Year: '1982-01-01' }, true],
    ['Cylinders>=6', { Cylinders: 8 }, true],
    ['Cylinders>=6', { Cylinders: '4' }, false],
    ['Cylinders==4', { Cylinders: 4 }, true],
    ['Origin=USA', { Origin: 'USA' }, true],
    ['Origin!=USA', { Origin: 'Japan' }, true],
    ['Year<1977-01-01', {}, true],
    ['Year<1977-01-01', { Year: null }, true],
    ['Year<1977-01-01', { Year: 'unknown' }, false],
    ['Cylinders>=6', { Cylinders: 'many' }, false],
  ])('%s on %o is %s', (expression, row, expected) => {
    expect(parseRowFilter(expression).matches(row)).toBe(expected);
  });

  it.each([
    ['Year', 'is not COLUMN OP VALUE'],
    ['Year<', 'is not COLUMN OP VALUE'],
    ['Origin<USA', 'only = and != apply'],
    ['Year<2023-13-45', 'is not a valid date'],
  ])('rejects %s', (expression, message) => {
    expect(() => parseRowFilter(expression)).toThrow(message);
  });
});
