// Load on the bus, against the real daemon, dbus-daemon, Podman and registry (a slow link in front
// of the registry keeps the reconcile running while the test acts):
//  - 500 concurrent Upgrade calls over 10 connections, starting from idle: every caller gets a job
//    path, all the same one, and the registry sees one reconcile's worth of pulls;
//  - 1,000 ListBoundImages / Get / GetAll calls while that reconcile runs: all answered;
//  - 200 more finished jobs with keep-jobs 16: at most 16 job objects stay exported; RSS (jobs 50 →
//    100, noisy) and the live JS heap after a full collection (jobs 100 → 200, exact) do not grow.
// (dbus-burst.test.ts covers the burst joining an already running job, waiting jobs and Cancel.)
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, startSandbox, type Sandbox } from '../../scripts/harness/index.js';
import { waitUntil } from '../../scripts/harness/proc.js';
import {
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  connectClient,
  ensureBuilt,
  getProperty,
  makeRoot,
  rawCall,
  spawnDaemon,
  startSlowProxy,
  waitForJobEnd,
  waitForName,
  watchSignals,
  writeConfig,
  type DaemonProcess,
  type SlowProxy,
  jobPaths,
} from './daemon-harness.js';
import { PROPERTIES_INTERFACE } from '../../src/contract/index.js';

const CALLERS = 500;
const READS = 1000;
const CONNECTIONS = 10;
const KEEP_JOBS = 16;
const JOBS = 200;
const PROPS = PROPERTIES_INTERFACE;

let sandbox: Sandbox;
let proxy: SlowProxy;
let bus: PrivateBus;
let daemon: DaemonProcess;
let watcher: dbus.MessageBus;
let refs: string[];
let diagDir: string;
const removed = new Map<string, string>();
const removedWaiters = new Map<string, (result: string) => void>();
const rss: Record<string, number> = {};

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

function noteRss(label: string): number {
  const kb = rssKb(daemon.pid);
  rss[label] = kb;
  console.log(`[load-upgrade] daemon RSS ${label}: ${(kb / 1024).toFixed(1)} MiB`);
  return kb;
}

const HEAP_PROFILER_GC =
  /Mark-Compact[^\n]*? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB[^\n]*heap profiler/g;

/** The daemon's live JS heap in MB: full collection (heap snapshot on SIGUSR2), size after it. */
async function liveHeapMb(): Promise<number> {
  const from = daemon.stdout().length;
  process.kill(daemon.pid, 'SIGUSR2');
  let after: number[] = [];
  await waitUntil(
    'the daemon to collect garbage for a heap snapshot',
    () => {
      after = [...daemon.stdout().slice(from).matchAll(HEAP_PROFILER_GC)].map((m) => Number(m[1]));
      return Promise.resolve(after.length > 0);
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  // The snapshot is written after the collection, synchronously: a reply means it is done.
  await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State');
  for (const f of readdirSync(diagDir)) rmSync(join(diagDir, f));
  return Math.min(...after);
}

function jobRemoved(path: string): Promise<string> {
  const seen = removed.get(path);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve) => removedWaiters.set(path, resolve));
}

const READ_KINDS = 5;

