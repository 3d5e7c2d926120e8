// Reading the files of an artifact directory from disk or over http(s), within a byte budget
// and a deadline, and only from inside that directory.
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ModelServerError, errorMessage } from '../errors.ts';
import { describeLocation, redactUri, type ArtifactLocation } from './artifact-uri.ts';

export interface ArtifactReadLimits {
  /** Total bytes all files of one artifact may have together. */
  maxBytes: number;
  /** Aborts every read of this artifact when it fires (the download deadline). */
  signal: AbortSignal;
}

/** Reads files of one artifact directory by their relative names. */
export interface ArtifactReader {
  readonly description: string;
  readFile(name: string): Promise<Buffer>;
}

const MAX_REDIRECTS = 5;

/** Creates a reader for `location` that charges every file against one shared byte budget. */
export function createArtifactReader(
  location: ArtifactLocation,
  limits: ArtifactReadLimits,
): ArtifactReader {
  const budget = { remaining: limits.maxBytes, maxBytes: limits.maxBytes };
  return location.kind === 'file'
    ? new LocalArtifactReader(location.directory, budget, limits.signal)
    : new HttpArtifactReader(location.baseUrl, budget, limits.signal);
}

interface ByteBudget {
  remaining: number;
  readonly maxBytes: number;
}

/**
 * Rejects names that could leave the artifact directory: absolute paths, `..` segments,
 * backslashes, percent signs, URL schemes and control characters. Weight paths come from
 * `model.json`, which may come from an untrusted server, so this check runs on every name.
 */
export function validateRelativeName(name: string): void {
  const unsafe =
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('?') ||
    name.includes('#') ||
    // A percent-encoded slash or dot is one segment to the URL parser but a traversal to an
    // artifact server that decodes the path before resolving it.
    name.includes('%') ||
    [...name].some((character) => character.charCodeAt(0) < 0x20) ||
    /^[A-Za-z][A-Za-z0-9+.-]*:/.test(name) ||
    name.split('/').some((segment) => segment === '..' || segment === '.' || segment === '');
  if (unsafe) {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_INVALID',
      `artifact file name '${name}' is not a plain relative path inside the artifact directory`,
    );
  }
}

function charge(budget: ByteBudget, bytes: number, name: string): void {
  if (bytes > budget.remaining) {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_TOO_LARGE',
      `artifact file '${name}' exceeds the artifact size limit of ${budget.maxBytes} bytes; ` +
        'raise --model-max-bytes if the artifact is trusted',
    );
  }
  budget.remaining -= bytes;
}

class LocalArtifactReader implements ArtifactReader {
  readonly description: string;
  private readonly directory: string;
  private readonly budget: ByteBudget;
  private readonly signal: AbortSignal;
  private realDirectory: Promise<string> | undefined;

  constructor(directory: string, budget: ByteBudget, signal: AbortSignal) {
    this.directory = directory;
    this.budget = budget;
    this.signal = signal;
    this.description = describeLocation({ kind: 'file', directory });
  }

  async readFile(name: string): Promise<Buffer> {
    validateRelativeName(name);
    this.signal.throwIfAborted();
    const root = await this.resolveDirectory();
    const filePath = await this.resolveInside(root, name);
    const handle = await open(filePath, 'r');
    try {
      const { size } = await handle.stat();
      charge(this.budget, size, name);
      return await handle.readFile({ signal: this.signal });
    } finally {
      await handle.close();
    }
  }

  private resolveDirectory(): Promise<string> {
    this.realDirectory ??= realpath(this.directory).catch((error: unknown) => {
      throw new ModelServerError(
        'MS_ERR_ARTIFACT_NOT_FOUND',
        `artifact directory ${this.description} cannot be opened: ${errorMessage(error)}`,
      );
    });
    return this.realDirectory;
  }

  /** Resolves symbolic links and checks that the target still lies inside the directory. */
  private async resolveInside(root: string, name: string): Promise<string> {
    let resolved: string;
    try {
      resolved = await realpath(path.join(root, ...name.split('/')));
    } catch (error) {
      throw new ModelServerError(
        'MS_ERR_ARTIFACT_NOT_FOUND',
        `artifact file '${name}' in ${this.description} cannot be opened: ${errorMessage(error)}`,
      );
    }
    if (!resolved.startsWith(root + path.sep)) {
      throw new ModelServerError(
        'MS_ERR_ARTIFACT_INVALID',
        `artifact file '${name}' resolves to ${resolved}, outside the artifact directory ${root}`,
      );
    }
    return resolved;
  }
}

