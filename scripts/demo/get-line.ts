// The `kubectl get mdep` table row of a ModelDeployment, built from the CRD's printer columns
// so that the demo prints what kubectl would print without needing the kubectl binary.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
}

/** Reads the printer columns of the generated CRD. */
export function printerColumns(repoRoot: string): PrinterColumn[] {
  const crd = parse(
    readFileSync(path.join(repoRoot, 'crds', 'modelwarden.io_modeldeployments.yaml'), 'utf8'),
  ) as {
    spec: { versions: { additionalPrinterColumns?: PrinterColumn[] }[] };
  };
  return crd.spec.versions[0]?.additionalPrinterColumns ?? [];
}

function lookup(object: unknown, jsonPath: string): unknown {
  let value = object;
  for (const key of jsonPath.replace(/^\./, '').split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Formats an age the way kubectl does for short spans: 45s, 3m12s, 2h5m. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/** Returns the header and the row cells for one object; Age is formatted relative to `now`. */
export function tableRow(
  columns: readonly PrinterColumn[],
  object: unknown,
  now: Date,
): { header: string[]; cells: string[] } {
  const header = ['NAME', ...columns.map((column) => column.name.toUpperCase())];
  const cells = [String(lookup(object, '.metadata.name') ?? '')];
  for (const column of columns) {
    const value = lookup(object, column.jsonPath);
    if (column.type === 'date' && typeof value === 'string')
      cells.push(formatAge(now.getTime() - Date.parse(value)));
    else cells.push(value === undefined || value === null ? '<none>' : String(value));
  }
  return { header, cells };
}

/** Pads cells to fixed widths, three spaces apart as kubectl separates columns. */
export function alignRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, index) => cell.padEnd(widths[index] ?? cell.length))
    .join('   ')
    .trimEnd();
}
