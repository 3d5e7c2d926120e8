// The Go programs that the local cluster runs, each pinned by a go.mod under test/components/.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './config.ts';

export type ComponentName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'helm';

/** One binary, where its module lives and how it is stamped. */
export interface Component {
  name: ComponentName;
  /** Folder of the go.mod that pins it. */
  moduleDir: string;
  /** Import path of the main package. */
  mainPackage: string;
  version: string;
  /** `-X` assignments, so that the binary reports its release instead of "v0.0.0". */
  versionStamps: string[];
}

export const componentNames: readonly ComponentName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'helm',
];

const componentsDir = path.join(repoRoot, 'test', 'components');

/** Reads the version that `moduleDir/go.mod` requires for `modulePath`. */
export function requiredVersion(moduleDir: string, modulePath: string): string {
  const goMod = path.join(moduleDir, 'go.mod');
  const text = readFileSync(goMod, 'utf8');
  const escaped = modulePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(text);
  if (!match?.[1]) {
    throw new Error(`${goMod} does not require ${modulePath}; add a require line with its version`);
  }
  return match[1];
}

function kubernetesStamps(version: string): string[] {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const pkg = 'k8s.io/component-base/version';
  return [
    `${pkg}.gitVersion=${version}`,
    `${pkg}.gitMajor=${major}`,
    `${pkg}.gitMinor=${minor}`,
    `${pkg}.gitTreeState=clean`,
  ];
}

/** Describes every component with the version its go.mod pins. */
export function loadComponents(): Component[] {
  const kubernetesDir = path.join(componentsDir, 'kubernetes');
  const kubernetesVersion = requiredVersion(kubernetesDir, 'k8s.io/kubernetes');
  const kube = (name: ComponentName): Component => ({
    name,
    moduleDir: kubernetesDir,
    mainPackage: `k8s.io/kubernetes/cmd/${name}`,
    version: kubernetesVersion,
    versionStamps: kubernetesStamps(kubernetesVersion),
  });

  const etcdDir = path.join(componentsDir, 'etcd');
  const helmDir = path.join(componentsDir, 'helm');
  const helmVersion = requiredVersion(helmDir, 'helm.sh/helm/v4');
  return [
    {
      name: 'etcd',
      moduleDir: etcdDir,
      // etcd reports the version compiled into go.etcd.io/etcd/api/v3/version, so no stamp.
      mainPackage: '.',
      version: requiredVersion(etcdDir, 'go.etcd.io/etcd/server/v3'),
      versionStamps: [],
    },
    kube('kube-apiserver'),
    kube('kube-controller-manager'),
    kube('kube-scheduler'),
    {
      name: 'helm',
      moduleDir: helmDir,
      mainPackage: 'helm.sh/helm/v4/cmd/helm',
      version: helmVersion,
      versionStamps: [
        `helm.sh/helm/v4/internal/version.version=${helmVersion}`,
        'helm.sh/helm/v4/internal/version.gitTreeState=clean',
      ],
    },
  ];
}

/** Path of a component's binary in the cache: `<binDir>/<name>-<version>/<name>`. */
export function binaryPath(binDir: string, component: Pick<Component, 'name' | 'version'>): string {
  return path.join(binDir, `${component.name}-${component.version}`, component.name);
}
