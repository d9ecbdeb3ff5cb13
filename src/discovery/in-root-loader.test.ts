import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { resolveBoundImageFile } from '../quadlet/index.js';
import { compareNames, createInRootLoader } from './in-root-loader.js';
import { DEFAULT_LIMITS, resolveLimits } from './limits.js';
import { makeTempRoot, removeTree, writeTree } from '../../scripts/harness/tree-fixture.js';

const U = `/usr/share/bound-imaged-units-${process.pid}`;
let root: string;

beforeEach(async () => {
  root = await makeTempRoot('loader');
});
afterEach(async () => {
  await removeTree(root);
});

describe('createInRootLoader', () => {
  it('reads through in-root links and returns the resolved path', async () => {
    await writeTree(root, {
      [`${U}/a.image`]: '[Image]\nImage=x\n',
      '/l/a.image': { symlink: `${U}/a.image` },
    });
    expect(await createInRootLoader(root, DEFAULT_LIMITS).read('/l/a.image')).toEqual({
      path: `${U}/a.image`,
      text: '[Image]\nImage=x\n',
    });
  });

  it('lists <unit>.d/*.conf in byte order, skipping other names and hidden files', async () => {
    await writeTree(root, {
      [`${U}/a.image.d/20.conf`]: '',
      [`${U}/a.image.d/10.conf`]: '',
      [`${U}/a.image.d/B.conf`]: '',
      [`${U}/a.image.d/a.conf`]: '',
      [`${U}/a.image.d/.hidden.conf`]: '',
      [`${U}/a.image.d/notes.txt`]: '',
      [`${U}/a.image.d/x.conf.bak`]: '',
    });
    expect(await createInRootLoader(root, DEFAULT_LIMITS).listDropIns(`${U}/a.image`)).toEqual([
      `${U}/a.image.d/10.conf`,
      `${U}/a.image.d/20.conf`,
      `${U}/a.image.d/B.conf`,
      `${U}/a.image.d/a.conf`,
    ]);
  });

  it('finds no drop-ins when <unit>.d is absent', async () => {
    await writeTree(root, { [`${U}/a.image`]: '' });
    expect(await createInRootLoader(root, DEFAULT_LIMITS).listDropIns(`${U}/a.image`)).toEqual([]);
  });

  it('follows a <unit>.d that is an in-root link', async () => {
    await writeTree(root, { '/shared/x.conf': '', [`${U}/a.image.d`]: { symlink: '/shared' } });
    expect(await createInRootLoader(root, DEFAULT_LIMITS).listDropIns(`${U}/a.image`)).toEqual([
      '/shared/x.conf',
    ]);
  });

  it('refuses a <unit>.d with more entries than the limit', async () => {
    await writeTree(root, { [`${U}/a.image.d/1.conf`]: '', [`${U}/a.image.d/2.conf`]: '' });
    const loader = createInRootLoader(root, resolveLimits({ maxDirEntries: 1 }));
    await expect(loader.listDropIns(`${U}/a.image`)).rejects.toThrow('has more than 1 entries');
  });

  it('makes a FIFO drop-in an error of the unit, without blocking', async () => {
    await writeTree(root, {
      [`${U}/a.image`]: '[Image]\nImage=quay.io/a\n',
      [`${U}/a.image.d`]: { dir: true },
    });
    execFileSync('mkfifo', [`${root}${U}/a.image.d/x.conf`]);
    await expect(
      resolveBoundImageFile(`${U}/a.image`, createInRootLoader(root, DEFAULT_LIMITS)),
    ).rejects.toThrow(
      `${U}/a.image.d/x.conf: drop-in cannot be read: is a FIFO (named pipe), not a regular file`,
    );
  });

  it('reads the .image sibling of a .container inside the root', async () => {
    await writeTree(root, {
      [`${U}/c.container`]: '[Container]\nImage=b.image\n',
      [`${U}/b.image`]: { symlink: '/elsewhere/b.image' },
      '/elsewhere/b.image': '[Image]\nImage=quay.io/b\n',
    });
    expect(
      await resolveBoundImageFile(`${U}/c.container`, createInRootLoader(root, DEFAULT_LIMITS)),
    ).toMatchObject({
      image: 'quay.io/b',
      sourceFile: '/elsewhere/b.image',
      via: [`${U}/c.container`],
    });
  });
});

describe('compareNames', () => {
  it('orders by UTF-8 bytes, as strcmp does', () => {
    expect(['b', 'B', 'a', 'é', 'z'].sort(compareNames)).toEqual(['B', 'a', 'b', 'z', 'é']);
    expect(['\u{1F600}', '\uFFFD'].sort(compareNames)).toEqual(['\uFFFD', '\u{1F600}']);
  });
});
