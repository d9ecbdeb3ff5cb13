// The host image of a deployment root: the container image the deployment was made from, as bootc
// records it in the deployment's origin file (a GKeyFile), `[origin] container-image-reference=`, an
// ostree-ext image reference such as `ostree-unverified-registry:quay.io/org/os:42`. With bootc's
// unified storage that image also sits in the bound image store, and bootc's own prune keeps it
// (`prune_container_store()`: the image name of every deployment's origin is a root); GC here keeps
// it too (reconcile/gc-plan.ts).
//
// Where the origin file is, per backend:
//  - ostree: beside the deployment directory, `/ostree/deploy/<stateroot>/deploy/<csum>.<serial>.origin`;
//  - composefs: inside the deployment's state directory, `/sysroot/state/deploy/<id>/<id>.origin`
//    (also carrying `[image] manifest_digest=`, the digest of the image's manifest).
// A root with neither file is not a deployment (or has no recorded image): it has no host image. An
// origin file that exists but cannot be read or parsed is an error: the host image is then unknown.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { clip } from '../clip.js';
import { errnoCode, messageOf } from '../errors.js';

/** What one deployment root was deployed from. */
export interface HostImage {
  root: string;
  /** The origin file it was read from (host path). */
  origin: string;
  /** The origin's `container-image-reference`, as written. */
  originReference: string;
  /** The image name inside it, without signature scheme or transport: what the store lists it as. */
  image: string;
  /** The manifest digest the composefs backend records (`[image] manifest_digest`), when present. */
  manifestDigest?: string;
}

/** An origin file that exists but whose host image cannot be known. */
export interface OriginError {
  root: string;
  origin: string;
  line?: number;
  message: string;
}

export interface HostImageScan {
  images: HostImage[];
  errors: OriginError[];
}

/** ostree writes origin files of a few hundred bytes; anything far larger is not one. */
export const MAX_ORIGIN_BYTES = 64 * 1024;

/** The origin file candidates of a root: ostree's (beside it), then composefs' (inside it). */
export function originCandidates(root: string): string[] {
  const name = basename(root);
  if (name === '' || root === '/') return [];
  return [join(dirname(root), `${name}.origin`), join(root, `${name}.origin`)];
}

class OriginSyntaxError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** GKeyFile value escapes: `\s`, `\n`, `\t`, `\r`, `\\`. */
function unescapeValue(raw: string, line: number): string {
  return raw.replace(/\\(.?)/g, (_m, c: string) => {
    const map: Record<string, string> = { s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' };
    const out = map[c];
    if (out === undefined) throw new OriginSyntaxError(`invalid escape "\\${c}" in a value`, line);
    return out;
  });
}

interface OriginValue {
  value: string;
  line: number;
}

/**
 * Reads the keys of a GKeyFile's groups (`[group]`, `key=value`, `#` comments; a later key replaces
 * an earlier one, repeated groups add up, as GLib does). Only what the host image needs is kept.
 */
export function parseOriginFile(text: string): Map<string, OriginValue> {
  const keys = new Map<string, OriginValue>();
  let group: string | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('[')) {
      const m = /^\[([^[\]]+)\]\s*$/.exec(line);
      if (!m) throw new OriginSyntaxError(`invalid group header ${JSON.stringify(clip(line))}`, n);
      group = m[1];
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new OriginSyntaxError(`line is neither a group, a key=value nor a comment`, n);
    if (group === undefined) throw new OriginSyntaxError('key outside any [group]', n);
    const key = line.slice(0, eq).trimEnd();
    const value = unescapeValue(line.slice(eq + 1).replace(/^\s+/, ''), n);
    keys.set(`${group}.${key}`, { value, line: n });
  });
  return keys;
}

// The signature schemes of ostree-ext's OstreeImageReference, and how many ':'-separated fields
// (a remote name) follow before the image reference; `registry` marks the schemes whose image
// reference has no transport of its own (it is the registry).
const SCHEMES: Record<string, { remote: boolean; registry: boolean }> = {
  'ostree-image-signed': { remote: false, registry: false },
  'ostree-unverified-image': { remote: false, registry: false },
  'ostree-unverified-registry': { remote: false, registry: true },
  'ostree-remote-registry': { remote: true, registry: true },
  'ostree-remote-image': { remote: true, registry: false },
};

// containers-image-proxy's transports. Only `registry`/`docker` and `containers-storage` name an image
// a store lists by name; the others (`oci:/path`, `dir:/path`, …) name files, never a stored image.
const STORE_TRANSPORTS = new Set(['registry', 'docker', 'containers-storage']);
const OTHER_TRANSPORTS = new Set(['oci', 'oci-archive', 'docker-archive', 'dir', 'docker-daemon']);

