// Command line of the local cluster: `node test/cluster/cli.ts build|up|down|status|reset`.
import { rmSync } from 'node:fs';
import { buildComponents } from './build.ts';
import { loadClusterConfig } from './config.ts';
import { down, isClusterUp, status, up } from './control-plane.ts';

const usage = `usage: npm run cluster -- COMMAND

commands:
  build    build the missing binaries into the cache (MODELWARDEN_BIN_DIR)
  up       build what is missing, start the cluster and write its kubeconfig
  down     stop every process of the cluster and keep its state
  status   show each component's process and health
  reset    stop the cluster and delete its state folder (MODELWARDEN_CLUSTER_DIR)`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const config = loadClusterConfig();
  const log = (line: string) => console.log(`[cluster] ${line}`);
  switch (command) {
    case 'build':
      await buildComponents({ binDir: config.binDir, log });
      return 0;
    case 'up':
      await up(config, { log });
      return 0;
    case 'down':
      await down(config, log);
      return 0;
    case 'status':
      return (await status(config, log)) ? 0 : 1;
    case 'reset':
      await down(config, log);
      if (isClusterUp(config)) {
        throw new Error('the cluster is still running after down; not deleting its state');
      }
      rmSync(config.stateDir, { recursive: true, force: true });
      log(`deleted ${config.stateDir}`);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      console.log(usage);
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
