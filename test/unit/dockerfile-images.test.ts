// Lints the two Dockerfiles without a Docker engine. dockerfile-utils checks the syntax. The rules
// below check what the images promise: a pinned base, several stages, production dependencies
// from the lock file, a non-root user and the entrypoint that the chart and the test node expect.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Copy, DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import type { ModelDeployment } from '../../operator/src/api/model-deployment.ts';
import { buildDeployment } from '../../operator/src/controller/children/deployment.ts';
import { selectModel } from '../../operator/src/controller/children/model.ts';
import { imageNodeOptions } from '../../operator/bench/cluster-phase.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

interface ImageCase {
  dockerfile: string;
  /** Source folder the image compiles. */
  sourceFolder: string;
  /** Exec-form ENTRYPOINT the chart and the operator rely on. */
  entrypoint: string[];
  /** Whether the image must carry the native TensorFlow backend. */
  tfjsNode: boolean;
}

const images: ImageCase[] = [
  {
    dockerfile: 'Dockerfile.operator',
    sourceFolder: 'operator',
    entrypoint: ['node', '/app/operator/dist/main.js'],
    tfjsNode: false,
  },
  {
    dockerfile: 'Dockerfile.model-server',
    sourceFolder: 'model-server',
    entrypoint: ['model-server'],
    tfjsNode: true,
  },
];

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  /** Dependencies whose install scripts npm may run; npm 12 skips the others. */
  allowScripts?: Record<string, boolean>;
}

const packageJson = JSON.parse(
  readFileSync(path.join(root, 'package.json'), 'utf8'),
) as PackageJson;
const lockedNodeVersion = (
  JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  }
).packages['node_modules/node']?.version;

function parse(file: string): { text: string; dockerfile: Dockerfile } {
  const text = readFileSync(path.join(root, file), 'utf8');
  return { text, dockerfile: DockerfileParser.parse(text) };
}

/** Defaults of the ARGs declared before the first FROM, the only ones FROM lines can use. */
function globalArgs(dockerfile: Dockerfile): Map<string, string> {
  const args = new Map<string, string>();
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') break;
    if (instruction.getKeyword() !== 'ARG') continue;
    const [name, value = ''] = instruction.getArgumentsContent()?.split('=', 2) ?? [];
    if (name) args.set(name, expandArgs(value, args));
  }
  return args;
}

function expandArgs(text: string, args: Map<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    return args.get(braced ?? bare ?? '') ?? whole;
  });
}

/** Instructions per build stage, keyed by stage name, in file order. */
function stages(dockerfile: Dockerfile): { name: string; base: string; body: Instruction[] }[] {
  const args = globalArgs(dockerfile);
  const result: { name: string; base: string; body: Instruction[] }[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image = '', , name = ''] = instruction.getArguments().map((arg) => arg.getValue());
      result.push({ name, base: expandArgs(image, args), body: [] });
    } else {
      result.at(-1)?.body.push(instruction);
    }
  }
  return result;
}

/** Returns the stage a COPY --from= reads from, or undefined for a copy from the build context. */
function copySource(instruction: Instruction): string | undefined {
  return instruction instanceof Copy
    ? (instruction.getFromFlag()?.getValue() ?? undefined)
    : undefined;
}

function execForm(instruction: Instruction | undefined): unknown {
  const content = instruction?.getArgumentsContent();
  return content === undefined || content === null ? undefined : JSON.parse(content);
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => path.join(folder, file));
}

