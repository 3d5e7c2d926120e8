// Operator configuration, parsed once from flags and MODELWARDEN_* environment variables (a
// flag wins over its variable) into a validated object.
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { parseDuration } from './util/duration.ts';
import { defaultIdentity } from './leader/lease-elector.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
/**
 * Reconcile workers. A reconcile mostly waits on the apiserver, so more workers than cores keep
 * it busy; docs/benchmarks.md compares 2 and 8 workers on 1000 new ModelDeployments.
 */
export const DEFAULT_CONCURRENCY = 8;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface OperatorConfig {
  /** Kubeconfig file; undefined means in-cluster config inside a pod, else the default file. */
  kubeconfig?: string;
  /** Namespaces to watch; empty means all namespaces. */
  namespaces: string[];
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  http: { host: string; port: number };
  logLevel: LogLevel;
  concurrency: number;
  resyncMs: number;
  shutdownTimeoutMs: number;
  images: { default: string; byFormat: Record<string, string> };
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    // Outside a pod there is no service-account namespace; the caller falls back.
    return undefined;
  }
}

function duration(flag: string) {
  return (value: string): number => {
    try {
      return parseDuration(value);
    } catch (error) {
      throw new InvalidArgumentError(`${flag}: ${(error as Error).message}`);
    }
  };
}

