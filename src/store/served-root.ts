// servedRoot: which store directory the Podman service behind the socket serves, the answer the
// store identity check needs before anything is pulled or removed. GET /info gives it but costs
// ~250 ms on Podman 4.3 (it runs helper binaries, whatever the store's size); inspecting one image
// seen in an earlier listing costs ~2 ms and names the same directory through the image's overlay
// layer path. The probe may only confirm the expected store: when it is not conclusive (no image to
// ask about, the image is gone, another driver) or names another directory, GET /info decides.
import { realpath } from 'node:fs/promises';

export interface RootSources {
  info(): Promise<{ rootDir: string }>;
  overlayRootOf(id: string): Promise<string | null>;
}

/** Both paths with symbolic links resolved (as given when a path cannot be resolved). */
export async function sameDirectory(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([realpath(a).catch(() => a), realpath(b).catch(() => b)]);
  return x === y;
}

/** The store directory the service serves: probed through `probeId` when that confirms `expected`. */
export async function servedRoot(
  sources: RootSources,
  expected: string,
  probeId: string | undefined,
): Promise<string> {
  if (probeId !== undefined) {
    const probed = await sources.overlayRootOf(probeId).catch(() => null);
    if (probed !== null && (await sameDirectory(probed, expected))) return probed;
  }
  return (await sources.info()).rootDir;
}
