// Prediction traffic with ground-truth feedback, sent straight to the serving pods' loopback
// addresses. Every request is bounded by a timeout and the loop by a maximum duration.
import { featuresOf, LABEL, type Car } from './cars.ts';

/** Routes of the model server's TF-Serving-style REST API. */
export const ROUTES = {
  predict: (model: string) => `/v1/models/${model}:predict`,
  feedback: (model: string) => `/v1/models/${model}/feedback`,
};

export interface TrafficOptions {
  model: string;
  /**
   * Base URLs (`http://podIP:port`) of the serving pods whose Ready condition is True and that
   * are not terminating, looked up every `refreshMs` and after a failed request.
   */
  targets: () => Promise<string[]>;
  /** Time between two target look-ups, default 500 ms, well inside the pods' shutdown delay. */
  refreshMs?: number;
  requestsPerSecond: number;
  rowsPerRequest: number;
  /** Maximum run time of the loop; it stops then even without stop(). */
  maxDurationMs: number;
  timeoutMs?: number;
}

export interface TrafficStats {
  predictions: number;
  feedbackRows: number;
  failures: number;
  lastError: string | undefined;
}

/** Sends predictions of the current car list, each followed by its ground truth as feedback. */
export class TrafficDriver {
  readonly stats: TrafficStats = {
    predictions: 0,
    feedbackRows: 0,
    failures: 0,
    lastError: undefined,
  };
  private readonly options: TrafficOptions;
  private cars: readonly Car[] = [];
  private cursor = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(options: TrafficOptions) {
    this.options = options;
  }

  /** Switches the rows sent from now on. */
  use(cars: readonly Car[]): void {
    this.cars = cars;
    this.cursor = 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const started = Date.now();
    const gapMs = 1000 / this.options.requestsPerSecond;
    const refreshMs = this.options.refreshMs ?? 500;
    let targets: string[] = [];
    let refreshed = 0;
    let turn = 0;
    while (this.running && Date.now() - started < this.options.maxDurationMs) {
      const tick = Date.now();
      if (tick - refreshed >= refreshMs || targets.length === 0) {
        targets = await this.options.targets().catch(() => []);
        refreshed = tick;
      }
      const target = targets[turn++ % Math.max(1, targets.length)];
      if (target && this.cars.length > 0 && !(await this.send(target, this.nextBatch()))) {
        // A failed request often means a pod that a rollout is replacing: look the pods up again.
        refreshed = 0;
      }
      await sleep(Math.max(0, gapMs - (Date.now() - tick)));
    }
    this.running = false;
  }

  private nextBatch(): Car[] {
    const batch: Car[] = [];
    for (let index = 0; index < this.options.rowsPerRequest; index++) {
      batch.push(this.cars[this.cursor % this.cars.length] as Car);
      // A stride coprime with most list lengths visits the cars in a mixed order.
      this.cursor += 7;
    }
    return batch;
  }

  /** Sends one prediction and its feedback; returns false when a request failed. */
  private async send(base: string, batch: Car[]): Promise<boolean> {
    const { model } = this.options;
    try {
      const response = (await this.post(`${base}${ROUTES.predict(model)}`, {
        instances: batch.map(featuresOf),
      })) as { prediction_ids?: string[] };
      this.stats.predictions += batch.length;
      const ids = response.prediction_ids ?? [];
      if (ids.length !== batch.length) {
        throw new Error(
          `${ROUTES.predict(model)} returned ${ids.length} prediction ids for ${batch.length} rows`,
        );
      }
      // Ground truth arrives by prediction id, as it would from a downstream system.
      const labels = batch.map((car, index) => ({ id: ids[index], label: car[LABEL] }));
      await this.post(`${base}${ROUTES.feedback(model)}`, { labels });
      this.stats.feedbackRows += batch.length;
      return true;
    } catch (error) {
      this.stats.failures += 1;
      const cause =
        error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      this.stats.lastError = error instanceof Error ? `${error.message}${cause}` : String(error);
      return false;
    }
  }

  private async post(url: string, body: unknown): Promise<unknown> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`POST ${url} returned HTTP ${response.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as unknown;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
