// Parser for the Prometheus text exposition format, version 0.0.4.
//
// NOTE: written here because the npm parsers do not fit. parse-prometheus-text-format 1.1.1
// merges the buckets of every labelled histogram series into one and drops their _sum and
// _count, and modelwarden's latency histogram carries a `route` label.
// prom2javascript 0.2.0 (a single release) rejects NaN sample values, which gauges may carry.
// prom-client only writes the format.

/** One sample line: metric name, labels and value. Timestamps are parsed and dropped. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A sample line that does not follow the text format, with its 1-based line number. */
export class TextFormatError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(`invalid Prometheus text format at line ${line}: ${message}`);
    this.name = 'TextFormatError';
    this.line = line;
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses a float as Go's strconv.ParseFloat does for the format: decimals, exponents, and NaN
 * and [+-]Inf or Infinity in any letter case (prom-client writes NaN as `Nan`).
 */
export function parseFloatValue(text: string): number | undefined {
  const special = /^([-+]?)(nan|inf|infinity)$/i.exec(text);
  if (special) {
    if (special[2]?.toLowerCase() === 'nan') return Number.NaN;
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/**
 * Parses an exposition body into its samples, in input order. Comment, HELP and TYPE lines are
 * skipped: callers know the type of each series they read from the metric name's suffix.
 * Throws TextFormatError on the first malformed sample line.
 */
export function parseTextFormat(body: string): Sample[] {
  const samples: Sample[] = [];
  const lines = body.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]?.trim() ?? '';
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseSampleLine(line, index + 1));
  }
  return samples;
}

function parseSampleLine(line: string, lineNumber: number): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new TextFormatError(lineNumber, `expected a metric name in "${line}"`);
  const name = nameMatch[0];
  let rest = line.slice(name.length).trimStart();
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest, lineNumber);
    labels = parsed.labels;
    rest = rest.slice(parsed.length);
  }
  const fields = rest.trim().split(/[ \t]+/);
  if (fields.length < 1 || fields.length > 2 || fields[0] === '') {
    throw new TextFormatError(
      lineNumber,
      `expected a value and an optional timestamp after ${name}`,
    );
  }
  const value = parseFloatValue(fields[0] ?? '');
  if (value === undefined) {
    throw new TextFormatError(lineNumber, `invalid sample value "${fields[0]}" for ${name}`);
  }
  return { name, labels, value };
}

/** Parses `{a="x",b="y"}` at the start of `text`; returns the labels and the characters read. */
function parseLabels(
  text: string,
  lineNumber: number,
): { labels: Record<string, string>; length: number } {
  const labels: Record<string, string> = {};
  let position = 1;
  const skipBlanks = (): void => {
    while (text[position] === ' ' || text[position] === '\t') position++;
  };
  for (;;) {
    skipBlanks();
    if (text[position] === '}') return { labels, length: position + 1 };
    const nameMatch = LABEL_NAME.exec(text.slice(position));
    if (!nameMatch)
      throw new TextFormatError(lineNumber, `expected a label name at column ${position + 1}`);
    const labelName = nameMatch[0];
    position += labelName.length;
    skipBlanks();
    if (text[position] !== '=')
      throw new TextFormatError(lineNumber, `expected "=" after label ${labelName}`);
    position++;
    skipBlanks();
    if (text[position] !== '"')
      throw new TextFormatError(lineNumber, `expected a quoted value for label ${labelName}`);
    position++;
    let value = '';
    for (;;) {
      const char = text[position];
      if (char === undefined)
        throw new TextFormatError(lineNumber, `unterminated value of label ${labelName}`);
      position++;
      if (char === '"') break;
      if (char === '\\') {
        const escaped = text[position];
        position++;
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else
          throw new TextFormatError(
            lineNumber,
            `invalid escape "\\${escaped ?? ''}" in label ${labelName}`,
          );
      } else {
        value += char;
      }
    }
    labels[labelName] = value;
    skipBlanks();
    if (text[position] === ',') position++;
    else if (text[position] !== '}')
      throw new TextFormatError(lineNumber, `expected "," or "}" after label ${labelName}`);
  }
}
