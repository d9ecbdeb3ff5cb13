// Host images in the store, against a real registry and a real Podman service: with bootc's unified
// storage the store also holds the image each deployment was made from, and GC must keep it as bootc's
// prune does. Two deployment roots in the layouts of bootc's two backends, found by the default roots'
// globs (relocated into a temp dir):
//  - ostree: <dir>/ostree/deploy/default/deploy/<csum>.0, its origin beside it naming `os:1`;
//  - composefs: <dir>/state/deploy/<id>/, its origin inside naming `os:stable` and its manifest digest;
//    the tag `os:stable` has since moved on to a newer image, leaving the deployed one untagged.
// The store is listed with the podman CLI, not through our client.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startSandbox } from '../../scripts/harness/index.js';
import type { Config } from '../../src/config/index.js';
import { imageUnit, listStore, reconcile, storeNames, testConfig, writeRoot } from './reconcile-harness.js';

let sb: Sandbox;
let dir: string;
let config: Config;
let app: MadeImage;
let os1: MadeImage;
let stale: MadeImage;
let stableOld: MadeImage;
let stableNew: MadeImage;
let ostreeRoot: string;
let composefsRoot: string;
const COMPOSEFS_ID = 'c0ffee'.repeat(21) + 'ab';

async function pull(ref: string): Promise<void> {
  await sb.podman.podman(['pull', '-q', ref]);
}

beforeAll(async () => {
  sb = await startSandbox();
  [app, os1, stale, stableOld] = (await sb.makeImages([
    { name: 'app', size: 2048 },
    { name: 'os', tag: '1', size: 1024 },
    { name: 'stale', size: 512 },
    { name: 'os', tag: 'stable', size: 700 },
  ])) as [MadeImage, MadeImage, MadeImage, MadeImage];
  dir = makeTempDir('rec-host');
  ostreeRoot = join(dir, 'ostree/deploy/default/deploy', `${'a'.repeat(64)}.0`);
  composefsRoot = join(dir, 'state/deploy', COMPOSEFS_ID);
  await writeRoot(ostreeRoot, [imageUnit('app', app.reference)]);
  await writeFile(
    `${ostreeRoot}.origin`,
    `[origin]\ncontainer-image-reference=ostree-unverified-registry:${os1.reference}\n`,
  );
  await mkdir(join(composefsRoot, 'etc'), { recursive: true });
  await writeFile(
    join(composefsRoot, `${COMPOSEFS_ID}.origin`),
    `[origin]\ncontainer-image-reference=ostree-unverified-image:docker://${stableOld.reference}\n\n` +
      `[boot]\nboot_type=bls\ndigest=0\n\n[image]\nmanifest_digest=${stableOld.digest}\n`,
  );
  config = testConfig({
    storePath: sb.podman.storePath,
    socketPath: sb.podman.socketPath,
    roots: [join(dir, 'ostree/deploy/*/deploy/*'), join(dir, 'state/deploy/*')],
    authFile: join(dir, 'no-auth.json'),
  });
  // What unified storage left in the store: both host images; then the tag moved on (a newer
  // os:stable pulled), leaving the deployed one untagged; and an image nothing wants.
  for (const ref of [os1.reference, stableOld.reference, stale.reference]) await pull(ref);
  [stableNew] = (await sb.makeImages([{ name: 'os', tag: 'stable', size: 900 }])) as [MadeImage];
  await pull(stableNew.reference);
});

afterAll(async () => {
  await sb?.stop();
  if (dir) releaseDir(dir);
});

describe("GC keeps every deployment's host image (real Podman)", () => {
  it('pulls what the ostree deployment binds, removes the stale image, keeps the host images by name', async () => {
    // Before: the untagged older os:stable. Podman 4.3 lists it with neither a name nor a repo digest
    // (it keeps only the image's own digest), so nothing ties it to the origin any more.
    const old = (await listStore(sb.podman)).find((i) => i.names.length === 0);
    expect(old?.digests).toEqual([]);
    const run = await reconcile(config);
    expect(run.snap.state).toBe('success');
    // Removed as bootc's prune removes it (no name is a root); the deployment does not need it (its
    // content is in the deployment's own store: the ostree repository or the composefs objects).
    expect(run.snap.removed.sort()).toEqual([`sha256:${old?.id}`, stale.reference].sort());
    expect(await storeNames(sb.podman)).toEqual([app.reference, os1.reference, stableNew.reference].sort());
  });

  it('a deployment gone: its host image goes with the next GC', async () => {
    await rm(composefsRoot, { recursive: true });
    const run = await reconcile(config);
    expect(run.snap.state).toBe('success');
    expect(run.snap.removed).toEqual([stableNew.reference]);
    expect(await storeNames(sb.podman)).toEqual([app.reference, os1.reference].sort());
  });

  it('an origin that cannot be parsed fails the reconcile and removes nothing', async () => {
    await pull(stale.reference);
    await writeFile(`${ostreeRoot}.origin`, '[origin]\ncontainer-image-reference=quay.io/no-scheme\n');
    const run = await reconcile(config);
    expect(run.snap.state).toBe('failed');
    expect(run.snap.errors).toEqual([
      {
        subject: `${ostreeRoot}.origin:2`,
        message: 'deployment origin file: container-image-reference: missing ":" in "quay.io/no-scheme"',
      },
    ]);
    expect(run.snap.gcSkipped).toBe('1 deployment origin file(s) could not be read or parsed');
    expect(await storeNames(sb.podman)).toEqual([app.reference, os1.reference, stale.reference].sort());
    expect(run.log.some((l) => l.includes(`${ostreeRoot}.origin:2: deployment origin file:`))).toBe(true);
  });
});
