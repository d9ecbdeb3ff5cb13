// Reading inside a root: only regular files, never blocking, never through a last-moment symlink,
// within the size limit; listing directories within the entry limit.
import { constants } from 'node:fs';
import { open, opendir } from 'node:fs/promises';

import type { FsCache } from './in-root-path.js';
import { InRootError, errnoOf, resolveInRoot, type InRootPath } from './in-root-path.js';
import type { DiscoveryLimits } from './limits.js';

export interface InRootFile {
  /** Root-absolute path after resolution. */
  path: string;
  hostPath: string;
  text: string;
}

export interface InRootDirectory extends InRootPath {
  /** Entry names that are valid UTF-8, in directory order. */
  names: string[];
  /** Entry names that are not valid UTF-8, shown with U+FFFD for the bad bytes. */
  invalidNames: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

/** What kind of file `stats` describes, for messages ("a FIFO (named pipe)", "a regular file", …). */
export function describeKind(stats: {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'of an unknown kind';
}

function tooBig(path: string, size: number | string, limit: number): InRootError {
  return new InRootError('EFBIG', path, `is ${size} bytes, over the ${limit}-byte limit`);
}

/**
 * Read the regular file at root-absolute `rootPath` as UTF-8. FIFOs, sockets and devices are refused
 * before they are opened; the open itself uses O_NONBLOCK|O_NOFOLLOW and fstat confirms the file is
 * still the regular file that was resolved.
 */
export async function readInRootFile(
  root: string,
  rootPath: string,
  limits: DiscoveryLimits,
  cache?: FsCache,
): Promise<InRootFile> {
  const resolved = await resolveInRoot(root, rootPath, limits.maxSymlinkHops, cache);
  const where = resolved.path === rootPath ? '' : ` (resolved to ${resolved.path})`;
  if (!resolved.stats.isFile()) {
    const code = resolved.stats.isDirectory() ? 'EISDIR' : 'EINVAL';
    throw new InRootError(code, rootPath, `is ${describeKind(resolved.stats)}, not a regular file${where}`);
  }
  if (resolved.stats.size > limits.maxFileBytes) {
    throw tooBig(rootPath, resolved.stats.size, limits.maxFileBytes);
  }
  let handle;
  try {
    handle = await open(resolved.hostPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errnoOf(error);
    throw new InRootError(code, rootPath, `cannot be opened${where}: ${code}`, { cause: error });
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== resolved.stats.ino || opened.dev !== resolved.stats.dev) {
      throw new InRootError('EAGAIN', rootPath, `changed while being opened${where}`);
    }
    if (opened.size > limits.maxFileBytes) throw tooBig(rootPath, opened.size, limits.maxFileBytes);
    // Read the file as fstat saw it: never more than its size, so never more than the limit.
    const buffer = Buffer.allocUnsafe(opened.size);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return finish(rootPath, resolved, buffer.subarray(0, length));
  } finally {
    await handle.close();
  }
}

function finish(rootPath: string, resolved: InRootPath, bytes: Buffer): InRootFile {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (error) {
    throw new InRootError('EILSEQ', rootPath, 'is not valid UTF-8 text', { cause: error });
  }
  return { path: resolved.path, hostPath: resolved.hostPath, text };
}

/** List the directory at root-absolute `rootPath`; more than `maxDirEntries` entries is an error. */
export async function listInRootDirectory(
  root: string,
  rootPath: string,
  limits: DiscoveryLimits,
  cache?: FsCache,
): Promise<InRootDirectory> {
  const resolved = await resolveInRoot(root, rootPath, limits.maxSymlinkHops, cache);
  if (!resolved.stats.isDirectory()) {
    throw new InRootError('ENOTDIR', rootPath, `is ${describeKind(resolved.stats)}, not a directory`);
  }
  const names: string[] = [];
  const invalidNames: string[] = [];
  let count = 0;
  try {
    // latin1 maps each byte of a name to one character, so the raw bytes can be checked for UTF-8.
    const dir = await opendir(resolved.hostPath, { encoding: 'latin1' });
    for await (const entry of dir) {
      if (++count > limits.maxDirEntries) {
        throw new InRootError('E2BIG', rootPath, `has more than ${limits.maxDirEntries} entries`);
      }
      const bytes = Buffer.from(entry.name, 'latin1');
      try {
        names.push(utf8.decode(bytes));
      } catch {
        invalidNames.push(lossyUtf8.decode(bytes));
      }
    }
  } catch (error) {
    if (error instanceof InRootError) throw error;
    const code = errnoOf(error);
    throw new InRootError(code, rootPath, `cannot be listed: ${code}`, { cause: error });
  }
  return { ...resolved, names, invalidNames };
}
