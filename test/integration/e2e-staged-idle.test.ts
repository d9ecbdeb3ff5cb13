// A staged deployment's retry survives an idle exit, end to end in a real systemd (nspawn) with a
// real ostree (the rig of staged-harness.ts), the daemon with [daemon] idle-exit = 3 and a first
// retry due 30 s after a failed pull:
//  1. staged with the registry down: the daemon takes ostree's finalization lock, its pull fails, and
//     with the retry (PendingWork `staged-retry`) due later than its idle time it hands the retry to
//     systemd as the transient bound-imaged.timer and exits; while it is gone the lock stays and
//     finalize-staged keeps the current deployment;
//  2. registry back: systemd starts the daemon when the retry is due (not before), the retry pulls
//     the image, the lock is released, the daemon idles out with nothing owed, and finalize-staged
//     switches to the staged deployment.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarSpec } from '../../src/lifecycle/wake-timer.js';
import { MessageId } from '../../src/systemd/message-ids.js';
import { startStagedRig, waitFor, type StagedJournalEntry, type StagedRig } from './staged-harness.js';

const IDLE_EXIT_S = 3;
const RETRY_DELAY_S = 30;
const SERVICE = 'bound-imaged.service';
const TIMER = 'bound-imaged.timer';

let rig: StagedRig;
const timings: Record<string, number> = {};
/** Filled by test 1 for test 2. */
let id = '';
let dueAt = 0;
let goneAt = 0;
let entriesBefore: string[] = [];

const serviceState = async (): Promise<Record<string, string>> =>
  rig.machine.show(SERVICE, 'ActiveState', 'Result', 'MainPID');
/** The daemon's pending-work file (read with cat: no D-Bus call, which would start the daemon). */
const pendingWork = async (): Promise<{ key: string; dueAt: number; reason: string }[]> =>
  (
    JSON.parse(await rig.machine.check(['cat', '/var/lib/bound-imaged/pending-work.json'])) as {
      pending: { key: string; dueAt: number; reason: string }[];
    }
  ).pending;
const at = (e: StagedJournalEntry | undefined): number => Number(e?.__REALTIME_TIMESTAMP ?? NaN) / 1000;

beforeAll(async () => {
  const t0 = Date.now();
  rig = await startStagedRig({
    images: [{ name: 'app', size: 4096 }],
    commits: { 'os/app': ['app'] },
    retryDelayS: RETRY_DELAY_S,
    retryMaxDelayS: 2 * RETRY_DELAY_S,
    idleExitS: IDLE_EXIT_S,
  });
  timings.boot = rig.bootMs;
  timings.setup = Date.now() - t0;
});

afterAll(async () => {
  await rig?.stop();
  console.log(`e2e-staged-idle timings (ms): ${JSON.stringify(timings)}`);
});

