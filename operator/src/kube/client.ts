// A thin JSON client for the Kubernetes API on top of client-node's KubeConfig, which supplies
// the server address, TLS and credentials. Plain JSON in and out keeps server-side apply, status
// writes and watches free of client-node's model (de)serialisation.
import { KubeConfig, HttpMethod } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';
import { KubeApiError } from '../errors.ts';
import { ConnectionCache } from './connection.ts';

/** The fields of any Kubernetes object this project relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
    }[];
    deletionTimestamp?: string | Date;
    creationTimestamp?: string | Date;
    managedFields?: unknown[];
  };
}

export interface KubeList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** A response whose body is streamed, for watches. */
export interface StreamResponse {
  status: number;
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

/** An API group/version and resource, e.g. apps/v1 deployments. */
export interface ResourceType {
  /** `/api/v1` for the core group, `/apis/GROUP/VERSION` otherwise. */
  basePath: string;
  plural: string;
}

export const RESOURCES = {
  modelDeployments: { basePath: '/apis/modelwarden.io/v1alpha1', plural: 'modeldeployments' },
  deployments: { basePath: '/apis/apps/v1', plural: 'deployments' },
  services: { basePath: '/api/v1', plural: 'services' },
  pods: { basePath: '/api/v1', plural: 'pods' },
  jobs: { basePath: '/apis/batch/v1', plural: 'jobs' },
  events: { basePath: '/apis/events.k8s.io/v1', plural: 'events' },
  leases: { basePath: '/apis/coordination.k8s.io/v1', plural: 'leases' },
} as const satisfies Record<string, ResourceType>;

/** Returns the URL path of a collection (no name) or of one object, optionally a subresource. */
export function resourcePath(
  type: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let path = type.basePath;
  if (namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${type.plural}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
}

export class KubeClient {
  readonly config: KubeConfig;
  private readonly server: string;
  private readonly connections: ConnectionCache;

  constructor(config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) {
      throw new Error(
        'kubeconfig has no current cluster: set current-context or pass --kubeconfig',
      );
    }
    this.config = config;
    this.server = cluster.server.replace(/\/$/, '');
    this.connections = new ConnectionCache(config);
  }

  /** Sends a request and returns the parsed JSON body; throws KubeApiError on a non-2xx status. */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    const text = await response.body.text();
    if (response.statusCode >= 300) throw apiError(method, path, response.statusCode, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Sends a request and hands back the streamed body, for watches. */
  async stream(path: string, options: RequestOptions = {}): Promise<StreamResponse> {
    const response = await this.send(HttpMethod.GET, path, options);
    if (response.statusCode >= 300) {
      throw apiError('GET', path, response.statusCode, await response.body.text());
    }
    return { status: response.statusCode, body: response.body, text: () => response.body.text() };
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>(HttpMethod.GET, path, options);
  }

  /** Lists a collection completely, following `continue` tokens in pages of 500. */
  async list<T>(path: string, query: RequestOptions['query'] = {}): Promise<KubeList<T>> {
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.get<KubeList<T>>(path, {
        query: { ...query, limit: 500, continue: token },
      });
      items.push(...page.items);
      resourceVersion = page.metadata?.resourceVersion;
      token = page.metadata?.continue || undefined;
    } while (token);
    return { metadata: { resourceVersion }, items };
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(HttpMethod.POST, path, { body });
  }

  /** Replaces an object; the body's resourceVersion makes it fail with 409 on a stale read. */
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(HttpMethod.PUT, path, { body });
  }

  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, path, {
      body,
      contentType: 'application/merge-patch+json',
    });
  }

  /** Server-side apply of a whole object under `fieldManager`, taking over conflicting fields. */
  apply<T>(path: string, body: unknown, fieldManager: string): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, path, {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true },
    });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>(HttpMethod.DELETE, path);
  }

  /**
   * Sends one request with undici's request(), which builds no WHATWG Request, Headers and
   * Response objects as fetch() does for each of the operator's many small requests.
   */
  private async send(
    method: HttpMethod | string,
    path: string,
    options: RequestOptions,
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const connection = await this.connections.get();
    const headers: Record<string, string> = { ...connection.headers, accept: 'application/json' };
    if (options.body !== undefined)
      headers['content-type'] = options.contentType ?? 'application/json';
    return request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      dispatcher: connection.dispatcher,
      signal: options.signal,
    });
  }
}

function apiError(method: string, path: string, status: number, text: string): KubeApiError {
  let body: StatusBody;
  try {
    body = JSON.parse(text) as StatusBody;
  } catch {
    // Not a metav1.Status (e.g. a proxy's HTML page): the raw text becomes the message.
    body = { message: text.slice(0, 500) };
  }
  return new KubeApiError(method, path, status, body.reason ?? 'Unknown', body.message ?? '');
}

/** Loads the kubeconfig: an explicit file, the in-cluster service account, or the defaults. */
export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath) {
    config.loadFromFile(kubeconfigPath);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    config.loadFromCluster();
  } else {
    config.loadFromDefault();
  }
  return config;
}
