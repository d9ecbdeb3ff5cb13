// Many callers at once, and a job stopped midway, against a real Podman store whose registry sits
// behind a slow link (so the pull is still running while the test acts): a burst of 500 identical
// Upgrade calls over several connections runs ONE reconcile and answers every caller with its path;
// a request with other options waits; Progress changes are announced at most ~4 times a second;
// Cancel ends the running job `cancelled` with JobRemoved, and the waiting one runs next.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, startSandbox, type Sandbox } from '../../scripts/harness/index.js';
import {
  BUS_NAME,
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  busctl,
  connectClient,
  ensureBuilt,
  getProperty,
  makeRoot,
  rawCall,
  startDaemon,
  startSlowProxy,
  waitForJobEnd,
  watchSignals,
  type DaemonProcess,
  type SlowProxy,
  upgrade,
  jobPaths,
} from './daemon-harness.js';

const CALLERS = 500;
const CONNECTIONS = 5;

let sandbox: Sandbox;
let proxy: SlowProxy;
let bus: PrivateBus;
let daemon: DaemonProcess;
let watcher: dbus.MessageBus;
let slowRef: string;
const signals: { at: number; msg: dbus.Message }[] = [];

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

beforeAll(async () => {
  await ensureBuilt();
  const port = await freePort();
  sandbox = await startSandbox({ insecureRegistries: [`127.0.0.1:${port}`] });
  const [slow] = await sandbox.makeImages([{ name: 'slow', size: 3 * 1024 * 1024 }]);
  // ~3 MB at 150 kB/s: the pull runs for about 20 s unless cancelled.
  proxy = await startSlowProxy(port, { host: '127.0.0.1', port: sandbox.registry.port }, 150 * 1024);
  slowRef = `${proxy.host}/slow:${slow?.tag ?? 'latest'}`;
  bus = await startPrivateBus();
  const dir = makeTempDir('dbus-burst');
  const root = await makeRoot(join(dir, 'root'), [{ name: 'slow.image', image: slowRef }]);
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
  });
  watcher = await watchSignals(bus, (msg) => signals.push({ at: Date.now(), msg }));
});

afterAll(async () => {
  watcher?.disconnect();
  await daemon?.stop();
  await bus?.stop();
  await proxy?.stop();
  await sandbox?.stop();
});

describe('while a slow pull runs', () => {
  let job: string;
  let waiting: string;

  it('the first Upgrade starts job 1, which is pulling', async () => {
    const r = await busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', '0']);
    job = r.stdout.trim().replace(/^o "(.*)"$/, '$1');
    expect(job).toBe('/org/bootc/BoundImages/job/1');
    const deadline = Date.now() + 20_000;
    while ((await getProperty(bus, job, JOB_IFACE, 'Phase')) !== 's "pull"') {
      if (Date.now() > deadline) throw new Error('job 1 never reached the pull phase');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await getProperty(bus, job, JOB_IFACE, 'CurrentImage')).toBe(`s "${slowRef}"`);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'CurrentJob')).toBe(`o "${job}"`);
  });

  it(`${CALLERS} identical Upgrade calls over ${CONNECTIONS} connections all get job 1, and memory stays bounded`, async () => {
    const before = rssKb(daemon.pid);
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => connectClient(bus)));
    try {
      const replies = await Promise.all(
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
      const paths = replies.map((r) => r.body[0] as string);
      expect(paths).toHaveLength(CALLERS);
      expect(new Set(paths)).toEqual(new Set([job]));
    } finally {
      for (const c of clients) c.disconnect();
    }
    expect(await jobPaths(bus)).toEqual([job]);
    expect(await getProperty(bus, job, JOB_IFACE, 'State')).toBe('s "running"');
    expect(rssKb(daemon.pid) - before).toBeLessThan(40 * 1024);
  });

  it('an Upgrade with other options waits behind it', async () => {
    waiting = await upgrade(bus, '1', 'dry-run', 'b', 'true');
    expect(waiting).toBe('/org/bootc/BoundImages/job/2');
    expect(await getProperty(bus, waiting, JOB_IFACE, 'Phase')).toBe('s "waiting"');
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "reconciling"');
  });

  it('announces Progress at most about 4 times a second', async () => {
    const progressSignals = () =>
      signals.filter(
        (s) =>
          s.msg.path === job &&
          s.msg.member === 'PropertiesChanged' &&
          Object.keys(s.msg.body[1] as object).includes('Progress'),
      );
    const deadline = Date.now() + 15_000;
    while (progressSignals().length < 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const progress = progressSignals();
    expect(progress.length).toBeGreaterThanOrEqual(4);
    const values = progress.map(
      (p) => (p.msg.body[1] as Record<string, dbus.Variant<number>>).Progress?.value,
    );
    for (const [i, v] of values.entries()) {
      expect(v).toBeGreaterThanOrEqual(i === 0 ? 0 : (values[i - 1] ?? 0));
      expect(v).toBeLessThan(1);
    }
    expect(values.at(-1)).toBeGreaterThan(0);
    const span = (progress.at(-1)?.at ?? 0) - (progress[0]?.at ?? 0);
    // Podman reports progress about once a second; the daemon would pass at most ~4 a second on:
    // n signals need at least (n - 1) × 250 ms, less a little for timer and delivery jitter.
    expect(span).toBeGreaterThanOrEqual((progress.length - 1) * 200);
  });

  it('Cancel ends it `cancelled` with JobRemoved, GC skipped; the waiting job runs next', async () => {
    const r = await busctl(bus, ['call', BUS_NAME, job, JOB_IFACE, 'Cancel']);
    expect(r.code, r.stderr).toBe(0);
    expect(await waitForJobEnd(bus, job, 10_000)).toBe('s "cancelled"');
    expect(await getProperty(bus, job, JOB_IFACE, 'GcSkipped')).toMatch(/cancel/);
    expect(await getProperty(bus, job, JOB_IFACE, 'Result')).toBe('s "cancelled"');
    const removed = signals.find((s) => s.msg.member === 'JobRemoved' && s.msg.body[0] === job);
    expect(removed?.msg.body).toEqual([job, 'cancelled']);
    expect(await waitForJobEnd(bus, waiting, 30_000)).toBe('s "success"');
    expect(await getProperty(bus, waiting, JOB_IFACE, 'Pulled')).toBe(
      `as 1 "${slowRef} (dry run: would pull)"`,
    );
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "idle"');
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'CurrentJob')).toBe('o "/"');
    const { stdout } = await sandbox.podman.podman(['images', '--format', '{{.Repository}}']);
    expect(stdout).not.toContain('slow');
  });
});
