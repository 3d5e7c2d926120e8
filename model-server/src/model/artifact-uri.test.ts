import { describe, expect, it } from 'vitest';
import { parseArtifactUri, redactUri } from './artifact-uri.ts';

describe('parseArtifactUri', () => {
  it.each([
    ['models/cars', { kind: 'file', directory: '/srv/models/cars' }],
    ['/abs/cars/model.json', { kind: 'file', directory: '/abs/cars' }],
    ['file:///abs/cars', { kind: 'file', directory: '/abs/cars' }],
    ['file://localhost/abs/cars/', { kind: 'file', directory: '/abs/cars/' }],
  ])('parses %s', (uri, expected) => {
    expect(parseArtifactUri(uri, '/srv')).toEqual(expected);
  });

  it.each([
    ['http://host/models/cars', 'http://host/models/cars/'],
    ['https://host/models/cars/', 'https://host/models/cars/'],
    ['https://host/models/cars/model.json?token=x', 'https://host/models/cars/?token=x'],
  ])('parses %s as a base URL', (uri, base) => {
    const location = parseArtifactUri(uri);
    expect(location.kind).toBe('http');
    expect(location.kind === 'http' ? location.baseUrl.href : undefined).toBe(base);
  });

  it.each([
    ['', 'the model URI is empty'],
    ['s3://bucket/cars', "scheme 's3:' is not supported"],
    ['file://otherhost/cars', "names host 'otherhost'"],
    ['http://', 'is not a valid URL'],
  ])('rejects %j', (uri, message) => {
    expect(() => parseArtifactUri(uri)).toThrow(message);
  });
});

describe('redactUri', () => {
  it('removes credentials and query strings', () => {
    expect(redactUri('https://user:secret@host/dir/?sig=abc')).toBe(
      'https://redacted@host/dir/?redacted',
    );
    expect(redactUri('/plain/path')).toBe('/plain/path');
  });
});
