// The chart installs the CRDs from its own crds/ folder, which must stay a byte-for-byte copy of
// the top-level crds/ that scripts/generate-crd.ts writes.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { compareChartCrds, crdFolders, syncChartCrds } from '../../scripts/sync-chart-crds.ts';

describe('chart crds/', () => {
  test('is identical to the top-level crds/', () => {
    const differences = compareChartCrds();
    expect(differences, 'run `node scripts/sync-chart-crds.ts`').toEqual([]);
  });

  test('contains at least one CRD', () => {
    expect(readdirSync(crdFolders().chart).length).toBeGreaterThan(0);
  });
});

describe('syncChartCrds', () => {
  let root = '';

  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function fixture(source: Record<string, string>, chart: Record<string, string>): string {
    root = mkdtempSync(path.join(tmpdir(), 'modelwarden-crds-'));
    const folders = crdFolders(root);
    for (const [folder, files] of [
      [folders.source, source],
      [folders.chart, chart],
    ] as const) {
      mkdirSync(folder, { recursive: true });
      for (const [name, text] of Object.entries(files))
        writeFileSync(path.join(folder, name), text);
    }
    return root;
  }

  test('reports missing, changed and orphaned copies', () => {
    fixture({ 'a.yaml': 'a', 'b.yaml': 'b2' }, { 'b.yaml': 'b1', 'old.yaml': 'x' });
    expect(compareChartCrds(root)).toEqual([
      { file: 'a.yaml', problem: 'missing in chart' },
      { file: 'b.yaml', problem: 'content differs' },
      { file: 'old.yaml', problem: 'no source in crds/' },
    ]);
  });

  test('makes the chart copy identical', () => {
    fixture({ 'a.yaml': 'a', 'b.yaml': 'b2' }, { 'b.yaml': 'b1', 'old.yaml': 'x' });
    syncChartCrds(root);
    const { chart } = crdFolders(root);
    expect(readdirSync(chart).sort()).toEqual(['a.yaml', 'b.yaml']);
    expect(readFileSync(path.join(chart, 'b.yaml'), 'utf8')).toBe('b2');
    expect(compareChartCrds(root)).toEqual([]);
  });
});
