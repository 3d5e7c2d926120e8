import { describe, expect, it } from 'vitest';
import { parseFloatValue, parseTextFormat, TextFormatError } from './text-format.ts';

describe('parseTextFormat', () => {
  it('reads labelled histogram series one sample each', () => {
    const samples = parseTextFormat(
      [
        '# HELP h Request duration.',
        '# TYPE h histogram',
        'h_bucket{le="0.1",route="/a"} 1',
        'h_bucket{le="+Inf",route="/a"} 2',
        'h_sum{route="/a"} 0.3',
        'h_count{route="/a"} 2',
        'h_bucket{route="/b",le="+Inf"} 7',
      ].join('\n'),
    );
    expect(samples).toEqual([
      { name: 'h_bucket', labels: { le: '0.1', route: '/a' }, value: 1 },
      { name: 'h_bucket', labels: { le: '+Inf', route: '/a' }, value: 2 },
      { name: 'h_sum', labels: { route: '/a' }, value: 0.3 },
      { name: 'h_count', labels: { route: '/a' }, value: 2 },
      { name: 'h_bucket', labels: { route: '/b', le: '+Inf' }, value: 7 },
    ]);
  });

  it('unescapes label values', () => {
    const [sample] = parseTextFormat('m{a="x\\"y",b="back\\\\slash",c="new\\nline"} 1');
    expect(sample?.labels).toEqual({ a: 'x"y', b: 'back\\slash', c: 'new\nline' });
  });

  it('accepts blanks, timestamps and a trailing comma', () => {
    const [sample] = parseTextFormat('m { a = "1" , } \t 2.5e3 1700000000000\n');
    expect(sample).toEqual({ name: 'm', labels: { a: '1' }, value: 2500 });
  });

  it.each([
    ['m{a="1" 1', /expected "," or "}"/],
    ['m{a=1} 1', /quoted value/],
    ['m{a="1} 1', /unterminated/],
    ['m one', /invalid sample value "one"/],
    ['m', /expected a value/],
    ['m 1 2 3', /expected a value/],
    ['{a="1"} 1', /metric name/],
    ['m{a="\\t"} 1', /invalid escape/],
  ])('rejects %j', (line, message) => {
    expect(() => parseTextFormat(`ok 1\n${line}`)).toThrow(message);
    expect(() => parseTextFormat(`ok 1\n${line}`)).toThrow(TextFormatError);
  });

  it('names the line of the error', () => {
    expect(() => parseTextFormat('a 1\n\nb x')).toThrow(/line 3/);
  });
});

describe('parseFloatValue', () => {
  it.each([
    ['1', 1],
    ['-0.5', -0.5],
    ['.5', 0.5],
    ['1e-3', 0.001],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['inf', Infinity],
    ['-Infinity', -Infinity],
    ['x', undefined],
    ['', undefined],
    ['0x10', undefined],
  ])('parses %j', (text, expected) => {
    expect(parseFloatValue(text)).toBe(expected);
  });

  it.each(['NaN', 'Nan', 'nan'])('parses %s as NaN', (text) => {
    expect(parseFloatValue(text)).toBeNaN();
  });
});
