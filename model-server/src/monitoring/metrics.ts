// Every Prometheus metric the server exports, on one registry. docs/model-server.md describes
// each series; the operator depends on the names marked there as its contract.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DriftSnapshot } from './drift.ts';
import { FastHistogram, type HistogramSeries } from './fast-histogram.ts';
import type { FeedbackStats } from './feedback-window.ts';

export const METRIC_PREFIX = 'modelwarden_';

type RequestLabels = Record<'route' | 'method' | 'status_code', string>;

/** Request latency buckets in seconds, fine below a millisecond where batched predictions land. */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/** The live values behind gauges that are computed when Prometheus scrapes. */
export interface MonitoringSnapshotSource {
  drift(): DriftSnapshot | undefined;
  feedbackWindow(): FeedbackStats | undefined;
  queuedRows(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'status_code'>;
  readonly httpRequestDuration: FastHistogram;
  readonly errors: Counter<'code'>;
  readonly inferenceDuration: HistogramSeries;
  readonly batchSize: HistogramSeries;
  readonly queueWait: HistogramSeries;
  readonly inferenceRows: Counter;
  readonly feedbackSamples: Counter;
  readonly feedbackAbsoluteError: Counter;
  readonly feedbackSquaredError: Counter;
  readonly feedbackRejected: Counter<'reason'>;
  readonly modelInfo: Gauge<'name' | 'version' | 'backend'>;
  readonly modelLoads: Counter<'result'>;
  readonly captureRows: Counter;
  readonly captureBytes: Counter;
  readonly captureDroppedRows: Counter;
  readonly captureErrors: Counter;
  readonly captureFilesDeleted: Counter<'reason'>;
  readonly captureDirectoryBytes: Gauge;
  private predictionValue: HistogramSeries | undefined;
  private predictionBuckets = '';
  private source: MonitoringSnapshotSource | undefined;
  /** Requests in flight, read at scrape time because the count changes twice per request. */
  private inFlight = 0;
  /** Requests completed since the last scrape, by label set. The counter adds them when scraped. */
  private readonly pendingRequests = new Map<string, { labels: RequestLabels; count: number }>();
  private readonly durationSeries = new Map<string, HistogramSeries>();

  constructor() {
    const registers = [this.registry];
    const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });

