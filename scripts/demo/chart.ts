// SVG chart of the demo: MAE, drift and p99 latency over time in three stacked panels, with
// threshold lines and vertical markers at the story's moments. Written by hand so that it
// needs no canvas or browser.

/** One probe as the operator reported it in status; metrics with too few samples are unset. */
export interface ChartSample {
  seconds: number;
  mae?: number;
  drift?: number;
  p99Ms?: number;
}

export interface ChartMarker {
  seconds: number;
  label: string;
}

export interface ChartInput {
  title: string;
  samples: readonly ChartSample[];
  thresholds: { mae?: number; drift?: number; p99Ms?: number };
  markers: readonly ChartMarker[];
}

const WIDTH = 900;
const PANEL_HEIGHT = 170;
const LEFT = 70;
const RIGHT = 30;
const TOP = 50;
const GAP = 40;
const COLORS = { mae: '#1f77b4', drift: '#ff7f0e', p99Ms: '#2ca02c' } as const;

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char] ?? char,
  );
}

function niceMax(value: number): number {
  if (value <= 0 || !Number.isFinite(value)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function format(value: number): string {
  return Number(value.toPrecision(3)).toString();
}

/** Renders the chart as a standalone SVG document. */
export function renderChart(input: ChartInput): string {
  const panels: { key: keyof typeof COLORS; title: string }[] = [
    { key: 'mae', title: 'MAE (mpg)' },
    { key: 'drift', title: 'Drift (max PSI)' },
    { key: 'p99Ms', title: 'p99 latency (ms)' },
  ];
  const end =
    1.02 *
    Math.max(
      10,
      ...input.samples.map((sample) => sample.seconds),
      ...input.markers.map((marker) => marker.seconds),
    );
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (seconds: number): number => LEFT + (seconds / end) * plotWidth;
  const height = TOP + panels.length * (PANEL_HEIGHT + GAP) + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${escapeXml(input.title)}</text>`,
  ];

  panels.forEach((panel, index) => {
    const top = TOP + index * (PANEL_HEIGHT + GAP);
    const bottom = top + PANEL_HEIGHT;
    const points = input.samples.filter((sample) => sample[panel.key] !== undefined);
    const threshold = input.thresholds[panel.key];
    const max = niceMax(
      Math.max(threshold ?? 0, ...points.map((sample) => sample[panel.key] ?? 0)) * 1.1,
    );
    const y = (value: number): number => bottom - (Math.min(value, max) / max) * PANEL_HEIGHT;

    parts.push(
      `<text x="${LEFT}" y="${top - 8}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    parts.push(
      `<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`,
    );
    for (const fraction of [0, 0.5, 1]) {
      const value = max * fraction;
      parts.push(
        `<text x="${LEFT - 6}" y="${y(value) + 4}" text-anchor="end" fill="#555">${format(value)}</text>`,
      );
      if (fraction > 0 && fraction < 1) {
        parts.push(
          `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(value)}" y2="${y(value)}" stroke="#eee"/>`,
        );
      }
    }
    for (const marker of input.markers) {
      parts.push(
        `<line x1="${x(marker.seconds)}" x2="${x(marker.seconds)}" y1="${top}" y2="${bottom}" stroke="#888" stroke-dasharray="2,3"/>`,
      );
    }
    if (threshold !== undefined) {
      parts.push(
        `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(threshold)}" y2="${y(threshold)}" stroke="#d62728" stroke-dasharray="6,4"/>`,
        `<text x="${LEFT + plotWidth - 4}" y="${y(threshold) - 4}" text-anchor="end" fill="#d62728">threshold ${format(threshold)}</text>`,
      );
    }
    // A probe without a value (new pods after a rollout) breaks the line instead of bridging it.
    const segments: ChartSample[][] = [[]];
    for (const sample of input.samples) {
      if (sample[panel.key] === undefined) segments.push([]);
      else segments.at(-1)?.push(sample);
    }
    for (const segment of segments.filter((points) => points.length > 0)) {
      const line = segment
        .map((sample) => `${x(sample.seconds).toFixed(1)},${y(sample[panel.key] ?? 0).toFixed(1)}`)
        .join(' ');
      parts.push(
        `<polyline points="${line}" fill="none" stroke="${COLORS[panel.key]}" stroke-width="2"/>`,
      );
    }
    for (const sample of points) {
      parts.push(
        `<circle cx="${x(sample.seconds).toFixed(1)}" cy="${y(sample[panel.key] ?? 0).toFixed(1)}" r="2.5" fill="${COLORS[panel.key]}"/>`,
      );
    }
    if (index === 0) {
      input.markers.forEach((marker, markerIndex) => {
        // Labels near the right edge end at their marker so that they stay inside the chart.
        const nearEnd = x(marker.seconds) > LEFT + plotWidth * 0.85;
        const labelX = nearEnd ? x(marker.seconds) - 3 : x(marker.seconds) + 3;
        parts.push(
          `<text x="${labelX}" y="${top + 14 + (markerIndex % 4) * 13}" text-anchor="${nearEnd ? 'end' : 'start'}" fill="#444" font-size="11">${escapeXml(marker.label)}</text>`,
        );
      });
    }
    if (index === panels.length - 1) {
      for (let tick = 0; tick <= 5; tick++) {
        const seconds = (end * tick) / 5;
        parts.push(
          `<text x="${x(seconds)}" y="${bottom + 16}" text-anchor="middle" fill="#555">${Math.round(seconds)}s</text>`,
        );
      }
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