/** One of five reads: ListBoundImages, Get State, GetAll of the job, Get Progress, GetAll of the manager. */
function readCall(client: dbus.MessageBus, kind: number, job: string): Promise<dbus.Message> {
  switch (kind) {
    case 0:
      return rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages');
    case 1:
      return rawCall(client, MANAGER_PATH, PROPS, 'Get', 'ss', [MANAGER_IFACE, 'State']);
    case 2:
      return rawCall(client, job, PROPS, 'GetAll', 's', [JOB_IFACE]);
    case 3:
      return rawCall(client, job, PROPS, 'Get', 'ss', [JOB_IFACE, 'Progress']);
    default:
      return rawCall(client, MANAGER_PATH, PROPS, 'GetAll', 's', [MANAGER_IFACE]);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

beforeAll(async () => {
  await ensureBuilt();
  const port = await freePort();
  sandbox = await startSandbox({ insecureRegistries: [`127.0.0.1:${port}`] });
  const made = await sandbox.makeImages([
    { name: 'load/slow', size: 2 * 1024 * 1024 },
    { name: 'load/a', layers: 2, size: 512 },
    { name: 'load/b', layers: 2, size: 512 },
  ]);
  // ~2 MB at 200 kB/s: the reconcile runs ~10 s, long after the burst and the reads are answered.
  proxy = await startSlowProxy(port, { host: '127.0.0.1', port: sandbox.registry.port }, 200 * 1024);
  refs = made.map((m) => `${proxy.host}/${m.name}:${m.tag}`);
  bus = await startPrivateBus();
  const dir = makeTempDir('load-upgrade');
  const root = await makeRoot(
    join(dir, 'root'),
    refs.map((image, i) => ({ name: `img-${i}.image`, image })),
  );
  const config = await writeConfig(join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
    keepJobs: KEEP_JOBS,
    concurrency: 3,
  });
  // RSS swings by tens of MB with V8's collections, so the leak check reads the live heap: node
  // runs with --trace-gc (stdout line-buffered) and writes a heap snapshot on SIGUSR2, which first
  // collects all garbage and logs the heap size left.
  diagDir = join(dir, 'diag');
  await mkdir(diagDir);
  daemon = spawnDaemon(bus, ['--config', config], {
    wrap: [
      'stdbuf',
      '-oL',
      'sh',
      '-c',
      `exec "$0" --trace-gc --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${diagDir} "$@"`,
    ],
  });
  await waitForName(bus, daemon);
  watcher = await watchSignals(
    bus,
    (msg) => {
      const [path, result] = msg.body as [string, string];
      removed.set(path, result);
      removedWaiters.get(path)?.(result);
    },
    'JobRemoved',
  );
});

afterAll(async () => {
  watcher?.disconnect();
  await daemon?.stop();
  await bus?.stop();
  await proxy?.stop();
  await sandbox?.stop();
});

describe('a reconcile under load', () => {
  let job: string;

  it(`${CALLERS} concurrent Upgrade calls over ${CONNECTIONS} connections from idle: one job, every caller answered`, async () => {
    noteRss('idle after start');
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "idle"');
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => connectClient(bus)));
    const t0 = performance.now();
    let outcomes: PromiseSettledResult<dbus.Message>[];
    try {
      outcomes = await Promise.allSettled(
        Array.from({ length: CALLERS }, (_, i) =>
          rawCall(
            clients[i % CONNECTIONS] as dbus.MessageBus,
            MANAGER_PATH,
            MANAGER_IFACE,
            'Upgrade',
            'a{sv}',
            [{}],
          ),
        ),
      );
    } finally {
      for (const c of clients) c.disconnect();
    }
    const elapsed = performance.now() - t0;
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
    expect(errors).toEqual([]);
    const paths = outcomes.map((o) => (o.status === 'fulfilled' ? (o.value.body[0] as string) : ''));
    console.log(
      `[load-upgrade] ${CALLERS} Upgrade calls answered in ${Math.round(elapsed)} ms, ` +
        `distinct job paths: ${new Set(paths).size}`,
    );
    expect(paths).toHaveLength(CALLERS);
    expect(new Set(paths).size).toBe(1);
    job = paths[0] as string;
    expect(job).toMatch(/^\/org\/bootc\/BoundImages\/job\/\d+$/);
    expect(await jobPaths(bus)).toEqual([job]);
    expect(await getProperty(bus, job, JOB_IFACE, 'State')).toBe('s "running"');
    noteRss('after the Upgrade burst');
  });

  it(`${READS} ListBoundImages and property reads while it runs: all answered`, async () => {
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => connectClient(bus)));
    const latencies: number[] = [];
    const t0 = performance.now();
    let outcomes: PromiseSettledResult<dbus.Message>[];
    try {
      outcomes = await Promise.allSettled(
        Array.from({ length: READS }, async (_, i) => {
          const client = clients[i % CONNECTIONS] as dbus.MessageBus;
          const start = performance.now();
          const reply = await readCall(client, i % READ_KINDS, job);
          latencies.push(performance.now() - start);
          return reply;
        }),
      );
    } finally {
      for (const c of clients) c.disconnect();
    }
    const elapsed = performance.now() - t0;
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
    expect(errors).toEqual([]);
    const lists = outcomes.filter((_, i) => i % READ_KINDS === 0);
    for (const l of lists) {
      const rows = (l as PromiseFulfilledResult<dbus.Message>).value.body[0] as string[][];
      expect(rows.map((r) => r[0]).sort()).toEqual([...refs].sort());
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `[load-upgrade] ${READS} reads during the reconcile in ${Math.round(elapsed)} ms ` +
        `(latency p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(percentile(latencies, 99))} ms, ` +
        `max ${Math.round(latencies.at(-1) ?? NaN)} ms)`,
    );
    // They were answered *during* the reconcile: it is still running.
    expect(await getProperty(bus, job, JOB_IFACE, 'State')).toBe('s "running"');
    noteRss('after the reads');
  });

  it('finishes as one reconcile: success, each image pulled once as the registry sees it', async () => {
    proxy.setRate(null); // the slow link has served its purpose
    expect(await waitForJobEnd(bus, job, 60_000)).toBe('s "success"');
    expect(await jobRemoved(job)).toBe('success');
    expect(await jobPaths(bus)).toEqual([job]);
    const manifestGets = (await sandbox.registry.requests()).filter(
      (r) => r.method === 'GET' && /^\/v2\/load\/[^/]+\/manifests\//.test(r.path),
    );
    const perRepo = new Map<string, number>();
    for (const r of manifestGets) {
      const repo = r.path.split('/manifests/')[0] ?? '';
      perRepo.set(repo, (perRepo.get(repo) ?? 0) + 1);
    }
    console.log(`[load-upgrade] manifest GETs per repository: ${JSON.stringify([...perRepo])}`);
    expect([...perRepo.keys()].sort()).toEqual(['/v2/load/a', '/v2/load/b', '/v2/load/slow']);
    expect([...perRepo.values()]).toEqual([1, 1, 1]);
    noteRss('after the reconcile');
  });
});