    const pendingRequests = this.pendingRequests;
    this.httpRequests = new Counter({
      name: name('http_requests_total'),
      help: 'HTTP requests answered, by route template, method and status code',
      labelNames: ['route', 'method', 'status_code'],
      registers,
      collect() {
        for (const pending of pendingRequests.values()) {
          if (pending.count === 0) continue;
          this.inc(pending.labels, pending.count);
          pending.count = 0;
        }
      },
    });
    this.httpRequestDuration = new FastHistogram({
      name: name('http_request_duration_seconds'),
      help: 'Time from receiving a request to sending its response, by route template',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const inFlight = () => this.inFlight;
    new Gauge({
      name: name('http_requests_in_flight'),
      help: 'HTTP requests received and not yet answered',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    this.errors = new Counter({
      name: name('errors_total'),
      help: 'Errors answered to clients or raised in the background, by error code',
      labelNames: ['code'],
      registers,
    });
    this.inferenceDuration = new FastHistogram({
      name: name('inference_duration_seconds'),
      help: 'Time one batch spends in the model, including normalisation',
      buckets: LATENCY_BUCKETS,
      registers,
    }).labels();
    this.batchSize = new FastHistogram({
      name: name('inference_batch_size_rows'),
      help: 'Rows per batch sent to the model',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }).labels();
    this.queueWait = new FastHistogram({
      name: name('inference_queue_wait_seconds'),
      help: 'Time a request waits in the batching queue before its batch starts',
      buckets: LATENCY_BUCKETS,
      registers,
    }).labels();
    this.inferenceRows = new Counter({
      name: name('inference_rows_total'),
      help: 'Rows predicted',
      registers,
    });
    const source = () => this.source;
    new Gauge({
      name: name('inference_queue_rows'),
      help: 'Rows waiting in the batching queue',
      registers,
      collect() {
        this.set(source()?.queuedRows() ?? 0);
      },
    });

    this.feedbackSamples = new Counter({
      name: name('feedback_samples_total'),
      help: 'Labelled predictions received as feedback',
      registers,
    });
    this.feedbackAbsoluteError = new Counter({
      name: name('feedback_absolute_error_total'),
      help: 'Sum of |prediction - label| over feedback samples, in label units',
      registers,
    });
    this.feedbackSquaredError = new Counter({
      name: name('feedback_squared_error_total'),
      help: 'Sum of (prediction - label)^2 over feedback samples, in squared label units',
      registers,
    });
    this.feedbackRejected = new Counter({
      name: name('feedback_rejected_total'),
      help: 'Feedback labels not counted, by reason (unknown_id, duplicate)',
      labelNames: ['reason'],
      registers,
    });
    this.registerWindowGauges(registers);

    this.modelInfo = new Gauge({
      name: name('model_info'),
      help: 'Always 1; the labels name the served model, its version and the TF.js backend',
      labelNames: ['name', 'version', 'backend'],
      registers,
    });
    this.modelLoads = new Counter({
      name: name('model_loads_total'),
      help: 'Model load attempts (start, SIGHUP, admin reload), by result (success, failure)',
      labelNames: ['result'],
      registers,
    });

    this.captureRows = new Counter({
      name: name('capture_rows_total'),
      help: 'Feedback rows written to the capture directory',
      registers,
    });
    this.captureBytes = new Counter({
      name: name('capture_bytes_total'),
      help: 'Bytes written to the capture directory',
      registers,
    });
    this.captureDroppedRows = new Counter({
      name: name('capture_dropped_rows_total'),
      help: 'Feedback rows not captured because writes to disk fell behind',
      registers,
    });
    this.captureErrors = new Counter({
      name: name('capture_errors_total'),
      help: 'Failed capture writes or clean-ups',
      registers,
    });
    this.captureFilesDeleted = new Counter({
      name: name('capture_files_deleted_total'),
      help: 'Capture files deleted to keep the directory within its bounds, by reason (size, age)',
      labelNames: ['reason'],
      registers,
    });
    this.captureDirectoryBytes = new Gauge({
      name: name('capture_directory_bytes'),
      help: 'Bytes of capture files in the capture directory (size at the last clean-up plus bytes written since)',
      registers,
    });
  }

  private registerWindowGauges(registers: Registry[]): void {
    const source = () => this.source;
    const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;
    // An empty window has no error: the series carries no value rather than a perfect 0.
    const windowError = (
      suffix: string,
      help: string,
      pick: (stats: FeedbackStats) => number | null,
    ) =>
      new Gauge({
        name: name(suffix),
        help,
        registers,
        collect() {
          const stats = source()?.feedbackWindow();
          const value = stats === undefined ? null : pick(stats);
          if (value === null) this.remove();
          else this.set(value);
        },
      });
    windowError(
      'feedback_window_mae',
      'Mean absolute error over the feedback window of the served model version; absent while the window is empty',
      (stats) => stats.mae,
    );
    windowError(
      'feedback_window_rmse',
      'Root mean squared error over the feedback window of the served model version; absent while the window is empty',
      (stats) => stats.rmse,
    );
    new Gauge({
      name: name('feedback_window_samples'),
      help: 'Labelled predictions in the feedback window behind the MAE and RMSE gauges',
      registers,
      collect() {
        this.set(source()?.feedbackWindow()?.samples ?? 0);
      },
    });
    new Gauge({
      name: name('drift_psi'),
      help: 'Population stability index of each feature over the drift window against the training baseline',
      labelNames: ['feature'],
      registers,
      collect() {
        this.reset();
        const snapshot = source()?.drift();
        if (snapshot === undefined || snapshot.samples === 0) return;
        for (const { feature, value } of snapshot.psi) this.set({ feature }, value);
      },
    });
    new Gauge({
      name: name('drift_window_samples'),
      help: 'Input rows in the drift window behind the PSI values',
      registers,
      collect() {
        this.set(source()?.drift()?.samples ?? 0);
      },
    });
  }

  setSnapshotSource(source: MonitoringSnapshotSource): void {
    this.source = source;
  }

  requestStarted(): void {
    this.inFlight += 1;
  }

  requestSettled(): void {
    this.inFlight -= 1;
  }

  /** Counts one completed request. It runs per request, so it only adds to cached entries. */
  observeRequest(route: string, method: string, statusCode: number, seconds: number): void {
    const key = `${route}\u0000${method}\u0000${statusCode}`;
    let pending = this.pendingRequests.get(key);
    if (pending === undefined) {
      pending = { labels: { route, method, status_code: String(statusCode) }, count: 0 };
      this.pendingRequests.set(key, pending);
    }
    pending.count += 1;
    let series = this.durationSeries.get(route);
    if (series === undefined) {
      series = this.httpRequestDuration.labels(route);
      this.durationSeries.set(route, series);
    }
    series.observe(seconds);
  }

  /**
   * Sets the buckets of the prediction histogram, which follow the label's training quantiles.
   * A model with other buckets replaces the series, which Prometheus sees as a counter reset.
   */
  usePredictionBuckets(edges: readonly number[]): void {
    const buckets = edges.length > 0 ? [...edges] : [0];
    const key = buckets.join(',');
    if (key === this.predictionBuckets) return;
    const metricName = `${METRIC_PREFIX}prediction_value`;
    this.registry.removeSingleMetric(metricName);
    this.predictionValue = new FastHistogram({
      name: metricName,
      help: 'Predicted values in label units; buckets are the training label quantiles',
      buckets,
      registers: [this.registry],
    }).labels();
    this.predictionBuckets = key;
  }

  observePredictions(values: Float32Array): void {
    this.predictionValue?.observeAll(values);
  }

  setModelInfo(name: string, version: string, backend: string): void {
    this.modelInfo.reset();
    this.modelInfo.set({ name, version, backend }, 1);
  }
}
