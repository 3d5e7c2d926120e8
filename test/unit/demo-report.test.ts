import { describe, expect, it } from 'vitest';
import { renderChart } from '../../scripts/demo/chart.ts';
import { alignRow, formatAge, tableRow } from '../../scripts/demo/get-line.ts';
import { chartMarkers } from '../../scripts/demo/scenario.ts';

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [45_000, '45s'],
    [119_000, '119s'],
    [192_000, '3m12s'],
    [1_500_000, '25m'],
    [11_100_000, '3h5m'],
  ])('formats %d ms as %s', (ms, expected) => {
    expect(formatAge(ms)).toBe(expected);
  });
});

describe('tableRow', () => {
  const columns = [
    { name: 'Ready', type: 'string', jsonPath: '.status.summary.ready' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ];

  it('reads the printer columns', () => {
    const object = {
      metadata: { name: 'cars', creationTimestamp: '2025-01-01T00:00:00Z' },
      status: { summary: { ready: '2/2' } },
    };
    expect(tableRow(columns, object, new Date('2025-01-01T00:00:30Z'))).toEqual({
      header: ['NAME', 'READY', 'AGE'],
      cells: ['cars', '2/2', '30s'],
    });
  });

  it('shows <none> for unset fields', () => {
    expect(tableRow(columns, { metadata: { name: 'cars' } }, new Date()).cells).toEqual([
      'cars',
      '<none>',
      '<none>',
    ]);
  });

  it('aligns cells three spaces apart', () => {
    expect(alignRow(['cars', '2/2', '30s'], [6, 5, 3])).toBe('cars     2/2     30s');
  });
});

describe('renderChart', () => {
  const svg = renderChart({
    title: 'demo <cars>',
    samples: [
      { seconds: 0, mae: 1, drift: 0.1, p99Ms: 5 },
      { seconds: 10, mae: 5, drift: 0.3, p99Ms: 6 },
      { seconds: 20 },
      { seconds: 30, mae: 1.5, drift: 0.1, p99Ms: 4 },
    ],
    thresholds: { mae: 3, drift: 0.25 },
    markers: [{ seconds: 10, label: 'Degraded' }],
  });

  it('is one SVG document with an escaped title', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('demo &lt;cars&gt;');
  });

  it('draws the threshold lines', () => {
    expect(svg).toContain('threshold 3');
    expect(svg).toContain('threshold 0.25');
  });

  it('breaks lines where a probe has no value', () => {
    expect(svg.match(/<polyline/g)).toHaveLength(6);
  });

  it('labels the markers', () => {
    expect(svg).toContain('>Degraded</text>');
  });
});

describe('chartMarkers', () => {
  it('keeps the moments after the start', () => {
    const markers = chartMarkers([
      { name: 'Available', seconds: 4, detail: '' },
      { name: 'Degraded', seconds: 30, detail: '' },
      { name: 'Promoted', seconds: 50, detail: '' },
    ]);
    expect(markers).toEqual([
      { seconds: 30, label: 'Degraded' },
      { seconds: 50, label: 'promoted' },
    ]);
  });
});
