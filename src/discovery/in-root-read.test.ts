import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FsCache, InRootError, resolveInRoot } from './in-root-path.js';
import { listInRootDirectory, readInRootFile } from './in-root-read.js';
import { DEFAULT_LIMITS, resolveLimits } from './limits.js';
import { makeTempRoot, removeTree, writeTree } from '../../scripts/harness/tree-fixture.js';

let root: string;
let server: Server | undefined;

beforeEach(async () => {
  root = await makeTempRoot('read');
});
afterEach(async () => {
  if (server !== undefined) await new Promise((done) => server?.close(done));
  server = undefined;
  await removeTree(root);
});

async function readFailure(path: string, limits = DEFAULT_LIMITS): Promise<InRootError> {
  try {
    await readInRootFile(root, path, limits);
  } catch (error) {
    if (error instanceof InRootError) return error;
    throw error;
  }
  throw new Error(`expected reading ${path} to fail`);
}

async function listFailure(path: string, limits = DEFAULT_LIMITS): Promise<InRootError> {
  try {
    await listInRootDirectory(root, path, limits);
  } catch (error) {
    if (error instanceof InRootError) return error;
    throw error;
  }
  throw new Error(`expected listing ${path} to fail`);
}

describe('readInRootFile', () => {
  it('reads a regular file through an in-root link and says where it resolved', async () => {
    await writeTree(root, { '/u/a.image': '[Image]\nImage=x\n', '/d/a.image': { symlink: '/u/a.image' } });
    expect(await readInRootFile(root, '/d/a.image', DEFAULT_LIMITS)).toEqual({
      path: '/u/a.image',
      hostPath: `${root}/u/a.image`,
      text: '[Image]\nImage=x\n',
    });
  });

  it('refuses a FIFO without blocking', async () => {
    await writeTree(root, { '/u': { dir: true }, '/d/a.image': { symlink: '/u/fifo.image' } });
    execFileSync('mkfifo', [`${root}/u/fifo.image`]);
    const error = await readFailure('/d/a.image');
    expect(error.code).toBe('EINVAL');
    expect(error.message).toBe('is a FIFO (named pipe), not a regular file (resolved to /u/fifo.image)');
  });

  it('refuses a socket', async () => {
    await writeTree(root, { '/u': { dir: true } });
    const listening = createServer();
    server = listening;
    await new Promise<void>((done) => listening.listen(`${root}/u/sock.image`, done));
    expect((await readFailure('/u/sock.image')).message).toBe('is a socket, not a regular file');
  });

  it('refuses a device, and a link to /dev/null means ROOT/dev/null', async () => {
    await writeTree(root, { '/d/null.image': { symlink: '/dev/null' } });
    // Without ROOT/dev/null the link dangles: the host's /dev/null is never reached.
    const dangling = await readFailure('/d/null.image');
    expect(dangling.code).toBe('ENOENT');
    expect(dangling.message).toContain('/dev/null');
    let mknod = true;
    try {
      execFileSync('mknod', [`${root}/dev/null`, 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      mknod = false; // not root, or no CAP_MKNOD: the dangling case above still pins the rule
    }
    if (mknod) {
      expect(existsSync(`${root}/dev/null`)).toBe(true);
      expect((await readFailure('/d/null.image')).message).toBe(
        'is a character device, not a regular file (resolved to /dev/null)',
      );
    }
  });

  it('opens without blocking and re-checks with fstat when a FIFO replaces the file after lookup', async () => {
    // A stale lookup (the cache) stands in for the race between lstat and open.
    await writeTree(root, { '/u/a.image': 'x' });
    const cache = new FsCache();
    await resolveInRoot(root, '/u/a.image', 40, cache);
    await rm(`${root}/u/a.image`);
    execFileSync('mkfifo', [`${root}/u/a.image`]);
    let error: unknown;
    try {
      await readInRootFile(root, '/u/a.image', DEFAULT_LIMITS, cache);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'EAGAIN', message: 'changed while being opened' });
  });

  it('never follows a link that replaces the final file after lookup', async () => {
    await writeTree(root, { '/u/a.image': 'x', '/secret': 'outside' });
    const cache = new FsCache();
    await resolveInRoot(root, '/u/a.image', 40, cache);
    await rm(`${root}/u/a.image`);
    await symlink(`${root}/secret`, `${root}/u/a.image`);
    let error: unknown;
    try {
      await readInRootFile(root, '/u/a.image', DEFAULT_LIMITS, cache);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'ELOOP', message: 'cannot be opened: ELOOP' });
  });

  it('refuses a directory', async () => {
    await writeTree(root, { '/u/a.image': { dir: true } });
    expect(await readFailure('/u/a.image')).toMatchObject({ code: 'EISDIR' });
  });

  it('reads a file of exactly the limit and refuses one byte more', async () => {
    await writeTree(root, { '/u': { dir: true } });
    await writeFile(`${root}/u/max.image`, 'x'.repeat(65536));
    await writeFile(`${root}/u/big.image`, 'x'.repeat(65537));
    expect((await readInRootFile(root, '/u/max.image', DEFAULT_LIMITS)).text).toHaveLength(65536);
    const error = await readFailure('/u/big.image');
    expect(error).toMatchObject({ code: 'EFBIG', message: 'is 65537 bytes, over the 65536-byte limit' });
  });

  it('takes the size limit as given', async () => {
    await writeTree(root, { '/u/a.image': '12345' });
    expect((await readFailure('/u/a.image', resolveLimits({ maxFileBytes: 4 }))).code).toBe('EFBIG');
  });

  it('refuses text that is not UTF-8', async () => {
    await writeTree(root, { '/u': { dir: true } });
    await writeFile(`${root}/u/a.image`, Buffer.from([0x5b, 0xff, 0x5d]));
    expect(await readFailure('/u/a.image')).toMatchObject({ code: 'EILSEQ' });
  });

  it('reports a missing file', async () => {
    expect(await readFailure('/u/none.image')).toMatchObject({
      code: 'ENOENT',
      message: '/u does not exist',
    });
  });
});

