// Admin endpoint to load a new artifact version without a restart, and the metrics endpoint.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ModelServerError } from '../errors.ts';
import { resolveRuntime, type ModelParams, type RouteContext } from './route-context.ts';

interface ReloadBody {
  model?: string;
  sha256?: string;
}

const reloadBody = {
  type: ['object', 'null'],
  properties: {
    model: { type: 'string', minLength: 1 },
    sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
  },
  additionalProperties: false,
} as const;

export function registerAdminRoutes(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Params: ModelParams; Body: ReloadBody | null | undefined }>(
    '/v1/models/:name([^:/]+)::reload',
    { config: { routeLabel: '/v1/models/:name:reload' }, schema: { body: reloadBody } },
    async (request) => {
      authorise(context, request);
      if (context.manager.current !== undefined) resolveRuntime(context, request.params);
      const previous = context.manager.current?.model.version;
      const body = request.body ?? {};
      const source =
        body.model === undefined ? undefined : { uri: body.model, sha256: body.sha256 };
      if (body.model === undefined && body.sha256 !== undefined) {
        throw new ModelServerError(
          'MS_ERR_REQUEST_INVALID',
          'sha256 needs model: give the URI the checksum belongs to',
        );
      }
      const runtime = await context.reload(source);
      return {
        name: runtime.model.name,
        version: runtime.model.version,
        previous_version: previous ?? null,
        location: runtime.model.location,
        model_json_sha256: runtime.model.modelJsonSha256,
        files_verified: runtime.model.filesVerified,
      };
    },
  );

  app.get('/metrics', { config: { routeLabel: '/metrics' } }, async (_request, reply) => {
    void reply.header('content-type', context.metrics.registry.contentType);
    return context.metrics.registry.metrics();
  });
}

/**
 * With --admin-token, requires `Authorization: Bearer <token>`. Without it, only a plain
 * reload of the configured URI is allowed, because loading an arbitrary URI would let any client
 * make the server fetch from any address or read any local directory.
 */
function authorise(
  context: RouteContext,
  request: FastifyRequest<{ Body: ReloadBody | null | undefined }>,
): void {
  const token = context.adminToken;
  if (token === undefined) {
    const body = request.body ?? {};
    if (body.model !== undefined || body.sha256 !== undefined) {
      throw new ModelServerError(
        'MS_ERR_ADMIN_FORBIDDEN',
        'reloading from a new URI or checksum needs an admin token; start the server with --admin-token',
      );
    }
    return;
  }
  const header = request.headers.authorization ?? '';
  const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  if (!sameSecret(presented, token)) {
    throw new ModelServerError(
      'MS_ERR_ADMIN_UNAUTHORIZED',
      'the reload endpoint needs Authorization: Bearer <admin token>',
    );
  }
}

/** Compares secrets in constant time; hashing first gives both sides the same length. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
