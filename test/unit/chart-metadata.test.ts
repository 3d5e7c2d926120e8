// Checks of the chart's files that need no helm binary: versions, documented values, and images
// that the local cluster's test node can run.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, parse, parseDocument, type Pair } from 'yaml';
import { describe, expect, test } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const chartDir = path.join(root, 'charts', 'modelwarden');

const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as {
  version: string;
  appVersion: string;
};
const packageVersion = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }
).version;
const valuesText = readFileSync(path.join(chartDir, 'values.yaml'), 'utf8');
const values = parse(valuesText) as {
  image: { repository: string };
  modelServer: { image: { repository: string } };
};

describe('Chart.yaml', () => {
  test('has version 0.1.0', () => {
    expect(chart.version).toBe('0.1.0');
  });

  test('appVersion matches package.json', () => {
    expect(chart.appVersion).toBe(packageVersion);
  });
});

describe('values.yaml', () => {
  const document = parseDocument(valuesText);
  const pairs = isMap(document.contents) ? (document.contents.items as Pair[]) : [];
  // A key is documented by the comment right above it, or, for keys grouped under one block
  // comment (such as the scheduling settings at the end), by the nearest comment above.
  let lastComment = document.commentBefore ?? '';
  const documented = pairs.map((pair) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    lastComment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? lastComment;
    return { key, comment: lastComment };
  });

  test('has top-level keys', () => {
    expect(documented.length).toBeGreaterThan(10);
  });

  test.each(documented)('documents $key', ({ comment }) => {
    expect(comment.trim()).not.toBe('');
  });

  const schema = JSON.parse(readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as {
    properties: Record<string, unknown>;
  };

  test.each(documented)('schema declares $key', ({ key }) => {
    expect(Object.keys(schema.properties)).toContain(key);
  });
});

describe('images', () => {
  const imagesFile = path.join(root, 'test', 'cluster', 'images.json');

  test.runIf(existsSync(imagesFile)).each([
    ['image.repository', values.image.repository],
    ['modelServer.image.repository', values.modelServer.image.repository],
  ])('the test node maps %s', (_key, repository) => {
    expect(readFileSync(imagesFile, 'utf8')).toContain(`"${repository}`);
  });
});
