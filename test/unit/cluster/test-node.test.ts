// Pure parts of the test node: `$(VAR)` expansion, image names, addresses, back-off, quantities.
import { describe, expect, test } from 'vitest';
import { defaultPodCidr } from '../../cluster/config.ts';
import { CrashBackoff } from '../../cluster/node/backoff.ts';
import { expandReferences } from '../../cluster/node/env.ts';
import { imageName } from '../../cluster/node/images.ts';
import { IpPool } from '../../cluster/node/ip-pool.ts';
import { parseQuantity } from '../../cluster/node/quantity.ts';

describe('expandReferences', () => {
  const vars: Record<string, string> = { NAME: 'pod-a', EMPTY: '' };
  const lookup = (name: string) => vars[name];

  test.each([
    ['$(NAME)', 'pod-a'],
    ['x-$(NAME)-y', 'x-pod-a-y'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(NAME)', '$(NAME)'],
    ['$$', '$'],
    ['$(EMPTY)!', '!'],
    ['cost $5', 'cost $5'],
    ['$(NAME', '$(NAME'],
    ['trailing $', 'trailing $'],
  ])('expands %j to %j', (input, expected) => {
    expect(expandReferences(input, lookup)).toBe(expected);
  });
});

describe('imageName', () => {
  test.each([
    ['modelwarden/model-server', 'modelwarden/model-server'],
    ['modelwarden/model-server:0.1.0', 'modelwarden/model-server'],
    ['modelwarden/model-server@sha256:abc', 'modelwarden/model-server'],
    ['docker.io/library/busybox:1.36', 'busybox'],
    ['localhost:5000/team/app:v2', 'localhost:5000/team/app'],
  ])('reduces %j to %j', (image, expected) => {
    expect(imageName(image)).toBe(expected);
  });
});

describe('IpPool', () => {
  test('starts at .2 and skips .0 and .255', () => {
    const pool = new IpPool('127.0.0.0/16');
    const first = Array.from({ length: 254 }, () => pool.allocate());
    expect(first[0]).toBe('127.0.0.2');
    expect(first).not.toContain('127.0.0.255');
    expect(first).not.toContain('127.0.1.0');
    expect(first.at(-1)).toBe('127.0.1.1');
  });

  test('reuses a released address only after the others', () => {
    const pool = new IpPool('127.0.0.0/29');
    const a = pool.allocate();
    pool.allocate();
    pool.release(a);
    expect(pool.allocate()).toBe('127.0.0.4');
  });

  test('rejects a range outside loopback', () => {
    expect(() => new IpPool('10.0.0.0/16')).toThrow(/outside 127.0.0.0\/8/);
  });

  test('reserves an adopted address', () => {
    const pool = new IpPool('127.0.0.0/16');
    expect(pool.reserve('127.0.0.2')).toBe(true);
    expect(pool.reserve('127.0.0.2')).toBe(false);
    expect(pool.allocate()).toBe('127.0.0.3');
  });
});

describe('defaultPodCidr', () => {
  test.each([
    [16400, '127.0.0.0/16'],
    [17400, '127.10.0.0/16'],
    [16350, '127.254.0.0/16'],
  ])('port base %i gets %s', (base, cidr) => {
    expect(defaultPodCidr(base)).toBe(cidr);
  });
});

describe('CrashBackoff', () => {
  test('restarts at once, then waits 10s, 20s, 40s up to the cap', () => {
    const backoff = new CrashBackoff(10_000, 40_000);
    let now = 0;
    const waits: number[] = [];
    for (let crash = 0; crash < 5; crash++) {
      const exitedAt = now;
      const { startAt } = backoff.nextStart(exitedAt, now);
      waits.push(startAt - exitedAt);
      now = startAt;
      backoff.nextStart(exitedAt, now);
      now += 1000;
    }
    expect(waits).toEqual([0, 10_000, 20_000, 40_000, 40_000]);
  });

  test('starts over after running longer than twice the cap', () => {
    const backoff = new CrashBackoff(10_000, 40_000);
    backoff.nextStart(0, 0);
    expect(backoff.nextStart(1000, 1000).startAt).toBe(11_000);
    expect(backoff.nextStart(200_000, 200_000).startAt).toBe(200_000);
  });
});

describe('parseQuantity', () => {
  test.each([
    ['500m', 0.5],
    ['2', 2],
    ['1Gi', 2 ** 30],
    ['128Mi', 128 * 2 ** 20],
    ['1k', 1000],
    ['1e3', 1000],
    ['1.5', 1.5],
  ])('parses %s', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value);
  });

  test('rejects text that is no quantity', () => {
    expect(() => parseQuantity('lots')).toThrow(/invalid resource quantity "lots"/);
  });
});
