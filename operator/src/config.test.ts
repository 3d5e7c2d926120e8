import { describe, expect, it } from 'vitest';
import { buildCommand, parseConfig } from './config.ts';

function parse(argv: string[]) {
  const command = buildCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  return parseConfig(argv, command);
}

describe('parseConfig', () => {
  it('applies defaults', () => {
    const config = parse([]);
    expect(config.namespaces).toEqual([]);
    expect(config.leaderElection.enabled).toBe(true);
    expect(config.leaderElection.leaseDurationMs).toBe(15_000);
    expect(config.http.port).toBe(8081);
    expect(config.images.default).toBe('modelwarden/model-server:0.1.0');
  });

  it('parses lists, durations and format images', () => {
    const config = parse([
      '--namespaces=a, b',
      '--no-leader-elect',
      '--lease-duration=30s',
      '--format-image',
      'tfjs-layers=registry.local/ms:2',
    ]);
    expect(config.namespaces).toEqual(['a', 'b']);
    expect(config.leaderElection.enabled).toBe(false);
    expect(config.leaderElection.leaseDurationMs).toBe(30_000);
    expect(config.images.byFormat).toEqual({ 'tfjs-layers': 'registry.local/ms:2' });
  });

  it.each([
    [['--lease-duration=soon'], /--lease-duration: invalid duration "soon"/],
    [['--concurrency=0'], /--concurrency must be an integer from 1 to 64/],
    [['--port=70000'], /--port must be an integer/],
    [['--log-level=loud'], /Allowed choices are fatal, error/],
    [['--format-image=oops'], /--format-image expects FORMAT=IMAGE/],
    [['--renew-deadline=20s'], /--retry-period < --renew-deadline < --lease-duration/],
  ])('rejects %j', (argv, message) => {
    expect(() => parse(argv)).toThrow(message);
  });
});
