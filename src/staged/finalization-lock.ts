// ostree's finalization lock file, `<ostree-run-dir>/staged-deployment-locked`: while it exists,
// `ostree admin finalize-staged` (ostree-finalize-staged.service, at shutdown) does not switch to the
// staged deployment and the host boots the current one again. ostree only checks that the file
// exists; operators, `rpm-ostree --lock-finalization` and `ostree admin deploy --lock-finalization`
// create it empty. This module owns the rules for ours:
//   - create it only if absent (O_CREAT|O_EXCL), writing an ownership line with a random token and the
//     staged deployment's id; the caller records token, device and inode in the state file;
//   - it is ours only when the file there now has the recorded device and inode *and* our line with
//     the recorded token: anything else (an empty file, another tool's content, a file ostree or an
//     operator put back) is someone else's and is never removed;
//   - removal re-checks the identity just before unlink.
import { constants } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FINALIZATION_LOCK } from './marker.js';
import { errnoCode } from '../errors.js';

/** What the state file keeps about a lock this daemon created. */
export interface OwnedLock {
  /** Random, written into the file: proves the file is the one we created. */
  token: string;
  /** The staged deployment (`<osname>/<checksum>.<serial>`) the lock was taken for. */
  deployment: string;
  /** The file's identity when we created it (a removed and re-created file has another). */
  dev: number;
  ino: number;
  /** ms since the epoch. */
  takenAt: number;
}

export type LockLook =
  | { present: false }
  /** `owned` is true only for the very file recorded in `ours`. */
  | { present: true; owned: boolean; content: string };

const MAX_READ = 4096;

export function lockPath(runDir: string): string {
  return join(runDir, FINALIZATION_LOCK);
}

function ownerLine(token: string, deployment: string): string {
  return `bound-imaged token=${token} deployment=${deployment}\n`;
}

/** A token only this lock holds; node:crypto is loaded when a lock is taken, not at start. */
export async function newToken(): Promise<string> {
  const { randomBytes } = await import('node:crypto');
  return randomBytes(16).toString('hex');
}

async function readHead(path: string): Promise<{ dev: number; ino: number; content: string } | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    // A symlink (ELOOP) or a FIFO is not ours either; it exists, so the lock holds.
    if (errnoCode(err) === 'ELOOP') return { dev: -1, ino: -1, content: '' };
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { dev: info.dev, ino: info.ino, content: '' };
    const buf = Buffer.alloc(MAX_READ);
    const { bytesRead } = await handle.read(buf, 0, MAX_READ, 0);
    return { dev: info.dev, ino: info.ino, content: buf.subarray(0, bytesRead).toString('utf8') };
  } finally {
    await handle.close();
  }
}

function isOurs(head: { dev: number; ino: number; content: string }, ours: OwnedLock | null): boolean {
  return (
    ours !== null &&
    head.dev === ours.dev &&
    head.ino === ours.ino &&
    head.content === ownerLine(ours.token, ours.deployment)
  );
}

/** Whether the lock file exists and whether it is the one recorded in `ours`. */
export async function lookAtLock(runDir: string, ours: OwnedLock | null): Promise<LockLook> {
  const head = await readHead(lockPath(runDir));
  if (head === null) return { present: false };
  return { present: true, owned: isOurs(head, ours), content: head.content.slice(0, 200) };
}

/**
 * Creates the lock file for `deployment` unless one exists. Returns the record to keep, or null when
 * a lock file was already there (someone else's, or a leftover: the caller decides from its record).
 */
export async function takeLock(
  runDir: string,
  deployment: string,
  now = Date.now(),
): Promise<OwnedLock | null> {
  const token = await newToken();
  let handle;
  try {
    handle = await open(
      lockPath(runDir),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return null;
    throw err;
  }
  try {
    await handle.writeFile(ownerLine(token, deployment));
    await handle.sync();
    const info = await handle.stat();
    return { token, deployment, dev: info.dev, ino: info.ino, takenAt: now };
  } finally {
    await handle.close();
  }
}

export type ReleaseOutcome = 'removed' | 'absent' | 'not-ours';

/** Removes the lock file only if it is the one recorded in `ours`. */
export async function releaseLock(runDir: string, ours: OwnedLock): Promise<ReleaseOutcome> {
  const path = lockPath(runDir);
  const head = await readHead(path);
  if (head === null) return 'absent';
  if (!isOurs(head, ours)) return 'not-ours';
  // The name may have been replaced between the read and now: check the identity once more.
  try {
    const info = await lstat(path);
    if (info.dev !== ours.dev || info.ino !== ours.ino) return 'not-ours';
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'absent';
    throw err;
  }
  return 'removed';
}
