// Registry faults against the real daemon, Podman, dbus-daemon and docker-registry: the registry
// killed in the middle of a layer transfer, answering 500 (for good, and for a while), answering 429,
// and hanging (accepts, never answers). Each run must end in a failed job naming every image it could
// not pull with a reason, after the configured number of attempts (counted on the registry side) and
// within the configured per-attempt timeout; GC must be skipped (an image no root binds, placed in the
// store beforehand, stays), the store must list exactly what it listed before, and the daemon must
// still own its name and answer. Once the fault is gone, the next Upgrade succeeds.
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { startSandbox, type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import { waitUntil } from '../../scripts/harness/proc.js';
import {
  connectClient,
  ensureBuilt,
  makeRoot,
  setEntries,
  startDaemon,
  type BoundEntry,
  type DaemonProcess,
  upgrade,
} from './daemon-harness.js';
import { daemonAnswers, jobEnd, jobView, type JobView } from './fault-bus.js';
import { startRegistryFront, type RegistryFront } from './fault-harness.js';
import { listStore, type ListedImage } from './reconcile-harness.js';

/** [pull] timeout (s) and retries of the daemon under test. */
const TIMEOUT_S = 3;
const RETRIES = 2;
const ATTEMPTS = RETRIES + 1;
/**
 * The timeout of the killed-registry and 429 cases. Podman 4.3 retries those failures itself within
 * one pull (a dropped connection: 3 more pings 1 s apart; a 429 with `Retry-After: 1`: 4 more GETs
 * 1 s apart), so an attempt needs ~4 s to end with Podman's reason instead of our timeout.
 */
const LONG_TIMEOUT_S = 10;
/** Manifest GETs of one Podman pull answered 429 with `Retry-After: 1` (Podman 4.3: 1 + 4 retries). */
const PODMAN_TRIES_429 = 5;

let sandbox: Sandbox;
let front: RegistryFront;
let bus: PrivateBus;
let client: dbus.MessageBus;
let daemon: DaemonProcess;
let dir: string;
let root: string;
let images: Record<string, MadeImage>;
let pass: { pass: string };

/** The reference of test image `name` as pulled through the front. */
const ref = (name: string): string => `${front.host}/${name}:${images[name]?.tag ?? 'latest'}`;
const entry = (name: string): BoundEntry => ({ name: `${name}.image`, image: ref(name) });

/** Figures for docs/reliability.md, printed at the end. */
const figures: Record<string, Record<string, number>> = {};

beforeAll(async () => {
  await ensureBuilt();
  front = await startRegistryFront('hang');
  sandbox = await startSandbox({ insecureRegistries: [front.host] });
  pass = { pass: sandbox.registry.host };
  front.setMode(pass);
  const specs = [
    { name: 'base' },
    { name: 'stray' },
    { name: 'big', size: 3 * 1024 * 1024 },
    { name: 'err-a' },
    { name: 'err-b' },
    { name: 'flaky' },
    { name: 'limited' },
    { name: 'hang-a' },
    { name: 'hang-b' },
  ];
  const made = await sandbox.makeImages(specs);
  images = Object.fromEntries(made.map((m) => [m.name, m]));
  bus = await startPrivateBus();
  client = await connectClient(bus);
  dir = makeTempDir('fault-registry');
  root = await makeRoot(join(dir, 'root'), [entry('base')]);
  await restartDaemon(LONG_TIMEOUT_S);
  const first = await jobEnd(client, await upgrade(bus, '0'));
  expect(first.State, JSON.stringify(first)).toBe('success');
});

afterAll(async () => {
  console.log(`fault-registry figures: ${JSON.stringify(figures)}`);
  client?.disconnect();
  await daemon?.stop();
  await bus?.stop();
  await front?.stop();
  await sandbox?.stop();
});

/** (Re)starts the daemon with `[pull] timeout = timeoutS`. */
async function restartDaemon(timeoutS: number): Promise<void> {
  await daemon?.stop();
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
    retries: RETRIES,
    extra: `[pull]\ntimeout = ${timeoutS}`,
  });
}

/**
 * Puts an image no root binds into the store (GC would remove it) with the podman CLI, straight from
 * the registry, and returns the store's listing.
 */
async function strayAndListing(): Promise<ListedImage[]> {
  await sandbox.podman.podman(['pull', '--quiet', '--tls-verify=false', images.stray?.reference ?? '']);
  const listing = await listStore(sandbox.podman);
  expect(listing.flatMap((i) => i.names)).toContain(images.stray?.reference);
  return listing;
}

