// Hostile trees at the limits (issue 6, "Hostile input"): 10,000 entries in bound-images.d and in a
// drop-in directory, a full bound-images.d of 1,024 good entries, a host path longer than PATH_MAX,
// and the longest link targets. Each must end in its answer quickly, within its time bound.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import type { RootDiscovery } from '../../src/types.js';
import { HANG_MS } from './fuzz-run.js';
import { startSandbox, type Sandbox } from './sandbox.js';

const BOUND = 'usr/lib/bootc/bound-images.d';
const UNITS = 'usr/share/containers/systemd';
/** Listing stops at entry 1,025: 10,000 entries cost no more than that. */
const LIST_BOUND_MS = 2_000;

const run = promisify(execFile);
let sandbox: Sandbox;
let base: string;
let count = 0;

beforeAll(async () => {
  sandbox = await startSandbox();
  base = await mkdtemp(join(tmpdir(), 'bi-fuzz-limits-'));
});
afterAll(async () => {
  await sandbox?.close();
  if (base !== undefined) await run('rm', ['-rf', base]);
}, 60_000);

async function newRoot(): Promise<string> {
  const root = join(base, `r${count++}`);
  await mkdir(join(root, BOUND), { recursive: true });
  await mkdir(join(root, UNITS), { recursive: true });
  return root;
}

async function discover(root: string, timeoutMs = HANG_MS): Promise<{ found: RootDiscovery; ms: number }> {
  const { result, ms } = await sandbox.run({ op: 'discover', root }, timeoutMs);
  if (result.op !== 'discover' || result.outcome.kind !== 'discovery') {
    expect.fail(`discoverRoot threw: ${JSON.stringify(result)}`);
  }
  return { found: result.outcome.result, ms };
}

/** `count` symbolic links named `${prefix}N.image` in `dir`, made 500 at a time. */
async function manyLinks(dir: string, count: number, target: (i: number) => string): Promise<void> {
  for (let first = 0; first < count; first += 500) {
    const batch = [];
    for (let i = first; i < Math.min(count, first + 500); i++)
      batch.push(symlink(target(i), join(dir, `e${i}.image`)));
    await Promise.all(batch);
  }
}

describe('hostile trees at the limits', () => {
  test('10,000 entries in bound-images.d: the root is unreadable (over 1024), found fast', async () => {
    const root = await newRoot();
    await writeFile(join(root, UNITS, 'ok.image'), '[Image]\nImage=fuzz.invalid/ok\n');
    await manyLinks(join(root, BOUND), 10_000, () => `/${UNITS}/ok.image`);
    const { found, ms } = await discover(root);
    expect(found.readable).toBe(false);
    expect(found.images).toEqual([]);
    expect(found.errors).toHaveLength(1);
    expect(found.errors[0]?.message).toMatch(/has more than 1024 entries/);
    expect(ms).toBeLessThan(LIST_BOUND_MS);
    console.log(`10,000 entries in bound-images.d: refused in ${ms.toFixed(0)} ms`);
  });

  test('1,024 good entries: all bound', async () => {
    const root = await newRoot();
    await Promise.all(
      Array.from({ length: 1024 }, (_, i) =>
        writeFile(join(root, UNITS, `u${i}.image`), `[Image]\nImage=fuzz.invalid/ok-${i}\n`),
      ),
    );
    await manyLinks(join(root, BOUND), 1024, (i) => `/${UNITS}/u${i}.image`);
    // ~1 s here; a loaded CI machine gets more room than one case's HANG_MS.
    const { found, ms } = await discover(root, 30_000);
    expect(found.errors).toEqual([]);
    expect(found.images).toHaveLength(1024);
    console.log(`1,024 good entries: bound in ${ms.toFixed(0)} ms`);
  });

  test('10,000 drop-ins for one unit: that entry fails (over 1024), the other binds', async () => {
    const root = await newRoot();
    const unit = join(root, UNITS, 'many.image');
    await writeFile(unit, '[Image]\nImage=fuzz.invalid/many\n');
    await writeFile(join(root, UNITS, 'ok.image'), '[Image]\nImage=fuzz.invalid/ok\n');
    await mkdir(`${unit}.d`);
    await Promise.all(
      Array.from({ length: 10 }, async (_, batch) => {
        for (let i = batch * 1000; i < (batch + 1) * 1000; i++) {
          await writeFile(join(`${unit}.d`, `${String(i).padStart(5, '0')}.conf`), '[Image]\nOS=linux\n');
        }
      }),
    );
    await symlink(`/${UNITS}/many.image`, join(root, BOUND, 'many.image'));
    await symlink(`/${UNITS}/ok.image`, join(root, BOUND, 'ok.image'));
    const { found, ms } = await discover(root);
    expect(found.images.map((i) => i.reference)).toEqual(['fuzz.invalid/ok:latest']);
    expect(found.errors).toHaveLength(1);
    expect(found.errors[0]).toMatchObject({ entry: 'many.image', file: `/${UNITS}/many.image.d` });
    expect(found.errors[0]?.message).toMatch(/more than 1024 entries/);
    expect(ms).toBeLessThan(LIST_BOUND_MS);
    console.log(`10,000 drop-ins: refused in ${ms.toFixed(0)} ms`);
  });

  test('a host path over PATH_MAX (2,100 directories deep) is a clear error, not a crash', async () => {
    const root = await newRoot();
    // The unit sits 2,100 levels down: its host path is over 4,200 bytes, and the kernel takes no path
    // that long in one piece. So the lower half is made apart and moved under the upper half. The
    // entry's link goes half way down, a second link the rest.
    await mkdir(join(root, 'x', 'd/'.repeat(1100)), { recursive: true });
    await writeFile(join(root, 'x', 'd/'.repeat(1100), 'ok.image'), '[Image]\nImage=fuzz.invalid/deep\n');
    await mkdir(join(root, 'deep', 'd/'.repeat(999)), { recursive: true });
    await rename(join(root, 'x', 'd'), join(root, 'deep', 'd/'.repeat(999), 'd'));
    await symlink(`${'d/'.repeat(1100)}ok.image`, join(root, 'deep', 'd/'.repeat(1000), 'next'));
    await symlink(`/deep/${'d/'.repeat(1000)}next`, join(root, BOUND, 'deep.image'));
    const { found } = await discover(root);
    expect(found.images).toEqual([]);
    expect(found.errors).toHaveLength(1);
    expect(found.errors[0]).toMatchObject({ entry: 'deep.image' });
    expect(found.errors[0]?.message).toMatch(/ENAMETOOLONG/);
  });

  test('the longest link targets (4,095 bytes of "./" and "../") resolve inside the root', async () => {
    const root = await newRoot();
    await writeFile(join(root, UNITS, 'ok.image'), '[Image]\nImage=fuzz.invalid/ok\n');
    const tail = `${UNITS}/ok.image`;
    const dots = './'.repeat(Math.floor((4095 - tail.length - 1) / 2));
    const ups = '../'.repeat(Math.floor((4095 - tail.length) / 3));
    await symlink(`/${dots}${tail}`, join(root, BOUND, 'dots.image'));
    await symlink(`${ups}${tail}`, join(root, BOUND, 'ups.image'));
    const { found } = await discover(root);
    expect(found.errors).toEqual([]);
    expect(found.images.map((i) => [i.entry, i.reference])).toEqual([
      ['dots.image', 'fuzz.invalid/ok:latest'],
      ['ups.image', 'fuzz.invalid/ok:latest'],
    ]);
  });
});