/** Module specifiers a file loads at run time: type-only imports are left out. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2023);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

describe.each(images)('$dockerfile', (image) => {
  const { text, dockerfile } = parse(image.dockerfile);
  const allStages = stages(dockerfile);
  const runtime = allStages.at(-1);
  const runtimeBody = runtime?.body ?? [];
  const keywordsIn = (keyword: string) => runtimeBody.filter((i) => i.getKeyword() === keyword);
  const runCommands = allStages.flatMap((stage) =>
    stage.body.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? ''),
  );

  test('passes the dockerfile-utils linter', () => {
    expect(validate(text)).toEqual([]);
  });

  test('is multi-stage with named stages', () => {
    expect(allStages.length).toBeGreaterThanOrEqual(2);
    for (const stage of allStages) expect(stage.name, `FROM ${stage.base}`).not.toBe('');
  });

  test('bases every stage on the pinned Node release', () => {
    expect(lockedNodeVersion).toBeDefined();
    for (const stage of allStages) {
      expect(stage.base, `stage ${stage.name}`).toBe(`node:${lockedNodeVersion}-bookworm-slim`);
    }
  });

  test('copies only from earlier stages', () => {
    const seen = new Set<string>();
    for (const stage of allStages) {
      for (const copy of stage.body.filter((i) => i.getKeyword() === 'COPY')) {
        const from = copySource(copy);
        if (from) expect(seen, `COPY --from=${from} in stage ${stage.name}`).toContain(from);
      }
      seen.add(stage.name);
    }
  });

  test('installs with npm ci, production dependencies only in the runtime', () => {
    expect(runCommands.some((command) => /\bnpm install\b/.test(command))).toBe(false);
    const productionInstall = runCommands.filter((command) => command.includes('--omit=dev'));
    expect(productionInstall).toHaveLength(1);
    expect(productionInstall[0]).toMatch(/^npm ci\b/);
    const modulesCopy = keywordsIn('COPY').find((i) =>
      i.getArgumentsContent()?.includes('node_modules'),
    );
    const sourceStage = modulesCopy && copySource(modulesCopy);
    expect(sourceStage).toBeDefined();
    const stage = allStages.find((candidate) => candidate.name === sourceStage);
    const stageRuns = stage?.body.map((i) => i.getArgumentsContent() ?? '').join('\n');
    expect(stageRuns).toContain('--omit=dev');
  });

  test('runs as a numeric non-root user', () => {
    const users = keywordsIn('USER');
    expect(users).toHaveLength(1);
    const user = users[0]?.getArgumentsContent() ?? '';
    expect(user).toMatch(/^[1-9][0-9]*(:[0-9]+)?$/);
    const lastRun = runtimeBody.findLastIndex((i) => i.getKeyword() === 'RUN');
    expect(runtimeBody.indexOf(users[0] as Instruction)).toBeGreaterThan(lastRun);
  });

  test('starts the program in exec form', () => {
    expect(execForm(keywordsIn('ENTRYPOINT').at(-1))).toEqual(image.entrypoint);
  });

  test(`${image.tfjsNode ? 'loads' : 'leaves out'} @tensorflow/tfjs-node`, () => {
    const install = runCommands.find((command) => command.includes('--omit=dev')) ?? '';
    if (image.tfjsNode) {
      expect(install).not.toContain('--omit=optional');
      expect(install).not.toContain('--ignore-scripts');
      expect(install).toContain(`require('@tensorflow/tfjs-node')`);
      expect(packageJson.allowScripts?.['@tensorflow/tfjs-node']).toBe(true);
    } else {
      expect(install).toContain('--omit=optional');
    }
  });

  test('copies every source file the build needs', () => {
    const folder = path.join(root, image.sourceFolder);
    for (const file of sourceFiles(path.join(folder, 'src'))) {
      for (const specifier of runtimeImports(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), specifier);
        expect(target.startsWith(folder + path.sep), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  test('imports only production dependencies at run time', () => {
    const production = new Set([
      ...Object.keys(packageJson.dependencies ?? {}),
      ...Object.keys(packageJson.optionalDependencies ?? {}),
    ]);
    const folder = path.join(root, image.sourceFolder, 'src');
    for (const file of sourceFiles(folder)) {
      for (const specifier of runtimeImports(file)) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        expect(production, `${file} imports ${specifier}`).toContain(packageName(specifier));
      }
    }
  });
});

describe('operator image', () => {
  test('caps the V8 semi-space', () => {
    const runtime = stages(parse('Dockerfile.operator').dockerfile).at(-1)?.body ?? [];
    const env = runtime
      .filter((instruction) => instruction.getKeyword() === 'ENV')
      .map((instruction) => instruction.getArgumentsContent());
    expect(env).toContain(`NODE_OPTIONS=${imageNodeOptions(root)}`);
    expect(imageNodeOptions(root)).toMatch(/^--max-semi-space-size=\d+$/);
  });
});

describe('model-server entrypoint', () => {
  const cli = path.join(root, 'model-server', 'src', 'cli.ts');

  test('cli starts with a node shebang', () => {
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  test('serving pods pass only args to it', () => {
    const resource: ModelDeployment = {
      apiVersion: 'modelwarden.io/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: 'cars', namespace: 'ml', uid: 'uid-1' },
      spec: {
        model: { name: 'cars', uri: 'file:///models/cars', format: 'tfjs-layers' },
        replicas: 1,
      },
    };
    const images = { default: 'modelwarden/model-server:0.1.0', byFormat: {} };
    const deployment = buildDeployment(resource, selectModel(resource), { images });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.command).toBeUndefined();
    expect(container?.args?.[0]).toBe('serve');
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  test.each(['.git', '.modelwarden', '**/node_modules', '**/dist'])('leaves out %s', (entry) => {
    expect(ignored).toContain(entry);
  });
});