function positiveInteger(flag: string, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1 || parsed > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from 1 to ${max}, got "${value}"`);
    }
    return parsed;
  };
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError(`--port must be an integer from 0 to 65535, got "${value}"`);
  }
  return parsed;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function formatImage(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([a-z0-9-]+)=(\S+)$/.exec(value);
  if (!match?.[1] || !match[2]) {
    throw new InvalidArgumentError(
      `--format-image expects FORMAT=IMAGE, e.g. tfjs-layers=registry/model-server:1, got "${value}"`,
    );
  }
  return { ...previous, [match[1]]: match[2] };
}

function env(option: Option, name: string): Option {
  return option.env(`MODELWARDEN_${name}`);
}

/** Builds the command line parser; `--help` lists every flag with its variable and default. */
export function buildCommand(): Command {
  return new Command('modelwarden-operator')
    .description(
      'Kubernetes operator for monitored model deployments (ModelDeployment, modelwarden.io/v1alpha1).',
    )
    .addOption(
      new Option(
        '--kubeconfig <path>',
        'kubeconfig file; without it, in-cluster config inside a pod, else ~/.kube/config',
      ).env('KUBECONFIG'),
    )
    .addOption(
      env(
        new Option('--namespaces <list>', 'comma-separated namespaces to watch; empty watches all')
          .argParser(list)
          .default([]),
        'NAMESPACES',
      ),
    )
    .addOption(
      env(
        new Option('--leader-elect', 'elect one active replica through a Lease').default(true),
        'LEADER_ELECT',
      ),
    )
    .addOption(
      new Option('--no-leader-elect', 'run without leader election (a single replica only)'),
    )
    .addOption(
      env(
        new Option(
          '--leader-election-namespace <namespace>',
          'namespace of the Lease (default: the pod namespace, else default)',
        ),
        'LEADER_ELECTION_NAMESPACE',
      ),
    )
    .addOption(
      env(
        new Option('--leader-election-id <name>', 'name of the Lease').default(
          'modelwarden-operator',
        ),
        'LEADER_ELECTION_ID',
      ),
    )
    .addOption(
      env(
        new Option(
          '--leader-election-identity <id>',
          "this replica's holder identity (default: POD_NAME, else host_pid)",
        ),
        'LEADER_ELECTION_IDENTITY',
      ),
    )
    .addOption(
      env(
        new Option(
          '--lease-duration <duration>',
          'time a standby waits before taking over an unrenewed Lease',
        )
          .argParser(duration('--lease-duration'))
          .default(15_000, '15s'),
        'LEASE_DURATION',
      ),
    )
    .addOption(
      env(
        new Option(
          '--renew-deadline <duration>',
          'time the leader keeps trying to renew before it steps down',
        )
          .argParser(duration('--renew-deadline'))
          .default(10_000, '10s'),
        'RENEW_DEADLINE',
      ),
    )
    .addOption(
      env(
        new Option('--retry-period <duration>', 'time between two Lease acquire or renew attempts')
          .argParser(duration('--retry-period'))
          .default(2_000, '2s'),
        'RETRY_PERIOD',
      ),
    )
    .addOption(
      env(
        new Option('--host <address>', 'listen address of the metrics and health server').default(
          '0.0.0.0',
        ),
        'HOST',
      ),
    )
    .addOption(
      env(
        new Option(
          '--port <port>',
          'port of the metrics and health server (/metrics, /healthz, /readyz); 0 picks a free one',
        )
          .argParser(port)
          .default(8081),
        'PORT',
      ),
    )
    .addOption(
      env(
        new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'),
        'LOG_LEVEL',
      ),
    )
    .addOption(
      env(
        new Option('--concurrency <n>', 'ModelDeployments reconciled in parallel')
          .argParser(positiveInteger('--concurrency', 64))
          .default(DEFAULT_CONCURRENCY),
        'CONCURRENCY',
      ),
    )
    .addOption(
      env(
        new Option(
          '--resync-period <duration>',
          'interval at which every ModelDeployment is reconciled even without changes',
        )
          .argParser(duration('--resync-period'))
          .default(600_000, '10m'),
        'RESYNC_PERIOD',
      ),
    )
    .addOption(
      env(
        new Option(
          '--shutdown-timeout <duration>',
          'time in-flight reconciles get to finish on SIGTERM',
        )
          .argParser(duration('--shutdown-timeout'))
          .default(20_000, '20s'),
        'SHUTDOWN_TIMEOUT',
      ),
    )
    .addOption(
      env(
        new Option(
          '--model-server-image <image>',
          'model-server image for ModelDeployments without spec.server.image',
        ).default('modelwarden/model-server:0.1.0'),
        'MODEL_SERVER_IMAGE',
      ),
    )
    .addOption(
      new Option(
        '--format-image <format=image>',
        'model-server image for one model format, repeatable',
      )
        .argParser(formatImage)
        .default({}),
    )
    .helpOption('-h, --help', 'show this help');
}

interface RawOptions {
  kubeconfig?: string;
  namespaces: string[] | string;
  leaderElect: boolean | string;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaderElectionIdentity?: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  host: string;
  port: number;
  logLevel: LogLevel;
  concurrency: number;
  resyncPeriod: number;
  shutdownTimeout: number;
  modelServerImage: string;
  formatImage: Record<string, string>;
}

/** Parses argv (without the node and script entries) into the configuration; exits on --help. */
export function parseConfig(argv: readonly string[], command = buildCommand()): OperatorConfig {
  command.parse([...argv], { from: 'user' });
  const raw = command.opts<RawOptions>();
  // Commander passes an environment value of a boolean flag through as a string.
  const leaderElect =
    typeof raw.leaderElect === 'string'
      ? !/^(false|0|no)$/i.test(raw.leaderElect)
      : raw.leaderElect;
  const config: OperatorConfig = {
    kubeconfig: raw.kubeconfig || undefined,
    namespaces: Array.isArray(raw.namespaces) ? raw.namespaces : list(raw.namespaces),
    leaderElection: {
      enabled: leaderElect,
      namespace:
        raw.leaderElectionNamespace ??
        process.env.POD_NAMESPACE ??
        inClusterNamespace() ??
        'default',
      name: raw.leaderElectionId,
      identity: raw.leaderElectionIdentity ?? defaultIdentity(),
      leaseDurationMs: raw.leaseDuration,
      renewDeadlineMs: raw.renewDeadline,
      retryPeriodMs: raw.retryPeriod,
    },
    http: { host: raw.host, port: raw.port },
    logLevel: raw.logLevel,
    concurrency: raw.concurrency,
    resyncMs: raw.resyncPeriod,
    shutdownTimeoutMs: raw.shutdownTimeout,
    images: { default: raw.modelServerImage, byFormat: raw.formatImage },
  };
  const election = config.leaderElection;
  if (
    election.enabled &&
    !(
      election.retryPeriodMs < election.renewDeadlineMs &&
      election.renewDeadlineMs < election.leaseDurationMs
    )
  ) {
    command.error(
      'error: leader election needs --retry-period < --renew-deadline < --lease-duration',
    );
  }
  return config;
}
