// Roots that go away or cannot be read between two reconciles, against the real daemon and Podman
// store. A configured root that disappears, whose bound-images.d becomes a file or a dangling link, or
// that becomes a dangling link itself: GC is skipped and nothing is removed — not its images (what it
// binds is unknown now), not even an image no root binds. A remembered root (passed once with
// Upgrade's `root` option) that is deleted is forgotten with a notice, and its images are collected
// unless another root binds them (dbus/org.bootc.BoundImages.xml and docs/dbus-api.md, Upgrade's
// `root`: "a remembered root that disappears is forgotten") — and one that exists but cannot be read
// is kept, and GC is skipped.
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { startSandbox, type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import {
  MANAGER_IFACE,
  MANAGER_PATH,
  connectClient,
  ensureBuilt,
  getProperty,
  makeRoot,
  startDaemon,
  type BoundEntry,
  type DaemonProcess,
  upgrade,
} from './daemon-harness.js';
import { daemonAnswers, jobEnd, type JobView } from './fault-bus.js';
import { listStore, type ListedImage } from './reconcile-harness.js';

const BOUND_DIR = 'usr/lib/bootc/bound-images.d';

let sandbox: Sandbox;
let bus: PrivateBus;
let client: dbus.MessageBus;
let daemon: DaemonProcess;
let dir: string;
let rootA: string;
let rootB: string;
let images: Record<string, MadeImage>;

const ref = (name: string): string => images[name]?.reference ?? name;
const entry = (name: string): BoundEntry => ({ name: `${name}.image`, image: ref(name) });
const ENTRIES_A = ['a1', 'shared'];
const ENTRIES_B = ['b1'];
/** What each failed run said, printed at the end for docs/reliability.md. */
const said: Record<string, string> = {};

beforeAll(async () => {
  await ensureBuilt();
  sandbox = await startSandbox();
  const made = await sandbox.makeImages(
    ['a1', 'shared', 'b1', 'r1', 'r2', 'stray'].map((name) => ({ name })),
  );
  images = Object.fromEntries(made.map((m) => [m.name, m]));
  bus = await startPrivateBus();
  client = await connectClient(bus);
  dir = makeTempDir('fault-roots');
  rootA = await makeRoot(join(dir, 'a'), ENTRIES_A.map(entry));
  rootB = await makeRoot(join(dir, 'b'), ENTRIES_B.map(entry));
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [rootA, rootB],
    stateDirectory: join(dir, 'state'),
  });
  const first = await jobEnd(client, await upgrade(bus, '0'));
  expect(first.State, JSON.stringify(first)).toBe('success');
});

afterAll(async () => {
  console.log(`fault-roots results: ${JSON.stringify(said, null, 1)}`);
  client?.disconnect();
  await daemon?.stop();
  await bus?.stop();
  await sandbox?.stop();
});

/** Puts an image no root binds into the store; returns the listing with it. */
async function strayAndListing(): Promise<ListedImage[]> {
  await sandbox.podman.podman(['pull', '--quiet', '--tls-verify=false', ref('stray')]);
  return listStore(sandbox.podman);
}

/** GC skipped naming the root, nothing removed, the store as it was, the daemon answering. */
async function expectNothingRemoved(job: JobView, before: ListedImage[], root: string): Promise<void> {
  expect(job.State).toBe('failed');
  expect(job.Removed).toEqual([]);
  expect(job.GcSkipped).toBe(`root(s) could not be read: ${root}`);
  expect(await listStore(sandbox.podman)).toEqual(before);
  expect(daemon.hasExited()).toBe(false);
  expect(await daemonAnswers(bus)).toBe(true);
}

/** Root A made again as it was (also after a failed check, so the next test starts from it). */
async function restoreA(): Promise<JobView> {
  await rm(rootA, { recursive: true, force: true });
  await makeRoot(rootA, ENTRIES_A.map(entry));
  const job = await jobEnd(client, await upgrade(bus, '0'));
  expect(job.State, JSON.stringify(job)).toBe('success');
  return job;
}

/**
 * The faults of a configured root between two reconciles, each with the job's Errors entry it must
 * cause: its subject (the root itself, or the path inside the root) and message. Each one fails the
 * job with UNREADABLE_RESULT (docs/reliability.md quotes it).
 */
const UNREADABLE_RESULT = 'failed: 1 bound-image file error(s), 1 unreadable root(s)';

