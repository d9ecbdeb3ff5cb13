// Garbage-collection planning and its safety rules. Pure: no I/O.
//  - The referenced set is the union of every root's bound images.
//  - An image is removed only when NONE of its names or digests is referenced, comparing
//    normalized references (bootc compares raw strings: `Image=nginx` never matches the stored
//    `docker.io/library/nginx:latest`).
//  - A deployment's host image (the image its origin file names: discovery/host-image.ts) is never
//    removed, as bootc's prune keeps it: it counts as referenced by its name, normalized like the
//    others, and by `name@manifest-digest` when the origin records the digest (composefs backend).
//  - An unreferenced extra tag on a kept image is untagged (never its last name); the image stays.
//  - Whether GC may run at all is decided by `gcBlocker`, before any plan is acted on: an origin
//    file that cannot be read (an unknown host image) blocks it like an unreadable root.
import { parseNormalizedReference, storeKeys } from '../reference/reference.js';
import { normalizeStoreName, referenceKeys, type StoreEntry } from './plan.js';

/** A deployment's host image as GC needs it (discovery/host-image.ts `HostImage`). */
export interface ProtectedImage {
  image: string;
  manifestDigest?: string;
}

/** The store keys that keep a host image: its normalized names, else the name as written. */
export function hostImageKeys(host: ProtectedImage): string[] {
  let ref;
  try {
    ref = parseNormalizedReference(host.image);
  } catch {
    // A name the reference grammar refuses (bootc would compare it as a raw string): kept as is.
    return [host.image];
  }
  const keys = storeKeys(ref);
  if (host.manifestDigest !== undefined && /^[a-z0-9]+:[a-f0-9]+$/.test(host.manifestDigest)) {
    keys.push(`${ref.name}@${host.manifestDigest}`);
  }
  return keys;
}

export interface GcPlan {
  remove: { id: string; names: string[] }[];
  untag: { id: string; name: string }[];
  kept: number;
}

export function planGc(
  referenced: Iterable<string>,
  stored: readonly StoreEntry[],
  hostImages: readonly ProtectedImage[] = [],
): GcPlan {
  const keys = new Set<string>();
  for (const ref of referenced) for (const k of referenceKeys(ref)) keys.add(k);
  for (const host of hostImages) for (const k of hostImageKeys(host)) keys.add(k);
  const plan: GcPlan = { remove: [], untag: [], kept: 0 };
  for (const img of stored) {
    const names = img.names.map(normalizeStoreName);
    const digests = img.digests.map(normalizeStoreName);
    const isReferenced = [...names, ...digests].some((k) => keys.has(k));
    if (!isReferenced) {
      plan.remove.push({ id: img.id, names: [...img.names] });
      continue;
    }
    plan.kept += 1;
    // Only tag names are untagged (a listing may show `repo@sha256:…` among the names), and never
    // the last tag: Podman drops an image's repo digests with its last tag, so a digest-pinned
    // reference would no longer find the image it keeps.
    let left = names.filter((n) => !n.includes('@')).length;
    img.names.forEach((raw, i) => {
      const name = names[i] ?? raw;
      if (keys.has(name) || name.includes('@') || left <= 1) return;
      plan.untag.push({ id: img.id, name: raw });
      left -= 1;
    });
  }
  return plan;
}

/** What the run knew when GC was about to start. */
export interface GcInputs {
  enabledByConfig: boolean;
  enabledByCaller: boolean;
  cancelled: boolean;
  unreadableRoots: readonly string[];
  discoveryErrors: number;
  /** Deployment origin files that exist but could not be read: their host images are unknown. */
  originErrors: number;
  failedPulls: number;
}

/** The reason GC must be skipped this run, or null when it may run. */
export function gcBlocker(i: GcInputs): string | null {
  if (!i.enabledByConfig) return 'GC is disabled in the configuration ([gc] enabled = false)';
  if (!i.enabledByCaller) return 'GC was not requested (gc option false)';
  if (i.cancelled) return 'the reconcile was cancelled';
  if (i.unreadableRoots.length > 0) return `root(s) could not be read: ${i.unreadableRoots.join(', ')}`;
  if (i.discoveryErrors > 0) return `${i.discoveryErrors} bound-image file(s) could not be read or parsed`;
  if (i.originErrors > 0) return `${i.originErrors} deployment origin file(s) could not be read or parsed`;
  if (i.failedPulls > 0) return `${i.failedPulls} pull(s) failed`;
  return null;
}
