// The test node: a kubelet stand-in that runs the pods bound to it as local processes.
// `npm run cluster -- up` starts it; it reads its settings from the environment (see settings.ts).
import * as k8s from '@kubernetes/client-node';
import path from 'node:path';
import { pino } from 'pino';
import { loadComponents } from '../components.ts';
import { serviceEnvironment } from './env.ts';
import { ImageMap } from './images.ts';
import { IpPool } from './ip-pool.ts';
import { startKubeletServer } from './kubelet-server.ts';
import { NodeApi } from './node-api.ts';
import { PodManager } from './pod-manager.ts';
import { FolderProvisioner } from './provisioner.ts';
import { NodeRegistration } from './registration.ts';
import { loadNodeSettings } from './settings.ts';

const log = pino({ name: 'test-node', level: process.env['MODELWARDEN_NODE_LOG_LEVEL'] ?? 'info' });

async function main(): Promise<void> {
  const settings = loadNodeSettings();
  const { cluster } = settings;
  const kubeconfig = new k8s.KubeConfig();
  kubeconfig.loadFromFile(settings.kubeconfig);
  const kubernetesVersion =
    loadComponents().find((c) => c.name === 'kube-apiserver')?.version ?? 'v0.0.0';

  const api = new NodeApi(kubeconfig, cluster.nodeName, log);
  const pods = new PodManager(kubeconfig, cluster.nodeName, {
    hostIP: cluster.host,
    api,
    images: new ImageMap(settings.imagesFile, cluster.repoRoot),
    ipPool: new IpPool(settings.podCidr),
    podsDir: settings.podsDir,
    logsDir: settings.logsDir,
    containerRecordsDir: settings.containerRecordsDir,
    persistentVolumesDir: settings.persistentVolumesDir,
    serviceEnv: serviceEnvironment(cluster.host, cluster.ports.apiserver),
    allocatable: settings.capacity,
    backoff: settings.backoff,
    volumeRefreshMs: settings.volumeRefreshMs,
    protectedPaths: [
      cluster.repoRoot,
      cluster.stateDir,
      cluster.binDir,
      path.dirname(process.execPath),
    ],
    log,
  });
  const registration = new NodeRegistration(
    kubeconfig,
    {
      name: cluster.nodeName,
      address: cluster.host,
      kubeletPort: cluster.ports.kubelet,
      capacity: settings.capacity,
      kubeletVersion: kubernetesVersion,
    },
    log,
  );
  const provisioner = new FolderProvisioner(
    kubeconfig,
    settings.persistentVolumesDir,
    cluster.nodeName,
    log,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    log.info({ signal }, 'stopping the node and its containers');
    registration.stop();
    await provisioner.stop();
    await pods.shutdown(settings.shutdownGraceMs);
    log.info('node stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await registration.start();
  await provisioner.start();
  await pods.start();
  await startKubeletServer({
    host: cluster.host,
    port: cluster.ports.kubelet,
    certFile: path.join(settings.pkiDir, 'node.crt'),
    keyFile: path.join(settings.pkiDir, 'node.key'),
    caFile: path.join(settings.pkiDir, 'ca.crt'),
    logsDir: settings.logsDir,
    findPod: (namespace, name) => pods.findPod(namespace, name),
    logOffsets: (uid, container) => pods.logOffsets(uid, container),
    log,
  });
  log.info(
    { node: cluster.nodeName, kubeletPort: cluster.ports.kubelet, podCidr: settings.podCidr },
    'node running',
  );
}

try {
  await main();
} catch (error) {
  log.fatal({ err: error }, 'the test node failed to start');
  process.exit(1);
}
