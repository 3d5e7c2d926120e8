// Display strings for metric values, used in status messages and printer columns.
import type { MetricName, MetricThreshold, StatusSummary } from '../api/monitoring.ts';
import type { WindowedValues } from '../probing/window.ts';

function significant(value: number, digits = 3): string {
  if (value === 0) return '0';
  return Number(value.toPrecision(digits)).toString();
}

/** Formats a value in its metric's unit: latency in ms or s, errorRate in %, rates per second. */
export function formatMetricValue(name: MetricName, value: number): string {
  switch (name) {
    case 'latencyP50':
    case 'latencyP90':
    case 'latencyP99':
      return value < 1 ? `${significant(value * 1000)}ms` : `${significant(value)}s`;
    case 'errorRate':
      return `${significant(value * 100, 2)}%`;
    case 'requestRate':
      return `${significant(value)}/s`;
    case 'mae':
    case 'rmse':
    case 'drift':
      return significant(value);
  }
}

/** Describes a value against its threshold, e.g. `mae 4.21 above max 3`. */
export function describeMetric(
  name: MetricName,
  value: number,
  threshold: Pick<MetricThreshold, 'min' | 'max'>,
): string {
  const formatted = formatMetricValue(name, value);
  if (threshold.max !== undefined && value > threshold.max) {
    return `${name} ${formatted} above max ${formatMetricValue(name, threshold.max)}`;
  }
  if (threshold.min !== undefined && value < threshold.min) {
    return `${name} ${formatted} below min ${formatMetricValue(name, threshold.min)}`;
  }
  return `${name} ${formatted}`;
}

/** Builds the printer-column strings from a probe's values; metrics without data show `-`. */
export function formatSummary(values: WindowedValues): Omit<StatusSummary, 'ready'> {
  const show = (name: MetricName): string => {
    const value = values[name].value;
    return value === null || !Number.isFinite(value) ? '-' : formatMetricValue(name, value);
  };
  return {
    p99: show('latencyP99'),
    errors: show('errorRate'),
    mae: show('mae'),
    drift: show('drift'),
  };
}
