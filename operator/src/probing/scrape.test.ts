import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isReadyPod, scrape, scrapeTargets } from './scrape.ts';

function pod(name: string, ip: string | undefined, ready: boolean, deleting = false): V1Pod {
  return {
    metadata: { name, uid: `${name}-uid`, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status: {
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

describe('scrapeTargets', () => {
  it('lists Ready pods with an IP, sorted by name', () => {
    const targets = scrapeTargets(
      [
        pod('b', '127.0.0.3', true),
        pod('a', '127.0.0.2', true),
        pod('c', '127.0.0.4', false),
        pod('d', undefined, true),
        pod('e', '127.0.0.5', true, true),
      ],
      8080,
    );
    expect(targets).toEqual([
      { pod: 'a', uid: 'a-uid', url: 'http://127.0.0.2:8080/metrics' },
      { pod: 'b', uid: 'b-uid', url: 'http://127.0.0.3:8080/metrics' },
    ]);
  });

  it('brackets IPv6 addresses', () => {
    expect(scrapeTargets([pod('a', '::1', true)], 80)[0]?.url).toBe('http://[::1]:80/metrics');
  });

  it('treats a pod without conditions as not ready', () => {
    expect(isReadyPod({ metadata: { name: 'x' }, status: { podIP: '127.0.0.2' } })).toBe(false);
  });
});

describe('scrape', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/slow/metrics') return void setTimeout(() => response.end('m 1'), 2_000);
      if (request.url === '/broken/metrics') return void response.writeHead(500).end('boom');
      if (request.url === '/garbage/metrics') return void response.end('m{ 1');
      response.end('modelwarden_feedback_samples_total 7\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const target = (path: string) => ({ pod: 'p', uid: 'u', url: `${base}${path}/metrics` });

  it('returns the reading', async () => {
    const outcome = await scrape(target(''), 1_000);
    expect(outcome.error).toBeUndefined();
    expect(outcome.reading?.feedbackSamples).toBe(7);
  });

  it.each([
    ['/slow', /timed out after 100 ms/],
    ['/broken', /returned HTTP 500/],
    ['/garbage', /invalid Prometheus text format/],
  ])('returns an error for %s', async (path, message) => {
    const outcome = await scrape(target(path), 100);
    expect(outcome.reading).toBeUndefined();
    expect(outcome.error).toMatch(message);
  });

  it('returns an error for a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await scrape(
      { pod: 'p', uid: 'u', url: `http://127.0.0.1:${port}/metrics` },
      1_000,
    );
    expect(outcome.error).toMatch(/failed: fetch failed: .*ECONNREFUSED/);
  });
});