/** What every fault must leave: GC skipped, the store as it was, the daemon on the bus. */
async function expectNothingLost(job: JobView, before: ListedImage[]): Promise<void> {
  expect(job.Removed).toEqual([]);
  expect(job.GcSkipped).toMatch(/pull\(s\) failed/);
  expect(await listStore(sandbox.podman)).toEqual(before);
  expect(daemon.hasExited()).toBe(false);
  expect(await daemonAnswers(bus)).toBe(true);
}

/** The job's error for `reference`, which must exist. */
function errorOf(job: JobView, reference: string): string {
  const found = job.Errors.find(([subject]) => subject === reference);
  expect(found, `no error naming ${reference} in ${JSON.stringify(job.Errors)}`).toBeDefined();
  return found?.[1] ?? '';
}

/** Manifest GETs of one repository through the front, since request index `from`. */
function manifestGetsOf(name: string, from: number): number {
  return front.manifestGets(from).filter((r) => r.path.startsWith(`/v2/${name}/manifests/`)).length;
}

/** After the fault: the next Upgrade succeeds and pulls what the failed one could not. */
async function expectRecovery(pulled: string[]): Promise<void> {
  const job = await jobEnd(client, await upgrade(bus, '0'));
  expect(job.State, JSON.stringify(job)).toBe('success');
  expect([...job.Pulled].sort()).toEqual([...pulled].sort());
  // GC ran again: the image no root binds is gone now.
  expect(job.Removed).toEqual([images.stray?.reference]);
  const names = (await listStore(sandbox.podman)).flatMap((i) => i.names);
  for (const p of pulled) expect(names).toContain(p);
}

describe('the registry killed in the middle of a pull', () => {
  it('fails the job naming the image, skips GC, keeps the store; the next Upgrade succeeds', async () => {
    const before = await strayAndListing();
    await setEntries(root, [entry('base'), entry('big')]);
    front.setMode({ ...pass, bytesPerSecond: 400 * 1024 });
    const bytesBefore = front.bytesForwarded;
    const started = Date.now();
    const path = await upgrade(bus, '0');
    // The layer is flowing (and far from complete) when the registry process is killed.
    await waitUntil('bytes of the big layer through the front', async () => {
      const flowed = front.bytesForwarded - bytesBefore;
      return Promise.resolve(flowed > 256 * 1024);
    });
    const during = await jobView(client, path);
    expect(during.State).toBe('running');
    expect(during.Phase).toBe('pull');
    await sandbox.registry.down();
    front.dropInFlight();
    const killedAt = Date.now() - started;
    const flowed = front.bytesForwarded - bytesBefore;
    expect(flowed).toBeLessThan(3 * 1024 * 1024);
    const mark = front.requests.length;
    let job: JobView;
    try {
      job = await jobEnd(client, path);
    } finally {
      await sandbox.registry.up();
      front.setMode(pass);
    }
    figures.killMidPull = {
      timeoutS: LONG_TIMEOUT_S,
      killedAfterMs: killedAt,
      bytesBeforeKill: flowed,
      failedAfterMs: Date.now() - started,
      pingsAfterKill: front.requests.slice(mark).filter((r) => r.path === '/v2/').length,
    };
    expect(job.State).toBe('failed');
    expect(job.Result).toBe('failed: 1 pull(s) failed');
    // The reason is the last attempt's: the registry no longer answers.
    expect(errorOf(job, ref('big'))).toMatch(new RegExp(`pinging container registry ${front.host}: .*EOF`));
    // Retries as configured: the cut transfer, then two attempts that find no registry.
    const lines = daemon.stderr().split('\n');
    const attempt = (n: number) =>
      lines.find((l) => l.startsWith(`<4>pull of ${ref('big')} failed (attempt ${n}), retrying`));
    expect(attempt(1)).toMatch(/unexpected EOF/);
    expect(attempt(2)).toMatch(/pinging container registry/);
    expect(lines.find((l) => l.startsWith(`<3>pull of ${ref('big')} failed:`))).toMatch(/ attempts=3 /);
    // Seen from the registry's side: each later attempt reached for it (Podman pings it up to 4 times).
    expect(figures.killMidPull.pingsAfterKill).toBeGreaterThanOrEqual(RETRIES);
    await expectNothingLost(job, before);

    await expectRecovery([ref('big')]);
  });
});

