// The Grafana dashboard in the chart queries only metrics that the operator or the model server
// export, so a renamed metric fails here instead of leaving an empty panel.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(path.join(root, 'charts', 'modelwarden', 'dashboards', 'modelwarden.json'), 'utf8'),
) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };

/** Collects the metric names that appear as string literals in a package's sources. */
function exportedMetricNames(folder: string): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const text = readFileSync(path.join(folder, file), 'utf8');
    for (const match of text.matchAll(/['"`](modelwarden_[a-z0-9_]+)['"`]/g))
      names.add(match[1] ?? '');
  }
  return names;
}

const exported = new Set([
  ...exportedMetricNames(path.join(root, 'operator', 'src')),
  ...exportedMetricNames(path.join(root, 'model-server', 'src')),
]);

const queries = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
);

describe('Grafana dashboard', () => {
  test('has panels with queries', () => {
    expect(queries.length).toBeGreaterThan(10);
  });

  test.each(queries)('$panel queries exported metrics', ({ expr }) => {
    const metrics = [...expr.matchAll(/\bmodelwarden_[a-z0-9_]+/g)].map((match) =>
      match[0].replace(/_(bucket|sum|count)$/, ''),
    );
    expect(metrics.length).toBeGreaterThan(0);
    for (const metric of metrics) expect(exported, expr).toContain(metric);
  });

  test('declares every variable it uses', () => {
    const declared = new Set(dashboard.templating.list.map((variable) => variable.name));
    const text = JSON.stringify(dashboard.panels);
    for (const [, name] of text.matchAll(/\$(?!__)(\w+)/g)) expect(declared).toContain(name);
  });
});
