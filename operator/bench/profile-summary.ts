// Prints the functions with the most self time in a V8 .cpuprofile (from node --cpu-prof), and
// the same grouped by package or source folder, to find what an operator run spent CPU on.
//
//   node operator/bench/profile-summary.ts FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** Names the package (node_modules/NAME) or the repository folder a script URL belongs to. */
function groupOf(url: string): string {
  if (url === '') return '(native or idle)';
  if (url.startsWith('node:')) return url;
  const packages = url.split('node_modules/');
  const last = packages.at(-1) ?? url;
  if (packages.length > 1) {
    const parts = last.split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? last);
  }
  const match = /\/(operator|model-server|test)\/(src\/)?([^/]+)/.exec(url);
  return match ? `${match[1]}/${match[2] ?? ''}${match[3]}` : url;
}

function printTop(title: string, totals: Map<string, number>, all: number, top: number): void {
  console.log(`\n${title}`);
  const sorted = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, hits] of sorted) {
    console.log(`${((100 * hits) / all).toFixed(1).padStart(5)}%  ${name}`);
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: node operator/bench/profile-summary.ts FILE.cpuprofile [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byFunction = new Map<string, number>();
const byGroup = new Map<string, number>();
let all = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (hits === 0) continue;
  all += hits;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? `${url.replace(/^file:\/\/.*?\/(node_modules|operator|model-server|test)\//, '$1/')}:${lineNumber + 1}`
    : '';
  const name = `${functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
  byGroup.set(groupOf(url), (byGroup.get(groupOf(url)) ?? 0) + hits);
}
const seconds = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${all} samples over ${seconds.toFixed(1)} s`);
printTop('self time by function', byFunction, all, Number(values.top));
printTop('self time by package or folder', byGroup, all, Number(values.top));
