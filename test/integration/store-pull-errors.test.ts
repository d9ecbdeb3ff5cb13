// Failed pulls against a real Podman: Podman answers 200 and reports the failure inside the stream;
// StoreClient turns each into a PullError whose kind drives the retry policy. The messages asserted
// here are the ones Podman 4.3 really prints, pinned so a Podman upgrade that changes them is seen.
// Also: credentials from auth files, and that no error ever carries them.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultRegistry, MadeImage, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startFaultRegistry, startSandbox } from '../../scripts/harness/index.js';
import { credentialFor, loadAuthFile } from '../../src/store/auth.js';
import { PullError, StoreError } from '../../src/store/errors.js';
import { StoreClient } from '../../src/store/podman-client.js';

const WRONG = 'wrong-Pa55word-xyzzy';

let sb: Sandbox;
let fault: FaultRegistry;
let client: StoreClient;
let open: MadeImage;
let secret: MadeImage;
let tmp: string;

beforeAll(async () => {
  fault = await startFaultRegistry();
  sb = await startSandbox({ auth: true, insecureRegistries: [fault.host] });
  client = new StoreClient({ socketPath: sb.podman.socketPath });
  [open] = (await sb.makeImages([{ name: 'open', layers: 2 }])) as [MadeImage];
  [secret] = (await sb.makeImages([{ name: 'secret/app', layers: 2 }], { auth: true })) as [MadeImage];
  tmp = makeTempDir('auth');
});

afterAll(async () => {
  await sb?.stop();
  await fault?.stop();
  if (tmp) releaseDir(tmp);
});

async function pullError(p: Promise<unknown>): Promise<PullError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PullError);
  return e as PullError;
}

function authFile(name: string, auths: Record<string, unknown>): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify({ auths }));
  return path;
}

