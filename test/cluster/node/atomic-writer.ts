// Writes a set of files into a volume folder so that readers never see a half-updated set.
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export interface ProjectedFile {
  content: Buffer;
  mode: number;
}

/** A hash of the files, so that an unchanged set is not written again. */
export function fingerprint(files: Map<string, ProjectedFile>): string {
  const hash = createHash('sha256');
  for (const name of [...files.keys()].sort()) {
    const file = files.get(name);
    hash.update(`${name}\0${file?.mode}\0`).update(file?.content ?? '');
  }
  return hash.digest('hex');
}

/** Rejects paths that would leave the volume folder. */
function checkRelativePath(name: string): void {
  const normal = path.posix.normalize(name);
  if (
    name === '' ||
    path.isAbsolute(name) ||
    normal.startsWith('..') ||
    normal.split('/').includes('..')
  ) {
    throw new Error(
      `invalid volume item path ${JSON.stringify(name)}: it must be relative and stay inside the volume`,
    );
  }
}

/**
 * Writes `files` into `dir` with the kubelet's layout: the files live in a timestamped folder,
 * `..data` links to it, and each top-level name links through `..data`. Swapping the `..data`
 * link with a rename is atomic, so that an update replaces the whole set at once.
 */
export function writeAtomically(dir: string, files: Map<string, ProjectedFile>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:.TZ]/g, '_');
  const versionName = `..${stamp}${Math.random().toString(36).slice(2, 8)}`;
  const versionDir = path.join(dir, versionName);
  mkdirSync(versionDir);
  for (const [name, file] of files) {
    checkRelativePath(name);
    const target = path.join(versionDir, name);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content, { mode: file.mode });
  }

  const dataLink = path.join(dir, '..data');
  const previous = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  const tempLink = path.join(dir, '..data_tmp');
  rmSync(tempLink, { force: true });
  symlinkSync(versionName, tempLink);
  renameSync(tempLink, dataLink);

  const topLevel = new Set([...files.keys()].map((name) => name.split('/')[0] ?? name));
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..')) {
      continue;
    }
    if (!topLevel.has(entry) && lstatSync(path.join(dir, entry)).isSymbolicLink()) {
      rmSync(path.join(dir, entry));
    }
  }
  for (const name of topLevel) {
    const link = path.join(dir, name);
    if (!existsSync(link)) {
      rmSync(link, { force: true });
      symlinkSync(path.join('..data', name), link);
    }
  }
  if (previous && previous !== versionName) {
    rmSync(path.join(dir, previous), { recursive: true, force: true });
  }
}