/**
 * The image name in an ostree-ext image reference (`ostree-unverified-registry:quay.io/a/b:1` →
 * `quay.io/a/b:1`; `ostree-image-signed:docker://quay.io/a/b` → `quay.io/a/b`), null when its
 * transport names files rather than a stored image. Throws for what ostree-ext would refuse.
 */
export function hostImageName(reference: string): string | null {
  const colon = reference.indexOf(':');
  if (colon < 0) throw new Error(`missing ":" in ${JSON.stringify(clip(reference))}`);
  const scheme = SCHEMES[reference.slice(0, colon)];
  if (scheme === undefined) {
    throw new Error(
      `invalid ostree image reference scheme ${JSON.stringify(clip(reference.slice(0, colon)))}`,
    );
  }
  let rest = reference.slice(colon + 1);
  if (scheme.remote) {
    const c = rest.indexOf(':');
    if (c < 0) throw new Error(`missing the remote name's ":" in ${JSON.stringify(clip(reference))}`);
    rest = rest.slice(c + 1);
  }
  let transport = 'registry';
  if (!scheme.registry) {
    const c = rest.indexOf(':');
    if (c < 0) throw new Error(`missing the transport's ":" in ${JSON.stringify(clip(reference))}`);
    transport = rest.slice(0, c);
    rest = rest.slice(c + 1);
    if (!STORE_TRANSPORTS.has(transport) && !OTHER_TRANSPORTS.has(transport)) {
      throw new Error(`unknown transport ${JSON.stringify(clip(transport))}`);
    }
    if (transport === 'docker') {
      if (!rest.startsWith('//'))
        throw new Error(`"docker:" must be followed by "//" in ${JSON.stringify(clip(reference))}`);
      rest = rest.slice(2);
    }
  }
  if (rest === '') throw new Error(`empty image name in ${JSON.stringify(clip(reference))}`);
  return STORE_TRANSPORTS.has(transport) ? rest : null;
}

/** An origin file that exists but cannot be used; `path` is the file. */
class OriginProblem extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

async function firstExisting(paths: readonly string[]): Promise<{ path: string; size: number } | undefined> {
  for (const path of paths) {
    let s;
    try {
      s = await stat(path);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new OriginProblem(path, `cannot be read: ${code ?? messageOf(e)}`);
    }
    if (!s.isFile()) throw new OriginProblem(path, 'not a regular file');
    return { path, size: s.size };
  }
  return undefined;
}

/**
 * The host image of one root: undefined when it has no origin file, or its origin names no image a
 * store holds. Throws an OriginProblem when an origin file exists but cannot be read or understood.
 */
export async function readHostImage(root: string): Promise<HostImage | undefined> {
  const found = await firstExisting(originCandidates(root));
  if (found === undefined) return undefined;
  const { path } = found;
  if (found.size > MAX_ORIGIN_BYTES) throw new OriginProblem(path, `larger than ${MAX_ORIGIN_BYTES} bytes`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new OriginProblem(path, `cannot be read: ${errnoCode(e) ?? messageOf(e)}`);
  }
  let keys: Map<string, OriginValue>;
  try {
    keys = parseOriginFile(text);
  } catch (e) {
    throw new OriginProblem(path, messageOf(e), e instanceof OriginSyntaxError ? e.line : undefined);
  }
  const ref = keys.get('origin.container-image-reference');
  if (ref === undefined) return undefined; // an ostree commit deployment, not a container image
  let image: string | null;
  try {
    image = hostImageName(ref.value);
  } catch (e) {
    throw new OriginProblem(path, `container-image-reference: ${messageOf(e)}`, ref.line);
  }
  if (image === null) return undefined;
  const host: HostImage = { root, origin: path, originReference: ref.value, image };
  const digest = keys.get('image.manifest_digest')?.value;
  if (digest) host.manifestDigest = digest;
  return host;
}

/** The host images of several roots; a root whose origin cannot be read is one error, the others go on. */
export async function readHostImages(roots: readonly string[]): Promise<HostImageScan> {
  const scan: HostImageScan = { images: [], errors: [] };
  for (const root of roots) {
    try {
      const host = await readHostImage(root);
      if (host) scan.images.push(host);
    } catch (e) {
      if (!(e instanceof OriginProblem)) throw e;
      const error: OriginError = { root, origin: e.path, message: e.message };
      if (e.line !== undefined) error.line = e.line;
      scan.errors.push(error);
    }
  }
  return scan;
}
