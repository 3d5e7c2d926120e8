import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.ts';

describe('redactUrl', () => {
  it.each([
    [
      'https://hooks.example/services/T0/B0?token=abc',
      'https://hooks.example/services/T0/B0?redacted',
    ],
    ['http://user:secret@prometheus:9090/', 'http://redacted@prometheus:9090/'],
    ['http://127.0.0.1:8080/hook', 'http://127.0.0.1:8080/hook'],
    ['http://prometheus:9090', 'http://prometheus:9090'],
    ['not a url', 'not a url'],
  ])('prints %s as %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
