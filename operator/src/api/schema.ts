// Building blocks for the CRD schema. Every helper returns a TypeBox schema that is also a valid
// structural OpenAPI v3 schema as Kubernetes accepts it: no `const`, no `patternProperties`,
// no `anyOf` except the int-or-string form the apiserver special-cases.
import { Type, type SchemaOptions, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** One CEL rule in `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  /** JSON path relative to the schema node, so the error names the offending field. */
  fieldPath?: string;
  reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** Schema options with the Kubernetes extensions this project uses. */
export interface KubeOptions extends SchemaOptions {
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** Go duration such as `30s`, `5m` or `1h30m`, the syntax CEL's `duration()` parses. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/** Kubernetes resource quantity such as `500m`, `256Mi` or `2`. */
const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** DNS-1123 label, the syntax of object names such as PersistentVolumeClaims. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/**
 * Rules for artifact and dataset URIs beyond the scheme. Percent-encoded dots and slashes would
 * pass the `..` rule but decode to a traversal in file:// and pvc:// paths. Node's fetch rejects
 * URLs with credentials, and a password in the spec would show in pod args and status messages.
 */
export const ARTIFACT_URI_RULES: CelRule[] = [
  {
    rule: "!self.matches('[\\x00-\\x1f\\x7f]')",
    message: 'uri must not contain control characters',
  },
  {
    rule: "!self.startsWith('file://') || self.startsWith('file:///')",
    message: 'a file uri must have no host: write file:///PATH',
  },
  {
    rule: "self.matches('^https?://') || !(self.matches('(?i)%(2e|2f|5c)') || self.contains('\\\\'))",
    message:
      'file:// and pvc:// uris must not contain backslashes or percent-encoded dots, slashes ' +
      'or backslashes',
  },
  {
    rule: "!self.matches('^https?://[^/?#]*@')",
    message:
      'uri must not contain credentials (user:password@): the model server cannot send them ' +
      'and they would be readable in the pod spec',
  },
];

/** String limited to the given literals, emitted as `enum` (TypeBox unions would emit `const`). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: KubeOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** Go-style duration string. */
export function Duration(options: KubeOptions = {}): TUnsafe<string> {
  return Type.Unsafe<string>({
    maxLength: 32,
    ...options,
    type: 'string',
    pattern: DURATION_PATTERN,
  });
}

/** RFC 3339 timestamp as written by the apiserver and the operator. */
export function DateTime(options: KubeOptions = {}): TUnsafe<string> {
  return Type.Unsafe<string>({ ...options, type: 'string', format: 'date-time' });
}

/** Resource quantity, an integer or a string such as `256Mi`. */
export function Quantity(options: KubeOptions = {}): TUnsafe<string | number> {
  return Type.Unsafe<string | number>({
    ...options,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: QUANTITY_PATTERN,
    'x-kubernetes-int-or-string': true,
  });
}

/** Object with arbitrary keys whose values all match `value`. */
export function StringMap<T extends TSchema>(
  value: T,
  options: KubeOptions = {},
): TUnsafe<Record<string, T['static']>> {
  return Type.Unsafe<Record<string, T['static']>>({
    ...options,
    type: 'object',
    additionalProperties: value,
  });
}

/** Object the apiserver stores without pruning, for embedded Kubernetes types. */
export function OpaqueObject<T = Record<string, unknown>>(options: KubeOptions = {}): TUnsafe<T> {
  return Type.Unsafe<T>({
    ...options,
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });
}
