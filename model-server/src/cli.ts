#!/usr/bin/env node
// Command line of the model server: `model-server serve` and `model-server train`.
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { Command, CommanderError } from 'commander';
import { addOptions } from './config/option-spec.ts';
import { parseServeConfig, SERVE_ENV_PREFIX, SERVE_OPTIONS } from './config/serve-config.ts';
import { parseTrainConfig, TRAIN_OPTIONS } from './config/train-config.ts';
import { errorMessage, isModelServerError } from './errors.ts';
import { createLogger } from './logger.ts';
import { runServer } from './server/run-server.ts';
import { trainModel } from './trainer/train.ts';

/** Exit status for invalid flags or data, as opposed to 1 for a failure while running. */
const EXIT_USAGE = 2;

function buildProgram(): Command {
  const program = new Command('model-server')
    .description('Serve and train TensorFlow.js regression models with Prometheus metrics')
    .showHelpAfterError()
    .exitOverride();

  const serve = program
    .command('serve')
    .description(
      'serve a model artifact over HTTP (TF Serving style /v1 and Open Inference Protocol /v2). ' +
        `Every flag can also be set through the environment variable shown; a flag wins over its variable.`,
    );
  addOptions(serve, SERVE_OPTIONS, SERVE_ENV_PREFIX);
  serve.action(async (flags: Record<string, unknown>) => {
    const config = parseServeConfig(flags, process.env);
    await runServer(config);
  });

  const train = program
    .command('train')
    .description(
      'train the reference network (Dense 64 relu, Dense 64 relu, Dense 1; Adam; MSE loss) on ' +
        'tabular data and write an artifact directory; prints a JSON summary on stdout',
    );
  addOptions(train, TRAIN_OPTIONS);
  train.action(async (flags: Record<string, unknown>) => {
    const config = parseTrainConfig(flags);
    const logger = createLogger(config.logLevel, pino.destination(2));
    const summary = await trainModel(config, logger);
    if (config.terminationMessagePath !== undefined) {
      await writeFile(config.terminationMessagePath, summary.uri);
    }
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  });
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the message (or the help, whose exit code is 0).
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const usage = isModelServerError(error) && error.statusCode < 500;
    process.stderr.write(`model-server: ${errorMessage(error)}\n`);
    process.exitCode = usage ? EXIT_USAGE : 1;
  }
}

await main(process.argv);
