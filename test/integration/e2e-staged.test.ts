// End to end in a real systemd (nspawn) with real logind and a real ostree, on the rig of
// staged-harness.ts: `ostree admin deploy --stage` on the host side writes the very marker the
// container's bound-imaged-staged.path watches, and `ostree admin finalize-staged` reads the very lock
// the daemon writes; the registry sits behind a proxy that can hold manifest requests (a pull in flight
// for as long as the test likes) and can be taken down. The daemon never idles out here; a retry
// handed to systemd across an idle exit is e2e-staged-idle.test.ts.
//  1. staging with the registry down → the path unit starts a reconcile, the daemon takes ostree's
//     finalization lock, finalize-staged keeps the current deployment; journal and status say why;
//  2. the daemon restarted keeps owning the same lock; registry back (slowly) → the next retry pulls,
//     holding a logind delay inhibitor (`systemd-inhibit --list`) while it does, then releases the
//     lock, and finalize-staged now switches to the staged deployment;
//  3. an operator's lock (`--lock-finalization`, present before) is never removed, even once every
//     image is there; removing it by hand lets the deployment through;
//  4. our lock whose staged deployment went away (undeployed) or was replaced (a new one staged over
//     it) is handled: dropped, or moved to the new deployment, and released once its images arrive;
//  5. `systemctl reboot` while the staged deployment's pull is in flight: logind waits for our delay
//     inhibitor (RebootDelayed in the journal), the pull ends, the lock is released, then the container
//     goes down (read from its persistent journal afterwards).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_BUSCTL } from '../../scripts/harness/machine-daemon.js';
import { run } from '../../scripts/harness/proc.js';
import type { NspawnMachine } from '../../scripts/harness/nspawn.js';
import { sleep } from '../../scripts/harness/nspawn.js';
import type { OstreeSysroot } from '../../scripts/harness/ostree-sysroot.js';
import type { Registry } from '../../scripts/harness/registry.js';
import { MessageId } from '../../src/systemd/message-ids.js';
import type { SlowProxy } from './reconcile-slow-proxy.js';
import { startStagedRig, waitFor, type StagedJournalEntry, type StagedRig } from './staged-harness.js';

let rig: StagedRig;
let registry: Registry;
let proxy: SlowProxy;
let os: OstreeSysroot;
let machine: NspawnMachine;
let journalDir: string;
/** Per image name, its reference through the proxy. */
let ref: Record<string, string>;
const timings: Record<string, number> = {};

const markerFile = (): string => rig.markerFile();
const lockText = (): string | null => rig.lockText();
const entries = (id: string): Promise<StagedJournalEntry[]> => rig.entries(id);
const storeHas = (reference: string): Promise<boolean> => rig.storeHas(reference);
const stagedId = (): Promise<string> => rig.stagedId();

async function inhibitors(): Promise<string> {
  return machine.check(['systemd-inhibit', '--list', '--no-pager', '--no-legend']);
}

beforeAll(async () => {
  const t0 = Date.now();
  rig = await startStagedRig({
    images: [
      { name: 'app', size: 4096 },
      { name: 'web', size: 2048 },
      { name: 'extra', size: 1024 },
      { name: 'late', size: 1024 },
    ],
    commits: {
      'os/app': ['app'],
      'os/web': ['web'],
      'os/extra': ['extra'],
      'os/extra2': ['extra', 'app'],
      'os/late': ['late'],
    },
    retryDelayS: 2,
    retryMaxDelayS: 4,
  });
  ({ registry, proxy, os, machine, journalDir, ref } = rig);
  timings.boot = rig.bootMs;
  timings.setup = Date.now() - t0;
});

afterAll(async () => {
  await rig?.stop();
  console.log(`e2e-staged timings (ms): ${JSON.stringify(timings)}`);
});

