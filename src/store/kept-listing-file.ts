// The kept listing across restarts: <stateDirectory>/listing.json holds the last listing of the bound
// store that ListingCache kept, with the store's key (storeImagesKey) it was taken under and the
// store path. A daemon started afresh (socket activation after an idle exit, a restart) answers its
// first no-op from it while the key is unchanged. Safe for the same reason as within one process: the
// key is what containers/storage itself compares to notice another process's writes (the last-writer
// token of images.lock and the identity of images.json), and it is read afresh before every use, so
// anything that changed the image records while no daemon ran changes the key and the file is not
// used. A file for another store path, of another format, or unreadable is ignored (a fresh listing);
// a failed write only costs the next process that listing. Docs: docs/performance.md ("the kept
// listing across restarts").
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord } from '../errors.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { StoredImage } from './types.js';

export const KEPT_LISTING_FILE = 'listing.json';
const FORMAT = 1;
/** A listing larger than this is not kept on disk (it would be a store of ~100 000 images). */
const MAX_BYTES = 32 * 1024 * 1024;

export interface KeptListing {
  key: string;
  images: StoredImage[];
}

export interface KeptListingStore {
  load(): Promise<KeptListing | undefined>;
  save(kept: KeptListing): Promise<void>;
}

const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');

function parseImage(r: unknown): StoredImage | undefined {
  if (!isRecord(r)) return undefined;
  if (typeof r.id !== 'string' || !isStrings(r.names) || !isStrings(r.digests)) return undefined;
  const image: StoredImage = { id: r.id, names: r.names, digests: r.digests };
  if (typeof r.created === 'number') image.created = r.created;
  if (typeof r.size === 'number') image.size = r.size;
  return image;
}

/** The kept listing of `storePath` as parsed from the file's text; undefined when it does not fit. */
export function parseKeptListing(text: string, storePath: string): KeptListing | undefined {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(r)) return undefined;
  if (r.format !== FORMAT || r.storePath !== storePath || typeof r.key !== 'string' || r.key === '')
    return undefined;
  if (!Array.isArray(r.images)) return undefined;
  const images = r.images.map(parseImage);
  if (images.some((i) => i === undefined)) return undefined;
  return { key: r.key, images: images as StoredImage[] };
}

export function serializeKeptListing(kept: KeptListing, storePath: string): string {
  return JSON.stringify({ format: FORMAT, storePath, key: kept.key, images: kept.images });
}

/** The kept listing of `storePath` in `stateDirectory`. */
export function keptListingFile(stateDirectory: string, storePath: string): KeptListingStore {
  const file = join(stateDirectory, KEPT_LISTING_FILE);
  return {
    async load() {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      return text === undefined || text.length > MAX_BYTES ? undefined : parseKeptListing(text, storePath);
    },
    async save(kept) {
      const text = serializeKeptListing(kept, storePath);
      if (text.length <= MAX_BYTES) await writeFileAtomic(file, text, 0o600);
    },
  };
}
