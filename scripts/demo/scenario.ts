// The main job's story, shared by `npm run demo` and the cluster test: serve a cars model
// trained on 1970-1976 cars, feed it 1977-1982 cars with ground truth, and watch the operator
// notice, retrain on the captured feedback, promote and recover.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { Label } from '../../operator/src/api/labels.ts';
import { isConflict, isNotFound } from '../../operator/src/errors.ts';
import {
  KubeClient,
  loadKubeConfig,
  RESOURCES,
  resourcePath,
} from '../../operator/src/kube/client.ts';
import { isReadyPod } from '../../operator/src/probing/scrape.ts';
import { carsPath, FEATURES, LABEL, loadCars, SHIFT_YEAR } from './cars.ts';
import type { ChartMarker, ChartSample } from './chart.ts';
import { alignRow, printerColumns, tableRow } from './get-line.ts';
import { TrafficDriver } from './traffic.ts';

/** Timings of the story; the CI test uses shorter ones than the demo. */
export interface ScenarioTimings {
  interval: string;
  window: string;
  failureThreshold: number;
  successThreshold: number;
  verificationWindow: string;
  /** Age after which captured rows are deleted, so retraining reads mostly recent traffic. */
  captureMaxAge: string;
  /** Probes with Degraded=False before the traffic switches to the later cars. */
  healthyProbes: number;
  epochs: number;
  requestsPerSecond: number;
  rowsPerRequest: number;
  /** The whole story must happen within this time. */
  deadlineMs: number;
}

export const DEMO_TIMINGS: ScenarioTimings = {
  interval: '5s',
  window: '20s',
  failureThreshold: 3,
  successThreshold: 2,
  verificationWindow: '20s',
  captureMaxAge: '3m',
  healthyProbes: 3,
  epochs: 150,
  requestsPerSecond: 8,
  rowsPerRequest: 4,
  deadlineMs: 8 * 60_000,
};

export interface ScenarioOptions {
  repoRoot: string;
  kubeconfig: string;
  namespace: string;
  /** Folder for the first model, logs and the chart data. */
  workDir: string;
  timings: ScenarioTimings;
  /** MAE threshold in mpg. */
  maeMax: number;
  /** Drift threshold, largest feature PSI. */
  driftMax: number;
  log: (line: string) => void;
}

/** One moment of the story, in seconds since the ModelDeployment was applied. */
export interface Milestone {
  name:
    | 'Available'
    | 'TrafficShifted'
    | 'Degraded'
    | 'RetrainingStarted'
    | 'Promoted'
    | 'Recovered'
    | 'Verified';
  seconds: number;
  detail: string;
}

export interface ScenarioReport {
  ok: boolean;
  /** Parts of the story that did not happen. */
  missing: string[];
  milestones: Milestone[];
  samples: ChartSample[];
  /** Lines printed as `kubectl get mdep` output, header first. */
  table: string[];
  maeBefore: number | undefined;
  maeAfter: number | undefined;
  driftBefore: number | undefined;
  driftAfter: number | undefined;
  promotedVersion: string | undefined;
  jobName: string | undefined;
  traffic: {
    predictions: number;
    feedbackRows: number;
    failures: number;
    lastError: string | undefined;
  };
  durationSeconds: number;
}

