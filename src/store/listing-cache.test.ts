// ListingCache on a directory laid out like containers-storage (`overlay-images/images.lock` and
// `images.json`), written the way containers/storage writes them: a new last-writer token in the lock
// and images.json replaced by rename.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';

import { keptListingFile, parseKeptListing, serializeKeptListing } from './kept-listing-file.js';
import { ListingCache, storeImagesKey } from './listing-cache.js';
import type { StoredImage } from './types.js';

let store: string;
let writes = 0;

/** One write of the image records, as containers/storage does it. */
function write(driver = 'overlay', json = '[]'): void {
  const dir = join(store, `${driver}-images`);
  mkdirSync(dir, { recursive: true });
  writes += 1;
  const token = Buffer.alloc(64);
  token.writeUInt32LE(writes, 0);
  writeFileSync(join(dir, 'images.lock'), token);
  writeFileSync(join(dir, 'images.json.tmp'), json);
  renameSync(join(dir, 'images.json.tmp'), join(dir, 'images.json'));
}

function image(n: number): StoredImage {
  return { id: `sha256:${String(n).padStart(64, '0')}`, names: [`r.test/i${n}:latest`], digests: [] };
}

/** A listing function that counts its calls and answers `current`. */
function lister(current: StoredImage[]): { calls: number; list: () => Promise<StoredImage[]> } {
  const l = {
    calls: 0,
    list: async () => {
      l.calls += 1;
      return current.map((i) => ({ ...i, names: [...i.names] }));
    },
  };
  return l;
}

beforeEach(() => {
  store = mkdtempSync(join(tmpdir(), 'bound-imaged-listing-'));
});
afterEach(() => rmSync(store, { recursive: true, force: true }));

describe('storeImagesKey', () => {
  test('changes with every write, even one that leaves images.json the same size', async () => {
    write();
    const a = await storeImagesKey(store);
    write();
    const b = await storeImagesKey(store);
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(b).not.toBe(a);
    expect(await storeImagesKey(store)).toBe(b);
  });

  test('is undefined for a store with no image records, or an unreadable one', async () => {
    expect(await storeImagesKey(store)).toBeUndefined();
    expect(await storeImagesKey(join(store, 'missing'))).toBeUndefined();
    mkdirSync(join(store, 'overlay-images'));
    writeFileSync(join(store, 'overlay-images', 'images.json'), '[]');
    expect(await storeImagesKey(store)).toBeUndefined(); // no lock file
    writeFileSync(join(store, 'overlay-images', 'images.lock'), '');
    expect(await storeImagesKey(store)).toBeUndefined(); // a lock without a token
  });

  test('covers every driver directory of the store', async () => {
    write('overlay');
    write('vfs');
    const both = await storeImagesKey(store);
    write('vfs');
    expect(await storeImagesKey(store)).not.toBe(both);
  });
});

describe('ListingCache', () => {
  test('answers from the kept listing while the store is unchanged', async () => {
    write();
    const l = lister([image(1), image(2)]);
    const cache = new ListingCache(store, l.list);
    const first = await cache.listImages();
    const second = await cache.listImages();
    expect(second).toEqual(first);
    expect(l.calls).toBe(1);
    expect(cache.stats).toEqual({ hits: 1, misses: 1 });
  });

  test('lists again after any write to the store', async () => {
    write();
    const current = [image(1)];
    const l = lister(current);
    const cache = new ListingCache(store, l.list);
    await cache.listImages();
    current.push(image(2));
    write();
    expect((await cache.listImages()).map((i) => i.id)).toEqual([image(1).id, image(2).id]);
    expect(l.calls).toBe(2);
  });

  test('keeps nothing when the store changed while it was listing', async () => {
    write();
    let calls = 0;
    const cache = new ListingCache(store, async () => {
      calls += 1;
      if (calls === 1) write(); // another writer, mid-listing
      return [image(calls)];
    });
    expect(await cache.listImages()).toEqual([image(1)]);
    expect(await cache.listImages()).toEqual([image(2)]);
    expect(await cache.listImages()).toEqual([image(2)]);
    expect(calls).toBe(2);
  });

  test('never caches without a key, nor a failed listing', async () => {
    const l = lister([image(1)]);
    const cache = new ListingCache(store, l.list);
    await cache.listImages();
    await cache.listImages();
    expect(l.calls).toBe(2);

    write();
    let fail = true;
    const flaky = new ListingCache(store, async () => {
      if (fail) throw new Error('GET /images/json: socket hang up');
      return [image(3)];
    });
    await expect(flaky.listImages()).rejects.toThrow('socket hang up');
    fail = false;
    expect(await flaky.listImages()).toEqual([image(3)]);
  });

  test('a caller that changes its copy does not change the kept listing', async () => {
    write();
    const cache = new ListingCache(store, lister([image(1)]).list);
    const mine = await cache.listImages();
    mine[0]!.names.push('r.test/other:1');
    mine.pop();
    expect(await cache.listImages()).toEqual([image(1)]);
  });

  test('invalidate() forgets the listing', async () => {
    write();
    const l = lister([image(1)]);
    const cache = new ListingCache(store, l.list);
    await cache.listImages();
    cache.invalidate();
    await cache.listImages();
    expect(l.calls).toBe(2);
  });
});

describe('ListingCache kept on disk (kept-listing-file.ts)', () => {
  const storeDir = (): string => join(store, 'storage');
  const swap = (): void => {
    const saved = store;
    store = storeDir();
    write();
    store = saved;
  };

  test('a second process answers from the first one’s listing while the store is unchanged', async () => {
    swap();
    const state = join(store, 'state');
    mkdirSync(state);
    const first = lister([image(1), image(2)]);
    await new ListingCache(
      storeDir(),
      first.list,
      undefined,
      keptListingFile(state, storeDir()),
    ).listImages();
    expect(first.calls).toBe(1);

    const second = lister([image(9)]);
    const cache = new ListingCache(storeDir(), second.list, undefined, keptListingFile(state, storeDir()));
    await cache.loadKept();
    expect(cache.lastSeenImageId).toBe(image(1).id);
    expect(await cache.listImages()).toEqual([image(1), image(2)]);
    expect(second.calls).toBe(0);
    expect(cache.stats).toEqual({ hits: 1, misses: 0 });
  });

  test('a write to the store between the processes is seen: the next process lists afresh', async () => {
    swap();
    const state = join(store, 'state');
    mkdirSync(state);
    await new ListingCache(
      storeDir(),
      lister([image(1)]).list,
      undefined,
      keptListingFile(state, storeDir()),
    ).listImages();
    swap(); // e.g. `podman rmi` while no daemon ran
    const next = lister([image(2)]);
    const cache = new ListingCache(storeDir(), next.list, undefined, keptListingFile(state, storeDir()));
    expect(await cache.listImages()).toEqual([image(2)]);
    expect(next.calls).toBe(1);
  });

  test('a file for another store path, another format or broken is not used', async () => {
    const key = 'k';
    const text = serializeKeptListing({ key, images: [image(1)] }, '/s');
    expect(parseKeptListing(text, '/s')).toEqual({ key, images: [image(1)] });
    expect(parseKeptListing(text, '/other')).toBeUndefined();
    expect(parseKeptListing(text.replace('"format":1', '"format":2'), '/s')).toBeUndefined();
    expect(parseKeptListing(text.slice(0, -3), '/s')).toBeUndefined();
    expect(parseKeptListing(text.replace('"names":[', '"names":[1,'), '/s')).toBeUndefined();
    expect(parseKeptListing(text.replace(`"key":"k"`, '"key":""'), '/s')).toBeUndefined();
  });
});
