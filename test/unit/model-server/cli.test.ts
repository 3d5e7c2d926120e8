// The `model-server` command line as a real process: train output, flag errors, help, and the
// serve process's logs, SIGHUP reload and SIGTERM shutdown.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CARS_FEATURES,
  CARS_JSON,
  CARS_LABEL,
  REPOSITORY_ROOT,
  makeTempDir,
  removeDir,
} from './fixtures.ts';

const CLI = path.join(REPOSITORY_ROOT, 'model-server/src/cli.ts');
let workDir: string;
let artifact: string;

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

const TRAIN_ARGS = [
  'train',
  '--data',
  CARS_JSON,
  '--features',
  CARS_FEATURES.join(','),
  '--label',
  CARS_LABEL,
  '--name',
  'cars',
  '--where',
  'Year<1977-01-01',
  '--epochs',
  '3',
];

beforeAll(async () => {
  workDir = await makeTempDir('cli');
  artifact = path.join(workDir, 'cars');
});

afterAll(async () => {
  await removeDir(workDir);
});

describe('model-server train', () => {
  it('prints a JSON summary and writes the termination message', async () => {
    const messagePath = path.join(workDir, 'termination-message');
    const result = runCli([
      ...TRAIN_ARGS,
      '--out',
      artifact,
      '--version',
      'cli-1',
      '--termination-message-path',
      messagePath,
    ]);
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      name: 'cars',
      version: 'cli-1',
      artifact,
      uri: pathToFileURL(artifact).href,
    });
    expect(summary.rows).toMatchObject({ read: 406, skippedByReason: { missing: 9 } });
    expect(await readFile(messagePath, 'utf8')).toBe(pathToFileURL(artifact).href);
    expect(result.stderr).toContain('TensorFlow.js backend selected');
  });

  it('refuses to overwrite an artifact without --overwrite', () => {
    const result = runCli([...TRAIN_ARGS, '--out', artifact]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('already exists and is not empty');
  });

  it.each([
    [
      ['train', '--data', CARS_JSON, '--label', CARS_LABEL, '--name', 'cars', '--out', 'x'],
      '--features is required',
    ],
    [
      [...TRAIN_ARGS, '--out', 'x', '--holdout', '1.5'],
      "--holdout '1.5' is invalid: expected a number in (0, 1)",
    ],
    [
      [...TRAIN_ARGS, '--out', 'x', '--where', 'Yeer<1977-01-01'],
      "names column 'Yeer', which no row has",
    ],
    [
      [...TRAIN_ARGS.slice(0, 4), 'Cylinders,Horsepowr', ...TRAIN_ARGS.slice(5), '--out', 'x'],
      "--features names column 'Horsepowr', which no row has; columns: Name, Miles_per_Gallon,",
    ],
    [
      [...TRAIN_ARGS.slice(0, 6), 'MPG', ...TRAIN_ARGS.slice(7), '--out', 'x'],
      "--label names column 'MPG', which no row has",
    ],
    [[...TRAIN_ARGS, '--out', 'x', '--name', 'bad name'], "--name 'bad name' is invalid"],
    [
      [...TRAIN_ARGS.slice(0, 2), 'missing.json', ...TRAIN_ARGS.slice(3), '--out', 'x'],
      '--data missing.json cannot be read',
    ],
  ])('rejects bad flags: %s', (args, message) => {
    const result = runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe('model-server serve', () => {
  it('lists every flag with its environment variable in --help', () => {
    const result = runCli(['serve', '--help']);
    expect(result.status).toBe(0);
    const help = result.stdout.replace(/\s+/g, ' ');
    for (const variable of [
      'MODEL_SERVER_MODEL',
      'MODEL_SERVER_PORT',
      'MODEL_SERVER_MAX_BATCH_SIZE',
      'MODEL_SERVER_CAPTURE_DIR',
    ]) {
      expect(help).toContain(variable);
    }
    expect(help).toContain('(default: 8080; env: MODEL_SERVER_PORT)');
    expect(help).toContain('(default: 512MiB; env: MODEL_SERVER_MODEL_MAX_BYTES)');
  });

  it('rejects an invalid environment value naming the variable', () => {
    const result = runCli(['serve'], { MODEL_SERVER_MODEL: artifact, MODEL_SERVER_PORT: 'eighty' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("MODEL_SERVER_PORT 'eighty' is invalid");
  });

  it('logs the backend, reloads on SIGHUP and drains on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0'], {
      env: { ...process.env, MODEL_SERVER_MODEL: pathToFileURL(artifact).href },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const logs = collectLogs(child);
      const listening = await logs.waitFor((line) => line.msg === 'model server listening');
      expect(['tensorflow', 'wasm', 'cpu']).toContain(listening.backend);
      await logs.waitFor((line) => line.msg === 'model loaded');
      const ready = await fetch(`${String(listening.url)}/v2/health/ready`);
      expect(ready.status).toBe(200);

      child.kill('SIGHUP');
      await logs.waitFor((line) => line.msg === 'model loaded', 2);

      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(logs.lines.some((line) => line.msg === 'server closed')).toBe(true);
      expect(logs.lines.every((line) => !JSON.stringify(line).includes('instances'))).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('logs a checksum mismatch naming the problem', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--model',
        artifact,
        '--model-sha256',
        '0'.repeat(64),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const logs = collectLogs(child);
      const failure = await logs.waitFor((line) =>
        String(line.msg).startsWith('model load failed'),
      );
      expect(failure.code).toBe('MS_ERR_ARTIFACT_CHECKSUM_MISMATCH');
      expect(String(failure.msg)).toContain('--model-sha256 expects 0000');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

type LogLine = Record<string, unknown>;

/** Collects the JSON log lines of a child and waits for the n-th line matching a predicate. */
function collectLogs(child: ChildProcess) {
  const lines: LogLine[] = [];
  const waiters: (() => void)[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() !== '') lines.push(JSON.parse(part) as LogLine);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    lines,
    async waitFor(predicate: (line: LogLine) => boolean, occurrence = 1): Promise<LogLine> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const matches = lines.filter(predicate);
        if (matches.length >= occurrence) return matches[occurrence - 1] as LogLine;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`log line not seen; got ${JSON.stringify(lines)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}
