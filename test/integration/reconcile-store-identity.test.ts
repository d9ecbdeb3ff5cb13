// Store identity: the reconcile refuses to pull or remove anything when the Podman service behind the
// configured socket serves another store than `storage.path` — what keeps a daemon pointed by mistake
// at the host's default Podman socket from garbage-collecting /var/lib/containers. Proven with a
// second real Podman service on another store: the job fails with the refusal, neither store changes,
// and the registry is never asked for anything. Also when the daemon confirms its store the cheap
// way (inspecting an image it listed before) and the other store holds that very image.
import { symlink, unlink } from 'node:fs/promises';
import { globalAgent } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, PodmanService, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startPodmanService, startSandbox } from '../../scripts/harness/index.js';
import type { Config } from '../../src/config/index.js';
import type { RunDeps } from '../../src/reconcile/run.js';
import { StoreClient } from '../../src/store/podman-client.js';
import {
  imageUnit,
  listStore,
  newJob,
  pullRequests,
  reconcile,
  requestsFrom,
  testConfig,
  writeRoot,
} from './reconcile-harness.js';

let sb: Sandbox;
let other: PodmanService;
let dir: string;
let root: string;
let kept: MadeImage;
let theirs: MadeImage;
let missing: MadeImage;

beforeAll(async () => {
  sb = await startSandbox();
  other = await startPodmanService({ insecureRegistries: [sb.registry.host] });
  [kept, theirs, missing] = (await sb.makeImages([
    { name: 'ours', layers: 2 },
    { name: 'theirs', layers: 2 },
    { name: 'missing', layers: 2 },
  ])) as [MadeImage, MadeImage, MadeImage];
  // Each store holds an image the root does not bind (GC would remove it) ...
  await sb.podman.podman(['pull', '--quiet', '--tls-verify=false', kept.reference]);
  await other.podman(['pull', '--quiet', '--tls-verify=false', theirs.reference]);
  dir = makeTempDir('rec-id');
  root = join(dir, 'root');
  // ... and the root binds an image neither has (a reconcile would pull it).
  await writeRoot(root, [imageUnit('missing', missing.reference)]);
});

afterAll(async () => {
  await other?.stop();
  await sb?.stop();
  if (dir) releaseDir(dir);
});

/**
 * A daemon's dependencies (kept across runs) on `own`'s store, reached through a symbolic link to its
 * socket that a test can point elsewhere; two reconciles done: one pulled, one no-op, so the daemon
 * has listed its store and knows it by an image.
 */
async function daemonOnLinkedSocket(
  own: PodmanService,
  name: string,
): Promise<{ socket: string; config: Config; daemon: { deps?: RunDeps } }> {
  const socket = join(dir, name);
  await symlink(own.socketPath, socket);
  const config = testConfig({
    storePath: own.storePath,
    socketPath: socket,
    roots: [root],
    authFile: join(dir, 'no-auth.json'),
  });
  const daemon: { deps?: RunDeps } = {};
  expect((await reconcile(config, newJob(), daemon)).snap.pulled).toEqual([missing.reference]);
  expect((await reconcile(config, newJob(), daemon)).snap.state).toBe('success');
  return { socket, config, daemon };
}

