// Benchmark of the model server against two baselines measured in the same run: raw in-process
// predict (rows/s) and a bare fastify JSON echo server (requests/s, p99). Every server runs as
// its own process on 127.0.0.1 and autocannon drives it from this process, so load generator and
// server do not share an event loop. Each point is measured in several short rounds that take
// turns with its baseline, and the table gives medians, because the throughput of this shared
// machine moves by a quarter from one second to the next. The p99 ratio divides by at least
// 1 ms, because autocannon reports latency in whole milliseconds.
//
//   npm run bench:server -- [--rounds N] [--duration SECONDS] [--soak SECONDS]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Predictor } from '../src/inference/predictor.ts';
import { createLogger } from '../src/logger.ts';
import { loadServableModel } from '../src/model/servable-model.ts';
import { trainModel } from '../src/trainer/train.ts';

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Point = { rps: number; p50: number; p99: number; failed: number };
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(root, 'model-server/src/cli.ts');
const ECHO = path.join(root, 'model-server/bench/echo-server.ts');
const CARS = path.join(root, 'node_modules/vega-datasets/data/cars.json');
const FEATURES = ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'];
const CAR = [8, 307, 130, 3504, 12];
const LARGE_BATCH = 1024;
const CONCURRENCY = [1, 16, 64, 256];

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '2' },
    soak: { type: 'string' },
  },
});
const rounds = Number(flags.rounds);
const duration = Number(flags.duration);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds ${flags.rounds}: give a whole number of at least 1`);
if (!(duration > 0))
  throw new Error(`--duration ${flags.duration}: give a number of seconds above 0`);

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts a child process and resolves with the first stdout line that `pick` accepts. */
function startProcess(
  args: string[],
  pick: (line: string) => string | undefined,
): Promise<{ child: ChildProcess; value: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (const line of buffer.split('\n')) {
        const value = pick(line);
        if (value !== undefined) {
          child.stdout?.removeAllListeners('data');
          child.stdout?.resume();
          resolve({ child, value });
          return;
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function startModelServer(artifact: string, extraFlags: string[]) {
  const args = [
    CLI,
    'serve',
    '--model',
    artifact,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--log-level',
    'info',
    ...extraFlags,
  ];
  const { child, value } = await startProcess(args, (line) => {
    if (!line.includes('"model server listening"')) return undefined;
    return (JSON.parse(line) as { url: string }).url;
  });
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await fetch(`${value}/v2/health/ready`)).status === 200) return { child, url: value };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('model server did not become ready');
}

async function load(url: string, body: string, connections: number, seconds = duration) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    console.error(
      `  ${url} c=${connections}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Returns the median of each figure over the rounds of one point, with failures summed. */
function medianPoint(points: Point[]): Point {
  return {
    rps: median(points.map((point) => point.rps)),
    p50: median(points.map((point) => point.p50)),
    p99: median(points.map((point) => point.p99)),
    failed: points.reduce((sum, point) => sum + point.failed, 0),
  };
}

/** Predict calls per second for `seconds`, in rows/s. */
function measureRawPredict(predictor: Predictor, batch: number, seconds: number): number {
  const rows = new Float64Array(batch * CAR.length);
  for (let row = 0; row < batch; row++) rows.set(CAR, row * CAR.length);
  for (let warmup = 0; warmup < 20; warmup++) predictor.predict(rows, batch);
  const started = performance.now();
  let calls = 0;
  while (performance.now() - started < seconds * 1000) {
    predictor.predict(rows, batch);
    calls += 1;
  }
  return (calls * batch) / ((performance.now() - started) / 1000);
}

