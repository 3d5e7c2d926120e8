// Copies the CRD manifests from crds/ into charts/modelwarden/crds/ byte for byte, so the chart
// installs exactly the CRDs the operator was built against. crds/ is the only source: chart
// copies whose source is gone are deleted.
//
//   node scripts/sync-chart-crds.ts          write the chart copies
//   node scripts/sync-chart-crds.ts --check  exit 1 and list the differences, write nothing
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** A chart CRD file that differs from its source in crds/. */
export interface CrdDifference {
  file: string;
  problem: 'missing in chart' | 'content differs' | 'no source in crds/';
}

const repositoryRoot = path.resolve(import.meta.dirname, '..');

/** Returns the source and chart CRD folders under a repository root. */
export function crdFolders(root = repositoryRoot): { source: string; chart: string } {
  return {
    source: path.join(root, 'crds'),
    chart: path.join(root, 'charts', 'modelwarden', 'crds'),
  };
}

function yamlFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort();
}

/** Compares the chart's CRD folder with crds/ and lists every file that is not identical. */
export function compareChartCrds(root = repositoryRoot): CrdDifference[] {
  const { source, chart } = crdFolders(root);
  const sourceFiles = yamlFiles(source);
  const chartFiles = new Set(yamlFiles(chart));
  const differences: CrdDifference[] = [];

  for (const file of sourceFiles) {
    if (!chartFiles.has(file)) {
      differences.push({ file, problem: 'missing in chart' });
    } else if (
      !readFileSync(path.join(source, file)).equals(readFileSync(path.join(chart, file)))
    ) {
      differences.push({ file, problem: 'content differs' });
    }
    chartFiles.delete(file);
  }
  for (const file of chartFiles) differences.push({ file, problem: 'no source in crds/' });
  return differences;
}

/** Makes the chart's CRD folder identical to crds/ and returns what it changed. */
export function syncChartCrds(root = repositoryRoot): CrdDifference[] {
  const { source, chart } = crdFolders(root);
  const differences = compareChartCrds(root);
  mkdirSync(chart, { recursive: true });
  for (const { file, problem } of differences) {
    if (problem === 'no source in crds/') rmSync(path.join(chart, file));
    else copyFileSync(path.join(source, file), path.join(chart, file));
  }
  return differences;
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const differences = check ? compareChartCrds() : syncChartCrds();
  for (const { file, problem } of differences) {
    console.log(`${check ? 'stale' : 'updated'}: charts/modelwarden/crds/${file} (${problem})`);
  }
  if (check && differences.length > 0) {
    console.log('Run `node scripts/sync-chart-crds.ts` to copy crds/ into the chart.');
    process.exit(1);
  }
}