const NAME = 'cars';
const MODELS_CLAIM = 'cars-models';
const FEEDBACK_CLAIM = 'cars-feedback';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a command to completion, logging to `logFile`; rejects naming the log on failure. */
function runCommand(command: string, args: string[], logFile: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.on('error', reject);
    child.on('exit', (code) => {
      log.end();
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${path.basename(args[0] ?? command)} ${args[1] ?? ''} exited with ${code}; see ${logFile}`,
          ),
        );
    });
  });
}

/** Trains a cars model on the 1970-1976 cars into `dir` with the built trainer. */
export async function trainCarsModel(
  repoRoot: string,
  dir: string,
  settings: { version: string; epochs: number; logFile: string },
): Promise<void> {
  await runCommand(
    process.execPath,
    [
      path.join(repoRoot, 'model-server', 'dist', 'cli.js'),
      'train',
      '--data',
      carsPath(repoRoot),
      '--where',
      `Year<${SHIFT_YEAR}`,
      '--features',
      FEATURES.join(','),
      '--label',
      LABEL,
      '--name',
      NAME,
      '--version',
      settings.version,
      '--epochs',
      String(settings.epochs),
      '--out',
      dir,
      '--overwrite',
    ],
    settings.logFile,
    repoRoot,
  );
}

/** Returns the retraining container: `model-server train` on the cars columns. */
export function trainerContainer(epochs: number): Record<string, unknown> {
  return {
    name: 'trainer',
    image: 'modelwarden/model-server:0.1.0',
    args: [
      'train',
      '--features',
      FEATURES.join(','),
      '--label',
      LABEL,
      '--name',
      NAME,
      '--epochs',
      String(epochs),
    ],
  };
}

/**
 * Lists `http://podIP:8080` of the serving pods of the story's ModelDeployment whose Ready
 * condition is True and that are not terminating, as an EndpointSlice counts ready endpoints.
 * The component label leaves out the retraining Job's pods, which carry the same
 * model-deployment label and are Ready while the trainer runs.
 */
export async function servingTargets(kube: KubeClient, namespace: string): Promise<string[]> {
  const pods = await kube.list<V1Pod>(resourcePath(RESOURCES.pods, namespace), {
    labelSelector: `${Label.modelDeployment}=${NAME},${Label.component}=serving`,
  });
  return pods.items.filter(isReadyPod).map((pod) => `http://${pod.status?.podIP ?? ''}:8080`);
}

/** Builds the ModelDeployment of the story. */
export function carsDeployment(options: ScenarioOptions, modelDir: string): ModelDeployment {
  const { timings } = options;
  return {
    apiVersion: 'modelwarden.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: NAME, namespace: options.namespace },
    spec: {
      model: { name: NAME, uri: `file://${modelDir}`, version: 'v1', format: 'tfjs-layers' },
      replicas: 2,
      server: {
        port: 8080,
        feedback: { capture: true, claimName: FEEDBACK_CLAIM, maxAge: timings.captureMaxAge },
      },
      monitoring: {
        interval: timings.interval,
        window: timings.window,
        scrapeTimeout: '2s',
        minSamples: 20,
        failureThreshold: timings.failureThreshold,
        successThreshold: timings.successThreshold,
        maxProbeErrors: 3,
        metrics: [
          { name: 'mae', max: options.maeMax, triggersRetraining: true },
          { name: 'drift', max: options.driftMax, triggersRetraining: true },
          { name: 'latencyP99', max: 1, triggersRetraining: false },
          { name: 'errorRate', max: 0.05, triggersRetraining: false },
        ],
      },
      retraining: {
        enabled: true,
        triggers: { onDegradation: true, metrics: ['mae', 'drift'] },
        output: { claimName: MODELS_CLAIM, pathPrefix: NAME },
        cooldown: '2m',
        backoff: '30s',
        maxAttempts: 2,
        timeout: '5m',
        promotion: {
          policy: 'Auto',
          verificationWindow: timings.verificationWindow,
          maxRegression: 0,
        },
        jobTemplate: {
          spec: {
            template: {
              spec: {
                containers: [trainerContainer(timings.epochs)],
              },
            },
          },
        },
      },
    },
  };
}

/** Creates an object, accepting one that already exists. */
export async function ensure(kube: KubeClient, collection: string, body: unknown): Promise<void> {
  try {
    await kube.create(collection, body);
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
}

/** Deletes the namespace if it exists, waits until it is gone, and creates it anew. */
export async function recreateNamespace(kube: KubeClient, namespace: string): Promise<void> {
  const namespacePath = `/api/v1/namespaces/${namespace}`;
  await kube.delete(namespacePath).catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
  });
  for (let attempt = 0; ; attempt++) {
    try {
      await kube.get(namespacePath);
    } catch (error) {
      if (isNotFound(error)) break;
      throw error;
    }
    if (attempt >= 240) throw new Error(`namespace ${namespace} was not deleted within 120 s`);
    await sleep(500);
  }
  await kube.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
}

/** Applies the generated CRD and waits until the apiserver serves it. */
export async function installCrd(kube: KubeClient, repoRoot: string): Promise<void> {
  const crd = parse(
    readFileSync(path.join(repoRoot, 'crds', 'modelwarden.io_modeldeployments.yaml'), 'utf8'),
  ) as {
    metadata: { name: string };
  };
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
  await kube.apply(crdPath, crd, 'modelwarden-demo');
  for (let attempt = 0; attempt < 60; attempt++) {
    const current = await kube.get<{
      status?: { conditions?: { type: string; status: string }[] };
    }>(crdPath);
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
      return;
    await sleep(500);
  }
  throw new Error(`CRD ${crd.metadata.name} did not become Established within 30 s`);
}

/** Creates 1Gi claims on the default StorageClass. */
export async function createClaims(
  kube: KubeClient,
  namespace: string,
  names: readonly string[] = [MODELS_CLAIM, FEEDBACK_CLAIM],
): Promise<void> {
  for (const name of names) {
    await ensure(
      kube,
      resourcePath({ basePath: '/api/v1', plural: 'persistentvolumeclaims' }, namespace),
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    );
  }
}

/** Starts the operator from the build, watching only `options.namespace`. */
export function startOperator(
  options: Pick<ScenarioOptions, 'repoRoot' | 'kubeconfig' | 'namespace' | 'workDir'>,
  logName = 'operator.log',
  port = 0,
): ChildProcess {
  const log = createWriteStream(path.join(options.workDir, logName), { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      path.join(options.repoRoot, 'operator', 'dist', 'main.js'),
      '--kubeconfig',
      options.kubeconfig,
      '--namespaces',
      options.namespace,
      '--no-leader-elect',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    { cwd: options.repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Stops a child with SIGTERM, then SIGKILL after 15 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function conditionOf(resource: ModelDeployment, type: string) {
  return resource.status?.conditions?.find((condition) => condition.type === type);
}

function metricValue(resource: ModelDeployment, name: string): number | undefined {
  return resource.status?.metrics?.find((metric) => metric.name === name)?.value;
}

/** Returns a metric's value only when it had enough samples for a verdict, for the chart. */
function judgedValue(resource: ModelDeployment, name: string): number | undefined {
  const metric = resource.status?.metrics?.find((item) => item.name === name);
  return metric?.state === 'Unknown' ? undefined : metric?.value;
}

/** Runs the whole story and reports what happened. Cleans up the operator and the traffic. */
export async function runCarsScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const { namespace, timings } = options;
  mkdirSync(options.workDir, { recursive: true });
  // Every line also goes to scenario.log, next to operator.log, for a look after a failure.
  const logFile = createWriteStream(path.join(options.workDir, 'scenario.log'));
  const log = (line: string): void => {
    logFile.write(`${line}\n`);
    options.log(line);
  };
  const kube = new KubeClient(loadKubeConfig(options.kubeconfig));
  const modelDir = path.join(options.workDir, 'models', 'v1');

  log('installing the ModelDeployment CRD');
  await installCrd(kube, options.repoRoot);
  await recreateNamespace(kube, namespace);
  await createClaims(kube, namespace);
  const { early, late } = loadCars(options.repoRoot);
  log(`training the first model on ${early.length} cars from 1970-1976 into ${modelDir}`);
  await trainCarsModel(options.repoRoot, modelDir, {
    version: 'v1',
    epochs: timings.epochs,
    logFile: path.join(options.workDir, 'train-v1.log'),
  });

  log('starting the operator');
  const operator = startOperator(options);
  const mdepPath = resourcePath(RESOURCES.modelDeployments, namespace, NAME);
  const traffic = new TrafficDriver({
    model: NAME,
    targets: () => servingTargets(kube, namespace),
    requestsPerSecond: timings.requestsPerSecond,
    rowsPerRequest: timings.rowsPerRequest,
    maxDurationMs: timings.deadlineMs,
  });

  const columns = printerColumns(options.repoRoot);
  const table: string[] = [];
  const milestones: Milestone[] = [];
  const samples: ChartSample[] = [];
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
  const reached = (name: Milestone['name']): boolean =>
    milestones.some((milestone) => milestone.name === name);
  const mark = (name: Milestone['name'], detail: string): void => {
    if (reached(name)) return;
    milestones.push({ name, seconds: seconds(), detail });
    log(`[${seconds().toFixed(1)}s] ${name}: ${detail}`);
  };

  let report: ScenarioReport | undefined;
  try {
    await kube.apply(mdepPath, carsDeployment(options, modelDir), 'modelwarden-demo');
    log(
      `applied ModelDeployment ${namespace}/${NAME}: MAE max ${options.maeMax} mpg, drift max ${options.driftMax}`,
    );
    traffic.use(early);
    traffic.start();

    let lastLine = '';
    let lastProbe = '';
    let healthyProbes = 0;
    let maeBefore: number | undefined;
    let driftBefore: number | undefined;
    const widths = [6, 6, 6, 10, 12, 8, 7, 6, 7, 5];
    table.push(alignRow(tableRow(columns, {}, new Date()).header, widths));
    log(table[0] ?? '');
    let resource: ModelDeployment | undefined;

    while (Date.now() - started < timings.deadlineMs) {
      await sleep(1000);
      if (operator.exitCode !== null)
        throw new Error(
          `the operator exited with ${operator.exitCode}; see ${options.workDir}/operator.log`,
        );
      resource = await kube.get<ModelDeployment>(mdepPath);
      const cells = tableRow(columns, resource, new Date()).cells;
      const line = alignRow(cells.slice(0, -1), widths);
      if (line !== lastLine) {
        lastLine = line;
        const row = alignRow(cells, widths);
        table.push(row);
        log(row);
      }

      const probeTime = resource.status?.lastProbeTime ?? '';
      const degraded = conditionOf(resource, 'Degraded');
      const retraining = conditionOf(resource, 'Retraining');
      if (probeTime !== lastProbe) {
        lastProbe = probeTime;
        const p99 = judgedValue(resource, 'latencyP99');
        samples.push({
          seconds: seconds(),
          mae: judgedValue(resource, 'mae'),
          drift: judgedValue(resource, 'drift'),
          p99Ms: p99 === undefined ? undefined : p99 * 1000,
        });
        if (!reached('TrafficShifted') && degraded?.status === 'False') healthyProbes += 1;
      }
      if (conditionOf(resource, 'Available')?.status === 'True')
        mark('Available', `${resource.status?.readyReplicas ?? 0} pods ready`);

      if (!reached('TrafficShifted') && healthyProbes >= timings.healthyProbes) {
        maeBefore = metricValue(resource, 'mae');
        driftBefore = metricValue(resource, 'drift');
        traffic.use(late);
        mark('TrafficShifted', `now sending ${late.length} cars from 1977-1982`);
      }
      if (reached('TrafficShifted') && degraded?.status === 'True')
        mark('Degraded', degraded.message);
      if (retraining?.reason === 'RetrainingJobRunning') {
        mark('RetrainingStarted', retraining.message);
      }
      const active = resource.status?.activeModel;
      if (active?.source === 'Promotion')
        mark('Promoted', `serving ${active.version ?? active.uri}`);
      if (reached('Promoted') && degraded?.status === 'False') mark('Recovered', degraded.message);
      if (reached('Promoted') && retraining?.reason === 'ModelVerified')
        mark('Verified', retraining.message);
      if (reached('Recovered') && reached('Verified')) break;
      if (
        retraining?.reason === 'ModelRolledBack' ||
        retraining?.reason === 'RetrainingMaxAttempts'
      ) {
        log(`retraining did not succeed: ${retraining.message}`);
        break;
      }
    }

    const expected: Milestone['name'][] = [
      'Available',
      'TrafficShifted',
      'Degraded',
      'RetrainingStarted',
      'Promoted',
      'Recovered',
      'Verified',
    ];
    const missing: string[] = expected.filter((name) => !reached(name));
    const maeAfter = resource ? metricValue(resource, 'mae') : undefined;
    if (maeAfter === undefined || maeAfter >= options.maeMax)
      missing.push(`MAE under ${options.maeMax} after retraining`);
    report = {
      ok: missing.length === 0,
      missing,
      milestones,
      samples,
      table,
      maeBefore,
      maeAfter,
      driftBefore,
      driftAfter: resource ? metricValue(resource, 'drift') : undefined,
      promotedVersion:
        resource?.status?.activeModel?.source === 'Promotion'
          ? resource.status.activeModel.version
          : undefined,
      jobName: resource?.status?.retraining?.lastJobName,
      traffic: { ...traffic.stats },
      durationSeconds: seconds(),
    };
    return report;
  } finally {
    await traffic.stop();
    await stopProcess(operator);
    logFile.end();
  }
}

/** Chart markers for the milestones after the start. */
export function chartMarkers(milestones: readonly Milestone[]): ChartMarker[] {
  const labels: Partial<Record<Milestone['name'], string>> = {
    TrafficShifted: '1977-82 cars',
    Degraded: 'Degraded',
    RetrainingStarted: 'retrain Job',
    Promoted: 'promoted',
    Recovered: 'recovered',
  };
  return milestones.flatMap((milestone) => {
    const label = labels[milestone.name];
    return label ? [{ seconds: milestone.seconds, label }] : [];
  });
}
