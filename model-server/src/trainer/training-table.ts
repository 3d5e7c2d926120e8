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
  checkFilterColumns(rows, filters);
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

/** Raises when a filter names a column no row has, which is almost always a typo. */
function checkFilterColumns(rows: readonly DataRow[], filters: readonly RowFilter[]): void {
  for (const filter of filters) {
    const present = rows.some(
      (row) => row[filter.column] !== undefined && row[filter.column] !== null,
    );
    if (!present && rows.length > 0) {
      const known = Object.keys(rows[0] ?? {}).join(', ');
      throw new ModelServerError(
        'MS_ERR_CONFIG_INVALID',
        `--where '${filter.expression}' names column '${filter.column}', which no row has; columns: ${known}`,
      );
    }
  }
}

/** Total rows skipped for any reason. */
export function skippedCount(table: TrainingTable): number {
  return Object.values(table.skippedByReason).reduce((total, count) => total + count, 0);
}
