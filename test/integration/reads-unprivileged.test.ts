// Cheap reads for everyone: any local user may call ListBoundImages, so what one unprivileged caller
// can make the root daemon spend is bounded. Against the real daemon, Podman service, registry and a
// private dbus-daemon: 200 concurrent ListBoundImages by UID 65534 over 10 connections, with a root
// binding 60 entries. Every call gets the same, complete answer; the daemon spends one computation's
// worth of CPU on them (bound: 2 s; one computation per call took 5–8 s here), and its memory does not
// balloon (bound: 60 MB more than before; one computation per call took it from 88 to 209 MB). A
// change to the root is seen once a job has run (jobs invalidate the kept answer) or after a second.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBurst, processCpuMs, processMemMb, resetPeakMemory } from '../../scripts/harness/read-burst.js';
import {
  BUS_NAME,
  MANAGER_IFACE,
  MANAGER_PATH,
  busctl,
  setEntries,
  upgrade,
  waitForJobEnd,
  type BoundEntry,
} from './daemon-harness.js';
import { startUpgradeFixture, type UpgradeFixture } from './upgrade-fixture.js';

const ENTRIES = 60;
let fixture: UpgradeFixture;
let entries: BoundEntry[];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listAsNobody(): Promise<string> {
  const r = await busctl(bus(), ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages'], {
    uid: 65534,
  });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}
const bus = () => fixture.bus;

beforeAll(async () => {
  fixture = await startUpgradeFixture('reads');
  entries = Array.from({ length: ENTRIES }, (_, i) => ({
    name: `e${i}.image`,
    image: i % 2 ? fixture.app.reference : fixture.db.reference,
  }));
  await setEntries(fixture.root, entries);
  expect(await waitForJobEnd(bus(), await upgrade(bus(), '0'))).toBe('s "success"');
}, 180_000);

afterAll(async () => {
  await fixture?.stop();
});

describe('ListBoundImages by an unprivileged caller', () => {
  it('200 concurrent calls: one answer for all, bounded CPU and memory in the daemon', async () => {
    const pid = fixture.daemon.pid;
    await listAsNobody(); // warm: modules loaded, store listing kept
    await sleep(1100);
    resetPeakMemory(pid);
    const rssBefore = processMemMb(pid, 'VmRSS');
    const cpuBefore = processCpuMs(pid);
    const r = await listBurst(bus(), { calls: 200, connections: 10 });
    const cpu = processCpuMs(pid) - cpuBefore;
    const peak = processMemMb(pid, 'VmHWM');
    console.log(
      `[reads] 200 calls: wall ${r.wall.toFixed(0)} ms, p50 ${r.p50.toFixed(0)} ms, max ${r.max.toFixed(0)} ms; ` +
        `daemon CPU ${cpu.toFixed(0)} ms, RSS ${rssBefore.toFixed(1)} -> peak ${peak.toFixed(1)} MB`,
    );
    expect(r.errors).toEqual([]);
    expect(r.rows).toBe(ENTRIES);
    expect(r.distinctAnswers).toBe(1);
    expect(cpu).toBeLessThan(2000);
    expect(peak - rssBefore).toBeLessThan(60);
  });

  it('a changed root shows after a job ran, or once the kept answer is a second old', async () => {
    const first = await listAsNobody();
    expect(first).toContain(`a(ssss) ${ENTRIES} `);
    // A job invalidates the kept answer: the next call sees the new entry at once.
    await setEntries(fixture.root, [...entries, { name: 'new.image', image: fixture.app.reference }]);
    expect(await waitForJobEnd(bus(), await upgrade(bus(), '0'))).toBe('s "success"');
    expect(await listAsNobody()).toContain(`a(ssss) ${ENTRIES + 1} `);
    // Without a job: seen after at most a second.
    await setEntries(fixture.root, entries);
    await sleep(1100);
    const after = await listAsNobody();
    expect(after).toContain(`a(ssss) ${ENTRIES} `);
    expect(after).not.toContain(join('/usr/share/containers/systemd', 'new.image'));
  });
});
