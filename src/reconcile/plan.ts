// Pull planning: from every root's discovery and ONE store listing, decide what is wanted, what is
// present and what must be pulled. Pure: no I/O. Presence compares normalized references with the
// store's names and repo digests (a digest-pinned reference is present when its digest is).
import { normalizeReference, parseNormalizedReference, storeKeys } from '../reference/reference.js';
import type { BoundImage, Platform, RootDiscovery } from '../types.js';
import type { PullPolicy } from './job.js';

/** The part of a store listing the planners read (structurally a StoredImage). */
export interface StoreEntry {
  id: string;
  names: string[];
  digests: string[];
}

/** One reference wanted by one or more roots, deduplicated. */
export interface WantedImage {
  reference: string;
  /** Every bound entry (any root) that asks for it. */
  sources: BoundImage[];
  authFile?: string;
  platform?: Platform;
}

/** Deduplicate the bound images of all roots by normalized reference, keeping every source. */
export function collectWanted(discoveries: readonly RootDiscovery[]): WantedImage[] {
  const byRef = new Map<string, WantedImage>();
  for (const d of discoveries) {
    for (const img of d.images) {
      const w = byRef.get(img.reference);
      if (w) {
        w.sources.push(img);
        w.authFile ??= img.authFile;
        w.platform ??= img.platform;
      } else {
        byRef.set(img.reference, {
          reference: img.reference,
          sources: [img],
          ...(img.authFile ? { authFile: img.authFile } : {}),
          ...(img.platform ? { platform: img.platform } : {}),
        });
      }
    }
  }
  // Code-unit order: the same on every host whatever its locale, and no ICU collation data loaded.
  return [...byRef.values()].sort((a, b) =>
    a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0,
  );
}

/** The normalized form of a name the store lists, or the raw name when it does not parse. */
export function normalizeStoreName(name: string): string {
  try {
    return normalizeReference(name);
  } catch {
    return name;
  }
}

/** The store key a reference is present under: `name@digest` when pinned, else `name:tag`. */
export function presenceKey(reference: string): string {
  const ref = parseNormalizedReference(reference);
  return ref.digest ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag ?? 'latest'}`;
}

/** Every key under which a reference keeps an image from GC: its tag name and its digest name. */
export function referenceKeys(reference: string): string[] {
  return storeKeys(parseNormalizedReference(reference));
}

function isPinned(reference: string): boolean {
  return parseNormalizedReference(reference).digest !== undefined;
}

/** Map every normalized name and repo digest of the store to its image. */
export function indexStore(stored: readonly StoreEntry[]): Map<string, StoreEntry> {
  const index = new Map<string, StoreEntry>();
  for (const img of stored) {
    for (const n of [...img.names, ...img.digests]) index.set(normalizeStoreName(n), img);
  }
  return index;
}

export interface PullPlan {
  toPull: WantedImage[];
  present: { wanted: WantedImage; image: StoreEntry }[];
}

/**
 * `missing` pulls what is absent; `always` asks the registry for every image (the store then fetches
 * only changed layers); `newer` does too, except for present digest-pinned images, and a failed
 * check of a present image is tolerated (the reconciler owns that rule).
 */
export function planPulls(
  wanted: readonly WantedImage[],
  stored: readonly StoreEntry[],
  policy: PullPolicy,
): PullPlan {
  const index = indexStore(stored);
  const plan: PullPlan = { toPull: [], present: [] };
  for (const w of wanted) {
    const image = index.get(presenceKey(w.reference));
    // A digest names immutable content: under `newer` a present pinned image is up to date.
    const upToDate = policy === 'missing' || (policy === 'newer' && isPinned(w.reference));
    if (image && upToDate) plan.present.push({ wanted: w, image });
    else plan.toPull.push(w);
  }
  return plan;
}

/** Whether a reference is in the store listing (used after pulls and by ListBoundImages). */
export function findInStore(reference: string, stored: readonly StoreEntry[]): StoreEntry | undefined {
  return indexStore(stored).get(presenceKey(reference));
}