const format = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'modelwarden-bench-'));
  const artifact = path.join(workDir, 'cars');
  const logger = createLogger('warn');
  console.log(
    `load average at the start: ${loadavg()
      .map((value) => value.toFixed(1))
      .join(' ')} (1, 5, 15 min)`,
  );
  try {
    await trainModel(
      {
        data: [CARS],
        features: FEATURES,
        label: 'Miles_per_Gallon',
        name: 'cars',
        out: artifact,
        epochs: 50,
        seed: 42,
        holdout: 0.2,
        batchSize: 32,
        learningRate: 0.001,
        version: 'bench',
        where: ['Year<1977-01-01'],
        bins: 10,
        backend: 'auto',
        overwrite: false,
      },
      logger,
    );
    const servable = await loadServableModel(
      { uri: artifact },
      { maxBytes: 1 << 30, timeoutMs: 10_000 },
      undefined,
    );
    const { predictor } = servable;
    const rawSingle = measureRawPredict(predictor, 1, duration);
    console.log(
      `backend ${tf.getBackend()}, ${predictor.fused ? 'fused Dense kernels' : 'Layers API'}; ` +
        `raw predict: ${format(rawSingle)} rows/s at batch 1`,
    );

    const single = JSON.stringify({ instances: [CAR] });
    const large = JSON.stringify({ instances: Array.from({ length: LARGE_BATCH }, () => CAR) });

    // All three servers run at once, so that every round can take turns between a server and its
    // baseline within a few seconds.
    const echo = await startProcess([ECHO], (line) =>
      /^\d+$/.test(line.trim()) ? line.trim() : undefined,
    );
    const echoUrl = `http://127.0.0.1:${echo.value}/echo`;
    const batching = await startModelServer(artifact, []);
    const unbatched = await startModelServer(artifact, ['--max-batch-size', '1']);
    const predictUrl = (server: { url: string }) => `${server.url}/v1/models/cars:predict`;
    // The model server's code paths take a few seconds of load before V8 has optimised them.
    for (const url of [echoUrl, predictUrl(batching), predictUrl(unbatched)])
      await load(url, single, 64, 3);

    const rows: string[] = [];
    // The highest rate the batching server sustained: its median at 64 connections.
    let maxRps = 0;
    for (const connections of CONCURRENCY) {
      const runs = { echo: [] as Point[], batching: [] as Point[], unbatched: [] as Point[] };
      for (let round = 0; round < rounds; round++) {
        runs.echo.push(await load(echoUrl, single, connections));
        runs.batching.push(await load(predictUrl(batching), single, connections));
        runs.unbatched.push(await load(predictUrl(unbatched), single, connections));
      }
      const baseline = medianPoint(runs.echo);
      if (connections === 64) maxRps = medianPoint(runs.batching).rps;
      for (const [mode, points] of [
        ['batching', runs.batching],
        ['no batching', runs.unbatched],
      ] as const) {
        const ours = medianPoint(points);
        const ratio = median(
          points.map((point, round) => point.rps / (runs.echo[round] as Point).rps),
        );
        const p99Ratio = median(
          points.map((point, round) => point.p99 / Math.max((runs.echo[round] as Point).p99, 1)),
        );
        rows.push(
          `| single-row predict, ${mode} | ${connections} | ${format(ours.rps)} | ${format(ours.p50, 2)} | ` +
            `${format(ours.p99, 2)} | ${format(baseline.rps)} | ${format(baseline.p99, 2)} | ` +
            `${format(ratio, 2)} | ${format(p99Ratio, 2)} | ${ours.failed} |`,
        );
      }
    }
    await stopProcess(unbatched.child);

    // The echo server's round trip with the same large body shows what HTTP and JSON alone cost,
    // next to the model call that raw predict measures.
    for (const connections of [1, 4]) {
      const raw: number[] = [];
      const ours: Point[] = [];
      const echoes: Point[] = [];
      for (let round = 0; round < rounds; round++) {
        raw.push(measureRawPredict(predictor, LARGE_BATCH, duration));
        echoes.push(await load(echoUrl, large, connections));
        ours.push(await load(predictUrl(batching), large, connections));
      }
      const point = medianPoint(ours);
      const echoPoint = medianPoint(echoes);
      const ratio = median(
        ours.map((run, round) => (run.rps * LARGE_BATCH) / (raw[round] as number)),
      );
      rows.push(
        `| ${LARGE_BATCH}-row predict | ${connections} | ${format(point.rps * LARGE_BATCH)} rows/s | ${format(point.p50, 2)} | ` +
          `${format(point.p99, 2)} | ${format(echoPoint.rps)} | ${format(echoPoint.p99, 2)} | ` +
          `${format(ratio, 2)} of raw ${format(median(raw))} rows/s | | ${point.failed} |`,
      );
    }
    await stopProcess(echo.child);
    servable.layersModel.dispose();
    if (flags.soak !== undefined) await soak(batching.url, single, maxRps, Number(flags.soak));
    await stopProcess(batching.child);

    console.log('');
    console.log(
      `load average at the end: ${loadavg()
        .map((value) => value.toFixed(1))
        .join(' ')} (1, 5, 15 min)`,
    );
    console.log(
      '| workload | connections | requests/s | p50 ms | p99 ms | echo requests/s | echo p99 ms | ratio to echo | p99 ratio | failed |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of rows) console.log(row);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Runs single-row predicts at 80% of `maxRps` at concurrency 64 for `seconds` and prints the
 * server's resident memory every tenth of the run, read from its own metrics.
 */
async function soak(url: string, body: string, maxRps: number, seconds: number): Promise<void> {
  const rate = Math.round(maxRps * 0.8);
  const slices = 10;
  console.log(
    `soak: ${seconds} s at ${rate} requests/s (80% of the server's rate at 64 connections)`,
  );
  for (let slice = 0; slice < slices; slice++) {
    const result = await autocannon({
      url: `${url}/v1/models/cars:predict`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections: 64,
      duration: seconds / slices,
      overallRate: rate,
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const rss = /modelwarden_process_resident_memory_bytes (\d+)/.exec(metrics)?.[1] ?? '?';
    const heap = /modelwarden_nodejs_heap_size_used_bytes (\d+)/.exec(metrics)?.[1] ?? '?';
    console.log(
      `  slice ${slice + 1}: ${format(result.requests.average)} requests/s, p99 ${result.latency.p99} ms, rss ${format(Number(rss) / 2 ** 20, 1)} MiB, heap ${format(Number(heap) / 2 ** 20, 1)} MiB`,
    );
  }
}

await main();
process.exit(0);
