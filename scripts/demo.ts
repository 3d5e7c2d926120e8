// `npm run demo`: the main job end to end on the local cluster. Builds, starts the cluster,
// runs the cars story (scripts/demo/scenario.ts), prints a summary table, writes a chart to
// .modelwarden/demo/ and exits 1 when the story did not happen.
//
// Flags: --keep leaves the cluster and the demo namespace running for a look with kubectl.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadClusterConfig, statePaths } from '../test/cluster/config.ts';
import { KubeClient, loadKubeConfig } from '../operator/src/kube/client.ts';
import { renderChart } from './demo/chart.ts';
import {
  chartMarkers,
  DEMO_TIMINGS,
  runCarsScenario,
  type ScenarioReport,
} from './demo/scenario.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const workDir = path.join(repoRoot, '.modelwarden', 'demo');
const namespace = 'modelwarden-demo';
const keep = process.argv.includes('--keep');
const MAE_MAX = 3;
const DRIFT_MAX = 0.25;

function log(line: string): void {
  console.log(line);
}

function npm(args: string[]): number {
  const result = spawnSync('npm', args, { cwd: repoRoot, stdio: 'inherit' });
  return result.status ?? 1;
}

function format(value: number | undefined, digits = 2): string {
  return value === undefined ? '-' : value.toFixed(digits);
}

function printSummary(report: ScenarioReport): void {
  const rows: [string, string][] = [
    ['story', report.ok ? 'complete' : `incomplete: missing ${report.missing.join(', ')}`],
    ...report.milestones.map((milestone): [string, string] => [
      `${milestone.name} at`,
      `${milestone.seconds.toFixed(1)} s  ${milestone.detail}`,
    ]),
    ['MAE before the shift (mpg)', format(report.maeBefore)],
    ['MAE after retraining (mpg)', format(report.maeAfter)],
    [
      'drift before / after (PSI)',
      `${format(report.driftBefore, 3)} / ${format(report.driftAfter, 3)}`,
    ],
    ['retraining Job', report.jobName ?? '-'],
    ['promoted version', report.promotedVersion ?? '-'],
    [
      'predictions / feedback rows / failed requests',
      `${report.traffic.predictions} / ${report.traffic.feedbackRows} / ${report.traffic.failures}`,
    ],
    ...(report.traffic.lastError === undefined
      ? []
      : [['last failed request', report.traffic.lastError] as [string, string]]),
    ['duration', `${report.durationSeconds.toFixed(0)} s`],
  ];
  const width = Math.max(...rows.map(([key]) => key.length));
  log('');
  log('Summary');
  for (const [key, value] of rows) log(`  ${key.padEnd(width)}  ${value}`);
}

async function main(): Promise<number> {
  mkdirSync(workDir, { recursive: true });
  log('$ npm run build');
  if (npm(['run', 'build']) !== 0) return 1;
  const wasUp = npm(['run', '--silent', 'cluster', '--', 'status']) === 0;
  if (!wasUp) {
    log('$ npm run cluster -- up');
    if (npm(['run', 'cluster', '--', 'up']) !== 0) return 1;
  }
  const kubeconfig = statePaths(loadClusterConfig()).kubeconfig;
  log(`export KUBECONFIG=${kubeconfig}`);

  let report: ScenarioReport | undefined;
  try {
    report = await runCarsScenario({
      repoRoot,
      kubeconfig,
      namespace,
      workDir,
      timings: DEMO_TIMINGS,
      maeMax: MAE_MAX,
      driftMax: DRIFT_MAX,
      log,
    });
  } finally {
    if (!keep) {
      await new KubeClient(loadKubeConfig(kubeconfig))
        .delete(`/api/v1/namespaces/${namespace}`)
        .catch((error: unknown) => log(`deleting namespace ${namespace} failed: ${String(error)}`));
      if (!wasUp) npm(['run', 'cluster', '--', 'down']);
    }
  }

  printSummary(report);
  writeFileSync(path.join(workDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const chart = renderChart({
    title: 'modelwarden demo: cars model, 1970-76 traffic, then 1977-82',
    samples: report.samples,
    thresholds: { mae: MAE_MAX, drift: DRIFT_MAX },
    markers: chartMarkers(report.milestones),
  });
  const chartPath = path.join(workDir, 'demo.svg');
  writeFileSync(chartPath, chart);
  log(
    `chart: ${path.relative(repoRoot, chartPath)}, report: ${path.relative(repoRoot, path.join(workDir, 'report.json'))}`,
  );
  if (keep) log(`kept the cluster: KUBECONFIG=${kubeconfig} kubectl -n ${namespace} get mdep`);
  return report.ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