describe('store identity', () => {
  it('refuses a socket whose service serves another store, and changes neither store', async () => {
    const ours = await listStore(sb.podman);
    const theirsBefore = await listStore(other);
    expect(ours.flatMap((i) => i.names)).toEqual([kept.reference]);
    expect(theirsBefore.flatMap((i) => i.names)).toEqual([theirs.reference]);

    const traffic = await requestsFrom(sb.registry);
    const run = await reconcile(
      testConfig({
        storePath: sb.podman.storePath,
        socketPath: other.socketPath,
        roots: [root],
        authFile: join(dir, 'no-auth.json'),
      }),
    );

    expect(run.snap.state).toBe('failed');
    expect(run.snap.result).toContain(`serves ${other.storePath}, not the configured store`);
    expect(run.snap.result).toContain(sb.podman.storePath);
    expect(run.snap.result).toContain('refusing to pull or remove anything');
    expect(run.snap.pulled).toEqual([]);
    expect(run.snap.removed).toEqual([]);
    expect(await listStore(sb.podman)).toEqual(ours);
    expect(await listStore(other)).toEqual(theirsBefore);
    expect(pullRequests(await traffic())).toEqual([]);
  });

  it('accepts the configured store reached through a symbolic link', async () => {
    const link = join(dir, 'store-link');
    await symlink(sb.podman.storePath, link);
    const run = await reconcile(
      testConfig({
        storePath: link,
        socketPath: sb.podman.socketPath,
        roots: [root],
        authFile: join(dir, 'no-auth.json'),
      }),
    );
    expect(run.snap).toMatchObject({
      state: 'success',
      pulled: [missing.reference],
      removed: [kept.reference],
    });
    expect((await listStore(sb.podman)).flatMap((i) => i.names)).toEqual([missing.reference]);
    // The other service's store was never touched.
    expect((await listStore(other)).flatMap((i) => i.names)).toEqual([theirs.reference]);
  });

  it('a daemon that knows its store by an image refuses when its socket then leads to another store holding that image', async () => {
    // The daemon confirms its store cheaply by inspecting an image it listed before (the image's
    // layer path names the store). Its Podman service here has a store of its own, and the socket is
    // a link, so the service can be stopped and the link pointed at the other store's service.
    const own = await startPodmanService({ insecureRegistries: [sb.registry.host] });
    try {
      const { socket, config, daemon } = await daemonOnLinkedSocket(own, 'podman-link.sock');

      // The other store now holds the very image the daemon knows its own store by.
      await other.podman(['pull', '--quiet', '--tls-verify=false', missing.reference]);
      const theirsBefore = await listStore(other);
      const ours = await listStore(own);
      expect(theirsBefore.map((i) => i.id)).toContain(ours[0]!.id);
      await own.stop();
      await unlink(socket);
      await symlink(other.socketPath, socket);

      const run = await reconcile(config, newJob(), daemon);
      expect(run.snap.state).toBe('failed');
      expect(run.snap.result).toContain(`serves ${other.storePath}, not the configured store`);
      expect(run.snap.removed).toEqual([]);
      expect(await listStore(other)).toEqual(theirsBefore);
    } finally {
      await own.stop();
    }
  });

  it('refuses a service on another store that reads ours as an additional image store, though the probed image looks like ours', async () => {
    // The trap of the cheap store probe: such a service answers an inspect of one of our images with
    // a layer path inside our store. Only its libpod listing (ReadOnly) tells the image is not its own.
    const own = await startPodmanService({ insecureRegistries: [sb.registry.host] });
    let reader: PodmanService | undefined;
    try {
      const { socket, config, daemon } = await daemonOnLinkedSocket(own, 'podman-reader-link.sock');
      const ours = await listStore(own);

      reader = await startPodmanService({
        insecureRegistries: [sb.registry.host],
        extraArgs: ['--storage-opt', `additionalimagestore=${own.storePath}`],
      });
      await reader.podman(['pull', '--quiet', '--tls-verify=false', theirs.reference]);
      const probed = new StoreClient({ socketPath: reader.socketPath });
      expect(await probed.overlayRootOf(ours[0]!.id)).toBe(own.storePath);
      expect(await probed.ownsImage(ours[0]!.id)).toBe(false);
      const readerOwn = await reader.podman(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ReadOnly}}']);

      await unlink(socket);
      await symlink(reader.socketPath, socket);
      // The old service's idle keep-alive connection goes, as it would when that service stops.
      globalAgent.destroy();

      const run = await reconcile(config, newJob(), daemon);
      expect(run.snap.state).toBe('failed');
      expect(run.snap.result).toContain(`serves ${reader.storePath}, not the configured store`);
      expect(run.snap.removed).toEqual([]);
      const after = await reader.podman(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ReadOnly}}']);
      expect(after.stdout).toBe(readerOwn.stdout);
      expect(after.stdout).toContain(theirs.reference);
      expect(await listStore(own)).toEqual(ours);
    } finally {
      await reader?.stop();
      await own.stop();
    }
  });
});
