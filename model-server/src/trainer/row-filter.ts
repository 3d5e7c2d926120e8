// `--where` row filters such as `Year<1977-01-01` or `Cylinders>=6`.
import { ModelServerError } from '../errors.ts';
import { toNumber, type DataRow } from './dataset.ts';

type Operator = '<' | '<=' | '>' | '>=' | '=' | '!=';

/** One parsed `--where COLUMN OP VALUE` condition. */
export interface RowFilter {
  readonly expression: string;
  readonly column: string;
  /** Returns whether the row passes; a row without the column passes (see parseRowFilter). */
  matches(row: DataRow): boolean;
}

const EXPRESSION = /^\s*([^<>=!]+?)\s*(<=|>=|!=|==|=|<|>)\s*(.*?)\s*$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Parses `COLUMN OP VALUE` with OP one of `< <= > >= = == !=`. VALUE is compared as a number
 * when it is a decimal number, as a time when it is an ISO 8601 date (`1977-01-01`), and as
 * text otherwise (text allows only `=` and `!=`). A row whose value cannot be compared that way
 * fails the filter. A row that lacks the column (absent or null) passes, so that capture rows,
 * which carry only features and label, survive a filter meant for the base dataset.
 */
export function parseRowFilter(expression: string): RowFilter {
  const match = EXPRESSION.exec(expression);
  const column = match?.[1];
  const rawOperator = match?.[2];
  const operand = match?.[3];
  if (
    column === undefined ||
    rawOperator === undefined ||
    operand === undefined ||
    operand === ''
  ) {
    throw new ModelServerError(
      'MS_ERR_CONFIG_INVALID',
      `--where '${expression}' is not COLUMN OP VALUE with OP one of < <= > >= = !=; ` +
        "example: --where 'Year<1977-01-01'",
    );
  }
  const operator: Operator = rawOperator === '==' ? '=' : (rawOperator as Operator);
  const compare = buildComparison(expression, operator, operand);
  return {
    expression,
    column,
    matches(row) {
      const value = row[column];
      if (value === undefined || value === null) return true;
      const order = compare(value);
      return order !== undefined && holds(operator, order);
    },
  };
}

/** Returns a function giving the sign of (row value - operand), or undefined when incomparable. */
function buildComparison(
  expression: string,
  operator: Operator,
  operand: string,
): (value: unknown) => number | undefined {
  const number = toNumber(operand);
  if (typeof number === 'number') {
    return (value) => {
      const cell = toNumber(value);
      return typeof cell === 'number' ? Math.sign(cell - number) : undefined;
    };
  }
  if (ISO_DATE.test(operand)) {
    const time = Date.parse(operand);
    if (Number.isNaN(time)) {
      throw new ModelServerError(
        'MS_ERR_CONFIG_INVALID',
        `--where '${expression}': '${operand}' is not a valid date`,
      );
    }
    return (value) => {
      const cell = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      return Number.isNaN(cell) ? undefined : Math.sign(cell - time);
    };
  }
  if (operator !== '=' && operator !== '!=') {
    throw new ModelServerError(
      'MS_ERR_CONFIG_INVALID',
      `--where '${expression}': '${operand}' is neither a number nor an ISO date, so only = and != apply`,
    );
  }
  return (value) => (String(value) === operand ? 0 : 1);
}

function holds(operator: Operator, order: number): boolean {
  switch (operator) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
  }
}
