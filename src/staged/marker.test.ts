import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeVardict, GVariantError, parseVardict } from './gvariant.js';
import { readStagedDeployment, STAGED_MARKER, StagedMarkerError } from './marker.js';

// Written by `ostree admin deploy --stage --os=os os/1 --karg=quiet --karg=console=ttyS0` (ostree
// 2022.7, Debian 12) in a booted test sysroot: the real marker, byte for byte.
const OSTREE_MARKER = new URL('./testdata/staged-deployment.ostree-2022.7', import.meta.url);
const CSUM = '3c2680dda51bc3e0da27a713784e740383a2cd56785126e0fbe75deda931db90';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'staged-marker-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('GVariant a{sv}', () => {
  it('reads the marker ostree wrote, and writes the same bytes back', async () => {
    const bytes = await readFile(OSTREE_MARKER);
    const dict = parseVardict(bytes);
    expect(Object.keys(dict)).toEqual(['target', 'merge-deployment', 'kargs']);
    expect(dict.target).toMatchObject({ name: `${CSUM}.1`, osname: 'os' });
    expect(dict['merge-deployment']).toMatchObject({ name: `${CSUM}.0`, osname: 'os' });
    expect(dict.kargs).toEqual(expect.arrayContaining(['quiet', 'console=ttyS0']));
    expect(Buffer.from(encodeVardict(dict)).equals(bytes)).toBe(true);
  });

  it('round-trips booleans, integers, string arrays, nested and empty dictionaries', () => {
    const dict = {
      locked: true,
      off: false,
      n: -7,
      list: ['a', '', 'ccc'],
      nested: { deep: { x: 'y' }, empty: {} },
      long: 'x'.repeat(70_000),
    };
    expect(parseVardict(encodeVardict(dict))).toEqual(dict);
    expect(parseVardict(new Uint8Array())).toEqual({});
  });

  it('says where malformed data stops making sense', () => {
    const good = encodeVardict({ target: { name: 'n' } });
    expect(() => parseVardict(good.subarray(0, good.length - 3))).toThrow(GVariantError);
    expect(() => parseVardict(Uint8Array.from([0x74, 0x00, 0x09]))).toThrow(/byte \d+/);
    // One entry "ab" whose key is not zero-terminated.
    expect(() => parseVardict(Uint8Array.from([0x61, 0x62, 0x02, 0x03]))).toThrow(GVariantError);
  });
});

describe('readStagedDeployment', () => {
  it('is null when nothing is staged', async () => {
    expect(await readStagedDeployment(dir, '/sysroot')).toBeNull();
  });

  it("names the deployment and its root from ostree's own marker", async () => {
    await writeFile(join(dir, STAGED_MARKER), await readFile(OSTREE_MARKER));
    expect(await readStagedDeployment(dir, '/sysroot')).toEqual({
      osname: 'os',
      name: `${CSUM}.1`,
      id: `os/${CSUM}.1`,
      root: `/sysroot/ostree/deploy/os/deploy/${CSUM}.1`,
      lockedInMetadata: false,
    });
  });

  it("sees ostree's `locked` key (lock-finalization in the metadata)", async () => {
    const marker = { target: { name: `${CSUM}.2`, osname: 'fedora', bootcsum: 'b' }, locked: true };
    await writeFile(join(dir, STAGED_MARKER), encodeVardict(marker));
    const staged = await readStagedDeployment(dir, '/');
    expect(staged?.lockedInMetadata).toBe(true);
    expect(staged?.root).toBe(`/ostree/deploy/fedora/deploy/${CSUM}.2`);
  });

  it.each([
    ['no target', { other: 'x' }, /no 'target' dictionary/],
    ['a bad name', { target: { name: '../../etc', osname: 'os' } }, /target\.name "\.\.\/\.\.\/etc"/],
    ['a bad osname', { target: { name: `${CSUM}.0`, osname: '..' } }, /target\.osname/],
    ['a slash in osname', { target: { name: `${CSUM}.0`, osname: 'a/b' } }, /target\.osname/],
  ])('refuses a marker with %s, naming the file', async (_what, dict, message) => {
    const file = join(dir, STAGED_MARKER);
    await writeFile(file, encodeVardict(dict));
    const err = await readStagedDeployment(dir, '/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StagedMarkerError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(file)).toBe(true);
  });

  it('refuses bytes that are not a GVariant, naming the file', async () => {
    await writeFile(join(dir, STAGED_MARKER), 'hello\n');
    await expect(readStagedDeployment(dir, '/')).rejects.toThrow(/staged-deployment: not a GVariant a\{sv\}/);
  });
});
