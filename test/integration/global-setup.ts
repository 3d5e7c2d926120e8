// Global setup of the vitest `cluster` project: starts the local cluster once for all test files
// (building missing binaries first) and provides its kubeconfig.
//
// Several test runs may share one cluster. Each registers itself as a user; the last one to
// finish stops the cluster if a test run started it. A cluster started by hand with
// `npm run cluster -- up`, or any cluster when MODELWARDEN_KEEP_CLUSTER=1, keeps running.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadClusterConfig, statePaths, type ClusterConfig } from '../cluster/config.ts';
import { down, up } from '../cluster/control-plane.ts';
import { isAlive, processStartTime, readRecord, writeRecord } from '../cluster/processes.ts';
import './support/kube.ts';

const log = (line: string) => console.log(`[cluster] ${line}`);

function usersDir(config: ClusterConfig): string {
  return statePaths(config).testUsers;
}

function startedByTestsFile(config: ClusterConfig): string {
  return statePaths(config).startedByTests;
}

function liveUsers(config: ClusterConfig): string[] {
  const dir = usersDir(config);
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir).filter((file) => {
    const record = readRecord(path.join(dir, file));
    const alive = record !== undefined && isAlive(record);
    if (!alive) {
      rmSync(path.join(dir, file), { force: true });
    }
    return alive;
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadClusterConfig();
  const userFile = path.join(usersDir(config), `${process.pid}.json`);
  let result;
  try {
    result = await up(config, { log });
  } catch (error) {
    // Leave no half-started cluster behind: a later run would find some daemons up.
    log(`starting the cluster failed; stopping what started`);
    await down(config, log);
    throw error;
  }
  const { kubeconfig, alreadyUp } = result;
  if (!alreadyUp) {
    mkdirSync(path.dirname(startedByTestsFile(config)), { recursive: true });
    writeFileSync(startedByTestsFile(config), `${process.pid}\n`);
  }
  writeRecord(userFile, {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? '',
    command: process.argv,
  });
  process.env['KUBECONFIG'] = kubeconfig;
  project.provide('kubeconfig', kubeconfig);

  return async () => {
    rmSync(userFile, { force: true });
    const others = liveUsers(config);
    const startedByTests = existsSync(startedByTestsFile(config));
    if (!startedByTests || others.length > 0 || process.env['MODELWARDEN_KEEP_CLUSTER'] === '1') {
      const reason = !startedByTests
        ? 'it was started by hand'
        : others.length > 0
          ? `${others.length} other test run(s) use it`
          : 'MODELWARDEN_KEEP_CLUSTER=1';
      log(`leaving the cluster running because ${reason}; stop it with npm run cluster -- down`);
      return;
    }
    await down(config, log);
  };
}
