import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadData, toNumber } from './dataset.ts';
import { parseRowFilter } from './row-filter.ts';
import { buildTrainingTable } from './training-table.ts';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'modelwarden-dataset-'));
  await writeFile(
    path.join(directory, 'rows.json'),
    JSON.stringify([
      { x: 1, y: 2 },
      { x: null, y: 3 },
    ]),
  );
  await writeFile(
    path.join(directory, 'rows.csv'),
    'x,y,name\n4,5,"a, quoted"\n"6",oops,b\n,7,c\n',
  );
  await mkdir(path.join(directory, 'capture'));
  await writeFile(path.join(directory, 'capture', 'b.ndjson'), '{"x":10,"y":11}\n{"x":12,"y":13\n');
  await writeFile(path.join(directory, 'capture', 'a.jsonl'), '{"x":8,"y":9}\n\n[1,2]\n');
  await writeFile(path.join(directory, 'capture', 'ignored.txt'), 'not data');
  await writeFile(path.join(directory, 'rows.parquet'), 'PAR1');
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('loadData', () => {
  it('reads JSON, CSV and a capture directory in order', async () => {
    const data = await loadData([
      path.join(directory, 'rows.json'),
      path.join(directory, 'rows.csv'),
      path.join(directory, 'capture'),
    ]);
    expect(data.rows.map((row) => row.x)).toEqual([1, null, '4', '6', '', 8, 10]);
    expect(data.malformedLines).toBe(2);
    expect(data.sources.map((source) => path.basename(source.path))).toEqual([
      'rows.json',
      'rows.csv',
      'a.jsonl',
      'b.ndjson',
    ]);
  });

  it('rejects an unknown extension', async () => {
    await expect(loadData([path.join(directory, 'rows.parquet')])).rejects.toThrow(
      "extension '.parquet'",
    );
  });

  it('rejects a missing path', async () => {
    await expect(loadData([path.join(directory, 'nope.json')])).rejects.toThrow('cannot be read');
  });
});

describe('buildTrainingTable', () => {
  it('skips rows with missing or non-numeric cells and counts them', async () => {
    const data = await loadData([
      path.join(directory, 'rows.json'),
      path.join(directory, 'rows.csv'),
      path.join(directory, 'capture'),
    ]);
    const table = buildTrainingTable(
      data.rows,
      data.malformedLines,
      { features: ['x'], label: 'y' },
      [],
    );
    expect(table.features).toEqual([[1], [4], [8], [10]]);
    expect(table.labels).toEqual([2, 5, 9, 11]);
    expect(table.read).toBe(9);
    expect(table.skippedByReason).toEqual({ missing: 2, non_numeric: 1, malformed_line: 2 });
    expect(table.skippedByColumn).toEqual({ x: 2, y: 1 });
  });

  it('applies filters before skipping', () => {
    const rows = [
      { x: 1, y: 1, k: 1 },
      { x: null, y: 2, k: 5 },
      { x: 3, y: 3, k: 5 },
    ];
    const table = buildTrainingTable(rows, 0, { features: ['x'], label: 'y' }, [
      parseRowFilter('k>2'),
    ]);
    expect(table.filtered).toBe(1);
    expect(table.labels).toEqual([3]);
  });

  it('rejects a filter on a column no row has', () => {
    expect(() =>
      buildTrainingTable([{ x: 1, y: 1 }], 0, { features: ['x'], label: 'y' }, [
        parseRowFilter('z>1'),
      ]),
    ).toThrow("names column 'z', which no row has; columns: x, y");
  });

  it('rejects feature and label columns no row has', () => {
    const rows = [
      { x: 1, y: 1 },
      { x: 2, y: 2, w: null },
    ];
    expect(() =>
      buildTrainingTable(rows, 0, { features: ['x', 'xx', 'w'], label: 'y' }, []),
    ).toThrow("--features names columns 'xx', 'w', which no row has; columns: x, y");
    expect(() => buildTrainingTable(rows, 0, { features: ['x'], label: 'Y' }, [])).toThrow(
      "--label names column 'Y', which no row has; columns: x, y",
    );
  });

  it('accepts a column that only some rows have', () => {
    const rows = [{ x: 1 }, { x: 2, y: 2 }];
    const table = buildTrainingTable(rows, 0, { features: ['x'], label: 'y' }, []);
    expect(table.labels).toEqual([2]);
    expect(table.skippedByColumn).toEqual({ y: 1 });
  });
});

describe('toNumber', () => {
  it.each([
    [3, 3],
    ['  2.5 ', 2.5],
    ['-1e3', -1000],
    [null, 'missing'],
    [undefined, 'missing'],
    ['', 'missing'],
    ['NaN', 'non_numeric'],
    ['0x10', 'non_numeric'],
    [true, 'non_numeric'],
    [Number.POSITIVE_INFINITY, 'non_numeric'],
  ])('converts %j to %j', (value, expected) => {
    expect(toNumber(value)).toBe(expected);
  });
});
