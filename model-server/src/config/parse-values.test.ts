import { describe, expect, it } from 'vitest';
import { integerIn, parseBoolean, parseBytes, parseNameList } from './parse-values.ts';

describe('parseBytes', () => {
  it.each([
    ['1048576', 1048576],
    ['512KiB', 512 * 1024],
    ['64MiB', 64 * 1024 ** 2],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['10 MB', 10_000_000],
  ])('parses %s', (raw, bytes) => {
    expect(parseBytes(raw, '--x')).toBe(bytes);
  });

  it.each(['', '0', '-1', '1 TB', 'lots'])('rejects %j', (raw) => {
    expect(() => parseBytes(raw, '--x')).toThrow(`--x '${raw}' is invalid`);
  });
});

describe('integerIn', () => {
  it.each(['1.5', '1e3', ' ', '0x10'])('rejects %j', (raw) => {
    expect(() => integerIn(0, 100)(raw, '--n')).toThrow('expected an integer from 0 to 100');
  });
});

describe('parseBoolean', () => {
  it('accepts the usual spellings', () => {
    expect(['true', 'YES', '1', 'on'].map((raw) => parseBoolean(raw, '--b'))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['false', 'no', '0', 'off'].map((raw) => parseBoolean(raw, '--b'))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('parseNameList', () => {
  it('rejects empty and repeated names', () => {
    expect(() => parseNameList('a,,b', '--features')).toThrow('comma-separated names');
    expect(() => parseNameList('a,b,a', '--features')).toThrow("'a' repeats");
  });
});
