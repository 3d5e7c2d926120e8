// Certificates and keys of the local cluster, made with the machine's openssl (no network needed).
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A certificate and its private key as files. */
export interface KeyPair {
  cert: string;
  key: string;
}

interface LeafRequest {
  /** File stem inside the PKI folder. */
  name: string;
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client' | 'server-and-client';
}

/** Everything `up` needs, by role. */
export interface ClusterPki {
  ca: KeyPair;
  apiserver: KeyPair;
  apiserverKubeletClient: KeyPair;
  admin: KeyPair;
  controllerManager: KeyPair;
  scheduler: KeyPair;
  node: KeyPair;
  /** Signing key of service account tokens and its public half. */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

const day = 24 * 60 * 60 * 1000;

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(
      `openssl ${args[0]} failed: ${stderr || String(error)}; is openssl installed?`,
      {
        cause: error,
      },
    );
  }
}

function newKey(file: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** True when the certificate exists and stays valid for at least another week. */
function isFresh(certFile: string): boolean {
  if (!existsSync(certFile)) {
    return false;
  }
  const cert = new X509Certificate(readFileSync(certFile));
  return new Date(cert.validTo).getTime() - Date.now() > 7 * day;
}

/** True when the certificate names the requested subject, which changes with the node name. */
function hasCommonName(certFile: string, request: LeafRequest): boolean {
  const subject = new X509Certificate(readFileSync(certFile)).subject.split('\n');
  return subject.includes(`CN=${request.commonName}`);
}

function ensureCa(dir: string): KeyPair {
  const pair = { cert: path.join(dir, 'ca.crt'), key: path.join(dir, 'ca.key') };
  if (isFresh(pair.cert) && existsSync(pair.key)) {
    return pair;
  }
  newKey(pair.key);
  openssl([
    'req', '-x509', '-new', '-key', pair.key, '-subj', '/CN=modelwarden-cluster-ca',
    '-days', '3650', '-out', pair.cert,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]); // prettier-ignore
  return pair;
}

function extendedKeyUsage(usage: LeafRequest['usage']): string {
  switch (usage) {
    case 'server':
      return 'serverAuth';
    case 'client':
      return 'clientAuth';
    case 'server-and-client':
      return 'serverAuth,clientAuth';
  }
}

function ensureLeaf(dir: string, ca: KeyPair, request: LeafRequest, caIsNew: boolean): KeyPair {
  const pair = {
    cert: path.join(dir, `${request.name}.crt`),
    key: path.join(dir, `${request.name}.key`),
  };
  if (!caIsNew && isFresh(pair.cert) && existsSync(pair.key) && hasCommonName(pair.cert, request)) {
    return pair;
  }
  newKey(pair.key);
  const subject = [
    ...(request.organizations ?? []).map((o) => `/O=${o}`),
    `/CN=${request.commonName}`,
  ];
  const csr = path.join(dir, `${request.name}.csr`);
  const extensions = path.join(dir, `${request.name}.ext`);
  const altNames = [
    ...(request.dnsNames ?? []).map((name) => `DNS:${name}`),
    ...(request.ipAddresses ?? []).map((ip) => `IP:${ip}`),
  ];
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${extendedKeyUsage(request.usage)}`,
  ];
  if (altNames.length > 0) {
    lines.push(`subjectAltName=${altNames.join(',')}`);
  }
  writeFileSync(extensions, `${lines.join('\n')}\n`);
  openssl(['req', '-new', '-key', pair.key, '-subj', subject.join(''), '-out', csr]);
  openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key,
    '-set_serial', `0x${randomBytes(16).toString('hex')}`,
    '-days', '365', '-extfile', extensions, '-out', pair.cert,
  ]); // prettier-ignore
  rmSync(csr);
  rmSync(extensions);
  return pair;
}

export interface PkiOptions {
  dir: string;
  nodeName: string;
  /** ClusterIP of the `kubernetes` Service, a SAN of the apiserver's certificate. */
  kubernetesServiceIp: string;
  host: string;
}

/**
 * Creates the cluster's CA, the certificates of every component and the service account signing
 * key, keeping whatever already exists and is valid for another week. A new CA reissues every
 * certificate, because the old ones would no longer verify.
 */
export function ensurePki(options: PkiOptions): ClusterPki {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caExisted = isFresh(path.join(dir, 'ca.crt')) && existsSync(path.join(dir, 'ca.key'));
  const ca = ensureCa(dir);
  const caIsNew = !caExisted;
  const leaf = (request: LeafRequest) => ensureLeaf(dir, ca, request, caIsNew);

  const serviceAccountKey = path.join(dir, 'service-account.key');
  const serviceAccountPublicKey = path.join(dir, 'service-account.pub');
  if (!existsSync(serviceAccountKey) || !existsSync(serviceAccountPublicKey)) {
    newKey(serviceAccountKey);
    openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPublicKey]);
  }

  return {
    ca,
    apiserver: leaf({
      name: 'apiserver',
      commonName: 'kube-apiserver',
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ipAddresses: [options.host, options.kubernetesServiceIp],
      usage: 'server',
    }),
    apiserverKubeletClient: leaf({
      name: 'apiserver-kubelet-client',
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters'],
      usage: 'client',
    }),
    admin: leaf({
      name: 'admin',
      commonName: 'modelwarden-admin',
      organizations: ['system:masters'],
      usage: 'client',
    }),
    // The controller-manager and the scheduler use one certificate as client and for their own
    // health port, so that `status` can verify that port against the cluster CA.
    controllerManager: leaf({
      name: 'controller-manager',
      commonName: 'system:kube-controller-manager',
      dnsNames: ['localhost'],
      ipAddresses: [options.host],
      usage: 'server-and-client',
    }),
    scheduler: leaf({
      name: 'scheduler',
      commonName: 'system:kube-scheduler',
      dnsNames: ['localhost'],
      ipAddresses: [options.host],
      usage: 'server-and-client',
    }),
    node: leaf({
      name: 'node',
      commonName: `system:node:${options.nodeName}`,
      organizations: ['system:nodes'],
      dnsNames: ['localhost', options.nodeName],
      ipAddresses: [options.host],
      usage: 'server-and-client',
    }),
    serviceAccountKey,
    serviceAccountPublicKey,
  };
}
