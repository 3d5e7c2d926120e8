// Open Inference Protocol (v2) tensors: validation of `inputs` into model rows.
import { invalidRequest } from '../errors.ts';
import { checkRowCount, describeType, type RowBatch, type RowLimits } from './request-rows.ts';

const INTEGER_TYPES = new Set([
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);
const FLOAT_TYPES = new Set(['FP16', 'FP32', 'FP64']);
const FLOAT32_MAX = 3.4028234663852886e38;

/** Upper bound on elements in one request, before the row limit can be checked. */
const MAX_NESTING = 8;

interface Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

/**
 * Parses the v2 `inputs` list. Two layouts are accepted: one tensor of shape [N, F] with the
 * features in manifest order, or one tensor per feature, named after it, of shape [N] or [N, 1].
 */
export function parseV2Inputs(value: unknown, limits: RowLimits): RowBatch {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidRequest(
      'inputs',
      `must be a non-empty array of tensors, got ${describeType(value)}`,
    );
  }
  const tensors = value.map((tensor: unknown, index) =>
    parseTensor(tensor, `inputs[${index}]`, limits),
  );
  const width = limits.features.length;
  const first = tensors[0] as Tensor;
  if (tensors.length === 1 && first.shape.length === 2 && !limits.features.includes(first.name)) {
    if (first.shape[1] !== width) {
      throw invalidRequest(
        'inputs[0].shape',
        `is [${first.shape.join(', ')}] but the model expects [N, ${width}] (${limits.features.join(', ')})`,
      );
    }
    const rowCount = first.shape[0] as number;
    checkRowCount(rowCount, 'inputs[0]', limits);
    return { rows: Float64Array.from(first.data), rowCount };
  }
  return parseFeatureTensors(tensors, limits);
}

function parseFeatureTensors(tensors: Tensor[], limits: RowLimits): RowBatch {
  const byName = new Map<string, { tensor: Tensor; index: number }>();
  tensors.forEach((tensor, index) => {
    if (!limits.features.includes(tensor.name)) {
      throw invalidRequest(
        `inputs[${index}].name`,
        `'${tensor.name}' is not a feature of the model; send one [N, ${limits.features.length}] tensor ` +
          `or one tensor per feature (${limits.features.join(', ')})`,
      );
    }
    if (byName.has(tensor.name))
      throw invalidRequest(`inputs[${index}].name`, `'${tensor.name}' appears twice`);
    const columnShape =
      tensor.shape.length === 1 || (tensor.shape.length === 2 && tensor.shape[1] === 1);
    if (!columnShape) {
      throw invalidRequest(
        `inputs[${index}].shape`,
        `is [${tensor.shape.join(', ')}] but a feature tensor must be [N] or [N, 1]`,
      );
    }
    byName.set(tensor.name, { tensor, index });
  });
  const width = limits.features.length;
  let rowCount: number | undefined;
  for (const feature of limits.features) {
    const entry = byName.get(feature);
    if (entry === undefined)
      throw invalidRequest('inputs', `is missing a tensor for feature '${feature}'`);
    const count = entry.tensor.shape[0] as number;
    if (rowCount === undefined) {
      checkRowCount(count, `inputs[${entry.index}]`, limits);
      rowCount = count;
    } else if (count !== rowCount) {
      throw invalidRequest(
        `inputs[${entry.index}].shape`,
        `has ${count} rows but other feature tensors have ${rowCount}`,
      );
    }
  }
  const count = rowCount ?? 0;
  const rows = new Float64Array(count * width);
  limits.features.forEach((feature, column) => {
    const data = (byName.get(feature) as { tensor: Tensor }).tensor.data;
    for (let row = 0; row < count; row++) rows[row * width + column] = data[row] as number;
  });
  return { rows, rowCount: count };
}

function parseTensor(value: unknown, field: string, limits: RowLimits): Tensor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest(field, `must be a tensor object, got ${describeType(value)}`);
  }
  const tensor = value as Record<string, unknown>;
  if (typeof tensor.name !== 'string' || tensor.name === '')
    throw invalidRequest(`${field}.name`, 'must be a non-empty string');
  const shape = tensor.shape;
  if (
    !Array.isArray(shape) ||
    shape.length === 0 ||
    !shape.every((size) => Number.isInteger(size) && (size as number) >= 0)
  ) {
    throw invalidRequest(`${field}.shape`, 'must be a non-empty array of non-negative integers');
  }
  const datatype = tensor.datatype;
  if (typeof datatype !== 'string' || !(INTEGER_TYPES.has(datatype) || FLOAT_TYPES.has(datatype))) {
    throw invalidRequest(
      `${field}.datatype`,
      `must be a numeric type (FP32, FP64, FP16, INT8-64, UINT8-64), got ${JSON.stringify(datatype)}`,
    );
  }
  const elementCount = (shape as number[]).reduce((product, size) => product * size, 1);
  // Bound the work before flattening: even one feature column cannot exceed maxRows elements.
  if (elementCount > limits.maxRows * limits.features.length) {
    checkRowCount(shape[0] as number, field, limits);
  }
  const data = flatten(tensor.data, `${field}.data`, datatype, elementCount);
  if (data.length !== elementCount) {
    throw invalidRequest(
      `${field}.data`,
      `has ${data.length} elements but shape [${shape.join(', ')}] needs ${elementCount}`,
    );
  }
  return { name: tensor.name, shape: shape as number[], datatype, data };
}

/** Flattens row-major nested arrays, checking every element against the datatype. */
function flatten(value: unknown, field: string, datatype: string, limit: number): number[] {
  if (!Array.isArray(value))
    throw invalidRequest(field, `must be an array, got ${describeType(value)}`);
  const out: number[] = [];
  const integer = INTEGER_TYPES.has(datatype);
  const unsigned = datatype.startsWith('UINT');
  const visit = (items: unknown[], depth: number): void => {
    if (depth > MAX_NESTING)
      throw invalidRequest(field, `is nested deeper than ${MAX_NESTING} levels`);
    for (const item of items) {
      if (Array.isArray(item)) {
        visit(item, depth + 1);
        continue;
      }
      const where = `${field}[${out.length}]`;
      if (typeof item !== 'number')
        throw invalidRequest(where, `must be a number, got ${describeType(item)}`);
      if (!Number.isFinite(item) || Math.abs(item) > FLOAT32_MAX) {
        throw invalidRequest(
          where,
          `must be a finite number within the float32 range, got ${item}`,
        );
      }
      if (integer && !Number.isInteger(item))
        throw invalidRequest(where, `must be an integer for datatype ${datatype}, got ${item}`);
      if (unsigned && item < 0)
        throw invalidRequest(where, `must be non-negative for datatype ${datatype}, got ${item}`);
      out.push(item);
      if (out.length > limit) return;
    }
  };
  visit(value, 1);
  return out;
}
