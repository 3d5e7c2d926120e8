// Printable forms of URLs that may carry credentials.

/**
 * Returns `url` without user info and with its query string replaced by `?redacted`, because
 * webhook and Prometheus URLs often carry a token in either place. A value that is not a URL is
 * returned unchanged.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username !== '' || parsed.password !== '') {
      parsed.username = 'redacted';
      parsed.password = '';
    }
    if (parsed.search !== '') parsed.search = '?redacted';
    return parsed.href;
  } catch {
    return url;
  }
}