class HttpArtifactReader implements ArtifactReader {
  readonly description: string;
  private readonly baseUrl: URL;
  private readonly budget: ByteBudget;
  private readonly signal: AbortSignal;

  constructor(baseUrl: URL, budget: ByteBudget, signal: AbortSignal) {
    this.baseUrl = baseUrl;
    this.budget = budget;
    this.signal = signal;
    this.description = redactUri(baseUrl.href);
  }

  async readFile(name: string): Promise<Buffer> {
    validateRelativeName(name);
    const url = new URL(name, this.baseUrl);
    // Percent-encoded dot segments (%2e%2e) survive the name check but not URL resolution.
    if (!url.href.startsWith(this.baseUrl.origin + this.baseUrl.pathname)) {
      throw new ModelServerError(
        'MS_ERR_ARTIFACT_INVALID',
        `artifact file name '${name}' resolves outside the artifact URL ${this.description}`,
      );
    }
    try {
      const response = await this.fetchFollowingRedirects(url, name);
      return await this.readBody(response, name);
    } catch (error) {
      throw this.wrapError(error, name);
    }
  }

  /**
   * Follows up to MAX_REDIRECTS redirects by hand, so that a redirect from https to http (which
   * would expose the artifact to tampering) or to another scheme is rejected.
   */
  private async fetchFollowingRedirects(start: URL, name: string): Promise<Response> {
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await fetch(url, { redirect: 'manual', signal: this.signal });
      if (response.status < 300 || response.status >= 400) return this.checkStatus(response, name);
      await response.body?.cancel();
      const location = response.headers.get('location');
      if (location === null) return this.checkStatus(response, name);
      const next = new URL(location, url);
      const downgrade = url.protocol === 'https:' && next.protocol !== 'https:';
      if (downgrade || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
        throw new ModelServerError(
          'MS_ERR_ARTIFACT_DOWNLOAD_FAILED',
          `artifact file '${name}' redirects from ${url.protocol} to ${next.protocol}, which is not allowed`,
        );
      }
      url = next;
    }
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_DOWNLOAD_FAILED',
      `artifact file '${name}' redirects more than ${MAX_REDIRECTS} times`,
    );
  }

  private async checkStatus(response: Response, name: string): Promise<Response> {
    if (response.ok) return response;
    await response.body?.cancel();
    throw new ModelServerError(
      response.status === 404 ? 'MS_ERR_ARTIFACT_NOT_FOUND' : 'MS_ERR_ARTIFACT_DOWNLOAD_FAILED',
      `artifact file '${name}' from ${this.description} returned HTTP ${response.status}`,
    );
  }

  private async readBody(response: Response, name: string): Promise<Buffer> {
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > this.budget.remaining) {
      await response.body?.cancel();
      charge(this.budget, declared, name);
    }
    const chunks: Buffer[] = [];
    if (response.body === null) return Buffer.alloc(0);
    for await (const chunk of response.body) {
      charge(this.budget, chunk.byteLength, name);
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    return Buffer.concat(chunks);
  }

  private wrapError(error: unknown, name: string): ModelServerError {
    if (error instanceof ModelServerError) return error;
    if (this.signal.aborted) {
      return new ModelServerError(
        'MS_ERR_ARTIFACT_DOWNLOAD_FAILED',
        `download of artifact file '${name}' from ${this.description} timed out; ` +
          'raise --model-download-timeout-ms for slow sources',
        { cause: error },
      );
    }
    return new ModelServerError(
      'MS_ERR_ARTIFACT_DOWNLOAD_FAILED',
      `download of artifact file '${name}' from ${this.description} failed: ${describeFetchError(error)}`,
      { cause: error },
    );
  }
}

/**
 * fetch rejects with the bare 'fetch failed' and keeps the reason (ECONNREFUSED, ENOTFOUND, a
 * TLS error) in `cause`, so the message appends the cause's code and message.
 */
export function describeFetchError(error: unknown): string {
  const message = errorMessage(error);
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  if (cause === undefined || cause === null) return message;
  const code =
    typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : undefined;
  let detail =
    cause instanceof AggregateError && cause.message === ''
      ? cause.errors.map(errorMessage).join('; ')
      : errorMessage(cause);
  if (code !== undefined && !detail.includes(code))
    detail = detail === '' ? code : `${code}: ${detail}`;
  return detail === '' ? message : `${message} (${detail})`;
}
