// ListingCache: reuse the last image listing of the bound store while the store's image records are
// unchanged, so a no-op reconcile need not ask Podman to list every image again (Podman 4 spends
// ~2.5–5 ms per stored image on GET /images/json).
//
// "Unchanged" is decided the way containers/storage itself decides whether to reload its image
// records: every write of `<driver>-images/images.json` happens under `<driver>-images/images.lock`
// and stamps a fresh last-writer token (time, counter, pid, random) into that lock file. The key is
// that token plus the identity of images.json (inode, size, mtime and ctime in ns). A key is taken
// before and after each listing; the listing is kept only if both agree, so a write during the
// listing is never hidden. No key (no `*-images` directory, an unreadable file) means no caching:
// every call lists. Docs: docs/performance.md ("The kept listing").
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { KeptListingStore } from './kept-listing-file.js';
import type { StoredImage } from './types.js';

/** The part of a store's image records that changes on every write; undefined when unreadable. */
export async function storeImagesKey(storePath: string): Promise<string | undefined> {
  try {
    const dirs = (await readdir(storePath)).filter((name) => /^[a-z0-9_]+-images$/.test(name)).sort();
    if (dirs.length === 0) return undefined;
    const parts = await Promise.all(
      dirs.map(async (dir) => {
        const [lock, json] = await Promise.all([
          readFile(join(storePath, dir, 'images.lock')),
          stat(join(storePath, dir, 'images.json'), { bigint: true }),
        ]);
        // An empty lock file carries no last-writer token: nothing to tell writes apart by.
        if (lock.length === 0) throw new Error('empty lock file');
        return `${dir}:${lock.toString('hex')}:${json.dev}:${json.ino}:${json.size}:${json.mtimeNs}:${json.ctimeNs}`;
      }),
    );
    return parts.join('|');
  } catch {
    return undefined;
  }
}

export interface ListingCacheStats {
  /** Listings answered from the cache. */
  hits: number;
  /** Listings asked of Podman. */
  misses: number;
}

export class ListingCache {
  private last: { key: string; images: readonly StoredImage[] } | undefined;
  private seen: string | undefined;
  private loaded: Promise<void> | undefined;
  readonly stats: ListingCacheStats = { hits: 0, misses: 0 };

  constructor(
    private readonly storePath: string,
    private readonly list: () => Promise<StoredImage[]>,
    private readonly readKey: (storePath: string) => Promise<string | undefined> = storeImagesKey,
    /** Where a kept listing outlives the process (kept-listing-file.ts); none: in memory only. */
    private readonly disk?: KeptListingStore,
  ) {}

  /**
   * Takes up the listing a previous process kept on disk, once; its key is checked like any other
   * before it answers. Never fails: an unreadable file means no kept listing.
   */
  loadKept(): Promise<void> {
    this.loaded ??= (async () => {
      const kept = await this.disk?.load().catch(() => undefined);
      if (kept === undefined || this.last !== undefined) return;
      this.last = { key: kept.key, images: kept.images.map(copyImage) };
      this.seen ??= kept.images[0]?.id;
    })();
    return this.loaded;
  }

  /** The store's images: the kept listing while the key is unchanged, else a fresh one. */
  async listImages(): Promise<StoredImage[]> {
    await this.loadKept();
    const before = await this.readKey(this.storePath);
    if (before !== undefined && this.last?.key === before) {
      this.stats.hits += 1;
      return this.last.images.map(copyImage);
    }
    this.last = undefined;
    this.stats.misses += 1;
    const images = await this.list();
    this.seen = images[0]?.id;
    const after = before === undefined ? undefined : await this.readKey(this.storePath);
    if (after !== undefined && after === before) {
      this.last = { key: before, images: images.map(copyImage) };
      await this.disk?.save({ key: before, images }).catch(() => undefined);
    }
    return images;
  }

  /** The id of an image the last listing had (it may be gone since): a probe for servedRoot(). */
  get lastSeenImageId(): string | undefined {
    return this.seen;
  }

  /** Forget the kept listing (after a change made through another path, or a socket switch). */
  invalidate(): void {
    this.last = undefined;
  }
}

function copyImage(image: StoredImage): StoredImage {
  return { ...image, names: [...image.names], digests: [...image.digests] };
}
