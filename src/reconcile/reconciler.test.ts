// Scheduler and run semantics with an in-memory store: single flight, joining, queueing, cancel,
// history pruning, GC safety. Fault injection only: the real Podman path is covered in
// test/integration/reconcile-*.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { PullError, StoreError } from '../store/errors.js';
import type { PullOptions, StoredImage } from '../store/podman-client.js';
import { createLogger, type Logger } from '../systemd/log.js';
import type { HostImageScan } from '../discovery/host-image.js';
import type { RootDiscovery } from '../types.js';
import type { ReconcileOptions } from './job.js';
import { MAX_JOB_ID, MAX_QUEUED, QueueFullError, Reconciler } from './reconciler.js';
import type { RunDeps, StoreApi } from './run.js';

const silent: Logger = createLogger({ sink: 'stderr', stderr: new PassThrough() });

const OPTS: ReconcileOptions = { extraRoots: [], pullPolicy: 'missing', dryRun: false, gc: true };

class FakeStore implements StoreApi {
  images: StoredImage[] = [];
  pulls: string[] = [];
  removed: string[] = [];
  gate: Promise<void> = Promise.resolve();
  failWith: ((ref: string) => Error | null) | null = null;
  constructor(readonly rootDir: string) {}
  async storeRoot() {
    return this.rootDir;
  }
  async listImages() {
    return this.images.map((i) => ({ ...i, names: [...i.names], digests: [...i.digests] }));
  }
  async imageId(reference: string) {
    return this.images.find((i) => i.names.includes(reference))?.id ?? null;
  }
  async pull(reference: string, opts: PullOptions) {
    this.pulls.push(reference);
    await Promise.race([
      this.gate,
      new Promise<void>((_, reject) =>
        opts.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
    ]);
    const err = this.failWith?.(reference);
    if (err) throw err;
    this.images.push({ id: `id-${reference}`, names: [reference], digests: [] });
  }
  async removeImage(id: string) {
    this.removed.push(id);
    this.images = this.images.filter((i) => i.id !== id);
  }
  async untag(name: string) {
    this.removed.push(name);
    for (const i of this.images) i.names = i.names.filter((n) => n !== name);
  }
}

/** The store directories setup() made, removed after the file's tests. */
const storeDirs: string[] = [];
afterAll(() => {
  for (const dir of storeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(
  discoveries: () => RootDiscovery[],
  keep = 16,
  firstId?: number,
  hosts: HostImageScan = { images: [], errors: [] },
) {
  const dir = mkdtempSync(join(tmpdir(), 'bi-reconciler-'));
  storeDirs.push(dir);
  const store = new FakeStore(dir);
  const deps: RunDeps = {
    store,
    logger: silent,
    storePath: dir,
    gcEnabled: true,
    pull: { concurrency: 2, maxConcurrency: 16, retries: 2, retryDelayMs: 1, timeoutMs: 5000 },
    discover: async () => discoveries(),
    hostImages: async () => hosts,
    credentialFor: async () => undefined,
  };
  return { store, reconciler: new Reconciler(deps, keep, firstId) };
}

function root(refs: string[], extra: Partial<RootDiscovery> = {}): RootDiscovery {
  return {
    root: '/r',
    readable: true,
    errors: [],
    images: refs.map((reference) => ({
      root: '/r',
      reference,
      rawImage: reference,
      sourceFile: `/usr/share/containers/systemd/${reference.replace(/\W/g, '_')}.image`,
      entry: 'e',
    })),
    ...extra,
  };
}

const finished = (job: { once(e: 'finished', f: () => void): unknown; finished: boolean }) =>
  job.finished ? Promise.resolve() : new Promise<void>((r) => job.once('finished', () => r()));

const A = '127.0.0.1:5000/a:latest';
const B = '127.0.0.1:5000/b:latest';

describe('Reconciler', () => {
  it('pulls what is missing and succeeds', async () => {
    const { store, reconciler } = setup(() => [root([A, B])]);
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(job.snapshot()).toMatchObject({ state: 'success', imagesTotal: 2, imagesDone: 2, progress: 1 });
    expect(store.pulls.sort()).toEqual([A, B]);
  });

  it('a second request with the same options joins the running job; other options queue', async () => {
    const { store, reconciler } = setup(() => [root([A])]);
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const first = reconciler.start(OPTS, 0);
    const again = Array.from({ length: 500 }, () => reconciler.start({ ...OPTS }, 0));
    expect(new Set(again.map((j) => j.id))).toEqual(new Set([first.id]));
    const other = reconciler.start({ ...OPTS, pullPolicy: 'always' }, 0);
    expect(other.id).not.toBe(first.id);
    expect(other.phase).toBe('waiting');
    // The running job is not waiting, not even before the run's modules have loaded.
    expect(first.phase).not.toBe('waiting');
    expect(reconciler.start({ ...OPTS, pullPolicy: 'always' }, 0).id).toBe(other.id);
    open();
    await finished(first);
    await finished(other);
    expect(store.pulls).toEqual([A, A]);
  });

  it('numbers jobs from firstId (where the last process stopped), and wraps after the last u32', async () => {
    const { reconciler } = setup(() => [root([])], 16, 41);
    const a = reconciler.start(OPTS, 0);
    const b = reconciler.start({ ...OPTS, dryRun: true }, 0);
    expect([a.id, b.id]).toEqual([41, 42]);
    await finished(b);
    const last = setup(() => [root([])], 16, MAX_JOB_ID).reconciler;
    const c = last.start(OPTS, 0);
    const d = last.start({ ...OPTS, dryRun: true }, 0);
    expect([c.id, d.id]).toEqual([MAX_JOB_ID, 1]);
    await finished(d);
  });

  it('bounds the queue', () => {
    const { store, reconciler } = setup(() => [root([A])]);
    store.gate = new Promise(() => {});
    reconciler.start(OPTS, 0);
    for (let i = 0; i < MAX_QUEUED; i++) reconciler.start({ ...OPTS, extraRoots: [`/q${i}`] }, 0);
    expect(() => reconciler.start({ ...OPTS, extraRoots: ['/one-too-many'] }, 0)).toThrow(QueueFullError);
    void reconciler.shutdown();
  });

  it('cancel aborts in-flight pulls and skips GC', async () => {
    const { store, reconciler } = setup(() => [root([A])]);
    store.images = [{ id: 'old', names: ['127.0.0.1:5000/old:latest'], digests: [] }];
    store.gate = new Promise(() => {});
    const job = reconciler.start(OPTS, 0);
    while (store.pulls.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(reconciler.cancel(job.id, 1234)).toBe(true);
    expect(job.cancelledByUid).toBe(1234);
    await finished(job);
    expect(job.state).toBe('cancelled');
    expect(job.gcSkipped).toMatch(/cancelled/);
    expect(store.removed).toEqual([]);
  });

  it('a failed pull fails the job, names the image, and skips GC', async () => {
    const { store, reconciler } = setup(() => [root([A, B])]);
    store.images = [{ id: 'old', names: ['127.0.0.1:5000/old:latest'], digests: [] }];
    store.failWith = (ref) =>
      ref === B
        ? new PullError('unauthorized: authentication required', { reference: B, kind: 'unauthorized' })
        : null;
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(job.state).toBe('failed');
    expect(job.errors).toEqual([{ subject: B, message: 'unauthorized: authentication required' }]);
    expect(store.pulls.filter((p) => p === B)).toHaveLength(1); // not retried
    expect(store.removed).toEqual([]);
  });

  it('names the Podman socket in the result when pulls could not reach it', async () => {
    const { store, reconciler } = setup(() => [root([A, B])]);
    store.failWith = (ref) =>
      new StoreError(`pull ${ref}: Podman API socket /run/x.sock refuses connections`, {
        socketPath: '/run/x.sock',
        code: 'ECONNREFUSED',
        socketFailure: 'Podman API socket /run/x.sock refuses connections',
      });
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(job.snapshot().result).toBe(
      'failed: Podman API socket /run/x.sock refuses connections; 2 pull(s) failed',
    );
  });

  it('retries transient failures, then succeeds', async () => {
    const { store, reconciler } = setup(() => [root([A])]);
    let n = 0;
    store.failWith = () =>
      ++n < 3 ? new PullError('connection refused', { reference: A, kind: 'transient' }) : null;
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(job.state).toBe('success');
    expect(store.pulls).toEqual([A, A, A]);
  });

  it('a discovery error blocks GC but healthy images are still pulled', async () => {
    const broken = root([A], {
      errors: [
        { root: '/r', entry: 'bad.image', file: '/usr/share/containers/systemd/bad.image', message: 'x' },
      ],
    });
    const { store, reconciler } = setup(() => [broken]);
    store.images = [{ id: 'old', names: ['127.0.0.1:5000/old:latest'], digests: [] }];
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(store.pulls).toEqual([A]);
    expect(store.removed).toEqual([]);
    expect(job.state).toBe('failed');
    expect(job.gcSkipped).toMatch(/could not be read or parsed/);
  });

  it('GC removes what no root references and untags extra names', async () => {
    const { store, reconciler } = setup(() => [root([A])]);
    store.images = [
      { id: 'a', names: [A, '127.0.0.1:5000/a:extra'], digests: [] },
      { id: 'old', names: ['127.0.0.1:5000/old:latest'], digests: [] },
    ];
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(job.state).toBe('success');
    expect(store.removed.sort()).toEqual(['127.0.0.1:5000/a:extra', 'old']);
    expect(job.snapshot().removed.sort()).toEqual(['127.0.0.1:5000/a:extra', '127.0.0.1:5000/old:latest']);
  });

  it("GC never removes a deployment's host image, only what neither a root nor an origin names", async () => {
    const host = {
      root: '/r',
      origin: '/r.origin',
      originReference: 'ostree-unverified-registry:127.0.0.1:5000/os',
      image: '127.0.0.1:5000/os',
    };
    const { store, reconciler } = setup(() => [root([A])], 16, undefined, { images: [host], errors: [] });
    store.images = [
      { id: 'os', names: ['127.0.0.1:5000/os:latest'], digests: [] },
      { id: 'old', names: ['127.0.0.1:5000/old:latest'], digests: [] },
    ];
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(job.state).toBe('success');
    expect(store.removed).toEqual(['old']);
    expect(store.images.map((i) => i.id).sort()).toEqual(['id-' + A, 'os']);
  });

  it('an origin file that cannot be read fails the job, names the file and line, and skips GC', async () => {
    const { store, reconciler } = setup(() => [root([A])], 16, undefined, {
      images: [],
      errors: [{ root: '/r', origin: '/r.origin', line: 2, message: 'container-image-reference: x' }],
    });
    store.images = [{ id: 'old', names: ['127.0.0.1:5000/old:latest'], digests: [] }];
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(store.pulls).toEqual([A]);
    expect(store.removed).toEqual([]);
    expect(job.state).toBe('failed');
    expect(job.gcSkipped).toBe('1 deployment origin file(s) could not be read or parsed');
    expect(job.snapshot().result).toBe('failed: 1 deployment origin file error(s)');
    expect(job.errors).toEqual([
      { subject: '/r.origin:2', message: 'deployment origin file: container-image-reference: x' },
    ]);
  });

  it('refuses a store other than the configured one before touching anything', async () => {
    const { store, reconciler } = setup(() => [root([A])]);
    (store as { rootDir: string }).rootDir = '/var/lib/containers/storage';
    store.images = [{ id: 'host', names: ['docker.io/library/host:latest'], digests: [] }];
    const job = reconciler.start(OPTS, 0);
    await finished(job);
    expect(job.state).toBe('failed');
    expect(job.snapshot().result).toMatch(/serves \/var\/lib\/containers\/storage, not the configured store/);
    expect(store.pulls).toEqual([]);
    expect(store.removed).toEqual([]);
  });

  it('keeps only the last N finished jobs', async () => {
    const { reconciler } = setup(() => [root([])], 3);
    const pruned: number[] = [];
    reconciler.on('pruned', (j) => pruned.push(j.id));
    for (let i = 0; i < 5; i++) await finished(reconciler.start(OPTS, 0));
    expect(reconciler.list().map((j) => j.id)).toEqual([3, 4, 5]);
    expect(pruned).toEqual([1, 2]);
  });
});
