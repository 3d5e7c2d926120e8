// The operator's informer against the real apiserver: it resumes watches from the last
// resourceVersion without relisting, relists after 410 Gone, and backs off after errors.
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourcePath, type KubeObject } from '../../operator/src/kube/client.ts';
import { Informer, type InformerEvent } from '../../operator/src/kube/informer.ts';
import { loadClusterConfig } from '../cluster/config.ts';
import { apiClient } from './operator-harness.ts';
import { createNamespace, deleteNamespace, waitFor } from './support/index.ts';

const CONFIG_MAPS = { basePath: '/api/v1', plural: 'configmaps' };
const log = pino({ level: 'silent' });
let namespace = '';
const informers: Informer<KubeObject>[] = [];

interface Seen {
  event: InformerEvent;
  name: string;
}

function startInformer(options: {
  resumeFrom?: string;
  watchTimeoutSeconds?: number;
  indexKey?: (object: KubeObject) => string | undefined;
}) {
  const seen: Seen[] = [];
  const restarts: string[] = [];
  const informer = new Informer<KubeObject>({
    client: apiClient(),
    type: CONFIG_MAPS,
    namespace,
    labelSelector: 'informer-test=yes',
    log,
    onEvent: (event, object) => seen.push({ event, name: object.metadata?.name ?? '' }),
    onRestart: (cause) => restarts.push(cause),
    minBackoffMs: 100,
    ...options,
  });
  informers.push(informer);
  informer.start();
  return { informer, seen, restarts };
}

async function createConfigMap(
  name: string,
  value: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await apiClient().create(resourcePath(CONFIG_MAPS, namespace), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { 'informer-test': 'yes', ...labels } },
    data: { value },
  });
}

const indexedNames = (informer: Informer<KubeObject>, key: string) =>
  informer
    .indexed(key)
    .map((object) => object.metadata?.name)
    .sort();

/**
 * Compacts etcd up to its current revision, as the apiserver does every 5 minutes, so that a
 * watch from an older resourceVersion fails with 410 Gone. The local cluster serves ConfigMap
 * watches from etcd (see test/cluster/daemons.ts).
 */
async function compactEtcd(): Promise<void> {
  const { host, ports } = loadClusterConfig();
  const base = `http://${host}:${ports.etcdClient}/v3/kv`;
  const post = (path: string, body: unknown) =>
    fetch(`${base}/${path}`, { method: 'POST', body: JSON.stringify(body) });
  const range = await post('range', { key: Buffer.from('/').toString('base64') });
  const { header } = (await range.json()) as { header: { revision: string } };
  const compaction = await post('compaction', { revision: header.revision, physical: true });
  const text = await compaction.text();
  // The apiserver may have compacted to this revision already.
  if (!compaction.ok && !text.includes('compacted')) {
    throw new Error(`etcd compaction to revision ${header.revision} failed: ${text}`);
  }
}

function count(seen: Seen[], event: InformerEvent, name: string): number {
  return seen.filter((entry) => entry.event === event && entry.name === name).length;
}

beforeAll(async () => {
  namespace = await createNamespace('informer');
});

afterAll(async () => {
  await Promise.all(informers.map((informer) => informer.stop()));
  if (namespace) await deleteNamespace(namespace);
});

describe('Informer', () => {
  it('resumes each watch without relisting', async () => {
    await createConfigMap('first', '1');
    const { informer, seen, restarts } = startInformer({ watchTimeoutSeconds: 1 });
    await informer.synced;
    expect(count(seen, 'add', 'first')).toBe(1);

    // The apiserver ends each watch after about a second; three of them pass here.
    await delay(3500);
    await createConfigMap('second', '2');
    await apiClient().mergePatch(resourcePath(CONFIG_MAPS, namespace, 'first'), {
      data: { value: 'changed' },
    });
    await apiClient().delete(resourcePath(CONFIG_MAPS, namespace, 'second'));

    await waitFor(() => count(seen, 'delete', 'second') === 1, {
      description: 'the delete of second',
    });
    expect(count(seen, 'add', 'first')).toBe(1);
    expect(count(seen, 'update', 'first')).toBe(1);
    expect(count(seen, 'add', 'second')).toBe(1);
    expect(restarts).toEqual([]);
    expect(informer.list().map((object) => object.metadata?.name)).toEqual(['first']);
  });

  it('relists after 410 Gone', async () => {
    await compactEtcd();
    const { informer, seen, restarts } = startInformer({ resumeFrom: '1' });
    await informer.synced;
    expect(restarts).toContain('expired');
    expect(count(seen, 'add', 'first')).toBe(1);
  });

  it('backs off and keeps retrying after errors', async () => {
    const seen: Seen[] = [];
    const restarts: string[] = [];
    const informer = new Informer<KubeObject>({
      client: apiClient(),
      type: { basePath: '/apis/modelwarden.io/v1alpha1', plural: 'nonexistents' },
      namespace,
      log,
      onEvent: (event, object) => seen.push({ event, name: object.metadata?.name ?? '' }),
      onRestart: (cause) => restarts.push(cause),
      minBackoffMs: 100,
      maxBackoffMs: 400,
    });
    informers.push(informer);
    informer.start();
    await waitFor(() => restarts.length >= 3, { description: 'three restarts', timeout: 10_000 });
    expect(new Set(restarts)).toEqual(new Set(['error']));
    expect(informer.hasSynced).toBe(false);
  });

  it('indexes objects and drops managedFields', async () => {
    await createConfigMap('red-1', '1', { colour: 'red' });
    await createConfigMap('red-2', '2', { colour: 'red' });
    await createConfigMap('blue-1', '3', { colour: 'blue' });
    const { informer, seen } = startInformer({
      indexKey: (object) => object.metadata?.labels?.colour,
    });
    await informer.synced;
    expect(indexedNames(informer, 'red')).toEqual(['red-1', 'red-2']);
    expect(indexedNames(informer, 'blue')).toEqual(['blue-1']);
    expect(indexedNames(informer, 'green')).toEqual([]);
    expect(informer.indexed('red')[0]?.metadata?.managedFields).toBeUndefined();

    // A label change moves the object to its new group; a delete takes it out of the index.
    await apiClient().mergePatch(resourcePath(CONFIG_MAPS, namespace, 'red-2'), {
      metadata: { labels: { colour: 'blue' } },
    });
    await apiClient().delete(resourcePath(CONFIG_MAPS, namespace, 'blue-1'));
    await waitFor(() => count(seen, 'delete', 'blue-1') === 1, {
      description: 'the delete of blue-1',
    });
    await waitFor(() => count(seen, 'update', 'red-2') === 1, {
      description: 'the update of red-2',
    });
    expect(indexedNames(informer, 'red')).toEqual(['red-1']);
    expect(indexedNames(informer, 'blue')).toEqual(['red-2']);
    expect(informer.get(`${namespace}/red-2`)?.metadata?.managedFields).toBeUndefined();
  });
});
