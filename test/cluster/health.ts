// Health checks of the control-plane components over loopback HTTP(S).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyPair } from './pki.ts';

export interface HealthTarget {
  url: string;
  /** CA that signed the server certificate; unused for an http:// URL. */
  caFile?: string;
  client?: KeyPair;
}

/** Result of one check: `ok` on status 200, with the body to show when it is not. */
export interface HealthResult {
  ok: boolean;
  detail: string;
}

/** Requests `target.url` once, with a short timeout. */
export function checkHealth(target: HealthTarget, timeoutMs = 2000): Promise<HealthResult> {
  return new Promise((resolve) => {
    const url = new URL(target.url);
    const options: https.RequestOptions = { method: 'GET', timeout: timeoutMs };
    if (url.protocol === 'https:') {
      options.ca = target.caFile ? readFileSync(target.caFile) : undefined;
      options.cert = target.client ? readFileSync(target.client.cert) : undefined;
      options.key = target.client ? readFileSync(target.client.key) : undefined;
    }
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(url, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        resolve({
          ok: response.statusCode === 200,
          detail: `${response.statusCode} ${body.trim()}`,
        });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ ok: false, detail: error.message }));
    request.end();
  });
}

/**
 * Polls `check` until it returns true. Fails after `timeoutMs`, or as soon as `stillRunning`
 * returns false, with `describe` naming what was awaited.
 */
export async function waitUntil(
  describe: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; stillRunning?: () => boolean; onFailure?: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) {
      return;
    }
    if (options.stillRunning && !options.stillRunning()) {
      throw new Error(`${describe}: the process exited. ${options.onFailure?.() ?? ''}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${describe}: timed out after ${options.timeoutMs} ms. ${options.onFailure?.() ?? ''}`,
      );
    }
    await sleep(250);
  }
}
