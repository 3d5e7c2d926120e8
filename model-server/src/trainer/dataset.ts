// Reading tabular training data: JSON arrays, NDJSON and CSV files, and directories of NDJSON
// capture files written by the server's feedback capture.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { ModelServerError, errorMessage } from '../errors.ts';

export type DataRow = Record<string, unknown>;

export interface SourceSummary {
  path: string;
  rows: number;
}

export interface LoadedData {
  rows: DataRow[];
  sources: SourceSummary[];
  /** NDJSON lines that are not a JSON object, such as a line cut short by a crash. */
  malformedLines: number;
}

const NDJSON_EXTENSIONS = new Set(['.ndjson', '.jsonl']);

/**
 * Loads every source in order. A directory contributes its `*.ndjson` and `*.jsonl` files
 * (not recursively) sorted by name; a file's format follows its extension: `.json` is a JSON
 * array of objects, `.ndjson`/`.jsonl` one object per line, `.csv` a header line then rows.
 */
export async function loadData(sources: readonly string[]): Promise<LoadedData> {
  const loaded: LoadedData = { rows: [], sources: [], malformedLines: 0 };
  for (const source of sources) {
    const files = await expandSource(source);
    for (const file of files) {
      const { rows, malformedLines } = await loadFile(file);
      for (const row of rows) loaded.rows.push(row);
      loaded.malformedLines += malformedLines;
      loaded.sources.push({ path: file, rows: rows.length + malformedLines });
    }
  }
  return loaded;
}

async function expandSource(source: string): Promise<string[]> {
  const absolute = path.resolve(source);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(absolute)).isDirectory();
  } catch (error) {
    throw new ModelServerError(
      'MS_ERR_DATA_NOT_FOUND',
      `--data ${source} cannot be read: ${errorMessage(error)}`,
    );
  }
  if (!isDirectory) return [absolute];
  const names = (await readdir(absolute)).filter((name) =>
    NDJSON_EXTENSIONS.has(path.extname(name)),
  );
  // An empty capture directory is normal before any feedback arrived; the row count check
  // after loading reports the case where no source contributed rows.
  return names.sort().map((name) => path.join(absolute, name));
}

async function loadFile(file: string): Promise<{ rows: DataRow[]; malformedLines: number }> {
  const text = await readFile(file, 'utf8');
  const extension = path.extname(file).toLowerCase();
  if (extension === '.json') return { rows: parseJsonArray(text, file), malformedLines: 0 };
  if (NDJSON_EXTENSIONS.has(extension)) return parseNdjson(text);
  if (extension === '.csv') return { rows: parseCsvText(text, file), malformedLines: 0 };
  throw new ModelServerError(
    'MS_ERR_DATA_INVALID',
    `--data ${file} has extension '${extension}'; use .json (array), .ndjson, .jsonl or .csv`,
  );
}

function parseJsonArray(text: string, file: string): DataRow[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelServerError(
      'MS_ERR_DATA_INVALID',
      `--data ${file} is not valid JSON: ${errorMessage(error)}`,
    );
  }
  if (!Array.isArray(value)) {
    throw new ModelServerError(
      'MS_ERR_DATA_INVALID',
      `--data ${file} must contain a JSON array of objects`,
    );
  }
  value.forEach((row: unknown, index) => {
    if (!isRow(row)) {
      throw new ModelServerError(
        'MS_ERR_DATA_INVALID',
        `--data ${file}: element ${index} is not an object`,
      );
    }
  });
  return value as DataRow[];
}

function parseNdjson(text: string): { rows: DataRow[]; malformedLines: number } {
  const rows: DataRow[] = [];
  let malformedLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // A capture file's last line may be cut short by a crash; it is counted, not fatal.
      malformedLines += 1;
      continue;
    }
    if (isRow(value)) rows.push(value);
    else malformedLines += 1;
  }
  return { rows, malformedLines };
}

function parseCsvText(text: string, file: string): DataRow[] {
  try {
    return parseCsv(text, {
      columns: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
    }) as DataRow[];
  } catch (error) {
    throw new ModelServerError(
      'MS_ERR_DATA_INVALID',
      `--data ${file} is not valid CSV: ${errorMessage(error)}`,
    );
  }
}

function isRow(value: unknown): value is DataRow {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Converts a cell to a number: a finite JSON number, or a string holding a decimal number (CSV
 * cells are always strings). Returns `missing` for absent, null and empty cells and
 * `non_numeric` for everything else, never 0.
 */
export function toNumber(value: unknown): number | 'missing' | 'non_numeric' {
  if (value === undefined || value === null) return 'missing';
  if (typeof value === 'number') return Number.isFinite(value) ? value : 'non_numeric';
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '') return 'missing';
    return DECIMAL.test(trimmed) ? Number(trimmed) : 'non_numeric';
  }
  return 'non_numeric';
}
