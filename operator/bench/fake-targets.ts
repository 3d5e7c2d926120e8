// Fake scrape targets for the probe-loop benchmark: one process that serves the model server's
// /metrics text on many loopback addresses, one per pretend pod. The text comes from the model
// server's own ServerMetrics registry, fed with simulated traffic every second, so its size,
// series and label sets match a real pod's and the counters grow between scrapes.
//
//   node operator/bench/fake-targets.ts --count 1000 --network 127.201 --port 8080
//
// Prints `listening COUNT` on stdout once every address accepts connections.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { ServerMetrics } from '../../model-server/src/monitoring/metrics.ts';
import { targetAddress, TARGET_OPTIONS } from './objects.ts';

const FEATURES = ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'];
const PREDICT_ROUTES = ['/v1/models/:name:predict', '/v2/models/:name/infer'];

/** Records one simulated second of traffic: predictions on both routes, a few 5xx, some feedback. */
function simulateTraffic(metrics: ServerMetrics, second: number): void {
  for (let i = 0; i < 40; i++) {
    const route = PREDICT_ROUTES[i % 2] ?? PREDICT_ROUTES[0];
    const status = i === 0 && second % 10 === 0 ? 503 : 200;
    metrics.observeRequest(route ?? '', 'POST', status, 0.0004 + ((i * 7919) % 100) / 20_000);
  }
  metrics.observeRequest('/v1/models/:name/feedback', 'POST', 200, 0.0003);
  metrics.observeRequest('/v2/health/ready', 'GET', 200, 0.0001);
  metrics.feedbackSamples.inc(5);
  metrics.feedbackAbsoluteError.inc(5 * 2.4);
  metrics.feedbackSquaredError.inc(5 * 9.1);
  metrics.inferenceRows.inc(40);
  metrics.observePredictions(Float32Array.from({ length: 40 }, (_, i) => 10 + i * 0.7));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: TARGET_OPTIONS,
  });
  const count = Number(values.count);
  const port = Number(values.port);
  if (!Number.isInteger(count) || count < 1 || count > 250 * 256) {
    throw new Error(`--count ${values.count} is invalid: give an integer from 1 to 64000`);
  }
  if (!/^127\.\d{1,3}$/.test(values.network)) {
    throw new Error(
      `--network ${values.network} is invalid: give the first two octets, e.g. 127.201`,
    );
  }

  const metrics = new ServerMetrics();
  metrics.setModelInfo('cars', 'v1', 'wasm');
  metrics.usePredictionBuckets([12, 15, 18, 21, 24, 27, 30, 34, 38]);
  metrics.setSnapshotSource({
    drift: () => ({
      psi: FEATURES.map((feature, i) => ({ feature, value: 0.02 * i })),
      samples: 500,
    }),
    feedbackWindow: () => ({ samples: 500, mae: 2.4, rmse: 3.0 }),
    queuedRows: () => 0,
  });
  let second = 0;
  simulateTraffic(metrics, second);
  // Rendering once a second keeps this process light; the counters change once a second anyway.
  let text = await metrics.registry.metrics();
  const timer = setInterval(() => {
    second += 1;
    simulateTraffic(metrics, second);
    void metrics.registry.metrics().then((rendered) => (text = rendered));
  }, 1000);

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
  };
  const servers = await Promise.all(
    Array.from({ length: count }, (_, index) => {
      const server = createServer(handle);
      return new Promise<typeof server>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, targetAddress(values.network, index), () => resolve(server));
      });
    }),
  );
  console.log(`listening ${servers.length}`);

  const stop = () => {
    clearInterval(timer);
    for (const server of servers) server.close();
    for (const server of servers) server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(`fake-targets failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
