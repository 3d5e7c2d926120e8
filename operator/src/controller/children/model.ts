// Selection of the model the serving pods run, and the mapping of its URI for the model server.
import type { ActiveModel, ModelDeployment } from '../../api/model-deployment.ts';

/** Mount point of a pvc:// model claim inside serving pods. */
export const MODEL_MOUNT_PATH = '/mnt/models';

export interface ServedModel {
  uri: string;
  version?: string;
  sha256?: string;
  source: NonNullable<ActiveModel['source']>;
}

/**
 * Returns the model to serve: the one retraining promoted or rolled back to, recorded in
 * status.activeModel, as long as spec.model.uri is unchanged since; otherwise spec.model.
 */
export function selectModel(resource: ModelDeployment): ServedModel {
  const spec = resource.spec.model;
  const active = resource.status?.activeModel;
  if (active && active.source && active.source !== 'Spec' && active.specUri === spec.uri) {
    return {
      uri: active.uri,
      version: active.version,
      sha256: active.sha256,
      source: active.source,
    };
  }
  return { uri: spec.uri, version: spec.version, sha256: spec.sha256, source: 'Spec' };
}

export interface ResolvedUri {
  /** URI passed to `model-server serve --model`. */
  serverUri: string;
  /** Claim to mount read-only at MODEL_MOUNT_PATH, for pvc:// URIs. */
  claimName?: string;
}

/** Maps pvc://CLAIM/PATH to the mounted file:// path; other schemes pass through unchanged. */
export function resolveModelUri(uri: string): ResolvedUri {
  const match = /^pvc:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) return { serverUri: uri };
  const [, claimName, path] = match;
  return { serverUri: `file://${MODEL_MOUNT_PATH}/${path}`, claimName };
}