describe('the registry answering 429', () => {
  it('retries as configured, fails naming the image, skips GC, keeps the store; then recovery', async () => {
    const before = await strayAndListing();
    await setEntries(root, ['base', 'big', 'limited'].map(entry));
    const mark = front.requests.length;
    front.setMode({ status: 429, headers: { 'retry-after': '1' } });
    const started = Date.now();
    let job: JobView;
    try {
      job = await jobEnd(client, await upgrade(bus, '0'));
    } finally {
      front.setMode(pass);
    }
    figures.status429 = {
      timeoutS: LONG_TIMEOUT_S,
      failedAfterMs: Date.now() - started,
      manifestGets: manifestGetsOf('limited', mark),
    };
    expect(job.State).toBe('failed');
    expect(job.Result).toBe('failed: 1 pull(s) failed');
    expect(errorOf(job, ref('limited'))).toMatch(/429|too ?many ?requests/i);
    // Each of our attempts is one Podman pull, which asks 1 + 4 times (Podman 4.3's own retries).
    expect(manifestGetsOf('limited', mark)).toBe(ATTEMPTS * PODMAN_TRIES_429);
    // The daemon's side: RETRIES retries logged, then the failure.
    const lines = daemon.stderr().split('\n');
    expect(lines.filter((l) => l.includes(`pull of ${ref('limited')} failed (attempt`))).toHaveLength(
      RETRIES,
    );
    await expectNothingLost(job, before);

    await expectRecovery([ref('limited')]);
  });
});

describe('the registry answering 500', () => {
  it('for good: every image named with the status after the configured attempts; then recovery', async () => {
    const before = await strayAndListing();
    // From here on, an attempt that gets no answer ends after TIMEOUT_S.
    await restartDaemon(TIMEOUT_S);
    await setEntries(root, ['base', 'big', 'limited', 'err-a', 'err-b'].map(entry));
    const mark = front.requests.length;
    front.setMode({ status: 500, body: 'internal error (injected)' });
    const started = Date.now();
    let job: JobView;
    try {
      job = await jobEnd(client, await upgrade(bus, '0'));
    } finally {
      front.setMode(pass);
    }
    expect(job.State).toBe('failed');
    expect(job.Result).toBe('failed: 2 pull(s) failed');
    for (const name of ['err-a', 'err-b']) {
      expect(errorOf(job, ref(name))).toMatch(/received unexpected HTTP status: 500 Internal Server Error/);
      // Retries as configured, seen from the registry's side: one manifest GET per attempt.
      expect(manifestGetsOf(name, mark)).toBe(ATTEMPTS);
    }
    figures.status500 = {
      failedAfterMs: Date.now() - started,
      manifestGetsPerImage: manifestGetsOf('err-a', mark),
    };
    await expectNothingLost(job, before);

    await expectRecovery([ref('err-a'), ref('err-b')]);
  });

  it('for a while: the retry after the 500 pulls the image, the job succeeds', async () => {
    await setEntries(root, ['base', 'big', 'limited', 'err-a', 'err-b', 'flaky'].map(entry));
    const mark = front.requests.length;
    front.setMode({ status: 500, times: 1, then: pass });
    const job = await jobEnd(client, await upgrade(bus, '0'));
    expect(job.State, JSON.stringify(job)).toBe('success');
    expect(job.Pulled).toEqual([ref('flaky')]);
    expect(manifestGetsOf('flaky', mark)).toBe(2);
    expect(daemon.stderr()).toMatch(new RegExp(`pull of ${ref('flaky')} failed \\(attempt 1\\), retrying`));
  });
});

describe('the registry hanging (accepts, never answers)', () => {
  it('each attempt ends at the timeout, attempts as configured, the job fails; then recovery', async () => {
    const before = await strayAndListing();
    const all = ['base', 'big', 'limited', 'err-a', 'err-b', 'flaky', 'hang-a', 'hang-b'];
    await setEntries(root, all.map(entry));
    const mark = front.requests.length;
    front.setMode('hang');
    const started = Date.now();
    let job: JobView;
    try {
      job = await jobEnd(client, await upgrade(bus, '0'));
    } finally {
      front.setMode(pass);
    }
    const elapsed = Date.now() - started;
    figures.hang = {
      timeoutS: TIMEOUT_S,
      retries: RETRIES,
      failedAfterMs: elapsed,
      manifestGetsPerImage: manifestGetsOf('hang-a', mark),
    };
    expect(job.State).toBe('failed');
    expect(job.Result).toBe('failed: 2 pull(s) failed');
    for (const name of ['hang-a', 'hang-b']) {
      expect(errorOf(job, ref(name))).toBe(`pull of ${ref(name)} timed out after ${TIMEOUT_S} s`);
      expect(manifestGetsOf(name, mark)).toBe(ATTEMPTS);
    }
    // Bounded: the attempts of both images run side by side (concurrency 2), each cut at the timeout.
    expect(elapsed).toBeGreaterThanOrEqual(ATTEMPTS * TIMEOUT_S * 1000);
    expect(elapsed).toBeLessThan(ATTEMPTS * TIMEOUT_S * 1000 + 5000);
    await expectNothingLost(job, before);

    await expectRecovery([ref('hang-a'), ref('hang-b')]);
  });
});
