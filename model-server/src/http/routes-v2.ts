// Open Inference Protocol (v2) REST API: health, server and model metadata, readiness, infer.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../errors.ts';
import { describeType, rejectUnknownFields } from '../inference/request-rows.ts';
import { parseV2Inputs } from '../inference/v2-tensors.ts';
import { JSON_TYPE, v2InferJson } from './prediction-json.ts';
import { resolveRuntime, type ModelParams, type RouteContext } from './route-context.ts';

const NAME = ':name([^:/]+)';
const VERSION = ':version([^:/]+)';

/** The package version, read from package.json two levels above src/ and dist/ alike. */
const SERVER_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

interface InferBody {
  id?: unknown;
  parameters?: unknown;
  inputs?: unknown;
  outputs?: unknown;
}

/** The Open Inference Protocol inference request fields. */
const INFER_FIELDS = ['id', 'parameters', 'inputs', 'outputs'];

export function registerV2Routes(app: FastifyInstance, context: RouteContext): void {
  app.get('/v2', { config: { routeLabel: '/v2' } }, async () => ({
    name: 'modelwarden-model-server',
    version: SERVER_VERSION,
    extensions: [],
  }));
  app.get('/v2/health/live', { config: { routeLabel: '/v2/health/live' } }, async () => ({
    live: true,
  }));
  app.get(
    '/v2/health/ready',
    { config: { routeLabel: '/v2/health/ready' } },
    async (_request, reply) => {
      const ready = context.manager.current !== undefined && !context.isShuttingDown();
      const state = context.isShuttingDown() ? 'shutting_down' : context.manager.phase;
      void reply.status(ready ? 200 : 503);
      const failure = context.manager.failure;
      if (failure === undefined) return { ready, state };
      // The operator copies code and message into the ModelLoadFailed condition.
      return { ready, state, code: failure.code, message: failure.message };
    },
  );

  for (const versioned of [false, true]) {
    const base = versioned ? `/v2/models/${NAME}/versions/${VERSION}` : `/v2/models/${NAME}`;
    const label = versioned ? '/v2/models/:name/versions/:version' : '/v2/models/:name';

    app.get<{ Params: ModelParams }>(base, { config: { routeLabel: label } }, async (request) => {
      const runtime = resolveRuntime(context, request.params);
      const { manifest } = runtime.model;
      return {
        name: runtime.model.name,
        versions: [manifest.version],
        platform: 'tensorflowjs_layers',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, manifest.features.length] }],
        outputs: [{ name: manifest.label, datatype: 'FP32', shape: [-1, 1] }],
        parameters: {
          features: manifest.features,
          label: manifest.label,
          backend: runtime.backend,
        },
      };
    });
    app.get<{ Params: ModelParams }>(
      `${base}/ready`,
      { config: { routeLabel: `${label}/ready` } },
      async (request, reply) => {
        const runtime = context.manager.current;
        const ready = runtime !== undefined && !context.isShuttingDown();
        if (runtime !== undefined) resolveRuntime(context, request.params);
        void reply.status(ready ? 200 : 503);
        return { name: request.params.name, ready };
      },
    );
    app.post<{ Params: ModelParams; Body: InferBody }>(
      `${base}/infer`,
      {
        config: { routeLabel: `${label}/infer` },
        schema: { body: { type: 'object' } },
      },
      async (request, reply) => {
        const runtime = resolveRuntime(context, request.params);
        const { manifest } = runtime.model;
        rejectUnknownFields(request.body as Record<string, unknown>, INFER_FIELDS);
        const requestId = parseRequestId(request.body.id);
        checkRequestedOutputs(request.body.outputs, manifest.label);
        const input = parseV2Inputs(request.body.inputs, {
          features: manifest.features,
          maxRows: context.maxRequestRows,
        });
        const { predictions, ids } = await runtime.predict(input.rows, input.rowCount);
        void reply.type(JSON_TYPE);
        return v2InferJson({
          modelName: runtime.model.name,
          modelVersion: manifest.version,
          requestId,
          label: manifest.label,
          predictions,
          ids,
        });
      },
    );
  }
}

function parseRequestId(value: unknown): string {
  if (value === undefined) return randomUUID();
  if (typeof value !== 'string')
    throw invalidRequest('id', `must be a string, got ${describeType(value)}`);
  return value;
}

/** The model has one output; a request may name it in `outputs` but no other. */
function checkRequestedOutputs(value: unknown, label: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value))
    throw invalidRequest('outputs', `must be an array of { name }, got ${describeType(value)}`);
  value.forEach((output: unknown, index) => {
    const name =
      typeof output === 'object' && output !== null
        ? (output as { name?: unknown }).name
        : undefined;
    if (name !== label) {
      throw invalidRequest(
        `outputs[${index}].name`,
        `must be '${label}', the model's only output, got ${JSON.stringify(name)}`,
      );
    }
  });
}
