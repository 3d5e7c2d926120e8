// The JSON body parser: UTF-8 only, as RFC 8259 requires for JSON exchanged between systems.
// Fastify's own parser decodes with replacement characters, so a body with invalid bytes inside
// a string would be served as if the client had sent U+FFFD.
import type { FastifyInstance } from 'fastify';
import { ModelServerError } from '../errors.ts';
import { scanInstances } from '../inference/instances-scanner.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Replaces the application/json parser. Prototype poisoning still fails as before. On routes
 * that ask for it, a body of plain numeric rows is read by the instances scanner.
 */
export function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '');
    const declared = charset?.[1]?.toLowerCase();
    if (declared !== undefined && declared !== 'utf-8' && declared !== 'utf8') {
      done(
        new ModelServerError(
          'MS_ERR_REQUEST_MEDIA_TYPE',
          `charset '${declared.slice(0, 40)}' is not supported; send application/json in UTF-8`,
        ),
        undefined,
      );
      return;
    }
    // The scanner accepts only ASCII, so a body it reads is valid UTF-8.
    const scanned = request.routeOptions.config.scanInstances
      ? scanInstances(body as Buffer)
      : undefined;
    if (scanned !== undefined) {
      done(null, scanned);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(
        new ModelServerError(
          'MS_ERR_REQUEST_JSON_INVALID',
          'request body is not valid UTF-8; send JSON encoded as UTF-8',
        ),
        undefined,
      );
      return;
    }
    parseJson(request, text, done);
  });
}
