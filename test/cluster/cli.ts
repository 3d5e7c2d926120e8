// Command line of the local cluster: `node test/cluster/cli.ts build`.
import { buildComponents } from './build.ts';
import { loadClusterConfig } from './config.ts';

const usage = `usage: npm run cluster -- COMMAND

commands:
  build    build the missing binaries into the cache (MODELWARDEN_BIN_DIR)`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const config = loadClusterConfig();
  const log = (line: string) => console.log(`[cluster] ${line}`);
  switch (command) {
    case 'build':
      await buildComponents({ binDir: config.binDir, log });
      return 0;
    default:
      console.error(
        command === undefined ? usage : `unknown command ${JSON.stringify(command)}\n\n${usage}`,
      );
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`[cluster] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
