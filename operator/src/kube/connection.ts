// Headers and the undici dispatcher of requests to the apiserver, from the kubeconfig.
//
// client-node 2.0.1's KubeConfig.applySecurityAuthentication builds a new undici Agent for each
// request, so every request paid a TCP and TLS handshake and left an Agent with an open socket
// behind. Here one dispatcher is kept per TLS identity and proxy, so requests reuse connections,
// and a new one is built only when the kubeconfig's TLS material changes (e.g. a rotated client
// certificate file).
import { createHash } from 'node:crypto';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import type { DispatcherOptions, KubeConfig } from '@kubernetes/client-node';
import { Agent, ProxyAgent, Socks5ProxyAgent, type Dispatcher } from 'undici';

/** Headers and dispatcher of one request, taken from the kubeconfig. */
export interface Connection {
  headers: Record<string, string>;
  /** undefined when the kubeconfig sets no TLS option at all, so fetch's global dispatcher applies. */
  dispatcher: Dispatcher | undefined;
}

/** Returns a digest of everything that decides how a connection is made. */
function fingerprint(options: DispatcherOptions): string {
  const hash = createHash('sha256');
  const add = (value: unknown): void => {
    if (value === undefined) hash.update('\0u');
    else if (Buffer.isBuffer(value)) hash.update('\0b').update(value);
    else if (Array.isArray(value)) value.forEach(add);
    else hash.update(`\0${String(value)}`);
  };
  add(options.type);
  if (options.type === 'none') return hash.digest('hex');
  if (options.type !== 'agent') add(options.uri);
  const tls = options.type === 'agent' ? options.connect : options.requestTls;
  for (const field of [
    'ca',
    'cert',
    'key',
    'pfx',
    'passphrase',
    'rejectUnauthorized',
    'servername',
  ]) {
    add((tls as Record<string, unknown>)[field]);
  }
  return hash.digest('hex');
}

function buildDispatcher(options: DispatcherOptions): Dispatcher | undefined {
  switch (options.type) {
    case 'none':
      return undefined;
    case 'agent':
      return new Agent({ connect: options.connect });
    case 'proxy':
      return new ProxyAgent({
        uri: options.uri,
        requestTls: options.requestTls,
        connect: options.connect,
      });
    case 'socks':
      return new Socks5ProxyAgent(options.uri, { requestTls: options.requestTls });
  }
}

/** Builds request headers and keeps the dispatcher of a kubeconfig's current context. */
export class ConnectionCache {
  private readonly config: KubeConfig;
  private current: { fingerprint: string; dispatcher: Dispatcher | undefined } | undefined;

  constructor(config: KubeConfig) {
    this.config = config;
  }

  /**
   * Reads the credentials anew for each request, because tokens from exec plugins and auth
   * providers expire and certificate files may be rotated.
   */
  async get(): Promise<Connection> {
    const options: HttpsRequestOptions = {};
    await this.config.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = String(value);
    }
    if (options.auth)
      headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = options;
    const dispatcherOptions = this.config.createDispatcherOptions(this.config.getCurrentCluster(), {
      ca,
      cert,
      key,
      pfx,
      passphrase,
      rejectUnauthorized,
      servername,
    });
    return { headers, dispatcher: this.dispatcher(dispatcherOptions) };
  }

  private dispatcher(options: DispatcherOptions): Dispatcher | undefined {
    const digest = fingerprint(options);
    if (this.current?.fingerprint === digest) return this.current.dispatcher;
    // close() lets requests in flight, such as open watches, finish on the old connections.
    void this.current?.dispatcher?.close();
    const dispatcher = buildDispatcher(options);
    this.current = { fingerprint: digest, dispatcher };
    return dispatcher;
  }
}
