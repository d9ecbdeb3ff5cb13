// The real-services test harness: a loopback registry (and one behind htpasswd auth), a Podman API
// service on a private store, test images, and the cleanup that guarantees nothing outlives a run.
// startSandbox() wires the usual set; the modules are usable one by one too.
import { reapStrays } from './cleanup.js';
import type { MadeImage, ImageSpec, MakeImagesOptions } from './images.js';
import { makeImages } from './images.js';
import type { PodmanConsumer, PodmanService, StorageDriver } from './podman-service.js';
import { startConsumer, startPodmanService } from './podman-service.js';
import type { Registry, RegistryCredentials } from './registry.js';
import { startRegistry } from './registry.js';

export * from './cleanup.js';
export * from './fault-registry.js';
export * from './images.js';
export * from './podman-service.js';
export * from './registry.js';
export { freePort, run, type RunResult } from './proc.js';

export interface SandboxOptions {
  /** Also start a registry behind htpasswd basic auth (credentials in `authRegistry.auth`). */
  auth?: boolean | RegistryCredentials;
  /** More `host:port` to mark insecure in the Podman service (e.g. a fault-injecting server's). */
  insecureRegistries?: string[];
  storageDriver?: StorageDriver;
}

export interface Sandbox {
  registry: Registry;
  authRegistry?: Registry;
  podman: PodmanService;
  /** Makes images on `registry` (or on `authRegistry` with `{ auth: true }`). */
  makeImages(specs: ImageSpec[], opts?: MakeImagesOptions & { auth?: boolean }): Promise<MadeImage[]>;
  /** A podman CLI on a store of its own reading the service's store as additional image store. */
  consumer(): Promise<PodmanConsumer>;
  /** Stops everything it started (consumers included). Idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_TEST_CREDENTIALS: RegistryCredentials = {
  user: 'alice',
  password: 'correct-horse-battery',
};

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  reapStrays();
  const started: { stop(): Promise<void> }[] = [];
  const stopAllStarted = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    started.length = 0;
  };
  try {
    const creds = opts.auth === true ? DEFAULT_TEST_CREDENTIALS : opts.auth || undefined;
    const [registry, authRegistry] = await Promise.all([
      startRegistry(),
      creds ? startRegistry({ htpasswd: creds }) : Promise.resolve(undefined),
    ]);
    started.push(registry);
    if (authRegistry) started.push(authRegistry);
    const podman = await startPodmanService({
      insecureRegistries: [
        registry.host,
        ...(authRegistry ? [authRegistry.host] : []),
        ...(opts.insecureRegistries ?? []),
      ],
      ...(opts.storageDriver ? { storageDriver: opts.storageDriver } : {}),
    });
    started.push(podman);
    return {
      registry,
      ...(authRegistry ? { authRegistry } : {}),
      podman,
      makeImages(specs, o = {}) {
        const target = o.auth ? authRegistry : registry;
        if (!target) throw new Error('makeImages({auth: true}) needs startSandbox({auth: true})');
        return makeImages(target, specs, o);
      },
      async consumer() {
        const c = await startConsumer(
          podman.storePath,
          opts.storageDriver ? { storageDriver: opts.storageDriver } : {},
        );
        started.push(c);
        return c;
      },
      stop: stopAllStarted,
    };
  } catch (e) {
    await stopAllStarted();
    throw e;
  }
}
