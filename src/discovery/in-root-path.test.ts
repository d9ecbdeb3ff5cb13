import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { InRootError, hostPathOf, resolveInRoot } from './in-root-path.js';
import { makeTempRoot, removeTree, writeTree } from '../../scripts/harness/tree-fixture.js';

let root: string;
// A directory name that exists in the temporary root only, never on the host.
const ONLY_IN_ROOT = `/bound-imaged-only-in-root-${process.pid}`;

beforeEach(async () => {
  root = await makeTempRoot('path');
});
afterEach(async () => {
  await removeTree(root);
});

async function failure(path: string, hops = 40): Promise<InRootError> {
  try {
    await resolveInRoot(root, path, hops);
  } catch (error) {
    if (error instanceof InRootError) return error;
    throw error;
  }
  throw new Error(`expected ${path} to fail`);
}

describe('resolveInRoot', () => {
  it('resolves a plain path to itself', async () => {
    await writeTree(root, { '/a/b.image': 'x' });
    const found = await resolveInRoot(root, '/a/b.image', 40);
    expect(found.path).toBe('/a/b.image');
    expect(found.hostPath).toBe(`${root}/a/b.image`);
    expect(found.stats.isFile()).toBe(true);
  });

  it('takes an absolute link target relative to the root, not the host', async () => {
    await writeTree(root, {
      [`${ONLY_IN_ROOT}/a.image`]: 'x',
      '/links/a.image': { symlink: `${ONLY_IN_ROOT}/a.image` },
    });
    expect(existsSync(`${ONLY_IN_ROOT}/a.image`)).toBe(false);
    const found = await resolveInRoot(root, '/links/a.image', 40);
    expect(found.path).toBe(`${ONLY_IN_ROOT}/a.image`);
    expect(found.hostPath).toBe(`${root}${ONLY_IN_ROOT}/a.image`);
  });

  it('resolves a link to /dev/null to ROOT/dev/null, never the host device', async () => {
    await writeTree(root, { '/links/null': { symlink: '/dev/null' } });
    const error = await failure('/links/null');
    expect(error.code).toBe('ENOENT');
    expect(error.message).toContain('dangling symbolic link: /links/null -> /dev/null');
    await writeTree(root, { '/dev/null': 'not a device' });
    expect((await resolveInRoot(root, '/links/null', 40)).hostPath).toBe(`${root}/dev/null`);
  });

  it('follows relative targets from the link directory', async () => {
    await writeTree(root, {
      '/usr/share/u/a.image': 'x',
      '/usr/lib/d/a.image': { symlink: '../../share/u/a.image' },
    });
    expect((await resolveInRoot(root, '/usr/lib/d/a.image', 40)).path).toBe('/usr/share/u/a.image');
  });

  it('follows links in intermediate directories, inside the root', async () => {
    await writeTree(root, {
      [`${ONLY_IN_ROOT}/units/a.image`]: 'x',
      '/usr/share/containers/systemd': { symlink: `${ONLY_IN_ROOT}/units` },
    });
    expect((await resolveInRoot(root, '/usr/share/containers/systemd/a.image', 40)).path).toBe(
      `${ONLY_IN_ROOT}/units/a.image`,
    );
  });

  it('never lets ".." in a link target climb above the root', async () => {
    await writeTree(root, {
      '/target.image': 'x',
      '/usr/lib/bootc/d/a.image': { symlink: '../../../../../../../../../../target.image' },
    });
    const found = await resolveInRoot(root, '/usr/lib/bootc/d/a.image', 40);
    expect(found.path).toBe('/target.image');
    expect(found.hostPath).toBe(`${root}/target.image`);
  });

  it('never lets ".." in the asked path climb above the root', async () => {
    await writeTree(root, { '/x': 'x' });
    expect((await resolveInRoot(root, '/../../../x', 40)).path).toBe('/x');
    expect((await resolveInRoot(root, '/..', 40)).path).toBe('/');
  });

  it('applies ".." to the resolved directory, as the kernel does', async () => {
    await writeTree(root, { '/real/dir/f': 'x', '/real/g': 'y', '/link': { symlink: 'real/dir' } });
    expect((await resolveInRoot(root, '/link/../g', 40)).path).toBe('/real/g');
  });

  it('reports a loop clearly', async () => {
    await writeTree(root, { '/a': { symlink: 'b' }, '/b': { symlink: '/a' } });
    const error = await failure('/a');
    expect(error.code).toBe('ELOOP');
    expect(error.message).toMatch(/symbolic link loop through \/a/);
    await writeTree(root, { '/self': { symlink: 'self' } });
    expect((await failure('/self')).code).toBe('ELOOP');
  });

  it('reports a link that keeps growing as too many links', async () => {
    await writeTree(root, { '/grow': { symlink: 'grow/x' } });
    const error = await failure('/grow');
    expect(error.code).toBe('ELOOP');
    expect(error.message).toBe('more than 40 symbolic links to follow');
  });

  it('follows 40 links and refuses 41', async () => {
    const chain: Record<string, { symlink: string }> = {};
    for (let i = 0; i < 41; i++) chain[`/l${i}`] = { symlink: `l${i + 1}` };
    await writeTree(root, { ...chain, '/l41': 'end' });
    expect((await resolveInRoot(root, '/l1', 40)).path).toBe('/l41');
    const error = await failure('/l0');
    expect(error).toMatchObject({ code: 'ELOOP', message: 'more than 40 symbolic links to follow' });
  });

  it('takes the link limit as given', async () => {
    await writeTree(root, { '/a': { symlink: 'b' }, '/b': { symlink: 'c' }, '/c': 'x' });
    expect((await resolveInRoot(root, '/a', 2)).path).toBe('/c');
    expect((await failure('/a', 1)).code).toBe('ELOOP');
  });

  it('reports a dangling link with the link and its target', async () => {
    await writeTree(root, { '/links/a.image': { symlink: '/nowhere/a.image' } });
    const error = await failure('/links/a.image');
    expect(error).toMatchObject({ code: 'ENOENT', path: '/links/a.image' });
    expect(error.message).toBe(
      'dangling symbolic link: /links/a.image -> /nowhere/a.image (/nowhere does not exist in the root)',
    );
  });

  it('reports a missing path without links plainly', async () => {
    expect((await failure('/nope/x')).message).toBe('/nope does not exist');
  });

  it('refuses to go through a file as if it were a directory', async () => {
    await writeTree(root, { '/f': 'x' });
    expect(await failure('/f/x')).toMatchObject({ code: 'ENOTDIR', message: '/f is not a directory' });
  });
});

describe('hostPathOf', () => {
  it('joins root and root-absolute path', () => {
    expect(hostPathOf('/r', '/a/b')).toBe('/r/a/b');
    expect(hostPathOf('/r', '/')).toBe('/r');
    expect(hostPathOf('/', '/a')).toBe('/a');
  });
});
