import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { expandRoots } from './expand-roots.js';
import { makeTempRoot, removeTree, writeTree } from '../../scripts/harness/tree-fixture.js';

let base: string;

beforeEach(async () => {
  base = await makeTempRoot('roots');
  await writeTree(base, {
    '/ostree/deploy/fedora/deploy/bbb.0': { dir: true },
    '/ostree/deploy/fedora/deploy/aaa.1': { dir: true },
    '/ostree/deploy/other/deploy/ccc.0': { dir: true },
  });
  // ostree keeps the origin file beside each deployment directory.
  await writeFile(`${base}/ostree/deploy/fedora/deploy/bbb.0.origin`, '');
  await writeFile(`${base}/ostree/deploy/fedora/deploy/aaa.1.origin`, '');
});
afterEach(async () => {
  await removeTree(base);
});

describe('expandRoots', () => {
  it('expands globs to the directories they match, never the .origin files, sorted', async () => {
    expect(await expandRoots([`${base}/ostree/deploy/*/deploy/*`])).toEqual([
      `${base}/ostree/deploy/fedora/deploy/aaa.1`,
      `${base}/ostree/deploy/fedora/deploy/bbb.0`,
      `${base}/ostree/deploy/other/deploy/ccc.0`,
    ]);
  });

  it('keeps plain paths, normalized, even when missing', async () => {
    expect(await expandRoots([`${base}/missing/`, '/'])).toEqual(['/', `${base}/missing`]);
  });

  it('removes duplicates between paths and globs', async () => {
    const deploy = `${base}/ostree/deploy/fedora/deploy`;
    expect(await expandRoots([`${deploy}/aaa.1/`, `${deploy}/*`, `${deploy}/./aaa.1`])).toEqual([
      `${deploy}/aaa.1`,
      `${deploy}/bbb.0`,
    ]);
  });

  it('finds nothing for a glob that matches nothing', async () => {
    expect(await expandRoots([`${base}/nothing/*`])).toEqual([]);
  });

  it('refuses relative patterns', async () => {
    await expect(expandRoots(['ostree/*'])).rejects.toThrow('must be an absolute path or glob');
  });
});
