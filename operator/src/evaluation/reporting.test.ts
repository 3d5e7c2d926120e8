import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { healthMetrics } from './health-metrics.ts';
import { notifyWebhook, type WebhookPayload } from './webhook.ts';

const payload: WebhookPayload = {
  apiVersion: 'modelwarden.io/v1alpha1',
  kind: 'ModelDeploymentTransition',
  namespace: 'ml',
  name: 'cars',
  time: '2025-01-01T00:00:00.000Z',
  degraded: 'True',
  transitions: [
    {
      subject: 'Degraded',
      from: 'False',
      to: 'True',
      reason: 'ThresholdBreached',
      message: 'mae 4 above max 3',
    },
  ],
};
const silent = pino({ level: 'silent' });

describe('healthMetrics', () => {
  it('exports values, thresholds and the Degraded state', async () => {
    const registry = new Registry();
    healthMetrics(registry).observe(
      'ml',
      'cars',
      [{ name: 'mae', value: 4.5, max: 3, state: 'Breached' }],
      'Unknown',
      2,
    );
    const text = await registry.metrics();
    expect(text).toContain(
      'modelwarden_operator_model_metric_value{namespace="ml",name="cars",metric="mae"} 4.5',
    );
    expect(text).toContain(
      'modelwarden_operator_model_metric_threshold{namespace="ml",name="cars",metric="mae",bound="max"} 3',
    );
    expect(text).toContain(
      'modelwarden_operator_model_metric_breached{namespace="ml",name="cars",metric="mae"} 1',
    );
    expect(text).toContain('modelwarden_operator_model_degraded{namespace="ml",name="cars"} -1');
    expect(text).toContain(
      'modelwarden_operator_model_probe_consecutive_errors{namespace="ml",name="cars"} 2',
    );
  });

  it('forgets a deleted ModelDeployment', async () => {
    const registry = new Registry();
    const metrics = healthMetrics(registry);
    metrics.observe(
      'ml',
      'cars',
      [{ name: 'mae', value: 1, max: 3, state: 'Healthy' }],
      'False',
      0,
    );
    metrics.retrainingJobs.inc({ namespace: 'ml', name: 'cars', outcome: 'started' });
    metrics.forget('ml', 'cars');
    expect(await registry.metrics()).not.toContain('name="cars"');
  });

  it('returns one set of metrics per registry', () => {
    const registry = new Registry();
    expect(healthMetrics(registry)).toBe(healthMetrics(registry));
  });
});

describe('notifyWebhook', () => {
  it('posts the payload as JSON', async () => {
    const bodies: unknown[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        bodies.push({ type: request.headers['content-type'], body: JSON.parse(body) });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    expect(await notifyWebhook(url, payload, 1000, silent)).toBe(true);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    expect(bodies).toEqual([{ type: 'application/json', body: payload }]);
  });

  it('returns false when the receiver is down', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    await new Promise((resolve) => server.close(resolve));
    expect(await notifyWebhook(url, payload, 1000, silent)).toBe(false);
  });
});
