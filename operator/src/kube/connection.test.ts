import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ConnectionCache } from './connection.ts';

const base64 = (text: string) => Buffer.from(text).toString('base64');

function kubeConfig(user: Record<string, string>): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: base64('ca') }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

describe('ConnectionCache', () => {
  it('reuses one dispatcher across requests', async () => {
    const cache = new ConnectionCache(
      kubeConfig({ certData: base64('cert'), keyData: base64('key') }),
    );
    const first = await cache.get();
    const second = await cache.get();
    expect(first.dispatcher).toBeDefined();
    expect(second.dispatcher).toBe(first.dispatcher);
  });

  it('builds a new dispatcher when the client certificate changes', async () => {
    const config = kubeConfig({ certData: base64('cert'), keyData: base64('key') });
    const cache = new ConnectionCache(config);
    const first = await cache.get();
    const user = config.getCurrentUser();
    if (!user) throw new Error('no current user');
    (user as { certData?: string }).certData = base64('rotated');
    const second = await cache.get();
    expect(second.dispatcher).not.toBe(first.dispatcher);
  });

  it('sends a bearer token', async () => {
    const { headers } = await new ConnectionCache(kubeConfig({ token: 'secret' })).get();
    expect(headers.authorization).toBe('Bearer secret');
  });

  it('sends basic credentials', async () => {
    const cache = new ConnectionCache(kubeConfig({ username: 'admin', password: 'pw' }));
    const { headers } = await cache.get();
    expect(headers.authorization).toBe(`Basic ${base64('admin:pw')}`);
  });
});