describe('listInRootDirectory', () => {
  it('lists a directory reached through an in-root link', async () => {
    await writeTree(root, { '/real/a': 'x', '/real/b': 'y', '/dir': { symlink: '/real' } });
    const dir = await listInRootDirectory(root, '/dir', DEFAULT_LIMITS);
    expect(dir.path).toBe('/real');
    expect([...dir.names].sort()).toEqual(['a', 'b']);
    expect(dir.invalidNames).toEqual([]);
  });

  it('accepts 1024 entries and refuses 1025 by default', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 1024; i++) tree[`/d/e${i}`] = '';
    await writeTree(root, tree);
    expect((await listInRootDirectory(root, '/d', DEFAULT_LIMITS)).names).toHaveLength(1024);
    await writeTree(root, { '/d/one-more': '' });
    expect(await listFailure('/d')).toMatchObject({ code: 'E2BIG', message: 'has more than 1024 entries' });
  });

  it('takes the entry limit as given', async () => {
    await writeTree(root, { '/d/a': '', '/d/b': '', '/d/c': '' });
    expect((await listFailure('/d', resolveLimits({ maxDirEntries: 2 }))).code).toBe('E2BIG');
  });

  it('keeps names that are not UTF-8 apart', async () => {
    await writeTree(root, { '/d/ok.image': '' });
    await writeFile(
      Buffer.concat([Buffer.from(`${root}/d/bad`), Buffer.from([0xff]), Buffer.from('.image')]),
      '',
    );
    const dir = await listInRootDirectory(root, '/d', DEFAULT_LIMITS);
    expect(dir.names).toEqual(['ok.image']);
    expect(dir.invalidNames).toEqual(['bad\uFFFD.image']);
  });

  it('refuses a file where a directory is expected', async () => {
    await writeTree(root, { '/d': 'x' });
    expect(await listFailure('/d')).toMatchObject({ code: 'ENOTDIR' });
  });
});
