// Metric values from a Prometheus server through its HTTP API (`/api/v1/query`).
import { parseFloatValue } from './text-format.ts';

/** Values substituted for `{{namespace}}`, `{{name}}` and `{{window}}` in PromQL templates. */
export interface QueryVariables {
  namespace: string;
  name: string;
  /** Window in milliseconds; substituted as a PromQL duration such as `90s`. */
  windowMs: number;
}

/** Formats milliseconds as a PromQL duration: whole seconds when exact, else milliseconds. */
export function promqlDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

/**
 * Substitutes the variables into a PromQL template. Placeholders other than the three known
 * ones are rejected, since a typo would otherwise reach Prometheus as a parse error.
 */
export function renderQuery(template: string, variables: QueryVariables): string {
  return template.replace(/\{\{\s*([a-zA-Z]+)\s*\}\}/g, (placeholder, key: string) => {
    switch (key) {
      case 'namespace':
        return variables.namespace;
      case 'name':
        return variables.name;
      case 'window':
        return promqlDuration(variables.windowMs);
      default:
        throw new Error(
          `unknown placeholder ${placeholder} in PromQL query "${template}": use {{namespace}}, {{name}} or {{window}}`,
        );
    }
  });
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: {
    resultType: 'vector' | 'scalar' | 'matrix' | 'string';
    result: unknown;
  };
}

/**
 * Runs an instant query and returns its single number: a scalar, or the value of a vector with
 * one series. An empty vector returns null (no data). More than one series, a matrix, or an
 * HTTP or API error throws, naming the query.
 */
export async function queryPrometheus(
  baseUrl: string,
  query: string,
  timeoutMs: number,
): Promise<number | null> {
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const response = await fetch(url, {
    method: 'POST',
    body: new URLSearchParams({ query }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let body: QueryResponse;
  try {
    body = JSON.parse(text) as QueryResponse;
  } catch {
    throw new Error(
      `Prometheus at ${url.origin} returned HTTP ${response.status} with a body that is not JSON`,
    );
  }
  if (body.status !== 'success' || !body.data) {
    throw new Error(
      `Prometheus query "${query}" failed: ${body.error ?? `HTTP ${response.status}`}`,
    );
  }
  return singleValue(query, body.data.resultType, body.data.result);
}

function singleValue(query: string, resultType: string, result: unknown): number | null {
  if (resultType === 'scalar') return sampleValue(result);
  if (resultType !== 'vector' || !Array.isArray(result)) {
    throw new Error(
      `Prometheus query "${query}" returned a ${resultType}; write it to return one number`,
    );
  }
  if (result.length === 0) return null;
  if (result.length > 1) {
    throw new Error(
      `Prometheus query "${query}" returned ${result.length} series; aggregate it (sum, max, ...) to one`,
    );
  }
  return sampleValue((result[0] as { value?: unknown }).value);
}

function sampleValue(pair: unknown): number | null {
  if (!Array.isArray(pair) || typeof pair[1] !== 'string') return null;
  const value = parseFloatValue(pair[1]);
  return value === undefined || Number.isNaN(value) ? null : value;
}
