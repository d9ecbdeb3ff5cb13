// Credentials in a reconcile, against a real registry behind htpasswd auth: the global auth file,
// a per-image `AuthFile=` (resolved inside the root), and a wrong password — a failed job naming the
// registry, tried once only (the registry's access log shows exactly one attempt's worth of
// requests, measured against a single pull with the same wrong credentials).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, Registry, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startSandbox } from '../../scripts/harness/index.js';
import { credentialFor, loadAuthFile } from '../../src/store/auth.js';
import { StoreClient } from '../../src/store/podman-client.js';
import {
  authJson,
  imageUnit,
  listStore,
  pullRequests,
  reconcile,
  requestsFrom,
  testConfig,
  writeInRoot,
  writeRoot,
} from './reconcile-harness.js';

const WRONG = 'not-the-Pa55word';

let sb: Sandbox;
let reg: Registry;
let dir: string;
let viaGlobal: MadeImage;
let viaAuthFile: MadeImage;
let denied: MadeImage;

beforeAll(async () => {
  sb = await startSandbox({ auth: true });
  reg = sb.authRegistry!;
  [viaGlobal, viaAuthFile, denied] = (await sb.makeImages(
    [
      { name: 'secret/global', layers: 2, size: 60_000 },
      { name: 'secret/own', layers: 2, size: 60_000 },
      { name: 'secret/denied', layers: 2, size: 60_000 },
    ],
    { auth: true },
  )) as [MadeImage, MadeImage, MadeImage];
  dir = makeTempDir('rec-auth');
});

afterAll(async () => {
  await sb?.stop();
  if (dir) releaseDir(dir);
});

function configFor(root: string, authFile: string, retries = 2) {
  return testConfig({
    storePath: sb.podman.storePath,
    socketPath: sb.podman.socketPath,
    roots: [root],
    authFile,
    retries,
  });
}

describe('credentials in a reconcile', () => {
  it('the registry really demands credentials: without any, the pull fails unauthorized', async () => {
    const root = join(dir, 'none');
    await writeRoot(root, [imageUnit('global', viaGlobal.reference)]);
    const run = await reconcile(configFor(root, join(dir, 'missing.json')));
    expect(run.snap.state).toBe('failed');
    expect(run.snap.errors[0]?.message).toMatch(/unauthorized|authentication required/);
    expect(await listStore(sb.podman)).toEqual([]);
  });

  it('pulls with the global auth file', async () => {
    const root = join(dir, 'global');
    await writeRoot(root, [imageUnit('global', viaGlobal.reference)]);
    const global = join(dir, 'global-auth.json');
    await writeFile(global, authJson(reg.host, reg.auth!));
    const run = await reconcile(configFor(root, global));
    expect(run.snap).toMatchObject({ state: 'success', pulled: [viaGlobal.reference] });
    expect((await listStore(sb.podman)).flatMap((i) => i.names)).toContain(viaGlobal.reference);
  });

  it('pulls with the AuthFile= of the .image file (inside the root), no global file', async () => {
    const root = join(dir, 'own');
    await writeInRoot(root, 'etc/containers/own-auth.json', authJson(reg.host, reg.auth!));
    await writeRoot(root, [
      imageUnit('global', viaGlobal.reference, '/etc/containers/own-auth.json'),
      imageUnit('own', viaAuthFile.reference, '/etc/containers/own-auth.json'),
    ]);
    const run = await reconcile(configFor(root, join(dir, 'missing.json')));
    expect(run.snap).toMatchObject({ state: 'success', pulled: [viaAuthFile.reference] });
    expect((await listStore(sb.podman)).flatMap((i) => i.names).sort()).toEqual(
      [viaAuthFile.reference, viaGlobal.reference].sort(),
    );
  });

  it('a wrong password fails the job, names the registry, and is not retried', async () => {
    const wrongFile = join(dir, 'wrong.json');
    await writeFile(wrongFile, authJson(reg.host, { user: reg.auth!.user, password: WRONG }));

    // One attempt's worth of registry requests: a single pull with the same wrong credentials.
    const cred = credentialFor(await loadAuthFile(wrongFile, { optional: false }), denied.reference);
    const single = await requestsFrom(reg);
    await expect(
      new StoreClient({ socketPath: sb.podman.socketPath }).pull(denied.reference, { auth: cred! }),
    ).rejects.toThrow(/unauthorized/);
    const oneAttempt = await single();
    expect(oneAttempt.length).toBeGreaterThan(0);
    expect(oneAttempt.every((r) => r.status === 401)).toBe(true);

    const root = join(dir, 'wrong');
    await writeRoot(root, [imageUnit('denied', denied.reference)]);
    const before = await listStore(sb.podman);
    const traffic = await requestsFrom(reg);
    const run = await reconcile(configFor(root, wrongFile, 3));
    const seen = await traffic();

    expect(run.snap.state).toBe('failed');
    expect(run.snap.result).toBe('failed: 1 pull(s) failed');
    const error = run.snap.errors.find((e) => e.subject === denied.reference);
    expect(error?.message).toContain(reg.host);
    expect(error?.message).toMatch(/unauthorized/);
    // Not retried: the registry saw what one attempt costs, the journal has no retry line.
    expect(seen.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(
      oneAttempt.map((r) => `${r.method} ${r.path} ${r.status}`),
    );
    expect(pullRequests(seen).every((r) => r.status === 401)).toBe(true);
    expect(run.log.filter((l) => l.includes('retrying'))).toEqual([]);
    // No secret in the job or the log.
    expect(JSON.stringify(run.snap)).not.toContain(WRONG);
    expect(run.log.join('\n')).not.toContain(WRONG);
    // A failed pull skips GC: the images of the other roots (not bound by this one) are still there.
    expect(run.snap.gcSkipped).toMatch(/pull/);
    expect(await listStore(sb.podman)).toEqual(before);
  });
});
