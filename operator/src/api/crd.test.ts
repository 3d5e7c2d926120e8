import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCrd, CRD_PATH, renderCrd } from './crd.ts';

const root = path.resolve(import.meta.dirname, '../../..');

/** Yields every schema node with its JSON path. */
function* walk(
  node: Record<string, unknown>,
  at: string,
): Generator<[string, Record<string, unknown>]> {
  yield [at, node];
  const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [key, child] of Object.entries(properties ?? {})) yield* walk(child, `${at}.${key}`);
  const items = node.items as Record<string, unknown> | undefined;
  if (items) yield* walk(items, `${at}[]`);
  const values = node.additionalProperties as Record<string, unknown> | undefined;
  if (values && typeof values === 'object') yield* walk(values, `${at}{}`);
}

function versionSchema(): Record<string, unknown> {
  const crd = buildCrd() as {
    spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  const version = crd.spec.versions[0];
  if (!version) throw new Error('CRD has no version');
  return version.schema.openAPIV3Schema;
}

describe('generated CRD', () => {
  it('matches the committed manifest', () => {
    const committed = readFileSync(path.join(root, CRD_PATH), 'utf8');
    expect(committed, `${CRD_PATH} is stale: run npm run crd:generate`).toBe(renderCrd());
  });

  it('parses back to the built object', () => {
    expect(parse(renderCrd())).toEqual(buildCrd());
  });

  it('describes every spec and status field', () => {
    const schema = versionSchema();
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    const undescribed: string[] = [];
    for (const part of ['spec', 'status']) {
      for (const [at, node] of walk(properties[part] ?? {}, part)) {
        if (!at.endsWith('{}') && typeof node.description !== 'string') undescribed.push(at);
      }
    }
    expect(undescribed).toEqual([]);
  });

  it('requires no field that has a default', () => {
    const schema = versionSchema();
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    const defaultedRequired: string[] = [];
    for (const part of ['spec', 'status']) {
      for (const [at, node] of walk(properties[part] ?? {}, part)) {
        const children = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
        for (const name of (node.required ?? []) as string[]) {
          if (children[name]?.default !== undefined) defaultedRequired.push(`${at}.${name}`);
        }
      }
    }
    expect(defaultedRequired).toEqual([]);
  });

  it('keeps fields without a default required', () => {
    const spec = (versionSchema().properties as Record<string, Record<string, unknown>>).spec;
    const model = (spec?.properties as Record<string, Record<string, unknown>>).model;
    expect(spec?.required).toContain('model');
    expect(model?.required).toEqual(['name', 'uri']);
  });

  it('emits no keywords structural schemas reject', () => {
    const text = JSON.stringify(versionSchema());
    for (const keyword of ['"const"', '"patternProperties"', '"$id"', '"oneOf"', '"allOf"']) {
      expect(text, keyword).not.toContain(keyword);
    }
  });
});
