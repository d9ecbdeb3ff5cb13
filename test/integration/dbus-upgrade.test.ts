// Upgrade end to end through the daemon: busctl starts a reconcile against a real Podman store and a
// loopback registry, polls the job until success, and the images are in the store; ListBoundImages
// (and ListBoundImagesByRoot, with each entry's root), the manager's properties and the state file
// follow; PropertiesChanged and JobRemoved arrive in order; a caller's root is remembered and
// forgotten when it disappears; GC removes what no root binds; only the last 16 finished jobs stay
// on the bus.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import {
  BUS_NAME,
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  busctl,
  getProperty,
  makeRoot,
  rawCall,
  setEntries,
  waitForJobEnd,
  watchSignals,
  type DaemonProcess,
  upgrade,
  jobPaths,
} from './daemon-harness.js';
import { storeNames } from './reconcile-harness.js';
import { startUpgradeFixture, type UpgradeFixture } from './upgrade-fixture.js';

let sandbox: Sandbox;
let bus: PrivateBus;
let daemon: DaemonProcess;
let client: dbus.MessageBus;
let dir: string;
let root: string;
let app: MadeImage;
let db: MadeImage;
let extra: MadeImage;
const signals: dbus.Message[] = [];

let fixture: UpgradeFixture | undefined;

beforeAll(async () => {
  fixture = await startUpgradeFixture('dbus-upgrade');
  ({ sandbox, bus, daemon, dir, root, app, db, extra } = fixture);
  client = await watchSignals(bus, (m) => signals.push(m));
});

afterAll(async () => {
  client?.disconnect();
  await fixture?.stop();
});

describe('Upgrade through busctl', () => {
  let job: string;

  it('returns a job path at once, and the job reaches success', async () => {
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'LastResult')).toBe('s ""');
    job = await upgrade(bus, '0');
    expect(job).toBe('/org/bootc/BoundImages/job/1');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
  });

  it('pulled the bound images into the store', async () => {
    expect((await storeNames(sandbox.podman)).sort()).toEqual([app.reference, db.reference].sort());
    const pulled = await getProperty(bus, job, JOB_IFACE, 'Pulled');
    expect(pulled).toContain(`"${app.reference}"`);
    expect(pulled).toContain(`"${db.reference}"`);
    expect(await getProperty(bus, job, JOB_IFACE, 'ImagesTotal')).toBe('u 2');
    expect(await getProperty(bus, job, JOB_IFACE, 'ImagesDone')).toBe('u 2');
    expect(await getProperty(bus, job, JOB_IFACE, 'Progress')).toBe('d 1');
    expect(await getProperty(bus, job, JOB_IFACE, 'Phase')).toBe('s "done"');
    expect(await getProperty(bus, job, JOB_IFACE, 'StartedByUID')).toBe('u 0');
    expect(await getProperty(bus, job, JOB_IFACE, 'Errors')).toBe('a(ss) 0');
  });

  it('updates the manager and the state file', async () => {
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "idle"');
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'LastResult')).toBe('s "success"');
    const time = Number((await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'LastReconcileTime')).slice(2));
    expect(Math.abs(time / 1000 - Date.now())).toBeLessThan(120_000);
    const state = JSON.parse(await readFile(join(dir, 'state', 'state.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(state).toMatchObject({ lastResult: 'success', lastReconcileTime: time });
  });

  it('sent PropertiesChanged for the job, then JobRemoved(job, "success")', () => {
    const ofJob = signals.filter((s) => s.path === job && s.member === 'PropertiesChanged');
    const changed = ofJob.map((s) => Object.keys(s.body[1] as object)).flat();
    expect(changed).toEqual(
      expect.arrayContaining(['Phase', 'ImagesTotal', 'Pulled', 'State', 'FinishTime']),
    );
    const removed = signals.findIndex((s) => s.member === 'JobRemoved' && s.body[0] === job);
    expect(removed).toBeGreaterThanOrEqual(0);
    expect(signals[removed]?.body).toEqual([job, 'success']);
    const finalState = signals.findIndex(
      (s) =>
        s.path === job &&
        s.member === 'PropertiesChanged' &&
        (s.body[1] as Record<string, { value: unknown }>).State?.value === 'success',
    );
    expect(finalState).toBeGreaterThanOrEqual(0);
    expect(finalState).toBeLessThan(removed);
    // The manager announced reconciling → idle.
    const managerStates = signals
      .filter((s) => s.path === MANAGER_PATH && s.member === 'PropertiesChanged')
      .map((s) => (s.body[1] as Record<string, { value: unknown }>).State?.value)
      .filter((v) => v !== undefined);
    expect(managerStates).toEqual(['reconciling', 'idle']);
  });

  it('ListBoundImages shows every entry present with its image id', async () => {
    const r = await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages');
    const rows = (r.body[0] as string[][]).map(([ref, source, state, detail]) => ({
      ref,
      source,
      state,
      detail,
    }));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.state).toBe('present');
      expect(row.detail).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(rows.map((r) => r.source).sort()).toEqual([
      '/usr/share/containers/systemd/app.image',
      '/usr/share/containers/systemd/db.container',
    ]);
  });
});

