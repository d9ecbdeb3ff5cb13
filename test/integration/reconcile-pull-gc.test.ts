// The reconcile engine end to end against a real registry and a real Podman service: pulls into a
// fresh store, no registry traffic when everything is present, digest pins, GC of unbound images and
// of unreferenced extra tags, and the store as consumers read it. Every claim is checked from the
// registry's access log or the podman CLI's listing of the store, not from the job's own counters.
// The tests form one story over one store and one root, in order.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startSandbox } from '../../scripts/harness/index.js';
import type { Config } from '../../src/config/index.js';
import {
  imageUnit,
  listStore,
  pullRequests,
  reconcile,
  requestsFrom,
  storeNames,
  testConfig,
  unbind,
  writeRoot,
} from './reconcile-harness.js';

let sb: Sandbox;
let dir: string;
let root: string;
let config: Config;
let web: MadeImage;
let api: MadeImage;
let tool: MadeImage;
let pinned: MadeImage;

beforeAll(async () => {
  sb = await startSandbox();
  [web, api, tool, pinned] = (await sb.makeImages([
    { name: 'team/web', layers: 3, size: 300_000 },
    { name: 'api', layers: 2, size: 100_000 },
    { name: 'tool' },
    { name: 'pinned', layers: 2, size: 50_000 },
  ])) as [MadeImage, MadeImage, MadeImage, MadeImage];
  dir = makeTempDir('rec-gc');
  root = join(dir, 'root');
  config = testConfig({
    storePath: sb.podman.storePath,
    socketPath: sb.podman.socketPath,
    roots: [root],
    authFile: join(dir, 'no-auth.json'),
  });
});

afterAll(async () => {
  await sb?.stop();
  if (dir) releaseDir(dir);
});

describe('reconcile against a real registry and Podman', () => {
  it('pulls three bound images into a fresh store; a second reconcile pulls nothing', async () => {
    await writeRoot(root, [
      imageUnit('web', web.reference),
      // No tag: must match the stored `…/api:latest` on the second run.
      imageUnit('api', `${sb.registry.host}/${api.name}`),
      imageUnit('tool', tool.reference),
    ]);
    expect(await listStore(sb.podman)).toEqual([]);

    const first = await requestsFrom(sb.registry);
    const run1 = await reconcile(config);
    expect(run1.snap.state).toBe('success');
    expect(await storeNames(sb.podman)).toEqual([api.reference, tool.reference, web.reference].sort());
    // The registry served each image's manifest and all of web's layers.
    const served = pullRequests(await first());
    for (const img of [web, api, tool]) {
      expect(served.some((r) => r.path.startsWith(`/v2/${img.name}/manifests/`) && r.status === 200)).toBe(
        true,
      );
    }
    const webBlobs = served.filter((r) => r.path.startsWith(`/v2/${web.name}/blobs/`) && r.method === 'GET');
    expect(webBlobs.length).toBeGreaterThanOrEqual(web.layers); // layers + config
    const listed = await listStore(sb.podman);

    const second = await requestsFrom(sb.registry);
    const run2 = await reconcile(config);
    expect(run2.snap.state).toBe('success');
    // Not one request reached the registry, and the store is exactly as it was.
    expect(await second()).toEqual([]);
    expect(await listStore(sb.podman)).toEqual(listed);
    expect(run2.snap.pulled).toEqual([]);
    expect(run2.snap.removed).toEqual([]);
  });

  it('a consumer with the store as additional image store lists the bound images, read-only', async () => {
    const consumer = await sb.consumer();
    try {
      const { stdout } = await consumer.podman([
        'images',
        '--format',
        '{{.Repository}}:{{.Tag}} {{.ReadOnly}}',
      ]);
      const lines = stdout.trim().split('\n').sort();
      expect(lines).toEqual([api, tool, web].map((i) => `${i.reference} true`).sort());
    } finally {
      await consumer.stop();
    }
  });

  it('a digest-pinned image is pulled by digest and found present on the next run', async () => {
    await writeRoot(root, [imageUnit('pinned', pinned.digestReference)]);
    const first = await requestsFrom(sb.registry);
    const run1 = await reconcile(config);
    expect(run1.snap.state).toBe('success');
    expect(run1.snap.pulled).toEqual([pinned.digestReference]);
    const manifests = pullRequests(await first()).filter((r) => r.path.includes('/manifests/'));
    expect(manifests.map((r) => r.path)).toContain(`/v2/${pinned.name}/manifests/${pinned.digest}`);
    const stored = (await listStore(sb.podman)).find((i) => i.digests.includes(pinned.digestReference));
    expect(stored).toBeDefined();

    const second = await requestsFrom(sb.registry);
    const run2 = await reconcile(config);
    expect(run2.snap.state).toBe('success');
    expect(pullRequests(await second())).toEqual([]);
    expect(run2.snap.removed).toEqual([]);
    expect((await listStore(sb.podman)).find((i) => i.id === stored?.id)).toEqual(stored);
  });

  it('a removed symlink removes that image and keeps the others', async () => {
    const before = await listStore(sb.podman);
    const toolId = before.find((i) => i.names.includes(tool.reference))?.id;
    expect(toolId).toBeDefined();
    await unbind(root, 'tool.image');

    const traffic = await requestsFrom(sb.registry);
    const run = await reconcile(config);
    expect(run.snap.state).toBe('success');
    expect(run.snap.removed).toEqual([tool.reference]);
    const after = await listStore(sb.podman);
    expect(after.map((i) => i.id)).not.toContain(toolId);
    // The other three (the digest-pinned one included) are untouched.
    expect(after).toEqual(before.filter((i) => i.id !== toolId));
    expect(await traffic()).toEqual([]);
  });

  it('an image with two tags, one still bound, is kept; the unbound tag is untagged', async () => {
    const stable = `${sb.registry.host}/${web.name}:stable`;
    await sb.podman.podman(['tag', web.reference, stable]);
    await writeRoot(root, [imageUnit('web-stable', stable)]);
    const webId = (await listStore(sb.podman)).find((i) => i.names.includes(web.reference))?.id;

    // Both tags bound: nothing to pull (the extra tag is present), nothing to remove.
    const both = await reconcile(config);
    expect(both.snap).toMatchObject({ state: 'success', pulled: [], removed: [] });
    expect((await listStore(sb.podman)).find((i) => i.id === webId)?.names).toEqual(
      [web.reference, stable].sort(),
    );

    await unbind(root, 'web.image');
    const one = await reconcile(config);
    expect(one.snap.state).toBe('success');
    expect(one.snap.removed).toEqual([web.reference]);
    const kept = (await listStore(sb.podman)).find((i) => i.id === webId);
    expect(kept?.names).toEqual([stable]);
    // The digest-pinned image is listed under its digest name (Podman's name for a pull by digest).
    expect(await storeNames(sb.podman)).toEqual([api.reference, pinned.digestReference, stable].sort());
  });
});
