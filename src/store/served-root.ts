// ServedRoot: which store directory the Podman service behind the socket serves, the answer the
// store identity check needs before anything is pulled or removed. GET /info gives it
// (DockerRootDir) but costs ~250 ms on Podman 4.3, whatever the store holds (it runs helper binaries).
// Two calls of a few ms can prove the same about an image seen in an earlier listing: its top
// layer lies in the expected directory (inspect, GraphDriver.Data.UpperDir), and the service keeps it
// in its own store, not in an additional read-only image store (the filtered libpod listing's
// ReadOnly) — without the second, a service on another store that reads ours as an additional image
// store would pass. The probe may only confirm: it is tried only after a GET /info or GET /_ping in
// this process showed a Podman that reports ReadOnly (4.0 or later), and anything inconclusive (no image to ask
// about, the image gone, another driver, another directory, read-only, a failed call) asks GET /info.
import { realpath } from 'node:fs/promises';

export interface RootSources {
  info(): Promise<{ rootDir: string; version: string }>;
  overlayRootOf(id: string): Promise<string | null>;
  ownsImage(id: string): Promise<boolean>;
  /**
   * The libpod API version the service reports on GET /_ping (a few ms, no helper binaries). Lets a
   * process that has made no GET /info yet trust the probe, e.g. on a listing kept across a restart.
   */
  apiVersion?(): Promise<string | undefined>;
}

/** Both paths with symbolic links resolved (as given when a path cannot be resolved). */
export async function sameDirectory(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([realpath(a).catch(() => a), realpath(b).catch(() => b)]);
  return x === y;
}

/** The first number of a version string ("4.3.1" → 4); NaN when there is none. */
function major(version: string): number {
  return Number(/^v?(\d+)\./.exec(version)?.[1] ?? NaN);
}

export class ServedRoot {
  /** Set by the last GET /info: whether that Podman lists ReadOnly (the probe depends on it). */
  private probeTrusted = false;

  constructor(
    private readonly sources: RootSources,
    private readonly expected: string,
  ) {}

  /** The store directory the service serves; `probeId` is an image an earlier listing had. */
  async root(probeId: string | undefined): Promise<string> {
    if (probeId !== undefined && !this.probeTrusted && this.sources.apiVersion) {
      this.probeTrusted = major((await this.sources.apiVersion().catch(() => undefined)) ?? '') >= 4;
    }
    if (probeId !== undefined && this.probeTrusted) {
      const confirmed = await this.probe(probeId).catch(() => null);
      if (confirmed !== null) return confirmed;
    }
    const info = await this.sources.info();
    this.probeTrusted = major(info.version) >= 4;
    return info.rootDir;
  }

  private async probe(id: string): Promise<string | null> {
    const [probed, owned] = await Promise.all([this.sources.overlayRootOf(id), this.sources.ownsImage(id)]);
    return probed !== null && owned && (await sameDirectory(probed, this.expected)) ? probed : null;
  }
}