const CONFIGURED: { what: string; breakIt: () => Promise<void>; inRoot: string; error: RegExp }[] = [
  {
    what: 'the root disappears',
    breakIt: () => rm(rootA, { recursive: true }),
    inRoot: '',
    error: /root does not exist/,
  },
  {
    what: 'its bound-images.d is replaced by a file',
    breakIt: async () => {
      await rm(join(rootA, BOUND_DIR), { recursive: true });
      await writeFile(join(rootA, BOUND_DIR), 'not a directory\n');
    },
    inRoot: `/${BOUND_DIR}`,
    error: /is a regular file, not a directory/,
  },
  {
    what: 'the root becomes a dangling symlink',
    breakIt: async () => {
      await rename(rootA, `${rootA}.moved`);
      await symlink(join(dir, 'nowhere'), rootA);
      await rm(`${rootA}.moved`, { recursive: true });
    },
    inRoot: '',
    error: /root does not exist/,
  },
  {
    what: 'its bound-images.d becomes a dangling symlink',
    breakIt: async () => {
      await rm(join(rootA, BOUND_DIR), { recursive: true });
      await symlink('/usr/lib/bootc/bound-images.d.gone', join(rootA, BOUND_DIR));
    },
    inRoot: `/${BOUND_DIR}`,
    error: /dangling symbolic link/,
  },
];

describe('a configured root that disappears or cannot be read between two reconciles', () => {
  for (const c of CONFIGURED) {
    it(`${c.what}: GC skipped, nothing removed; restored, the next Upgrade succeeds`, async () => {
      const before = await strayAndListing();
      let restored = false;
      try {
        await c.breakIt();
        const job = await jobEnd(client, await upgrade(bus, '0'));
        said[c.what] = `${job.Result} | ${JSON.stringify(job.Errors)} | GcSkipped: ${job.GcSkipped}`;
        expect(job.Result, JSON.stringify(job)).toBe(UNREADABLE_RESULT);
        // The job and the journal line both name the root (or the path inside it) on the host.
        const error = job.Errors.find(([subject]) => subject === `${rootA}${c.inRoot}`);
        expect(error?.[1], JSON.stringify(job)).toMatch(c.error);
        const line = daemon
          .stderr()
          .split('\n')
          .findLast((l) => l.startsWith(`<4>${rootA}${c.inRoot}: `));
        expect(line).toMatch(c.error);
        // a1 and shared: bound by root A only, which can no longer be read; stray: bound by nobody.
        await expectNothingRemoved(job, before, rootA);
        restored = true;
        const next = await restoreA();
        expect(next.Removed).toEqual([ref('stray')]);
      } finally {
        if (!restored) await restoreA();
      }
    });
  }
});

describe('a remembered root (passed with Upgrade root=…)', () => {
  let staged: string;

  it('that is deleted is forgotten with a notice; its images are collected unless another root binds them', async () => {
    staged = await makeRoot(join(dir, 'staged'), [entry('r1'), entry('shared')]);
    const first = await jobEnd(client, await upgrade(bus, '1', 'root', 's', staged));
    expect(first.State, JSON.stringify(first)).toBe('success');
    expect(first.Pulled).toEqual([ref('r1')]);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'Roots')).toBe(
      `as 3 "${rootA}" "${rootB}" "${staged}"`,
    );

    await rm(staged, { recursive: true });
    const job = await jobEnd(client, await upgrade(bus, '0'));
    expect(job.State, JSON.stringify(job)).toBe('success');
    // r1 was bound by the deleted root only; shared is still bound by root A and stays.
    expect(job.Removed).toEqual([ref('r1')]);
    const names = (await listStore(sandbox.podman)).flatMap((i) => i.names);
    expect(names).toContain(ref('shared'));
    expect(names).not.toContain(ref('r1'));
    expect(daemon.stderr()).toMatch(
      new RegExp(`^<5>forgetting remembered root ${staged}: it no longer exists`, 'm'),
    );
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'Roots')).toBe(`as 2 "${rootA}" "${rootB}"`);
  });

  it('that exists but cannot be read is kept, and the run skips GC', async () => {
    staged = await makeRoot(join(dir, 'staged2'), [entry('r2')]);
    const first = await jobEnd(client, await upgrade(bus, '1', 'root', 's', staged));
    expect(first.State, JSON.stringify(first)).toBe('success');
    const before = await strayAndListing();
    await rm(join(staged, BOUND_DIR), { recursive: true });
    await writeFile(join(staged, BOUND_DIR), 'not a directory\n');

    const job = await jobEnd(client, await upgrade(bus, '0'));
    await expectNothingRemoved(job, before, staged);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'Roots')).toBe(
      `as 3 "${rootA}" "${rootB}" "${staged}"`,
    );
    expect(daemon.stderr()).not.toContain(`forgetting remembered root ${staged}`);

    // Readable again: the next Upgrade succeeds, r2 still protected, the stray image collected.
    await rm(join(staged, BOUND_DIR));
    await mkdir(join(staged, BOUND_DIR));
    await symlink('/usr/share/containers/systemd/r2.image', join(staged, BOUND_DIR, 'r2.image'));
    const again = await jobEnd(client, await upgrade(bus, '0'));
    expect(again.State, JSON.stringify(again)).toBe('success');
    expect(again.Removed).toEqual([ref('stray')]);
    expect((await listStore(sandbox.podman)).flatMap((i) => i.names)).toContain(ref('r2'));
  });
});
