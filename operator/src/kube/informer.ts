// List-then-watch informer. It lists once, then watches from the list's resourceVersion,
// resumes each new watch from the last resourceVersion seen (bookmarks included), relists on
// 410 Gone and restarts after errors with capped exponential backoff. client-node's ListWatch
// stops for good on a non-410 error and swallows unparsable lines, hence this small own version.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errorMessage, KubeApiError } from '../errors.ts';
import { resourcePath, type KubeClient, type KubeObject, type ResourceType } from './client.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
/** Receives each change; `previous` is the cached object an update replaced. */
export type InformerHandler<T> = (event: InformerEvent, object: T, previous?: T) => void;

export interface InformerOptions<T> {
  client: KubeClient;
  type: ResourceType;
  /** Namespace to watch, or undefined for all namespaces. */
  namespace?: string;
  labelSelector?: string;
  log: Logger;
  onEvent: InformerHandler<T>;
  /** Called with the resource name after each restart caused by an error or a 410. */
  onRestart?: (reason: 'error' | 'expired') => void;
  /** Server-side watch timeout; each watch ends and resumes after about this long. */
  watchTimeoutSeconds?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * resourceVersion to resume watching from before the first list, e.g. one a caller kept.
   * When the apiserver returns 410 Gone, the informer lists as usual.
   */
  resumeFrom?: string;
  /**
   * Names the group an object belongs to, e.g. its owner's `namespace/name`, so that `indexed`
   * finds a group without scanning the store. Objects for which it returns undefined are in none.
   */
  indexKey?: (object: T) => string | undefined;
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; reason?: string; message?: string };
}

/** Marks a watch that ended because its resourceVersion is too old. */
class ExpiredError extends Error {}

export function objectKey(object: KubeObject): string {
  const namespace = object.metadata?.namespace;
  const name = object.metadata?.name ?? '';
  return namespace ? `${namespace}/${name}` : name;
}

export class Informer<T extends KubeObject> {
  private readonly options: InformerOptions<T>;
  private readonly store = new Map<string, T>();
  /** Index key to the objects of that group, by object key. */
  private readonly index = new Map<string, Map<string, T>>();
  private resourceVersion: string;
  private stopped = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private syncedResolve: (() => void) | undefined;
  /** Resolves once the first list has been delivered. */
  readonly synced: Promise<void>;
  hasSynced = false;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.resourceVersion = options.resumeFrom ?? '';
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /** Returns the objects whose `indexKey` is `key`, or none without an `indexKey` option. */
  indexed(key: string): T[] {
    const group = this.index.get(key);
    return group ? [...group.values()] : [];
  }

  /**
   * Caches an object without its managedFields: the operator never reads them, and they are
   * about a quarter of a server-side-applied Deployment's size.
   */
  private put(key: string, object: T): T | undefined {
    if (object.metadata?.managedFields) delete object.metadata.managedFields;
    const previous = this.store.get(key);
    if (previous) this.unindex(key, previous);
    this.store.set(key, object);
    const indexKey = this.options.indexKey?.(object);
    if (indexKey !== undefined) {
      let group = this.index.get(indexKey);
      if (!group) this.index.set(indexKey, (group = new Map()));
      group.set(key, object);
    }
    return previous;
  }

  private remove(key: string, object: T): void {
    this.store.delete(key);
    this.unindex(key, object);
  }

  private unindex(key: string, object: T): void {
    const indexKey = this.options.indexKey?.(object);
    if (indexKey === undefined) return;
    const group = this.index.get(indexKey);
    group?.delete(key);
    if (group?.size === 0) this.index.delete(indexKey);
  }

  private async run(): Promise<void> {
    const { log } = this.options;
    const minBackoff = this.options.minBackoffMs ?? 1000;
    const maxBackoff = this.options.maxBackoffMs ?? 30_000;
    let backoff = minBackoff;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.watchOnce();
        backoff = minBackoff;
      } catch (error) {
        if (this.stopped) break;
        if (
          error instanceof ExpiredError ||
          (error instanceof KubeApiError && error.statusCode === 410)
        ) {
          log.info({ resourceVersion: this.resourceVersion }, 'watch expired, relisting');
          this.resourceVersion = '';
          this.options.onRestart?.('expired');
          continue;
        }
        const delay = backoff * (0.8 + Math.random() * 0.4);
        log.warn(
          { err: errorMessage(error), delayMs: Math.round(delay) },
          'watch failed, restarting',
        );
        this.options.onRestart?.('error');
        await this.sleep(delay);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await delay(ms, undefined, { signal: this.abort.signal });
    } catch {
      // stop() aborted the wait; the loop condition ends the informer.
    }
  }

  private path(): string {
    return resourcePath(this.options.type, this.options.namespace);
  }

  /** Lists everything and reconciles the store with it, emitting the differences. */
  private async relist(): Promise<void> {
    const list = await this.options.client.list<T>(this.path(), {
      labelSelector: this.options.labelSelector,
    });
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = objectKey(item);
      seen.add(key);
      const previous = this.put(key, item);
      if (!previous) this.options.onEvent('add', item);
      else if (previous.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
        this.options.onEvent('update', item, previous);
      }
    }
    for (const [key, item] of this.store) {
      if (!seen.has(key)) {
        this.remove(key, item);
        this.options.onEvent('delete', item);
      }
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.syncedResolve?.();
    }
  }

  /** Runs one watch until the server closes it; throws on errors, ExpiredError on 410. */
  private async watchOnce(): Promise<void> {
    const timeout = this.options.watchTimeoutSeconds ?? 300;
    const response = await this.options.client.stream(this.path(), {
      query: {
        watch: true,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: this.options.labelSelector,
        timeoutSeconds: Math.round(timeout * (1 + Math.random() * 0.2)),
      },
      signal: this.abort.signal,
    });
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) this.handle(JSON.parse(line) as WatchEvent<T>);
        newline = pending.indexOf('\n');
      }
    }
  }

  private handle(event: WatchEvent<T>): void {
    const object = event.object;
    if (event.type === 'ERROR') {
      if (object.code === 410) throw new ExpiredError(object.message ?? 'resourceVersion expired');
      throw new Error(
        `watch error ${object.code ?? ''} ${object.reason ?? ''}: ${object.message ?? ''}`,
      );
    }
    const resourceVersion = object.metadata?.resourceVersion;
    if (resourceVersion) this.resourceVersion = resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const key = objectKey(object);
    if (event.type === 'DELETED') {
      this.remove(key, this.store.get(key) ?? object);
      this.options.onEvent('delete', object);
      return;
    }
    const previous = this.put(key, object);
    if (previous) this.options.onEvent('update', object, previous);
    else this.options.onEvent('add', object);
  }
}
