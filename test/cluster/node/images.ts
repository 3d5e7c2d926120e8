// Maps container images to local commands, read from images.json, in place of pulling images.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One entry of images.json: a Node script of this repository or a literal entrypoint. */
interface ImageEntry {
  /** Script path relative to the repository root, run by the node's own Node binary. */
  node?: string;
  /** Program and arguments, like an image's ENTRYPOINT; `node` is the node's Node binary. */
  entrypoint?: string[];
  /** Default arguments, like an image's CMD, used when the container sets neither. */
  cmd?: string[];
  env?: Record<string, string>;
  /** Working directory relative to the repository root; the root itself when omitted. */
  workingDir?: string;
}

/** What an image would have provided: its entrypoint, default arguments, env and directory. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workingDir: string;
}

/** Raised for an image without an entry; the pod reports it like a failed pull. */
export class ImageNotMappedError extends Error {
  readonly image: string;
  constructor(image: string, file: string) {
    super(
      `image ${JSON.stringify(image)} is not mapped to a local command: ` +
        `add "${imageName(image)}" to the "images" object of ${file}`,
    );
    this.name = 'ImageNotMappedError';
    this.image = image;
  }
}

/** Strips the digest, the tag and Docker Hub's implicit prefixes: `docker.io/library/busybox:1` is `busybox`. */
export function imageName(image: string): string {
  return normalize(withoutTag(image));
}

function withoutTag(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

function normalize(reference: string): string {
  return reference.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
}

/** Maps the program `node` to the Node binary this process runs on, never the machine's own node. */
export function resolveProgram(program: string): string {
  return program === 'node' ? process.execPath : program;
}

function validateEntry(key: string, entry: ImageEntry, file: string): void {
  const hasNode = typeof entry.node === 'string';
  const hasEntrypoint = Array.isArray(entry.entrypoint) && entry.entrypoint.length > 0;
  if (hasNode === hasEntrypoint) {
    throw new Error(
      `${file}: image ${JSON.stringify(key)} must set exactly one of "node" and "entrypoint"`,
    );
  }
}

/** Images known to the node, re-read from disk on every lookup so edits apply to the next start. */
export class ImageMap {
  readonly file: string;
  readonly repoRoot: string;

  constructor(file: string, repoRoot: string) {
    this.file = file;
    this.repoRoot = repoRoot;
  }

  private load(): Map<string, ImageEntry> {
    let parsed: { images?: Record<string, ImageEntry> };
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8')) as typeof parsed;
    } catch (error) {
      throw new Error(`cannot read the image map ${this.file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const entries = new Map<string, ImageEntry>();
    for (const [key, entry] of Object.entries(parsed.images ?? {})) {
      validateEntry(key, entry, this.file);
      entries.set(normalize(key), entry);
    }
    return entries;
  }

  /** Looks `image` up by its full reference first and then by its name without tag. */
  resolve(image: string): ImageConfig {
    const entries = this.load();
    const entry =
      entries.get(normalize(image.split('@')[0] ?? image)) ?? entries.get(imageName(image));
    if (!entry) {
      throw new ImageNotMappedError(image, this.file);
    }
    const entrypoint = entry.node
      ? [process.execPath, path.resolve(this.repoRoot, entry.node)]
      : (entry.entrypoint ?? []).map((part, index) => (index === 0 ? resolveProgram(part) : part));
    return {
      entrypoint,
      cmd: entry.cmd ?? [],
      env: entry.env ?? {},
      workingDir: path.resolve(this.repoRoot, entry.workingDir ?? '.'),
    };
  }
}
