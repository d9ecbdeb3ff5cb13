// Resolving a path inside a root without ever leaving it, the way openat2(RESOLVE_IN_ROOT) does:
// component by component with lstat/readlink, an absolute link target restarts at the root, `..`
// stops at the root, a loop or more than `maxSymlinkHops` links is an error, so is a dangling link.
// Never calls realpath on the host: a link to /etc/x means ROOT/etc/x, not the host's /etc/x.
import type { Stats } from 'node:fs';
import { lstat, readlink, stat } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

/** Why a path could not be resolved or read inside its root. The message never repeats the path. */
export class InRootError extends Error {
  /** errno-style code: ENOENT (missing or dangling), ELOOP, ENOTDIR, EISDIR, EINVAL, EFBIG, E2BIG, EACCES, … */
  readonly code: string;
  /** Root-absolute path that was asked for. */
  readonly path: string;
  /** ENOENT reached through a symbolic link whose target is missing (as opposed to a plain absence). */
  readonly dangling: boolean;

  constructor(
    code: string,
    path: string,
    message: string,
    options?: { cause?: unknown; dangling?: boolean },
  ) {
    super(message, options);
    this.name = 'InRootError';
    this.code = code;
    this.path = path;
    this.dangling = options?.dangling ?? false;
  }
}

/** The promise `map` holds for `key`, made by `make` on first use (a rejection is kept, not thrown early). */
function memo<T>(map: Map<string, Promise<T>>, key: string, make: (key: string) => Promise<T>): Promise<T> {
  let found = map.get(key);
  if (found === undefined) {
    found = make(key);
    found.catch(() => undefined);
    map.set(key, found);
  }
  return found;
}

/** Memoized lstat/readlink for one discovery run: many entries share their directories. */
export class FsCache {
  private readonly stats = new Map<string, Promise<Stats>>();
  private readonly links = new Map<string, Promise<string>>();

  lstat(hostPath: string): Promise<Stats> {
    return memo(this.stats, hostPath, (p) => lstat(p));
  }

  readlink(hostPath: string): Promise<string> {
    return memo(this.links, hostPath, (p) => readlink(p));
  }
}

export interface InRootPath {
  /** Root-absolute path with every link resolved (`/usr/share/containers/systemd/a.image`). */
  path: string;
  /** The same place as a host path: root + path. */
  hostPath: string;
  /** lstat of the final component (never a symbolic link). */
  stats: Stats;
}

/** Host path of a root-absolute path. */
export function hostPathOf(root: string, rootPath: string): string {
  if (rootPath === '/') return root;
  return root === '/' ? rootPath : `${root}${rootPath}`;
}

function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/** The errno code of a Node fs error (`EIO` when there is none). */
export function errnoOf(error: unknown): string {
  return errnoCode(error) ?? 'EIO';
}

/**
 * Resolve root-absolute `rootPath` inside host directory `root` (absolute, normalized).
 * Throws InRootError: ENOENT when a component or a link's target does not exist, ELOOP for a link
 * loop or too many links, ENOTDIR when a non-directory has components after it, others as the OS says.
 */
export async function resolveInRoot(
  root: string,
  rootPath: string,
  maxSymlinkHops: number,
  cache: FsCache = new FsCache(),
): Promise<InRootPath> {
  const pending = components(rootPath);
  const done: string[] = [];
  const seen = new Set<string>();
  let hops = 0;
  let lastLink: { path: string; target: string } | undefined;
  let stats: Stats | undefined;

  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '..') {
      done.pop();
      stats = undefined;
      continue;
    }
    const current = `/${[...done, name].join('/')}`;
    let found: Stats;
    try {
      found = await cache.lstat(hostPathOf(root, current));
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT') {
        const why =
          lastLink === undefined
            ? `${current} does not exist`
            : `dangling symbolic link: ${lastLink.path} -> ${lastLink.target} (${current} does not exist in the root)`;
        throw new InRootError('ENOENT', rootPath, why, { cause: error, dangling: lastLink !== undefined });
      }
      throw new InRootError(code, rootPath, `cannot look at ${current}: ${code}`, { cause: error });
    }
    if (found.isSymbolicLink()) {
      const state = `${current}\0${pending.join('/')}`;
      if (seen.has(state)) {
        throw new InRootError('ELOOP', rootPath, `symbolic link loop through ${current}`);
      }
      seen.add(state);
      if (++hops > maxSymlinkHops) {
        throw new InRootError('ELOOP', rootPath, `more than ${maxSymlinkHops} symbolic links to follow`);
      }
      let target: string;
      try {
        target = await cache.readlink(hostPathOf(root, current));
      } catch (error) {
        const code = errnoOf(error);
        throw new InRootError(code, rootPath, `cannot read symbolic link ${current}: ${code}`, {
          cause: error,
        });
      }
      lastLink = { path: current, target };
      // An absolute target starts again at the root; a relative one continues from the link's directory.
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...components(target));
      stats = undefined;
      continue;
    }
    if (pending.length > 0 && !found.isDirectory()) {
      throw new InRootError('ENOTDIR', rootPath, `${current} is not a directory`);
    }
    done.push(name);
    stats = found;
  }

  const path = `/${done.join('/')}`;
  const hostPath = hostPathOf(root, path);
  if (stats === undefined) {
    // The path ended on the root itself or on a `..`/link back to a directory already seen.
    try {
      stats = await stat(hostPath);
    } catch (error) {
      const code = errnoOf(error);
      throw new InRootError(code, rootPath, `cannot look at ${path}: ${code}`, { cause: error });
    }
  }
  return { path, hostPath, stats };
}
