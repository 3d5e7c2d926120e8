// TF Serving style REST API: model status, metadata, predict, and ground-truth feedback.
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../errors.ts';
import { parseV1PredictBody } from '../inference/request-rows.ts';
import type { ModelRuntime } from '../server/model-runtime.ts';
import { JSON_TYPE, v1PredictJson } from './prediction-json.ts';
import { resolveRuntime, type ModelParams, type RouteContext } from './route-context.ts';

/** Path segment patterns: find-my-way needs a regex to end a parameter before `:predict`. */
const NAME = ':name([^:/]+)';
const VERSION = ':version([^:/]+)';

const objectBody = { type: 'object' } as const;

export function registerV1Routes(app: FastifyInstance, context: RouteContext): void {
  for (const versioned of [false, true]) {
    const base = versioned ? `/v1/models/${NAME}/versions/${VERSION}` : `/v1/models/${NAME}`;
    const label = versioned ? '/v1/models/:name/versions/:version' : '/v1/models/:name';

    app.get<{ Params: ModelParams }>(base, { config: { routeLabel: label } }, async (request) =>
      modelStatus(context, request.params),
    );
    app.get<{ Params: ModelParams }>(
      `${base}/metadata`,
      { config: { routeLabel: `${label}/metadata` } },
      async (request) => modelMetadata(resolveRuntime(context, request.params)),
    );
    app.post<{ Params: ModelParams; Body: Record<string, unknown> }>(
      `${base}::predict`,
      {
        config: { routeLabel: `${label}:predict`, scanInstances: true },
        schema: { body: objectBody },
      },
      async (request, reply) => {
        const runtime = resolveRuntime(context, request.params);
        const signature = request.body.signature_name;
        if (signature !== undefined && signature !== 'serving_default' && signature !== '') {
          throw invalidRequest(
            'signature_name',
            `'${String(signature)}' is unknown; the only signature is 'serving_default'`,
          );
        }
        const input = parseV1PredictBody(request.body, {
          features: runtime.model.manifest.features,
          maxRows: context.maxRequestRows,
        });
        const { predictions, ids } = await runtime.predict(input.rows, input.rowCount);
        void reply.type(JSON_TYPE);
        return v1PredictJson(input.format, predictions, ids, runtime.model.version);
      },
    );
  }

  app.post<{ Params: ModelParams; Body: unknown }>(
    `/v1/models/${NAME}/feedback`,
    { config: { routeLabel: '/v1/models/:name/feedback' }, schema: { body: objectBody } },
    async (request) =>
      context.feedback.submit(resolveRuntime(context, request.params), request.body),
  );
}

/**
 * The TF Serving GetModelStatus answer. States follow TF Serving: LOADING before the first load
 * finished, END with the error after it failed, AVAILABLE, and UNLOADING during shutdown.
 */
function modelStatus(context: RouteContext, params: ModelParams) {
  if (context.manager.current === undefined) {
    const servedName = context.nameOverride;
    if (servedName !== undefined && servedName !== params.name) resolveRuntime(context, params);
    const failure = context.manager.failure;
    return {
      model_version_status: [
        {
          version: '',
          state: failure === undefined ? 'LOADING' : 'END',
          status:
            failure === undefined
              ? { error_code: 'OK', error_message: '' }
              : { error_code: 'UNKNOWN', error_message: failure.message },
        },
      ],
    };
  }
  const runtime = resolveRuntime(context, params);
  return {
    model_version_status: [
      {
        version: runtime.model.version,
        state: context.isShuttingDown() ? 'UNLOADING' : 'AVAILABLE',
        status: { error_code: 'OK', error_message: '' },
      },
    ],
  };
}

/** The TF Serving GetModelMetadata answer, plus the manifest facts under `modelwarden`. */
function modelMetadata(runtime: ModelRuntime) {
  const { manifest } = runtime.model;
  const tensor = (name: string) => ({
    dtype: 'DT_FLOAT',
    tensor_shape: { dim: [{ size: '-1', name: '' }], unknown_rank: false },
    name,
  });
  return {
    model_spec: { name: runtime.model.name, signature_name: '', version: manifest.version },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: Object.fromEntries(
              manifest.features.map((feature) => [feature, tensor(feature)]),
            ),
            outputs: { [manifest.label]: tensor(manifest.label) },
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
    modelwarden: {
      features: manifest.features,
      label: manifest.label,
      created: manifest.created,
      holdout: manifest.holdout,
      rows: manifest.rows,
      dataSha256: manifest.dataSha256,
      backend: runtime.backend,
      location: runtime.model.location,
      modelJsonSha256: runtime.model.modelJsonSha256,
    },
  };
}
