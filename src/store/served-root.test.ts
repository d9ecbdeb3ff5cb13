// servedRoot's decision (the probe may only confirm; anything else asks GET /info) and the parsing of
// the overlay store directory out of an inspected image. The real services are in
// test/integration/reconcile-store-identity.test.ts and reconcile-api-calls.test.ts.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

import { parseOverlayRoot } from './api-schema.js';
import { servedRoot, type RootSources } from './served-root.js';

const dir = mkdtempSync(join(tmpdir(), 'bound-imaged-served-root-'));
const store = join(dir, 'store');
mkdirSync(store);
const LAYER = 'a'.repeat(64);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sources(probe: string | null | Error, info = '/var/lib/containers/storage') {
  const calls: string[] = [];
  const s: RootSources = {
    async info() {
      calls.push('info');
      return { rootDir: info };
    },
    async overlayRootOf(id) {
      calls.push(`probe ${id}`);
      if (probe instanceof Error) throw probe;
      return probe;
    },
  };
  return { s, calls };
}

describe('servedRoot', () => {
  test('an image in the expected store confirms it without GET /info', async () => {
    const { s, calls } = sources(store);
    expect(await servedRoot(s, store, 'sha256:x')).toBe(store);
    expect(calls).toEqual(['probe sha256:x']);
  });

  test('the same directory through a symbolic link confirms it too', async () => {
    const link = join(dir, 'link');
    symlinkSync(dir, link);
    const { s, calls } = sources(join(link, 'store'));
    expect(await servedRoot(s, store, 'sha256:x')).toBe(join(link, 'store'));
    expect(calls).toEqual(['probe sha256:x']);
  });

  test.each([
    ['another directory', '/var/lib/containers/storage'],
    ['no such image, or another driver', null],
    ['a failed probe', new Error('GET /images/sha256:x/json: socket hang up')],
  ])('%s: GET /info decides', async (_what, probe) => {
    const { s, calls } = sources(probe);
    expect(await servedRoot(s, store, 'sha256:x')).toBe('/var/lib/containers/storage');
    expect(calls).toEqual(['probe sha256:x', 'info']);
  });

  test('nothing to probe with: GET /info', async () => {
    const { s, calls } = sources(store, store);
    expect(await servedRoot(s, store, undefined)).toBe(store);
    expect(calls).toEqual(['info']);
  });
});

describe('parseOverlayRoot', () => {
  const inspect = (driver: unknown) => ({ Id: LAYER, GraphDriver: driver });

  test('the store is three levels above the top layer of an overlay image', () => {
    const upper = `/usr/lib/bootc/storage/overlay/${LAYER}/diff`;
    expect(parseOverlayRoot(inspect({ Name: 'overlay', Data: { UpperDir: upper } }), 'x')).toBe(
      '/usr/lib/bootc/storage',
    );
  });

  test.each([
    ['no GraphDriver', undefined],
    ['another driver', { Name: 'vfs', Data: { UpperDir: `/s/overlay/${LAYER}/diff` } }],
    ['no Data', { Name: 'overlay' }],
    ['no UpperDir', { Name: 'overlay', Data: {} }],
    ['an UpperDir of another shape', { Name: 'overlay', Data: { UpperDir: `/s/overlay/${LAYER}/work` } }],
    ['a relative UpperDir', { Name: 'overlay', Data: { UpperDir: `s/overlay/${LAYER}/diff` } }],
  ])('%s: not conclusive (null)', (_what, driver) => {
    expect(parseOverlayRoot(inspect(driver), 'x')).toBeNull();
  });

  test.each([
    ['GraphDriver', 'overlay', /GraphDriver is not an object/],
    ['Data', { Name: 'overlay', Data: [] }, /GraphDriver\.Data is not an object/],
    ['UpperDir', { Name: 'overlay', Data: { UpperDir: 7 } }, /UpperDir is not a string/],
  ])('a malformed %s is an error naming the call and the field', (_what, driver, error) => {
    expect(() => parseOverlayRoot(inspect(driver), 'sha256:x')).toThrow(error);
    expect(() => parseOverlayRoot(inspect(driver), 'sha256:x')).toThrow(/GET \/images\/sha256:x\/json/);
  });
});