describe('a staged deployment’s retry survives an idle exit (nspawn, real ostree)', () => {
  it('1. registry down: the lock is taken, the retry is handed to systemd as bound-imaged.timer, the daemon exits, the lock stays', async () => {
    const { machine, os } = rig;
    await rig.registry.down();
    entriesBefore = os.bootEntries();
    const t = Date.now();
    await os.stage('os/app');
    id = await rig.stagedId();
    await waitFor('our lock file', () => (rig.lockText()?.includes(`deployment=${id}`) ? true : undefined));
    const taken = await waitFor(
      'the StagedLockTaken entry',
      async () => (await rig.entries(MessageId.StagedLockTaken))[0],
    );
    expect(taken.DEPLOYMENT).toBe(id);
    expect(taken.MISSING).toBe(rig.ref.app);
    const lock = rig.lockText();

    // The failed pull scheduled the retry RETRY_DELAY_S later, beyond the idle time: handed over.
    const timer = await waitFor('bound-imaged.timer', async () => {
      const p = await machine.show(TIMER, 'ActiveState', 'Description');
      return p.ActiveState === 'active' ? p : undefined;
    });
    expect(timer.Description).toBe(
      `Start bound-imaged for pending work: retry the missing bound images of the staged deployment ${id}`,
    );
    const gone = await waitFor('the idle exit', async () => {
      const s = await serviceState();
      return s.ActiveState === 'inactive' ? s : undefined;
    });
    goneAt = Date.now();
    timings.stageToIdleExit = goneAt - t;
    expect(gone.Result).toBe('success');
    const [pending] = await pendingWork();
    expect(pending?.key).toBe('staged-retry');
    dueAt = pending?.dueAt ?? 0;
    timings.goneBeforeDue = dueAt - goneAt;
    expect(dueAt).toBeGreaterThan(goneAt);
    const state = JSON.parse(await machine.check(['cat', '/var/lib/bound-imaged/state.json'])) as {
      staged: { deployment: string; attempts: number; nextRetryAt: number };
    };
    expect(state.staged).toMatchObject({ deployment: id, attempts: 1, nextRetryAt: dueAt });

    const journal = await rig.journal();
    const handed = journal.find(
      (e) => e.PENDING_WORK === 'staged-retry' && /handed to systemd/.test(e.MESSAGE ?? ''),
    );
    expect(handed?.MESSAGE).toBe(
      `pending work staged-retry handed to systemd: bound-imaged.timer starts bound-imaged at ${calendarSpec(dueAt)}`,
    );
    const stopping = journal.filter((e) => e.MESSAGE_ID === MessageId.DaemonStopping);
    expect(stopping.map((e) => e.SIGNAL)).toEqual(['idle']);
    expect(at(stopping[0])).toBeGreaterThanOrEqual(at(handed));

    // The daemon is gone; its lock is not: a reboot now keeps the current deployment.
    expect(rig.lockText()).toBe(lock);
    expect((await os.finalize()).code).toBe(0);
    expect(existsSync(rig.markerFile())).toBe(true);
    expect(os.bootEntries()).toEqual(entriesBefore);
    expect((await serviceState()).ActiveState).toBe('inactive');
    expect((await machine.show(TIMER, 'ActiveState')).ActiveState).toBe('active');
    expect(Date.now()).toBeLessThan(dueAt);
  });

  it('2. registry back: systemd starts the daemon when the retry is due, which pulls, releases the lock and lets finalization through', async () => {
    const { machine, os } = rig;
    await rig.registry.up();
    // Nothing starts the daemon before the retry is due: it is the timer that does.
    expect((await serviceState()).ActiveState).toBe('inactive');
    expect(rig.lockText()).toContain(`deployment=${id}`);

    const released = await waitFor(
      'the lock released by the retry',
      async () =>
        rig.lockText() === null ? (await rig.entries(MessageId.StagedLockReleased))[0] : undefined,
      dueAt - Date.now() + 90_000,
    );
    timings.dueToRelease = Date.now() - dueAt;
    expect(released.DEPLOYMENT).toBe(id);
    expect(released.REASON).toBe(`all 1 bound image of ${id} are present`);
    expect(await rig.storeHas(rig.ref.app ?? '')).toBe(true);

    // Started once, by the timer: at the due time, not before, and the retry ran in that process.
    const journal = await rig.journal();
    const ready = journal.filter((e) => e.MESSAGE_ID === MessageId.DaemonReady);
    expect(ready).toHaveLength(2);
    const second = ready[1];
    expect(at(second)).toBeGreaterThanOrEqual(dueAt);
    const resumed = journal.find((e) =>
      /^resuming 1 pending work item\(s\), the first staged-retry/.test(e.MESSAGE ?? ''),
    );
    expect(resumed?._PID).toBe(second?._PID);
    const retried = journal.filter((e) =>
      /^retrying the missing images of the staged deployment \(job \d+\)$/.test(e.MESSAGE ?? ''),
    );
    expect(retried.at(-1)?._PID).toBe(second?._PID);
    expect(released._PID).toBe(second?._PID);

    // Nothing owed any more: the timer is gone and the daemon idles out without handing anything over.
    await waitFor('the pending retry dropped', async () =>
      (await pendingWork()).length === 0 ? true : undefined,
    );
    await waitFor('the second idle exit', async () =>
      (await serviceState()).ActiveState === 'inactive' ? true : undefined,
    );
    expect((await machine.show(TIMER, 'ActiveState')).ActiveState).not.toBe('active');
    const handedOver = (await rig.journal()).filter((e) => /handed to systemd/.test(e.MESSAGE ?? ''));
    expect(handedOver).toHaveLength(1);

    expect((await os.finalize()).code).toBe(0);
    expect(existsSync(rig.markerFile())).toBe(false);
    expect(os.bootEntries().length).toBe(entriesBefore.length + 1);
  });
});