describe('a staged deployment never boots without its bound images (nspawn, real ostree)', () => {
  it('1. staged with the registry down: the lock is taken, finalize-staged keeps the current deployment, the journal says why', async () => {
    await registry.down();
    const entriesBefore = os.bootEntries();
    const t = Date.now();
    await os.stage('os/app');
    const id = await stagedId();
    const text = await waitFor('our lock file', () => lockText() ?? undefined, 30_000);
    timings.stageToLock = Date.now() - t;
    expect(text).toMatch(new RegExp(`^bound-imaged token=[0-9a-f]{32} deployment=${id}\\n$`));

    const taken = await waitFor(
      'the StagedLockTaken entry',
      async () => (await entries(MessageId.StagedLockTaken))[0],
    );
    expect(taken.DEPLOYMENT).toBe(id);
    expect(taken.MISSING).toBe(ref.app);
    expect(taken.MESSAGE).toContain(`1 of 1 bound image missing: ${ref.app}`);
    // The path unit started the reconcile; its pull failed, and so did the unit that waited for it.
    await waitFor('bound-imaged-staged.service to fail', async () => {
      const r = await machine.exec(['systemctl', 'is-failed', 'bound-imaged-staged.service']);
      return r.stdout.trim() === 'failed' ? true : undefined;
    });

    const held = await os.finalize();
    expect(held.code).toBe(0);
    expect(existsSync(markerFile())).toBe(true);
    expect(os.bootEntries()).toEqual(entriesBefore);

    // What the operator reads: the manager property and `bound-images status` (as any user).
    const prop = (await machine.busJson(['get-property', ...MANAGER_BUSCTL, 'StagedDeployment'])) as Record<
      string,
      { data: unknown }
    >;
    expect(prop.Deployment?.data).toBe(id);
    expect(prop.Root?.data).toBe(`/sysroot/ostree/deploy/${id.replace('/', '/deploy/')}`);
    expect(prop.FinalizationLock?.data).toBe('held');
    expect(prop.Missing?.data).toEqual([ref.app]);
    expect(prop.Complete?.data).toBe(false);
    const status = await machine.check(['bound-images', 'status'], { user: 'nobody' });
    expect(status).toContain(`Staged:         ${id}, 0/1 bound image present\n`);
    expect(status).toMatch(
      new RegExp(
        `Finalization: +locked by bound-imaged: 1 of 1 bound image missing: ${ref.app?.replace(/[.]/g, '\\.')} \\(retry \\d+ in \\d+ s\\)`,
      ),
    );
  });

  it('2. a restarted daemon keeps the same lock; registry back, the next retry pulls under a delay inhibitor and releases it', async () => {
    const id = await stagedId();
    const before = lockText();
    await machine.check(['systemctl', 'restart', 'bound-imaged.service']);
    await sleep(1000);
    expect(lockText()).toBe(before);
    expect(await entries(MessageId.StagedLockTaken)).toHaveLength(1);

    proxy.holdManifests = true;
    proxy.log.length = 0;
    const t = Date.now();
    await registry.up();
    await proxy.waitForManifests(1, 30_000);
    timings.upToRetry = Date.now() - t;
    const list = await waitFor('our inhibitor in systemd-inhibit --list', async () => {
      const l = await inhibitors();
      return l.includes('bound-imaged') ? l : undefined;
    });
    const line = list.split('\n').find((l) => l.includes('bound-imaged')) ?? '';
    expect(line).toMatch(/shutdown/);
    expect(line).toMatch(/delay/);
    expect(line).toContain(id);
    expect(lockText()).toBe(before);

    proxy.holdManifests = false;
    proxy.release();
    await waitFor('the lock released', () => (lockText() === null ? true : undefined), 30_000);
    timings.upToRelease = Date.now() - t;
    expect(await storeHas(ref.app ?? '')).toBe(true);
    const released = await waitFor(
      'the StagedLockReleased entry',
      async () => (await entries(MessageId.StagedLockReleased))[0],
    );
    expect(released.DEPLOYMENT).toBe(id);
    expect(released.REASON).toContain('all 1 bound image of');
    await waitFor('the inhibitor gone', async () =>
      (await inhibitors()).includes('bound-imaged') ? undefined : true,
    );

    const entriesBefore = os.bootEntries();
    expect((await os.finalize()).code).toBe(0);
    expect(existsSync(markerFile())).toBe(false);
    expect(os.bootEntries().length).toBe(entriesBefore.length + 1);
  });

  it("3. an operator's lock, there before, is never removed; removing it by hand lets the deployment through", async () => {
    const takenBefore = (await entries(MessageId.StagedLockTaken)).length;
    // PropertiesChanged of the manager while this deployment is staged and judged.
    const monitor = machine.exec([
      'timeout',
      '6',
      'busctl',
      'monitor',
      '--json=short',
      "--match=type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path='/org/bootc/BoundImages'",
    ]);
    await sleep(500);
    await os.stage('os/web', { lockFinalization: true });
    const id = await stagedId();
    const changes = (await monitor).stdout
      .split('\n')
      .filter((l) => l.includes('StagedDeployment'))
      .join('\n');
    expect(changes).toContain(id);
    expect(changes).toContain('"FinalizationLock":{"type":"s","data":"other"}');
    expect(lockText()).toBe('');
    await waitFor('web pulled', async () => ((await storeHas(ref.web ?? '')) ? true : undefined));
    const notOurs = await waitFor('the StagedLockNotOurs entry', async () =>
      (await entries(MessageId.StagedLockNotOurs)).find((e) => e.DEPLOYMENT === id),
    );
    expect(notOurs.REASON).toContain('not ours');
    await sleep(1500);
    expect(lockText()).toBe('');
    expect(await entries(MessageId.StagedLockTaken)).toHaveLength(takenBefore);
    expect((await os.finalize()).code).toBe(0);
    expect(existsSync(markerFile())).toBe(true);

    // The operator's override: remove the lock, and the staged deployment is finalized.
    await machine.check(['rm', '/run/ostree/staged-deployment-locked']);
    expect((await os.finalize()).code).toBe(0);
    expect(existsSync(markerFile())).toBe(false);
  });

  it('4. our lock whose deployment is undeployed is dropped; one whose deployment is replaced moves to the new one', async () => {
    await registry.down();
    await os.stage('os/extra');
    const first = await stagedId();
    await waitFor('our lock for the first', () => (lockText()?.includes(first) ? true : undefined), 30_000);
    await os.undeploy(0);
    expect(existsSync(markerFile())).toBe(false);
    // ostree 2022.7 removes the lock with the staged deployment; the daemon forgets its record.
    await waitFor('the daemon to see nothing staged', async () => {
      const s = JSON.parse(await machine.check(['cat', '/var/lib/bound-imaged/state.json'])) as {
        staged: unknown;
      };
      return s.staged === null ? true : undefined;
    });
    expect(lockText()).toBeNull();

    await os.stage('os/extra');
    const second = await stagedId();
    await waitFor('our lock for the second', () => (lockText()?.includes(second) ? true : undefined), 30_000);
    await os.stage('os/extra2');
    const third = await stagedId();
    // 2022.7 keeps the lock file across a restage: ours, for `second`, moves to `third`.
    await waitFor(
      'our lock moved to the third',
      () => (lockText()?.includes(third) ? true : undefined),
      30_000,
    );
    const released = await waitFor('the release of the replaced one', async () =>
      (await entries(MessageId.StagedLockReleased)).find((e) => e.DEPLOYMENT === second),
    );
    // ostree rewrites the marker in place; should a refresh fall between its steps, the same lock is
    // released as "no longer staged" and taken again for the new one a moment later.
    expect(released.REASON).toMatch(new RegExp(`was replaced by ${third}|is no longer staged`));
    expect(lockText()).toContain(`deployment=${third}`);

    await registry.up();
    await waitFor(
      'the lock released after the retry pulled',
      () => (lockText() === null ? true : undefined),
      30_000,
    );
    expect(await storeHas(ref.extra ?? '')).toBe(true);
    expect((await os.finalize()).code).toBe(0);
    expect(existsSync(markerFile())).toBe(false);
  });

  it('5. a reboot issued mid-pull waits for the pull (RebootDelayed), which completes and releases the lock first', async () => {
    proxy.holdManifests = true;
    proxy.log.length = 0;
    await os.stage('os/late');
    const id = await stagedId();
    await proxy.waitForManifests(1, 30_000);
    await waitFor('our lock', () => (lockText()?.includes(id) ? true : undefined), 30_000);
    await waitFor('our inhibitor', async () =>
      (await inhibitors()).includes('bound-imaged') ? true : undefined,
    );

    const t = Date.now();
    const reboot = await machine.exec(['systemctl', 'reboot']);
    expect(reboot.code).toBe(0);
    await sleep(1500);
    // Still up: logind is waiting for our inhibitor.
    expect(machine.isRunning()).toBe(true);
    proxy.holdManifests = false;
    proxy.release();
    await waitFor('the container to go down', () => (machine.isRunning() ? undefined : true), 60_000);
    timings.rebootToDown = Date.now() - t;
    expect(lockText()).toBeNull();
    expect(existsSync(markerFile())).toBe(true);

    const { stdout } = await run('journalctl', [
      '--no-pager',
      '-o',
      'json',
      `--directory=${journalDir}`,
      '-u',
      'bound-imaged.service',
    ]);
    const all = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StagedJournalEntry);
    const delayed = all.find((e) => e.MESSAGE_ID === MessageId.RebootDelayed);
    expect(delayed?.DEPLOYMENT).toBe(id);
    expect(delayed?.MISSING).toBe(ref.late);
    const released = all.find((e) => e.MESSAGE_ID === MessageId.StagedLockReleased && e.DEPLOYMENT === id);
    expect(released).toBeDefined();
    expect(Number(released?.__REALTIME_TIMESTAMP)).toBeGreaterThan(Number(delayed?.__REALTIME_TIMESTAMP));
    await machine.stop();
  });
});
