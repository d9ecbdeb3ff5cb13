// Discovery limits: how large a Quadlet file may be, how many entries a directory may hold, how many
// symbolic links one path may go through. Defaults follow the project's rules (64 KiB, 1024, 40).

export interface DiscoveryLimits {
  /** Largest file read (Quadlet units and drop-ins), in bytes. */
  maxFileBytes: number;
  /** Most entries a directory read by discovery may hold (bound-images.d, `<unit>.d`). */
  maxDirEntries: number;
  /** Most symbolic links followed while resolving one path (Linux's MAXSYMLINKS). */
  maxSymlinkHops: number;
}

export const DEFAULT_LIMITS: Readonly<DiscoveryLimits> = Object.freeze({
  maxFileBytes: 64 * 1024,
  maxDirEntries: 1024,
  maxSymlinkHops: 40,
});

/** Defaults overlaid with `given`; each value must be a positive integer. */
export function resolveLimits(given: Partial<DiscoveryLimits> = {}): DiscoveryLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof DiscoveryLimits)[]) {
    const value: unknown = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`discovery limit ${key} must be a positive integer, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}
