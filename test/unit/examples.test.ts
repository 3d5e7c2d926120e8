// The example manifests must work as written. Validators that apply no defaults must find every
// required field in them. The trainer args of examples/full.yaml, completed as the operator
// completes them, must parse as a `model-server train` command line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseTrainConfig, TRAIN_OPTIONS } from '../../model-server/src/config/train-config.ts';
import { addOptions } from '../../model-server/src/config/option-spec.ts';
import { buildCrd } from '../../operator/src/api/crd.ts';
import { completeTrainerArgs } from '../../operator/src/retraining/job.ts';

const root = path.resolve(import.meta.dirname, '../..');

interface FullExample {
  spec: {
    model: { name: string };
    retraining: {
      baseDataset: string;
      output: { claimName: string };
      jobTemplate: { spec: { template: { spec: { containers: V1Container[] } } } };
    };
  };
}

function readExample(file: string): unknown {
  return parse(readFileSync(path.join(root, 'examples', file), 'utf8'));
}

function readFullExample(): FullExample {
  return readExample('full.yaml') as FullExample;
}

interface SchemaNode {
  required?: string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** Lists the paths of required fields that `value` lacks, as a validator without defaults does. */
function missingRequired(schema: SchemaNode, value: unknown, at: string): string[] {
  if (Array.isArray(value)) {
    const items = schema.items;
    return items
      ? value.flatMap((item, index) => missingRequired(items, item, `${at}[${index}]`))
      : [];
  }
  if (typeof value !== 'object' || value === null) return [];
  const object = value as Record<string, unknown>;
  const missing = (schema.required ?? [])
    .filter((name) => !(name in object))
    .map((name) => `${at}.${name}`);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (name in object) missing.push(...missingRequired(child, object[name], `${at}.${name}`));
  }
  return missing;
}

describe.each(['minimal.yaml', 'full.yaml'])('examples/%s', (file) => {
  it('sets every required field', () => {
    const crd = buildCrd() as {
      spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] };
    };
    const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
    if (!schema) throw new Error('CRD has no version');
    expect(missingRequired(schema, readExample(file), '')).toEqual([]);
  });
});

/** Parses `args` (after `train`) with the model server's own flag table and validation. */
function parseTrainArgs(args: string[]): ReturnType<typeof parseTrainConfig> {
  const command = new Command('train').exitOverride();
  addOptions(command, TRAIN_OPTIONS);
  command.parse(args, { from: 'user' });
  return parseTrainConfig(command.opts());
}

describe('examples/full.yaml trainer', () => {
  const example = readFullExample();
  const trainer = example.spec.retraining.jobTemplate.spec.template.spec.containers[0];
  if (!trainer) throw new Error('examples/full.yaml has no trainer container');
  const completed = completeTrainerArgs(
    trainer,
    {
      feedbackClaim: 'cars-feedback',
      baseDataset: example.spec.retraining.baseDataset,
      output: { claimName: example.spec.retraining.output.claimName, pathPrefix: 'cars' },
      attempt: 1,
    } as Parameters<typeof completeTrainerArgs>[1],
    { path: '/out/cars/v2' },
  );

  it('parses as model-server train args', () => {
    const [subcommand, ...args] = completed.args ?? [];
    expect(subcommand).toBe('train');
    expect(() => parseTrainArgs(args)).not.toThrow();
  });

  it('names the model as spec.model.name', () => {
    const config = parseTrainArgs((completed.args ?? []).slice(1));
    expect(config.name).toBe(example.spec.model.name);
  });
});
