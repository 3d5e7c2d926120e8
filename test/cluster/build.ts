// Builds the control-plane binaries from their pinned Go modules into the version-keyed cache.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { binaryPath, loadComponents, type Component, type ComponentName } from './components.ts';

/** Receives one line of progress at a time. */
export type Log = (line: string) => void;

export interface BuildOptions {
  binDir: string;
  /** Components to build; all of them when omitted. */
  only?: readonly ComponentName[];
  log: Log;
  /** Seconds between "still building" lines. */
  progressIntervalSeconds?: number;
}

/** Built binaries by component name. */
export type BinaryPaths = Record<ComponentName, string>;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    // A missing or non-executable file both mean "build it".
    return false;
  }
}

/**
 * Returns the go command: $GO if set, else `go` from PATH, else the official installer's
 * /usr/local/go/bin/go, for shells whose PATH lacks it.
 */
function goCommand(): string {
  if (process.env['GO']) {
    return process.env['GO'];
  }
  const onPath = (process.env['PATH'] ?? '')
    .split(':')
    .some((dir) => dir && isExecutable(path.join(dir, 'go')));
  return onPath || !isExecutable('/usr/local/go/bin/go') ? 'go' : '/usr/local/go/bin/go';
}

/** Formats seconds as "1m05s". */
export function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return minutes > 0 ? `${minutes}m${rest}s` : `${whole}s`;
}

/**
 * Builds every requested component whose binary is not cached yet and returns the paths of all
 * requested binaries. Components that share a module are built by one `go build`, so that
 * their common packages compile once.
 */
export async function buildComponents(options: BuildOptions): Promise<Partial<BinaryPaths>> {
  const wanted = loadComponents().filter((c) => !options.only || options.only.includes(c.name));
  const paths: Partial<BinaryPaths> = {};
  const missing: Component[] = [];
  for (const component of wanted) {
    const file = binaryPath(options.binDir, component);
    paths[component.name] = file;
    if (isExecutable(file)) {
      options.log(`${component.name} ${component.version}: cached at ${file}`);
    } else {
      missing.push(component);
    }
  }

  const groups = new Map<string, Component[]>();
  for (const component of missing) {
    const group = groups.get(component.moduleDir) ?? [];
    group.push(component);
    groups.set(component.moduleDir, group);
  }
  for (const group of groups.values()) {
    await buildGroup(group, options);
  }
  return paths;
}

async function buildGroup(group: Component[], options: BuildOptions): Promise<void> {
  const first = group[0];
  if (!first) {
    return;
  }
  const label = `${group.map((c) => c.name).join(', ')} ${first.version}`;
  mkdirSync(options.binDir, { recursive: true });
  const outDir = mkdtempSync(path.join(options.binDir, '.build-'));
  const ldflags = ['-s', '-w', ...first.versionStamps.flatMap((stamp) => ['-X', stamp])].join(' ');
  // -buildvcs=false: the modules sit inside this repository, whose git state is no version.
  const args = [
    'build',
    '-v',
    '-trimpath',
    '-buildvcs=false',
    '-ldflags',
    ldflags,
    '-o',
    `${outDir}/`,
  ];
  args.push(...group.map((c) => c.mainPackage));

  options.log(`${label}: building with go ${args.join(' ')} (in ${first.moduleDir})`);
  const started = Date.now();
  try {
    await runGoBuild(args, first.moduleDir, label, started, options);
    for (const component of group) {
      const target = binaryPath(options.binDir, component);
      mkdirSync(path.dirname(target), { recursive: true });
      renameSync(path.join(outDir, component.name), target);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  options.log(`${label}: built in ${formatDuration((Date.now() - started) / 1000)}`);
}

function runGoBuild(
  args: string[],
  cwd: string,
  label: string,
  started: number,
  options: BuildOptions,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(goCommand(), args, {
      cwd,
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // `go build -v` prints one import path per compiled package, which makes a cheap progress count;
    // module downloads print "go: downloading MODULE VERSION".
    let compiled = 0;
    let downloaded = 0;
    const recent: string[] = [];
    let pending = '';
    const onOutput = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('go: downloading ')) {
          downloaded += 1;
        } else {
          compiled += 1;
        }
        recent.push(line);
        if (recent.length > 40) {
          recent.shift();
        }
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);

    const interval = (options.progressIntervalSeconds ?? 20) * 1000;
    const timer = setInterval(() => {
      const elapsed = formatDuration((Date.now() - started) / 1000);
      const downloads = downloaded > 0 ? `, ${downloaded} modules downloaded` : '';
      options.log(
        `${label}: still building, ${elapsed} elapsed, ${compiled} packages compiled${downloads}`,
      );
    }, interval);

    child.on('error', (error) => {
      clearInterval(timer);
      reject(new Error(`running go failed (${error.message}); install Go 1.26 and put it on PATH`));
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (code === 0) {
        resolve();
        return;
      }
      const tail = [...recent, pending].filter(Boolean).join('\n');
      const status = signal ? `signal ${signal}` : `exit code ${code}`;
      reject(new Error(`go build of ${label} failed with ${status}; last output:\n${tail}`));
    });
  });
}
