// What a reconcile asks of the Podman service, counted on the service's side by a pass-through proxy
// on the API's unix socket: the store is listed by ONE call for the plan (and once more for GC),
// never once per pulled image — a listing costs Podman ~2.5–5 ms per stored image on these machines, so a
// per-image listing makes a reconcile quadratic in the store size. A daemon's no-op run lists nothing
// (the last listing is kept while the store's image records are unchanged), yet a change made by
// another podman on the same store is seen by the next run. And every journal line of a run is
// written before the run ends.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startSandbox } from '../../scripts/harness/index.js';
import { createRunDeps } from '../../src/reconcile/deps.js';
import type { RunDeps } from '../../src/reconcile/run.js';
import { createLogger } from '../../src/systemd/log.js';
import {
  imageUnit,
  listStore,
  newJob,
  reconcile,
  testConfig,
  writeRoot,
  type ReconcileRun,
} from './reconcile-harness.js';

/** Request lines (`GET /images/json`) seen going to the Podman API through a proxy socket. */
interface ApiProxy {
  socketPath: string;
  calls: string[];
  stop(): Promise<void>;
}

const REQUEST_LINE = /^(GET|POST|DELETE|HEAD|PUT) (\S+) HTTP\/1\.[01]\r$/gm;

async function startApiProxy(target: string, socketPath: string): Promise<ApiProxy> {
  const calls: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
        // Paths only: the version prefix and the query are noise here.
        const path = (m[2] ?? '').replace(/^\/v[\d.]+/, '').split('?')[0];
        calls.push(`${m[1]} ${path}`);
      }
    });
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    calls,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let sb: Sandbox;
let api: ApiProxy;
let dir: string;
let images: MadeImage[];

beforeAll(async () => {
  sb = await startSandbox();
  dir = makeTempDir('rec-api');
  api = await startApiProxy(sb.podman.socketPath, join(dir, 'api.sock'));
  images = await sb.makeImages(
    Array.from({ length: 4 }, (_, i) => ({ name: `calls/img${i}`, layers: 2, size: 20_000 })),
  );
});

afterAll(async () => {
  await api?.stop();
  await sb?.stop();
  if (dir) releaseDir(dir);
});

