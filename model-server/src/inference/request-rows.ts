// Validation of prediction inputs against the served model's features. Every error names the
// offending field with a path such as `instances[3].Horsepower` or `inputs[0].data[7]`.
import { ModelServerError, invalidRequest } from '../errors.ts';
import { ScannedInstances } from './instances-scanner.ts';

/** Rows in model feature order, row-major, as parsed from JSON (double precision). */
export interface RowBatch {
  rows: Float64Array;
  rowCount: number;
}

export interface RowLimits {
  features: readonly string[];
  maxRows: number;
}

const FLOAT32_MAX = 3.4028234663852886e38;

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Returns whether a cell is a finite number within the float32 range (false for NaN). */
function isFloat32(value: unknown): value is number {
  return typeof value === 'number' && Math.abs(value) <= FLOAT32_MAX;
}

/** Checks one cell and returns it; JSON has no NaN, but 1e400 parses to Infinity. */
function readCell(value: unknown, field: string): number {
  if (typeof value !== 'number')
    throw invalidRequest(field, `must be a number, got ${describeType(value)}`);
  if (!Number.isFinite(value) || Math.abs(value) > FLOAT32_MAX) {
    throw invalidRequest(field, `must be a finite number within the float32 range, got ${value}`);
  }
  return value;
}

/** Quotes names for a message: `'a'`, `'a', 'b'`. */
export function quoteNames(names: readonly string[]): string {
  return names.map((name) => `'${name}'`).join(', ');
}

/** Rejects top-level body fields outside `allowed`, naming them and the allowed ones. */
export function rejectUnknownFields(
  record: Record<string, unknown>,
  allowed: readonly string[],
): void {
  const unknown = Object.keys(record).filter((key) => !allowed.includes(key));
  if (unknown.length === 0) return;
  throw invalidRequest(
    'body',
    `has unknown field${unknown.length === 1 ? '' : 's'} ${quoteNames(unknown)}; the allowed fields are ${quoteNames(allowed)}`,
  );
}

export function checkRowCount(count: number, field: string, limits: RowLimits): void {
  if (count === 0) throw invalidRequest(field, 'must contain at least one row');
  if (count > limits.maxRows) {
    throw new ModelServerError(
      'MS_ERR_REQUEST_TOO_MANY_ROWS',
      `${field} has ${count} rows but at most ${limits.maxRows} are accepted per request; split the request`,
    );
  }
}

/**
 * Checks that a keyed row or column set has exactly `columns` as keys. The error names the
 * missing columns and the unknown keys, and calls `label`, when given, a label.
 */
function checkKeys(
  record: Record<string, unknown>,
  field: string,
  columns: readonly string[],
  label: string | undefined,
): void {
  const missing = columns.filter((column) => !(column in record));
  const unknown = Object.keys(record).filter((key) => !columns.includes(key));
  if (missing.length === 0 && unknown.length === 0) return;
  const problems: string[] = [];
  const missingFeatures = missing.filter((column) => column !== label);
  if (missingFeatures.length > 0) {
    const noun = missingFeatures.length === 1 ? 'feature' : 'features';
    problems.push(`is missing ${noun} ${quoteNames(missingFeatures)}`);
  }
  if (label !== undefined && missing.includes(label)) problems.push(`is missing label '${label}'`);
  if (unknown.length > 0) {
    const noun = unknown.length === 1 ? 'key' : 'keys';
    problems.push(`has unknown ${noun} ${quoteNames(unknown)}`);
  }
  throw invalidRequest(field, `${problems.join(' and ')}; the keys are ${quoteNames(columns)}`);
}

/**
 * Parses rows given as arrays in feature order or as objects keyed by feature name. An object
 * row must have exactly the feature keys. With `label`, it must also have the label key, which
 * becomes the last column.
 */
