// The real RunDeps of a reconcile: the Podman client on the configured socket, discovery of the
// run's roots (root-set.ts: configured, remembered, caller's), the host images their deployment
// origin files name, and credentials (the image's AuthFile=, else the first existing global auth
// file, or none). The store listing is kept between runs while the store's image records are
// unchanged (store/listing-cache.ts). The store client and discovery are imported on first use, so
// the daemon reaches READY quickly; a failed load is retried next time.
import type { Config } from '../config/index.js';
import type { Logger } from '../systemd/log.js';
import { RootSet } from './root-set.js';
import type { RunDeps } from './run.js';

export interface RunDepsOptions {
  config: Config;
  logger: Logger;
  /** The roots a run discovers; default: the configured roots only (nothing remembered). */
  roots?: RootSet;
  /** A directory where the kept listing outlives the process (the daemon's state directory). */
  keepListingIn?: string;
}

async function loadRunDeps(o: RunDepsOptions): Promise<RunDeps> {
  const { config } = o;
  const roots = o.roots ?? new RootSet(config.discovery.roots);
  const [
    { StoreClient },
    { ListingCache },
    { ServedRoot },
    { discoverRoots },
    { readHostImages },
    auth,
    kept,
  ] = await Promise.all([
    import('../store/podman-client.js'),
    import('../store/listing-cache.js'),
    import('../store/served-root.js'),
    import('../discovery/index.js'),
    import('../discovery/host-image.js'),
    import('../store/auth.js'),
    import('../store/kept-listing-file.js'),
  ]);
  const client = new StoreClient({ socketPath: config.storage.podmanSocket });
  const listing = new ListingCache(
    config.storage.path,
    () => client.listImages(),
    undefined,
    o.keepListingIn === undefined ? undefined : kept.keptListingFile(o.keepListingIn, config.storage.path),
  );
  const served = new ServedRoot(client, config.storage.path);
  /** Our own changes move the store's key anyway; forgetting the listing as well costs nothing. */
  const changing =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      listing.invalidate();
      try {
        return await call(...args);
      } finally {
        listing.invalidate();
      }
    };
  return {
    ...staticRunDeps(o),
    store: {
      storeRoot: async () => {
        await listing.loadKept();
        return served.root(listing.lastSeenImageId);
      },
      listImages: () => listing.listImages(),
      imageId: (reference) => client.imageId(reference),
      pull: changing((reference: string, opts: Parameters<typeof client.pull>[1]) =>
        client.pull(reference, opts),
      ),
      removeImage: changing((id: string) => client.removeImage(id)),
      untag: changing((name: string) => client.untag(name)),
    },
    async discover(extraRoots) {
      return discoverRoots(await roots.forRun(extraRoots));
    },
    hostImages: (roots) => readHostImages(roots),
    async credentialFor(w) {
      const loaded =
        w.authFile === undefined
          ? await auth.findGlobalAuthFile(config.pull.authFiles)
          : await auth.loadAuthFile(w.authFile, { optional: false });
      return auth.credentialFor(loaded, w.reference);
    },
  };
}

function staticRunDeps({
  config,
  logger,
}: RunDepsOptions): Pick<RunDeps, 'logger' | 'storePath' | 'gcEnabled' | 'pull'> {
  return {
    logger,
    storePath: config.storage.path,
    gcEnabled: config.gc.enabled,
    pull: {
      concurrency: config.pull.concurrency,
      maxConcurrency: config.pull.maxConcurrency,
      retries: config.pull.retries,
      retryDelayMs: config.pull.retryDelayMs,
      timeoutMs: config.pull.timeoutMs,
    },
  };
}

/** RunDeps whose Podman client, discovery and credentials load on first use. */
export function createRunDeps(o: RunDepsOptions): RunDeps {
  let real: Promise<RunDeps> | undefined;
  const get = (): Promise<RunDeps> => {
    real ??= loadRunDeps(o).catch((err: unknown) => {
      real = undefined;
      throw err;
    });
    return real;
  };
  return {
    ...staticRunDeps(o),
    store: {
      storeRoot: async () => (await get()).store.storeRoot(),
      listImages: async () => (await get()).store.listImages(),
      imageId: async (reference) => (await get()).store.imageId(reference),
      pull: async (reference, opts) => (await get()).store.pull(reference, opts),
      removeImage: async (id) => (await get()).store.removeImage(id),
      untag: async (name) => (await get()).store.untag(name),
    },
    discover: async (extraRoots) => (await get()).discover(extraRoots),
    hostImages: async (roots) => (await get()).hostImages(roots),
    credentialFor: async (w) => (await get()).credentialFor(w),
  };
}
