import { describe, expect, it } from 'vitest';
import { containsFields } from './contains.ts';

describe('containsFields', () => {
  it.each([
    ['equal scalars', 1, 1, true],
    ['different scalars', 1, 2, false],
    ['number against string', 8080, '8080', false],
    ['extra fields in actual', { a: 1 }, { a: 1, b: 2 }, true],
    ['missing field in actual', { a: 1, b: 2 }, { a: 1 }, false],
    ['nested difference', { a: { b: 'x' } }, { a: { b: 'y' } }, false],
    ['nested extra fields', { a: { b: 'x' } }, { a: { b: 'x', scheme: 'HTTP' } }, true],
    ['undefined expected field', { a: 1, b: undefined }, { a: 1 }, true],
    ['empty object against defaulted one', { emptyDir: {} }, { emptyDir: { medium: '' } }, true],
    ['equal arrays', ['serve', '--port'], ['serve', '--port'], true],
    ['longer actual array', ['serve'], ['serve', '--port'], false],
    ['reordered array', ['a', 'b'], ['b', 'a'], false],
    ['array elements with extra fields', [{ name: 'x' }], [{ name: 'x', value: '1' }], true],
    ['object against array', { a: 1 }, [1], false],
    ['object against null', { a: 1 }, null, false],
    ['array against object', [1], { 0: 1 }, false],
  ])('%s', (_name, expected, actual, result) => {
    expect(containsFields(expected, actual)).toBe(result);
  });
});