describe('the calls a reconcile makes to the Podman API', () => {
  /** The daemon's configuration for one root: the sandbox's store behind the counting proxy. */
  const configFor = (root: string) =>
    testConfig({
      storePath: sb.podman.storePath,
      socketPath: api.socketPath,
      roots: [root],
      authFile: join(dir, 'no-auth.json'),
    });

  it('pulling four images: one /info, at most two store listings, at most one lookup per pulled image', async () => {
    const root = join(dir, 'root');
    await writeRoot(
      root,
      images.map((img, i) => imageUnit(`img${i}`, img.reference)),
    );
    const config = configFor(root);
    api.calls.length = 0;
    const run = await reconcile(config);
    expect(run.snap.state).toBe('success');
    // Late calls of the run, if any, would arrive after it ended: give them a moment to show up.
    await new Promise((r) => setTimeout(r, 300));
    const count = (call: string): number => api.calls.filter((c) => c === call).length;
    expect(count('POST /images/create')).toBe(images.length);
    expect(count('GET /info')).toBe(1);
    expect(count('GET /images/json')).toBeLessThanOrEqual(2);
    // A single-image lookup (a few ms) per pulled image is fine; a listing per image is not.
    const lookups = api.calls.filter((c) => /^GET \/images\/.+\/json$/.test(c));
    expect(lookups.length).toBeLessThanOrEqual(images.length);
  });

  it('every journal line of a run is written before the run ends, the final result last', async () => {
    const root = join(dir, 'root2');
    await writeRoot(root, [imageUnit('late', images[3]!.reference)]);
    const fresh = testConfig({
      storePath: sb.podman.storePath,
      socketPath: api.socketPath,
      roots: [root],
      authFile: join(dir, 'no-auth.json'),
    });
    // Remove img3 so the run pulls it again.
    await sb.podman.podman(['rmi', images[3]!.reference]);
    const run = await reconcile(fresh);
    const atEnd = [...run.log];
    expect(run.snap.pulled).toEqual([images[3]!.reference]);
    const pulledLine = atEnd.findIndex((l) => l.includes(`pulled ${images[3]!.reference}`));
    const finalLine = atEnd.findIndex((l) => /reconcile \d+ (finished|failed)/.test(l));
    expect(pulledLine).toBeGreaterThanOrEqual(0);
    expect(finalLine).toBe(atEnd.length - 1);
    expect(pulledLine).toBeLessThan(finalLine);
  });

  it('a no-op run reuses the last listing; a change made by another podman is seen by the next run', async () => {
    const root = join(dir, 'root3');
    await writeRoot(root, [imageUnit('a', images[0]!.reference), imageUnit('b', images[1]!.reference)]);
    const config = configFor(root);
    const daemon: { deps?: RunDeps } = {};
    const listings = async (
      run: () => Promise<ReconcileRun>,
    ): Promise<{ run: ReconcileRun; listed: number }> => {
      api.calls.length = 0;
      const done = await run();
      await new Promise((r) => setTimeout(r, 100));
      expect(done.snap.state, JSON.stringify(done.snap.errors)).toBe('success');
      return { run: done, listed: api.calls.filter((c) => c === 'GET /images/json').length };
    };
    // The first run of the daemon lists; GC removes the other tests' images, and a run that changed
    // the store leaves no listing behind, so the run after it lists once more.
    expect((await listings(() => reconcile(config, newJob(), daemon))).listed).toBeGreaterThan(0);
    expect((await listings(() => reconcile(config, newJob(), daemon))).listed).toBe(1);
    const noop = await listings(() => reconcile(config, newJob(), daemon));
    expect(noop.listed).toBe(0);
    // The store is confirmed through one image seen before (inspect + filtered listing, a few ms),
    // not by GET /info (~250 ms).
    expect(api.calls.filter((c) => c === 'GET /info')).toEqual([]);
    expect(api.calls.filter((c) => /^GET \/images\/sha256:[0-9a-f]{64}\/json$/.test(c))).toHaveLength(1);
    expect(api.calls.filter((c) => c === 'GET /libpod/images/json')).toHaveLength(1);
    expect(noop.run.snap.pulled).toEqual([]);

    // Removed behind the daemon's back: the next run lists again and pulls it back.
    await sb.podman.podman(['rmi', images[1]!.reference]);
    const back = await listings(() => reconcile(config, newJob(), daemon));
    expect(back.listed).toBeGreaterThan(0);
    expect(back.run.snap.pulled).toEqual([images[1]!.reference]);

    // A tag added behind its back: the next run sees it and untags it (the bound tag stays).
    const extra = `${images[0]!.reference.replace(/:[^:/]+$/, '')}:extra`;
    await sb.podman.podman(['tag', images[0]!.reference, extra]);
    const gc = await listings(() => reconcile(config, newJob(), daemon));
    expect(gc.listed).toBeGreaterThan(0);
    expect(gc.run.snap.removed).toEqual([extra]);
    const names = (await listStore(sb.podman)).flatMap((i) => i.names);
    expect(names).toEqual(expect.arrayContaining([images[0]!.reference, images[1]!.reference]));
    expect(names).not.toContain(extra);
    // The untag changed the store: one more listing, then quiet again.
    expect((await listings(() => reconcile(config, newJob(), daemon))).listed).toBe(1);
    expect((await listings(() => reconcile(config, newJob(), daemon))).listed).toBe(0);
  });

  it('a listing kept in the state directory serves the next process; a change between processes is seen', async () => {
    const root = join(dir, 'root4');
    await writeRoot(root, [imageUnit('a', images[0]!.reference), imageUnit('b', images[1]!.reference)]);
    const config = configFor(root);
    const state = join(dir, 'state4');
    await mkdir(state, { recursive: true });
    const logger = createLogger({
      sink: 'stderr',
      stderr: new Writable({ write: (_c, _e, done) => done() }),
    });
    /** One run of a process started afresh: new dependencies, the same state directory. */
    const processRun = async (): Promise<{ run: ReconcileRun; calls: string[] }> => {
      api.calls.length = 0;
      const run = await reconcile(config, newJob(), {
        deps: createRunDeps({ config, logger, keepListingIn: state }),
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(run.snap.state, JSON.stringify(run.snap.errors)).toBe('success');
      return { run, calls: [...api.calls] };
    };
    // Fill and settle: the runs that change the store leave no kept listing behind.
    await processRun();
    await processRun();
    // A process whose predecessor kept a listing of the unchanged store: no listing, no GET /info.
    const quiet = await processRun();
    expect(quiet.calls.filter((c) => c === 'GET /images/json')).toEqual([]);
    expect(quiet.calls.filter((c) => c === 'GET /info')).toEqual([]);
    expect(quiet.calls).toContain('GET /_ping');
    expect(quiet.run.snap.pulled).toEqual([]);

    // Removed while no daemon ran: the next process lists again and pulls it back.
    await sb.podman.podman(['rmi', images[1]!.reference]);
    const back = await processRun();
    expect(back.calls.filter((c) => c === 'GET /images/json').length).toBeGreaterThan(0);
    expect(back.run.snap.pulled).toEqual([images[1]!.reference]);
    const names = (await listStore(sb.podman)).flatMap((i) => i.names);
    expect(names).toEqual(expect.arrayContaining([images[0]!.reference, images[1]!.reference]));
  });
});
