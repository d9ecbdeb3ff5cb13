// The store's disk full: the Podman store on a 20 MiB tmpfs, a bound image bigger than that. The job
// must fail clearly (the error names the image and says the device has no space left), the daemon
// must stay up, GC must be skipped (an image no root binds stays), and the store must list what it
// listed before. With room again (the tmpfs grown in place), the next Upgrade succeeds.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { makeImages, startRegistry, type MadeImage, type Registry } from '../../scripts/harness/index.js';
import {
  connectClient,
  ensureBuilt,
  makeRoot,
  setEntries,
  startDaemon,
  type DaemonProcess,
  upgrade,
} from './daemon-harness.js';
import { daemonAnswers, jobEnd } from './fault-bus.js';
import { startRestartablePodman, type RestartablePodman } from './fault-harness.js';
import { listStore } from './reconcile-harness.js';

const STORE_MIB = 20;
const HUGE_BYTES = 28 * 1024 * 1024;

let registry: Registry;
let podman: RestartablePodman;
let bus: PrivateBus;
let client: dbus.MessageBus;
let daemon: DaemonProcess;
let dir: string;
let root: string;
let app: MadeImage;
let stray: MadeImage;
let huge: MadeImage;
const figures: Record<string, number | string> = {};

beforeAll(async () => {
  await ensureBuilt();
  registry = await startRegistry();
  [app, stray, huge] = (await makeImages(registry, [
    { name: 'app' },
    { name: 'stray' },
    { name: 'huge', size: HUGE_BYTES },
  ])) as [MadeImage, MadeImage, MadeImage];
  podman = await startRestartablePodman({ insecureRegistries: [registry.host], tmpfsStoreMiB: STORE_MIB });
  bus = await startPrivateBus();
  client = await connectClient(bus);
  dir = makeTempDir('fault-disk');
  root = await makeRoot(join(dir, 'root'), [{ name: 'app.image', image: app.reference }]);
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: podman.storePath,
    podmanSocket: podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
    retries: 2,
    extra: '[pull]\ntimeout = 30',
  });
  expect((await jobEnd(client, await upgrade(bus, '0'))).State).toBe('success');
  await podman.podman(['pull', '--quiet', '--tls-verify=false', stray.reference]);
});

afterAll(async () => {
  console.log(`fault-disk-full figures: ${JSON.stringify(figures)}`);
  client?.disconnect();
  await daemon?.stop();
  await bus?.stop();
  await podman?.stop();
  await registry?.stop();
});

describe(`a bound image bigger than the store's ${STORE_MIB} MiB disk`, () => {
  it('fails the job clearly (no space left), keeps the daemon up, skips GC, keeps the store', async () => {
    const before = await listStore(podman);
    expect(before.flatMap((i) => i.names).sort()).toEqual([app.reference, stray.reference].sort());
    await setEntries(root, [
      { name: 'app.image', image: app.reference },
      { name: 'huge.image', image: huge.reference },
    ]);
    const started = Date.now();
    const job = await jobEnd(client, await upgrade(bus, '0'));
    figures.failedAfterMs = Date.now() - started;

    expect(job.State).toBe('failed');
    expect(job.Result).toBe('failed: 1 pull(s) failed');
    const error = job.Errors.find(([subject]) => subject === huge.reference)?.[1] ?? '';
    figures.error = error;
    expect(error).toMatch(/no space left on device/);
    // A full disk is not transient: one attempt, no retry.
    expect(daemon.stderr()).not.toContain(`pull of ${huge.reference} failed (attempt`);
    expect(daemon.stderr()).toMatch(/ attempts=1 error=".*no space left on device/);
    expect(job.Removed).toEqual([]);
    expect(job.GcSkipped).toBe('1 pull(s) failed');
    expect(await listStore(podman)).toEqual(before);
    expect(daemon.hasExited()).toBe(false);
    expect(await daemonAnswers(bus)).toBe(true);
  });

  it('with room again, the next Upgrade succeeds', async () => {
    execFileSync('mount', ['-o', 'remount,size=128m', podman.storePath]);
    const job = await jobEnd(client, await upgrade(bus, '0'));
    expect(job.State, JSON.stringify(job)).toBe('success');
    expect(job.Pulled).toEqual([huge.reference]);
    expect(job.Removed).toEqual([stray.reference]);
    await podman.podman(['image', 'inspect', huge.reference]);
    expect(await daemonAnswers(bus)).toBe(true);
  });
});