describe('a root passed with Upgrade', () => {
  let staged: string;

  it('is reconciled towards and remembered', async () => {
    staged = await makeRoot(join(dir, 'staged'), [{ name: 'extra.image', image: extra.reference }]);
    const job = await upgrade(bus, '1', 'root', 's', staged);
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    expect(await storeNames(sandbox.podman)).toContain(extra.reference);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'Roots')).toBe(`as 2 "${root}" "${staged}"`);
    const state = JSON.parse(await readFile(join(dir, 'state', 'state.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(state.rememberedRoots).toEqual([staged]);
  });

  it('protects its images from GC in a later reconcile without the option', async () => {
    const job = await upgrade(bus, '0');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    expect(await getProperty(bus, job, JOB_IFACE, 'Removed')).toBe('as 0');
    expect(await storeNames(sandbox.podman)).toContain(extra.reference);
  });

  it('ListBoundImagesByRoot names the root of every entry, the remembered one included', async () => {
    const r = await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImagesByRoot');
    expect(r.signature).toBe('a(sssss)');
    const rows = (r.body[0] as string[][]).map(([rootOf, ref, source, state]) => [
      rootOf,
      ref,
      source,
      state,
    ]);
    expect(rows.sort()).toEqual(
      [
        [root, app.reference, '/usr/share/containers/systemd/app.image', 'present'],
        [root, db.reference, '/usr/share/containers/systemd/db.container', 'present'],
        [staged, extra.reference, '/usr/share/containers/systemd/extra.image', 'present'],
      ].sort(),
    );
    // The same rows as ListBoundImages, which names no root.
    const plain = await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages');
    expect((plain.body[0] as string[][]).map((row) => row.join(' ')).sort()).toEqual(
      (r.body[0] as string[][]).map((row) => row.slice(1).join(' ')).sort(),
    );
  });

  it('is forgotten once it no longer exists, and its images are then collected', async () => {
    await rm(staged, { recursive: true });
    const job = await upgrade(bus, '0');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    expect(await getProperty(bus, job, JOB_IFACE, 'Removed')).toBe(`as 1 "${extra.reference}"`);
    expect(await storeNames(sandbox.podman)).not.toContain(extra.reference);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'Roots')).toBe(`as 1 "${root}"`);
    expect(daemon.stderr()).toContain(`forgetting remembered root ${staged}: it no longer exists`);
  });
});

describe('GC and dry runs', () => {
  it('a dry run reports what it would remove and removes nothing', async () => {
    await setEntries(root, [{ name: 'app.image', image: app.reference }]);
    const job = await upgrade(bus, '1', 'dry-run', 'b', 'true');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    expect(await getProperty(bus, job, JOB_IFACE, 'Removed')).toBe(
      `as 1 "${db.reference} (dry run: would remove)"`,
    );
    expect(await storeNames(sandbox.podman)).toContain(db.reference);
  });

  it('gc=false keeps what no root binds, and says why in GcSkipped', async () => {
    const job = await upgrade(bus, '1', 'gc', 'b', 'false');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    expect(await storeNames(sandbox.podman)).toContain(db.reference);
    expect(await getProperty(bus, job, JOB_IFACE, 'GcSkipped')).not.toBe('s ""');
  });

  it('a plain Upgrade removes the image no root binds any more', async () => {
    const job = await upgrade(bus, '0');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    expect(await getProperty(bus, job, JOB_IFACE, 'Removed')).toBe(`as 1 "${db.reference}"`);
    expect(await storeNames(sandbox.podman)).toEqual([app.reference]);
  });
});

describe('job history', () => {
  it('keeps the last 16 finished jobs readable and unexports older ones', async () => {
    let last = '';
    for (let i = 0; i < 17; i++) {
      last = await upgrade(bus, '1', 'dry-run', 'b', 'true');
      await waitForJobEnd(bus, last);
    }
    const jobs = await jobPaths(bus);
    expect(jobs).toHaveLength(16);
    const lastId = Number(last.split('/').pop());
    expect(jobs.map((p) => Number(p.split('/').pop())).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => lastId - 15 + i),
    );
    const gone = await busctl(bus, [
      'get-property',
      BUS_NAME,
      '/org/bootc/BoundImages/job/1',
      JOB_IFACE,
      'State',
    ]);
    expect(gone.code).not.toBe(0);
  });
});
