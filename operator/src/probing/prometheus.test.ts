import { describe, expect, it } from 'vitest';
import { promqlDuration, renderQuery } from './prometheus.ts';

const variables = { namespace: 'ml', name: 'cars', windowMs: 90_000 };

describe('renderQuery', () => {
  it('substitutes namespace, name and window', () => {
    expect(
      renderQuery(
        'rate(x{namespace="{{namespace}}",deployment="{{ name }}"}[{{window}}])',
        variables,
      ),
    ).toBe('rate(x{namespace="ml",deployment="cars"}[90s])');
  });

  it('rejects an unknown placeholder', () => {
    expect(() => renderQuery('x{pod="{{pod}}"}', variables)).toThrow(
      /unknown placeholder \{\{pod\}\}/,
    );
  });
});

describe('promqlDuration', () => {
  it.each([
    [30_000, '30s'],
    [1_500, '1500ms'],
  ])('formats %d ms as %s', (ms, expected) => {
    expect(promqlDuration(ms)).toBe(expected);
  });
});
