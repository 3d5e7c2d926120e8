// Parsing of the `--model` value into a local directory or an http(s) base URL.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelServerError } from '../errors.ts';
import { MODEL_JSON_FILE } from '../artifact/manifest.ts';

/** Where an artifact directory lives. An http(s) base URL always ends with `/`. */
export type ArtifactLocation = { kind: 'file'; directory: string } | { kind: 'http'; baseUrl: URL };

/**
 * Parses an artifact URI: a plain path (relative to `cwd`), a `file://` URL with an absolute
 * path, or an `http://`/`https://` URL of the directory or of its `model.json`. Any other scheme
 * raises MS_ERR_ARTIFACT_URI_INVALID.
 */
export function parseArtifactUri(uri: string, cwd: string = process.cwd()): ArtifactLocation {
  if (uri.trim() === '') {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_URI_INVALID',
      'the model URI is empty; pass --model DIR or URL',
    );
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive letter, not a URL scheme.
  if (scheme === undefined || scheme.length === 1) {
    return { kind: 'file', directory: stripModelJson(path.resolve(cwd, uri)) };
  }
  if (scheme === 'file') return { kind: 'file', directory: stripModelJson(parseFileUrl(uri)) };
  if (scheme === 'http' || scheme === 'https') return { kind: 'http', baseUrl: parseHttpUrl(uri) };
  throw new ModelServerError(
    'MS_ERR_ARTIFACT_URI_INVALID',
    `model URI scheme '${scheme}:' is not supported; use a path, file:// or http(s)://`,
  );
}

function parseFileUrl(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_URI_INVALID',
      `model URI '${uri}' is not a valid file:// URL`,
    );
  }
  if (url.host !== '' && url.host !== 'localhost') {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_URI_INVALID',
      `model URI '${uri}' names host '${url.host}'; a file:// URL must be file:///absolute/path`,
    );
  }
  return fileURLToPath(url);
}

function parseHttpUrl(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ModelServerError(
      'MS_ERR_ARTIFACT_URI_INVALID',
      `model URI '${redactUri(uri)}' is not a valid URL`,
    );
  }
  if (url.pathname.endsWith(`/${MODEL_JSON_FILE}`)) {
    url.pathname = url.pathname.slice(0, -MODEL_JSON_FILE.length);
  } else if (!url.pathname.endsWith('/')) {
    url.pathname += '/';
  }
  return url;
}

function stripModelJson(directory: string): string {
  return path.basename(directory) === MODEL_JSON_FILE ? path.dirname(directory) : directory;
}

/** Returns a printable form of a location, without credentials or query strings. */
export function describeLocation(location: ArtifactLocation): string {
  return location.kind === 'file'
    ? `file://${location.directory}`
    : redactUri(location.baseUrl.href);
}

/**
 * Removes user info and the query string from a URL, because either may carry a credential
 * (basic auth, presigned tokens). Non-URL values are returned unchanged.
 */
export function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return uri;
    if (url.username !== '' || url.password !== '') {
      url.username = 'redacted';
      url.password = '';
    }
    if (url.search !== '') url.search = '?redacted';
    return url.href;
  } catch {
    return uri;
  }
}