export function parseRows(
  value: unknown,
  field: string,
  limits: RowLimits,
  label?: string,
): RowBatch {
  if (!Array.isArray(value))
    throw invalidRequest(field, `must be an array of rows, got ${describeType(value)}`);
  checkRowCount(value.length, field, limits);
  const columns = label === undefined ? limits.features : [...limits.features, label];
  const width = columns.length;
  const rows = new Float64Array(value.length * width);
  // Field paths are built only for an error: this loop runs for every row of every request.
  for (let index = 0; index < value.length; index++) {
    const row: unknown = value[index];
    const offset = index * width;
    if (Array.isArray(row)) {
      if (row.length !== width) {
        throw invalidRequest(
          `${field}[${index}]`,
          `has ${row.length} values but the model expects ${width} (${columns.join(', ')})`,
        );
      }
      for (let column = 0; column < width; column++) {
        const cell: unknown = row[column];
        rows[offset + column] = isFloat32(cell)
          ? cell
          : readCell(cell, `${field}[${index}][${column}]`);
      }
    } else if (typeof row === 'object' && row !== null) {
      const record = row as Record<string, unknown>;
      checkKeys(record, `${field}[${index}]`, columns, label);
      for (let column = 0; column < width; column++) {
        const name = columns[column] as string;
        const cell = record[name];
        rows[offset + column] = isFloat32(cell)
          ? cell
          : readCell(cell, `${field}[${index}].${name}`);
      }
    } else {
      throw invalidRequest(
        `${field}[${index}]`,
        `must be an array of ${width} numbers or an object keyed by feature, got ${describeType(row)}`,
      );
    }
  }
  return { rows, rowCount: value.length };
}

/** Parses columnar input: an object with one equally long array per feature. */
export function parseColumns(
  value: Record<string, unknown>,
  field: string,
  limits: RowLimits,
): RowBatch {
  const width = limits.features.length;
  let rowCount: number | undefined;
  let firstFeature = '';
  checkKeys(value, field, limits.features, undefined);
  for (const feature of limits.features) {
    const column = value[feature];
    if (!Array.isArray(column)) {
      throw invalidRequest(
        `${field}.${feature}`,
        `must be an array of numbers, got ${describeType(column)}`,
      );
    }
    if (rowCount === undefined) {
      checkRowCount(column.length, `${field}.${feature}`, limits);
      rowCount = column.length;
      firstFeature = feature;
    } else if (column.length !== rowCount) {
      throw invalidRequest(
        `${field}.${feature}`,
        `has ${column.length} values but ${field}.${firstFeature} has ${rowCount}; columns must have equal length`,
      );
    }
  }
  const count = rowCount ?? 0;
  const rows = new Float64Array(count * width);
  limits.features.forEach((feature, column) => {
    const values = value[feature] as unknown[];
    for (let row = 0; row < count; row++) {
      const cell = values[row];
      rows[row * width + column] = isFloat32(cell)
        ? cell
        : readCell(cell, `${field}.${feature}[${row}]`);
    }
  });
  return { rows, rowCount: count };
}

/** The TF Serving predict request fields. */
const V1_PREDICT_FIELDS = ['signature_name', 'instances', 'inputs'];

export type V1Input = RowBatch & { format: 'instances' | 'inputs' };

/**
 * Parses a TF Serving style predict body: `instances` (rows) or `inputs` (columns keyed by
 * feature, or rows like `instances`). Exactly one of the two must be present.
 */
export function parseV1PredictBody(body: unknown, limits: RowLimits): V1Input {
  // Rows the body scanner read need only their shape checked. Otherwise the validation below
  // gets the value JSON.parse would have returned, so that its errors are the same.
  if (body instanceof ScannedInstances) {
    if (body.width === limits.features.length && body.rowCount <= limits.maxRows) {
      return { rows: body.rows, rowCount: body.rowCount, format: 'instances' };
    }
    body = body.toJsonValue();
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('body', `must be a JSON object, got ${describeType(body)}`);
  }
  const record = body as Record<string, unknown>;
  rejectUnknownFields(record, V1_PREDICT_FIELDS);
  const hasInstances = record.instances !== undefined;
  const hasInputs = record.inputs !== undefined;
  if (hasInstances === hasInputs) {
    throw invalidRequest(
      'body',
      "must contain exactly one of 'instances' (rows) or 'inputs' (columns)",
    );
  }
  if (hasInstances)
    return { ...parseRows(record.instances, 'instances', limits), format: 'instances' };
  const inputs = record.inputs;
  if (Array.isArray(inputs)) return { ...parseRows(inputs, 'inputs', limits), format: 'inputs' };
  if (typeof inputs === 'object' && inputs !== null) {
    return {
      ...parseColumns(inputs as Record<string, unknown>, 'inputs', limits),
      format: 'inputs',
    };
  }
  throw invalidRequest(
    'inputs',
    `must be an object of feature columns or an array of rows, got ${describeType(inputs)}`,
  );
}
