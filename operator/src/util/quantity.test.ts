import { describe, expect, it } from 'vitest';
import { parseQuantity } from './quantity.ts';

describe('parseQuantity', () => {
  it.each([
    ['64Mi', 64 * 2 ** 20],
    ['1G', 1e9],
    ['500m', 0.5],
    ['1e3', 1000],
    ['2', 2],
    [1024, 1024],
  ] as const)('parses %s', (text, expected) => {
    expect(parseQuantity(text)).toBe(expected);
  });

  it.each(['', 'Mi', '1 Mi', '1MB', '1.2.3'])('rejects %j', (text) => {
    expect(() => parseQuantity(text)).toThrow(/invalid quantity/);
  });
});
