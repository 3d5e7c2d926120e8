// Writes crds/modelwarden.io_modeldeployments.yaml from the TypeBox schemas and copies it into
// the chart, or with --check exits 1 when the committed file differs from what the schemas
// produce.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CRD_PATH, renderCrd } from '../operator/src/api/crd.ts';
import { syncChartCrds } from './sync-chart-crds.ts';

const target = path.resolve(import.meta.dirname, '..', CRD_PATH);
const expected = renderCrd();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is reported below as stale, like any other difference.
  }
  if (current !== expected) {
    console.error(`${CRD_PATH} is stale: run \`npm run crd:generate\` and commit the result.`);
    process.exit(1);
  }
  console.log(`${CRD_PATH} is up to date.`);
} else {
  writeFileSync(target, expected);
  console.log(`wrote ${CRD_PATH}`);
  for (const change of syncChartCrds())
    console.log(`chart: ${change.file}: ${change.problem}, synced`);
}