describe(`${JOBS} finished jobs with keep-jobs ${KEEP_JOBS}`, () => {
  it('keep at most 16 job objects, and neither RSS nor the live heap grows per job', async () => {
    const client = await connectClient(bus);
    const heap: Record<number, number> = {};
    const rssAt: Record<number, number> = {};
    const t0 = performance.now();
    try {
      for (let i = 1; i <= JOBS; i++) {
        const reply = await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', [{}]);
        expect(await jobRemoved(reply.body[0] as string)).toBe('success');
        // RSS first: a heap snapshot leaves its own buffers in RSS for a while.
        if (i === 50 || i === 100 || i === JOBS) rssAt[i] = noteRss(`after ${i} more jobs`);
        if (i === 100 || i === JOBS) heap[i] = await liveHeapMb();
      }
    } finally {
      client.disconnect();
    }
    const elapsed = performance.now() - t0;
    console.log(
      `[load-upgrade] ${JOBS} sequential reconciles (nothing to pull) in ${Math.round(elapsed)} ms ` +
        `(${(elapsed / JOBS).toFixed(0)} ms each, two heap snapshots included); ` +
        `live heap after 100: ${heap[100]} MB, after ${JOBS}: ${heap[JOBS]} MB`,
    );
    const paths = await jobPaths(bus);
    expect(paths).toHaveLength(KEEP_JOBS);
    const ids = paths.map((p) => Number(p.split('/').at(-1))).sort((a, b) => a - b);
    // The newest 16 are kept: 1 job from the burst + 200 = job 201 is the last.
    expect(ids).toEqual(Array.from({ length: KEEP_JOBS }, (_, i) => JOBS + 2 - KEEP_JOBS + i));
    // A pruned job is gone from the bus, not only from the tree.
    const pruned = `/org/bootc/BoundImages/job/${(ids[0] ?? 0) - 1}`;
    await expect(rawCall(watcher, pruned, PROPS, 'Get', 'ss', [JOB_IFACE, 'State'])).rejects.toThrow(pruned);
    // RSS swings by tens of MB as V8 grows and shrinks its heap: it catches only gross growth
    // (over 50 jobs, 600 kB each would be 30 MiB).
    expect((rssAt[100] ?? Infinity) - (rssAt[50] ?? 0)).toBeLessThan(30 * 1024);
    // The live heap after a full collection is exact to 0.1 MB: over 100 jobs, a leak of 10 kB
    // per job would add 1 MB.
    expect((heap[JOBS] ?? Infinity) - (heap[100] ?? 0)).toBeLessThan(1);
  });
});
