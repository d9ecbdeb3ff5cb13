// Discovery of one root: every entry of usr/lib/bootc/bound-images.d must be a symbolic link to a
// `.image` or `.container` file; each is resolved inside the root, parsed, its image normalized. One
// bad entry becomes one DiscoveryError and never hides the others.
import { opendir, stat } from 'node:fs/promises';
import { posix, resolve } from 'node:path';

import pLimit from 'p-limit';

import {
  QuadletError,
  resolveBoundImageFile,
  type BoundImageSpec,
  type QuadletLoader,
} from '../quadlet/index.js';
import { ReferenceError, normalizeReference } from '../reference/reference.js';
import type { BoundImage, DiscoveryError, RootDiscovery } from '../types.js';
import { FsCache, InRootError, errnoOf, hostPathOf, resolveInRoot } from './in-root-path.js';
import { describeKind, listInRootDirectory } from './in-root-read.js';
import { compareNames, createInRootLoader } from './in-root-loader.js';
import { resolveLimits, type DiscoveryLimits } from './limits.js';
import { clip } from '../clip.js';
import { messageOf } from '../errors.js';

/** Where a root lists its bound images (root-absolute). */
export const BOUND_IMAGES_DIR = '/usr/lib/bootc/bound-images.d';

/** Entries resolved at the same time within one root. */
const ENTRY_CONCURRENCY = 16;

const KINDS = ['.image', '.container'] as const;

function kindOf(name: string): (typeof KINDS)[number] | undefined {
  return KINDS.find((ext) => name.endsWith(ext) && name.length > ext.length);
}

