import { describe, expect, it } from 'vitest';
import type { MonitoringSpec } from '../api/monitoring.ts';
import { monitoringTimes } from './run.ts';

const base: MonitoringSpec = {
  interval: '30s',
  window: '5m',
  minSamples: 20,
  failureThreshold: 3,
  successThreshold: 2,
  maxProbeErrors: 3,
  metrics: [],
};

describe('monitoringTimes', () => {
  it('uses 5s as the scrape timeout under a longer interval', () => {
    expect(monitoringTimes(base).timeoutMs).toBe(5000);
  });

  it('caps the default scrape timeout at a shorter interval', () => {
    expect(monitoringTimes({ ...base, interval: '2s', window: '10s' }).timeoutMs).toBe(2000);
  });

  it('keeps a scrape timeout that is set', () => {
    expect(monitoringTimes({ ...base, interval: '2s', scrapeTimeout: '1s' }).timeoutMs).toBe(1000);
  });
});
