// A reconcile when things go wrong, against a real registry and Podman: the registry stopped (the
// pull is retried, the job fails, GC is skipped so nothing leaves the store; the next reconcile after
// the registry is back succeeds), and a root with a broken Quadlet file beside a healthy one (the
// healthy image is pulled, GC is skipped, the result names the broken file).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startSandbox } from '../../scripts/harness/index.js';
import { imageUnit, listStore, reconcile, storeNames, testConfig, writeRoot } from './reconcile-harness.js';

let sb: Sandbox;
let dir: string;
let a: MadeImage;
let b: MadeImage;
let late: MadeImage;
let stray: MadeImage;
let healthy: MadeImage;

beforeAll(async () => {
  sb = await startSandbox();
  [a, b, late, stray, healthy] = (await sb.makeImages([
    { name: 'a', layers: 2, size: 40_000 },
    { name: 'b', layers: 2, size: 40_000 },
    { name: 'late', layers: 2, size: 40_000 },
    { name: 'stray' },
    { name: 'healthy', layers: 2, size: 40_000 },
  ])) as [MadeImage, MadeImage, MadeImage, MadeImage, MadeImage];
  dir = makeTempDir('rec-fault');
});

afterAll(async () => {
  await sb?.stop();
  if (dir) releaseDir(dir);
});

function configFor(root: string) {
  return testConfig({
    storePath: sb.podman.storePath,
    socketPath: sb.podman.socketPath,
    roots: [root],
    authFile: join(dir, 'no-auth.json'),
    retries: 2,
    retryDelayMs: 50,
  });
}

/** Puts an image no root binds into the store with the podman CLI: GC would remove it. */
async function putStray(): Promise<void> {
  await sb.podman.podman(['pull', '--quiet', '--tls-verify=false', stray.reference]);
}

describe('reconcile with the registry stopped', () => {
  it('retries, fails, removes nothing; with the registry back the next reconcile succeeds', async () => {
    const root = join(dir, 'outage');
    await writeRoot(root, [imageUnit('a', a.reference), imageUnit('b', b.reference)]);
    const config = configFor(root);
    expect((await reconcile(config)).snap.state).toBe('success');
    await putStray();
    await writeRoot(root, [imageUnit('late', late.reference)]);
    const before = await listStore(sb.podman);
    expect(before.flatMap((i) => i.names).sort()).toEqual([a.reference, b.reference, stray.reference].sort());

    await sb.registry.down();
    let run;
    try {
      run = await reconcile(config);
    } finally {
      await sb.registry.up();
    }
    expect(run.snap.state).toBe('failed');
    expect(run.snap.result).toBe('failed: 1 pull(s) failed');
    // Three attempts (retries = 2), each retry in the journal with the transient cause.
    const retries = run.log.filter((l) => l.includes(`pull of ${late.reference} failed (attempt`));
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatch(/attempt 1\), retrying: .*connection refused/);
    expect(retries[1]).toMatch(/attempt 2\), retrying/);
    const error = run.snap.errors.find((e) => e.subject === late.reference);
    expect(error?.message).toMatch(/connection refused/);
    expect(error?.message).toContain(sb.registry.host);
    // GC skipped: the stray image and everything else are still in the store, unchanged.
    expect(run.snap.gcSkipped).toBe('1 pull(s) failed');
    expect(run.snap.removed).toEqual([]);
    expect(await listStore(sb.podman)).toEqual(before);

    const again = await reconcile(config);
    expect(again.snap).toMatchObject({ state: 'success', pulled: [late.reference] });
    expect(again.snap.removed).toEqual([stray.reference]);
    expect(await storeNames(sb.podman)).toEqual([a.reference, b.reference, late.reference].sort());
  });
});

describe('reconcile of a root with a broken Quadlet file', () => {
  it('pulls the healthy images, skips GC, and names the broken file', async () => {
    await putStray();
    const root = join(dir, 'broken');
    await writeRoot(root, [
      imageUnit('healthy', healthy.reference),
      { name: 'broken.image', content: `[Image\nImage=${a.reference}\n` },
    ]);
    const before = new Set(await storeNames(sb.podman));
    const run = await reconcile(configFor(root));

    expect(run.snap.state).toBe('failed');
    expect(run.snap.pulled).toEqual([healthy.reference]);
    const names = await storeNames(sb.podman);
    expect(names).toContain(healthy.reference);
    // GC skipped: every image this root does not bind (the stray one included) is still there.
    for (const n of before) expect(names).toContain(n);
    expect(run.snap.removed).toEqual([]);
    expect(run.snap.gcSkipped).toMatch(/bound-image file/);
    // The job's error and the journal line both name the file on the host (root included, so the
    // same file in two roots is two subjects).
    const brokenFile = join(root, 'usr/share/containers/systemd/broken.image');
    const error = run.snap.errors.find((e) => e.subject === brokenFile);
    expect(error?.message).toMatch(/invalid section header "\[Image"/);
    expect(run.snap.result).toBe('failed: 1 bound-image file error(s)');
    expect(run.log.some((l) => l.includes(`${brokenFile}:1:`))).toBe(true);
  });
});