/** A problem with one entry, carried to the DiscoveryError of that entry. */
class EntryProblem extends Error {
  constructor(
    readonly file: string | undefined,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

interface RootContext {
  root: string;
  limits: DiscoveryLimits;
  cache: FsCache;
  loader: QuadletLoader;
}

async function hostAuthFile(ctx: RootContext, spec: BoundImageSpec, authFile: string): Promise<string> {
  const at = spec.authFileAt;
  try {
    const resolved = await resolveInRoot(ctx.root, authFile, ctx.limits.maxSymlinkHops, ctx.cache);
    if (!resolved.stats.isFile()) {
      throw new EntryProblem(
        at?.file,
        `AuthFile=${authFile} is ${describeKind(resolved.stats)}, not a regular file`,
        at?.line,
      );
    }
    return resolved.hostPath;
  } catch (error) {
    if (error instanceof InRootError) {
      throw new EntryProblem(at?.file, `AuthFile=${authFile}: ${error.message}`, at?.line);
    }
    throw error;
  }
}

/** One entry that gave an image: the image and what its Quadlet files say in detail. */
interface ResolvedEntry {
  image: BoundImage;
  spec: BoundImageSpec;
}

async function resolveEntry(ctx: RootContext, dirPath: string, name: string): Promise<ResolvedEntry> {
  const entryPath = `${dirPath === '/' ? '' : dirPath}/${name}`;
  const kind = kindOf(name);
  if (kind === undefined) {
    throw new EntryProblem(
      entryPath,
      'is not named *.image or *.container (bootc accepts only links to those)',
    );
  }
  let entryStats;
  try {
    entryStats = await ctx.cache.lstat(hostPathOf(ctx.root, entryPath));
  } catch (error) {
    throw new EntryProblem(entryPath, `cannot look at it: ${errnoOf(error)}`);
  }
  if (!entryStats.isSymbolicLink()) {
    throw new EntryProblem(
      entryPath,
      `is ${describeKind(entryStats)}, not a symbolic link to a ${kind} file`,
    );
  }
  let target;
  try {
    target = await resolveInRoot(ctx.root, entryPath, ctx.limits.maxSymlinkHops, ctx.cache);
  } catch (error) {
    if (error instanceof InRootError) throw new EntryProblem(entryPath, error.message);
    throw error;
  }
  if (!target.path.endsWith(kind) || posix.basename(target.path) === kind) {
    throw new EntryProblem(
      entryPath,
      `is named *${kind} but points at ${target.path}, which is not a ${kind} file`,
    );
  }

  const spec = await resolveBoundImageFile(target.path, ctx.loader);
  let reference: string;
  try {
    reference = normalizeReference(spec.image);
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const via = spec.via === undefined ? '' : ` (bound through ${spec.via.join(', ')})`;
    throw new EntryProblem(
      spec.imageFile,
      `Image=${clip(spec.image)} is not a valid image reference: ${error.reason}${via}`,
      spec.imageLine,
    );
  }
  const image: BoundImage = {
    root: ctx.root,
    reference,
    rawImage: spec.rawImage,
    sourceFile: spec.sourceFile,
    entry: name,
  };
  if (spec.authFile !== undefined) image.authFile = await hostAuthFile(ctx, spec, spec.authFile);
  if (spec.platform !== undefined) image.platform = spec.platform;
  return { image, spec };
}

function entryError(root: string, entry: string, error: unknown): DiscoveryError {
  const found: DiscoveryError = {
    root,
    entry,
    message: messageOf(error),
  };
  if (error instanceof QuadletError) {
    found.file = error.file;
    found.message = error.detail;
    if (error.line !== undefined) found.line = error.line;
  } else if (error instanceof EntryProblem) {
    if (error.file !== undefined) found.file = error.file;
    if (error.line !== undefined) found.line = error.line;
  } else if (error instanceof InRootError) {
    found.file = error.path;
  }
  return found;
}

/** A root's discovery with, for each entry that gave an image, the Quadlet detail behind it. */
export interface RootInspection {
  discovery: RootDiscovery;
  /** By entry name: the units read, the lines that won, notes on values passed over. */
  specs: Map<string, BoundImageSpec>;
}

function unreadable(root: string, message: string, file?: string): RootInspection {
  const error: DiscoveryError = { root, message };
  if (file !== undefined) error.file = file;
  return { discovery: { root, readable: false, images: [], errors: [error] }, specs: new Map() };
}

/**
 * Discover the bound images of one deployment root (a host directory). Never throws for what the
 * root holds: every problem is a DiscoveryError, and `readable` is false when the root or its
 * bound-images.d exists but cannot be read (or the root is missing: what it binds is unknown).
 */
export async function discoverRoot(root: string, limits?: Partial<DiscoveryLimits>): Promise<RootDiscovery> {
  return (await inspectRoot(root, limits)).discovery;
}

/** discoverRoot(), keeping the Quadlet detail of every entry (for `bound-images check`). */
export async function inspectRoot(root: string, limits?: Partial<DiscoveryLimits>): Promise<RootInspection> {
  const hostRoot = resolve(root);
  const checked = resolveLimits(limits);
  try {
    const rootStats = await stat(hostRoot);
    if (!rootStats.isDirectory()) {
      return unreadable(hostRoot, `root is ${describeKind(rootStats)}, not a directory`);
    }
    // Opening the directory checks read permission as this process is (access(2) uses the real uid).
    await (await opendir(hostRoot)).close();
  } catch (error) {
    const code = errnoOf(error);
    return unreadable(hostRoot, code === 'ENOENT' ? 'root does not exist' : `root cannot be read: ${code}`);
  }

  const cache = new FsCache();
  const ctx: RootContext = {
    root: hostRoot,
    limits: checked,
    cache,
    loader: createInRootLoader(hostRoot, checked, cache),
  };
  let dir;
  try {
    dir = await listInRootDirectory(hostRoot, BOUND_IMAGES_DIR, checked, cache);
  } catch (error) {
    // No bound-images.d: the root binds nothing. A dangling link on the way is not an absence:
    // what the root binds is unknown, so it counts as unreadable (GC is skipped).
    if (error instanceof InRootError && error.code === 'ENOENT' && !error.dangling) {
      return { discovery: { root: hostRoot, readable: true, images: [], errors: [] }, specs: new Map() };
    }
    const message = messageOf(error);
    return unreadable(hostRoot, message, BOUND_IMAGES_DIR);
  }

  const errors: DiscoveryError[] = dir.invalidNames.map((name) => ({
    root: hostRoot,
    entry: name,
    file: `${dir.path}/${name}`,
    message: 'entry name is not valid UTF-8',
  }));
  const names = [...dir.names].sort(compareNames);
  const limit = pLimit(ENTRY_CONCURRENCY);
  type Outcome = { resolved: ResolvedEntry } | { error: DiscoveryError };
  const outcomes = await Promise.all(
    names.map((name) =>
      limit(async (): Promise<Outcome> => {
        try {
          return { resolved: await resolveEntry(ctx, dir.path, name) };
        } catch (error) {
          return { error: entryError(hostRoot, name, error) };
        }
      }),
    ),
  );
  const images: BoundImage[] = [];
  const specs = new Map<string, BoundImageSpec>();
  for (const outcome of outcomes) {
    if ('error' in outcome) {
      errors.push(outcome.error);
      continue;
    }
    images.push(outcome.resolved.image);
    specs.set(outcome.resolved.image.entry, outcome.resolved.spec);
  }
  return { discovery: { root: hostRoot, readable: true, images, errors }, specs };
}

/** Discover several roots, one after the other, in the order given. */
export async function discoverRoots(
  roots: string[],
  limits?: Partial<DiscoveryLimits>,
): Promise<RootDiscovery[]> {
  const found: RootDiscovery[] = [];
  for (const root of roots) found.push(await discoverRoot(root, limits));
  return found;
}
