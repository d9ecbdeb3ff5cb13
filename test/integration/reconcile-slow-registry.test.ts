// The pull pool seen from the registry's side, through a slowing proxy in front of the real registry
// (millisecond timestamps per request; the registry's own log has one-second resolution): with
// concurrency 2 and six missing images, never more than two pulls are in flight, yet two do overlap;
// and a reconcile cancelled while its pulls wait on the registry ends cancelled with GC skipped.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startSandbox } from '../../scripts/harness/index.js';
import {
  imageUnit,
  listStore,
  newJob,
  reconcile,
  testConfig,
  unbind,
  writeRoot,
} from './reconcile-harness.js';
import { maxOverlap, pullSpans, startSlowProxy, type SlowProxy } from './reconcile-slow-proxy.js';

let proxy: SlowProxy;
let sb: Sandbox;
let dir: string;
let images: MadeImage[];

/** The reference of `img` through the proxy: what the bound files name. */
const viaProxy = (img: MadeImage): string => img.reference.replace(sb.registry.host, proxy.host);

beforeAll(async () => {
  proxy = await startSlowProxy();
  sb = await startSandbox({ insecureRegistries: [proxy.host] });
  proxy.setTarget(sb.registry.host);
  images = await sb.makeImages(
    Array.from({ length: 8 }, (_, i) => ({ name: `pool/img${i}`, layers: 2, size: 30_000 })),
  );
  dir = makeTempDir('rec-slow');
});

afterAll(async () => {
  await sb?.stop();
  await proxy?.stop();
  if (dir) releaseDir(dir);
});

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function configFor(root: string, concurrency: number) {
  return testConfig({
    storePath: sb.podman.storePath,
    socketPath: sb.podman.socketPath,
    roots: [root],
    authFile: join(dir, 'no-auth.json'),
    concurrency,
  });
}

describe('the pull pool, seen from the registry', () => {
  it('with concurrency 2, six missing images: at most two pulls in flight, and two do overlap', async () => {
    const six = images.slice(0, 6);
    const root = join(dir, 'pool');
    await writeRoot(
      root,
      six.map((img, i) => imageUnit(`img${i}`, viaProxy(img))),
    );
    proxy.log.length = 0;
    proxy.manifestDelayMs = 300;
    try {
      const run = await reconcile(configFor(root, 2));
      expect(run.snap.state).toBe('success');
    } finally {
      proxy.manifestDelayMs = 0;
    }
    const spans = pullSpans(proxy.log);
    expect(spans.map((s) => s.repo).sort()).toEqual(six.map((i) => i.name).sort());
    expect(spans.every((s) => Number.isFinite(s.end))).toBe(true);
    expect(maxOverlap(spans)).toBe(2);
    // Every image reached the store.
    const names = (await listStore(sb.podman)).flatMap((i) => i.names);
    for (const img of six) expect(names).toContain(viaProxy(img));
  });

  it('a reconcile cancelled mid-pull ends cancelled, skips GC, and removes nothing', async () => {
    const root = join(dir, 'pool');
    // img0 is no longer bound (GC would remove it); img6 and img7 are new and will hang on the registry.
    await unbind(root, 'img0.image');
    await writeRoot(root, [imageUnit('img6', viaProxy(images[6]!)), imageUnit('img7', viaProxy(images[7]!))]);
    const before = await listStore(sb.podman);
    proxy.log.length = 0;
    proxy.holdManifests = true;
    const job = newJob();
    try {
      const running = reconcile(configFor(root, 2), job);
      await proxy.waitForManifests(2);
      expect(job.phase).toBe('pull');
      expect([...job.images.values()].filter((s) => s === 'pulling')).toHaveLength(2);
      const cancelledAt = performance.now();
      job.abort.abort();
      const run = await running;
      // It does not wait for the held requests to be answered.
      expect(performance.now() - cancelledAt).toBeLessThan(5_000);
      expect(run.snap.state).toBe('cancelled');
      expect(run.snap.result).toBe('cancelled');
      expect(run.snap.gcSkipped).toBe('the reconcile was cancelled');
      expect(run.snap.removed).toEqual([]);
      expect(run.snap.pulled).toEqual([]);
      // Podman gave up the held registry requests too: the cancel reached the pulls themselves.
      const held = proxy.log.filter((r) => r.manifest);
      await waitFor(() => held.every((r) => r.end !== null));
      proxy.release();
      expect(held.map((r) => r.status)).toEqual([null, null]);
    } finally {
      proxy.holdManifests = false;
      proxy.release();
    }
    // The unbound img0 is still there (GC did not run), and nothing new arrived.
    const after = await listStore(sb.podman);
    expect(after).toHaveLength(before.length);
    expect(after.flatMap((i) => i.names)).toContain(viaProxy(images[0]!));
    for (const img of before) expect(after).toContainEqual(img);
  });
});
