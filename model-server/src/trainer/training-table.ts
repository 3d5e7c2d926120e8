// Turning loaded rows into a numeric table: apply the filters, then keep only rows whose feature
// and label cells are all numbers, counting every skipped row by reason and column.
import { ModelServerError } from '../errors.ts';
import { toNumber, type DataRow } from './dataset.ts';
import type { RowFilter } from './row-filter.ts';

export type SkipReason = 'missing' | 'non_numeric' | 'malformed_line';

export interface TrainingTable {
  /** Feature values, one array per used row, in feature order. */
  features: number[][];
  labels: number[];
  read: number;
  filtered: number;
  skippedByReason: Record<SkipReason, number>;
  /** Skipped rows by the first column (in feature order, then label) that was unusable. */
  skippedByColumn: Record<string, number>;
}

export function buildTrainingTable(
  rows: readonly DataRow[],
  malformedLines: number,
  columns: { features: readonly string[]; label: string },
  filters: readonly RowFilter[],
): TrainingTable {
  checkColumns(rows, columns, filters);
  const table: TrainingTable = {
    features: [],
    labels: [],
    read: rows.length + malformedLines,
    filtered: 0,
    skippedByReason: { missing: 0, non_numeric: 0, malformed_line: malformedLines },
    skippedByColumn: {},
  };
  const used = [...columns.features, columns.label];
  for (const row of rows) {
    if (!filters.every((filter) => filter.matches(row))) {
      table.filtered += 1;
      continue;
    }
    const values: number[] = [];
    let skipped = false;
    for (const column of used) {
      const value = toNumber(row[column]);
      if (typeof value !== 'number') {
        table.skippedByReason[value] += 1;
        table.skippedByColumn[column] = (table.skippedByColumn[column] ?? 0) + 1;
        skipped = true;
        break;
      }
      values.push(value);
    }
    if (skipped) continue;
    table.labels.push(values.pop() as number);
    table.features.push(values);
  }
  return table;
}

/**
 * Raises when --features, --label or a filter names a column that no row has, which is almost
 * always a typo. The message lists the columns the rows do have.
 */
function checkColumns(
  rows: readonly DataRow[],
  columns: { features: readonly string[]; label: string },
  filters: readonly RowFilter[],
): void {
  if (rows.length === 0) return;
  const present = new Set<string>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (value !== undefined && value !== null) present.add(key);
    }
  }
  const known = [...present].join(', ');
  const absent = (names: readonly string[]) => names.filter((name) => !present.has(name));
  const fail = (subject: string, names: readonly string[]) => {
    const quoted = names.map((name) => `'${name}'`).join(', ');
    const noun = names.length === 1 ? 'column' : 'columns';
    throw new ModelServerError(
      'MS_ERR_CONFIG_INVALID',
      `${subject} names ${noun} ${quoted}, which no row has; columns: ${known}`,
    );
  };
  const missingFeatures = absent(columns.features);
  if (missingFeatures.length > 0) fail('--features', missingFeatures);
  if (!present.has(columns.label)) fail('--label', [columns.label]);
  for (const filter of filters) {
    if (!present.has(filter.column)) fail(`--where '${filter.expression}'`, [filter.column]);
  }
}

/** Total rows skipped for any reason. */
export function skippedCount(table: TrainingTable): number {
  return Object.values(table.skippedByReason).reduce((total, count) => total + count, 0);
}
