// Runs the whole test suite the way CI does: build, then every vitest project, then one plain
// summary line ("N passed, N failed") read from vitest's JSON report, since CI reads no other
// summary. Exits non-zero when any test failed or the run itself broke.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  success: boolean;
}

const root = path.resolve(import.meta.dirname, '..');
const reportPath = path.join(root, '.modelwarden', 'test-results.json');

function run(command: string, args: string[]): number {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return result.status ?? 1;
}

mkdirSync(path.dirname(reportPath), { recursive: true });

if (run('npm', ['run', 'build']) !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const vitestArgs = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`];
const vitestStatus = run('npx', [...vitestArgs, ...process.argv.slice(2)]);

if (!existsSync(reportPath)) {
  console.log('vitest wrote no JSON report');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const report = JSON.parse(readFileSync(reportPath, 'utf8')) as VitestJsonReport;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
const failed = vitestStatus !== 0 || report.numFailedTests > 0 || !report.success;
process.exit(failed ? 1 : 0);