function basic(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

/** Everything an error could leak through: message, stack, JSON, inspect (hidden fields included), causes. */
function everything(e: unknown): string {
  return [String(e), (e as Error).stack, JSON.stringify(e), inspect(e, { showHidden: true, depth: 8 })].join(
    '\n',
  );
}

describe('pull failures inside a 200 answer', () => {
  it('Podman really answers 200 for a failing pull and puts the error in the stream', async () => {
    const { httpRequest } = await import('../../scripts/harness/http.js');
    const res = await httpRequest({
      method: 'POST',
      url: `/images/create?fromImage=${encodeURIComponent(`${sb.registry.host}/open:nope`)}`,
      socketPath: sb.podman.socketPath,
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toMatch(/"error":".*manifest unknown/);
  });

  it('an unknown tag is not-found (404)', async () => {
    const e = await pullError(client.pull(`${sb.registry.host}/open:nope`));
    expect(e).toMatchObject({
      kind: 'not-found',
      status: 404,
      reference: `${sb.registry.host}/open:nope`,
      registry: sb.registry.host,
    });
    expect(e.message).toContain('reading manifest nope in');
    expect(e.message).toContain('manifest unknown');
  });

  it('an unknown repository and an unknown digest are not-found', async () => {
    expect((await pullError(client.pull(`${sb.registry.host}/nosuch/repo:1`))).kind).toBe('not-found');
    const digest = `${sb.registry.host}/open@sha256:${'0'.repeat(64)}`;
    expect((await pullError(client.pull(digest))).kind).toBe('not-found');
  });

  it('a platform the index lacks is not-found', async () => {
    const [multi] = (await sb.makeImages([
      { name: 'onlyamd', platforms: [{ os: 'linux', architecture: 'amd64' }] },
    ])) as [MadeImage];
    const e = await pullError(
      client.pull(multi.reference, { platform: { os: 'linux', architecture: 's390x' } }),
    );
    expect(e.kind).toBe('not-found');
    expect(e.message).toMatch(/no image found in (manifest list|image index) for architecture s390x/);
  });

  it('a wrong password is unauthorized, names the registry, and leaks no credential', async () => {
    const file = authFile('wrong.json', { [sb.authRegistry!.host]: { auth: basic('alice', WRONG) } });
    const cred = credentialFor(await loadAuthFile(file, { optional: false }), secret.reference);
    expect(cred?.username).toBe('alice');
    const e = await pullError(client.pull(secret.reference, { auth: cred! }));
    expect(e).toMatchObject({ kind: 'unauthorized', status: 401, registry: sb.authRegistry!.host });
    expect(e.message).toContain(sb.authRegistry!.host);
    expect(e.message).toContain('unauthorized: authentication required');
    const all = everything(e);
    expect(all).not.toContain(WRONG);
    expect(all).not.toContain(basic('alice', WRONG));
    expect(everything(cred)).not.toContain(WRONG);
  });

  it('no credentials for a registry that demands them is unauthorized', async () => {
    expect((await pullError(client.pull(secret.reference))).kind).toBe('unauthorized');
  });

  it('a registry that is down is transient; back up, the pull succeeds', async () => {
    await sb.registry.down();
    try {
      const e = await pullError(client.pull(open.reference));
      expect(e.kind).toBe('transient');
      expect(e.message).toMatch(/pinging container registry 127\.0\.0\.1:\d+: .*connect: connection refused/);
    } finally {
      await sb.registry.up();
    }
    await client.pull(open.reference);
    expect((await client.listImages()).some((i) => i.names.includes(open.reference))).toBe(true);
  });

  it('HTTP 503 and 500 from the registry are transient, 403 is forbidden', async () => {
    const ref = `${fault.host}/x/y:1`;
    fault.setFault({ status: 503 });
    let e = await pullError(client.pull(ref));
    expect(e).toMatchObject({ kind: 'transient', status: 503 });
    expect(e.message).toContain('received unexpected HTTP status: 503 Service Unavailable');
    fault.setFault({ status: 500 });
    expect(await pullError(client.pull(ref))).toMatchObject({ kind: 'transient', status: 500 });
    fault.setFault({ status: 403 });
    e = await pullError(client.pull(ref));
    expect(e).toMatchObject({ kind: 'forbidden', status: 403 });
    expect(e.message).toMatch(/: denied/);
  });

  it('aborting the signal ends a hanging pull as cancelled', async () => {
    fault.setFault('hang');
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 500);
    const started = Date.now();
    const e = await pullError(client.pull(`${fault.host}/x/hang:1`, { signal: ac.signal }));
    clearTimeout(t);
    expect(e.kind).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
    fault.setFault({ status: 503 });
  });
});

describe('credentials from auth files', () => {
  it('the right password from a file pulls', async () => {
    const file = authFile('good.json', {
      [sb.authRegistry!.host]: { auth: basic('alice', sb.authRegistry!.auth!.password) },
    });
    const cred = credentialFor(await loadAuthFile(file, { optional: false }), secret.reference);
    await client.pull(secret.reference, { auth: cred! });
    expect((await client.listImages()).some((i) => i.names.includes(secret.reference))).toBe(true);
  });

  it('the most specific key wins: a namespace entry beats the host entry', async () => {
    const file = authFile('ns.json', {
      [sb.authRegistry!.host]: { auth: basic('alice', WRONG) },
      [`${sb.authRegistry!.host}/secret`]: { username: 'alice', password: sb.authRegistry!.auth!.password },
    });
    const cred = credentialFor(await loadAuthFile(file, { optional: false }), secret.reference);
    expect(cred?.registry).toBe(`${sb.authRegistry!.host}/secret`);
    await expect(client.pull(secret.reference, { auth: cred! })).resolves.toBeUndefined();
    expect(await client.imageId(secret.reference)).toMatch(/^[0-9a-f]{64}$|^sha256:[0-9a-f]{64}$/);
  });
});

describe('the API socket itself', () => {
  it('a missing socket is a StoreError naming it, for every call', async () => {
    const missing = new StoreClient({ socketPath: join(tmp, 'no.sock') });
    for (const call of [
      () => missing.info(),
      () => missing.listImages(),
      () => missing.pull(open.reference),
    ]) {
      const e: unknown = await call().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(StoreError);
      expect(e).not.toBeInstanceOf(PullError);
      expect((e as StoreError).message).toContain(`${join(tmp, 'no.sock')} does not exist`);
      expect((e as StoreError).code).toBe('ENOENT');
    }
  });

  it('a socket that never answers times out with a StoreError', async () => {
    const path = join(tmp, 'mute.sock');
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(path, () => r()));
    try {
      const mute = new StoreClient({ socketPath: path, timeoutMs: 300 });
      await expect(mute.info()).rejects.toThrow(
        /GET \/info: no answer from Podman API socket .*mute\.sock within 300 ms/,
      );
    } finally {
      server.close();
    }
  });
});
