// Printable forms of URLs that may carry credentials.

/**
 * Returns `url` without user info and with its query string replaced by `?redacted`, because
 * webhook and Prometheus URLs often carry a token in either place. A URL with neither, and a
 * value that is not a URL, are returned unchanged.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '' && parsed.search === '') return url;
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
