// The main job's story on the local cluster with short timings: the same scenario as
// `npm run demo`, from the first model to a verified retrained one.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../operator/src/kube/client.ts';
import { DEMO_TIMINGS, runCarsScenario, type ScenarioReport } from '../../scripts/demo/scenario.ts';
import { kubeconfigPath } from './support/kube.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const kubeconfig = kubeconfigPath();
const namespace = 'demo-story';
const lines: string[] = [];

describe('cars demo scenario', () => {
  let report: ScenarioReport | undefined;

  afterAll(async () => {
    await new KubeClient(loadKubeConfig(kubeconfig))
      .delete(`/api/v1/namespaces/${namespace}`)
      .catch(() => undefined);
  });

  it('degrades, retrains, promotes and recovers', async () => {
    report = await runCarsScenario({
      repoRoot,
      kubeconfig,
      namespace,
      workDir: path.join(repoRoot, '.modelwarden', 'test', 'demo'),
      timings: {
        ...DEMO_TIMINGS,
        interval: '3s',
        window: '12s',
        failureThreshold: 2,
        successThreshold: 2,
        verificationWindow: '9s',
        healthyProbes: 2,
        epochs: 80,
        deadlineMs: 4 * 60_000,
      },
      maeMax: 3,
      driftMax: 0.25,
      log: (line) => lines.push(line),
    });
    expect(report.missing, lines.join('\n')).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('reaches the milestones in story order', () => {
    const order = report?.milestones.map((milestone) => milestone.name);
    expect(order?.indexOf('TrafficShifted')).toBeLessThan(order?.indexOf('Degraded') ?? -1);
    expect(order?.indexOf('Degraded')).toBeLessThanOrEqual(
      order?.indexOf('RetrainingStarted') ?? -1,
    );
    expect(order?.indexOf('RetrainingStarted')).toBeLessThan(order?.indexOf('Promoted') ?? -1);
    expect(order?.indexOf('Promoted')).toBeLessThan(order?.indexOf('Recovered') ?? -1);
  });

  it('degrades on MAE of the later cars', () => {
    const degraded = report?.milestones.find((milestone) => milestone.name === 'Degraded');
    expect(degraded?.detail).toMatch(/mae \d+(\.\d+)? above max 3/);
    expect(report?.maeBefore).toBeLessThan(3);
  });

  it('serves the retrained version under the threshold', () => {
    expect(report?.promotedVersion).toBe('retrain-1');
    expect(report?.jobName).toBe('cars-retrain-1');
    expect(report?.maeAfter).toBeLessThan(3);
  });

  it('prints a kubectl get line per change', () => {
    expect(report?.table[0]).toMatch(
      /^NAME\s+READY\s+MODEL\s+VERSION\s+HEALTH\s+P99\s+ERRORS\s+MAE\s+DRIFT\s+AGE$/,
    );
    expect(report?.table.some((line) => /\bDegraded\b/.test(line))).toBe(true);
    expect(report?.table.some((line) => /retrain-1\s+Healthy/.test(line))).toBe(true);
  });
});
