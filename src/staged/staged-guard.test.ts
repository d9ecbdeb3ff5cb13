// The lock, ownership and retry rules on real files: an ostree run directory in a temp dir with
// markers in ostree's format and real lock files, the real state file (StateStore) for what survives
// a restart. Only the presence probe (which images the store has) is given by the test.
import { mkdir, mkdtemp, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore, type StateLogger } from '../state/state-store.js';
import { MessageId } from '../systemd/message-ids.js';
import { lookAtLock, releaseLock, takeLock } from './finalization-lock.js';
import { encodeVardict } from './gvariant.js';
import { FINALIZATION_LOCK, STAGED_MARKER } from './marker.js';
import { IdleMonitor } from '../lifecycle/idle-monitor.js';
import { PENDING_WORK_FILE, PendingWork, type PendingEntry } from '../lifecycle/pending-work.js';
import { retryScheduler, STAGED_RETRY } from './attach.js';
import { StagedGuard, type Presence, type StagedGuardOptions } from './staged-guard.js';

const CSUM_A = 'a'.repeat(64);
const CSUM_B = 'b'.repeat(64);

interface Logged {
  level: string;
  message: string;
  messageId?: string;
}

let dir: string;
let runDir: string;
let lockFile: string;
let logged: Logged[];
let presence: Presence;
let retries: number;
let now: number;

function logger(): StateLogger & { notice: (m: string, f?: { messageId?: string }) => void } {
  const at =
    (level: string) =>
    (message: string, fields?: { messageId?: string }): void => {
      logged.push({ level, message, ...(fields?.messageId ? { messageId: fields.messageId } : {}) });
    };
  return { err: at('err'), warning: at('warning'), notice: at('notice') };
}

async function stage(csum: string, serial: number, extra: Record<string, boolean> = {}): Promise<string> {
  await mkdir(runDir, { recursive: true });
  const marker = { target: { name: `${csum}.${serial}`, osname: 'os', bootcsum: csum }, ...extra };
  await writeFile(join(runDir, STAGED_MARKER), encodeVardict(marker));
  return `os/${csum}.${serial}`;
}

async function guardWith(
  store: StateStore,
  opts: { lockFinalization?: boolean; retryDelayMs?: number; retryMaxDelayMs?: number } = {},
  extra: Partial<StagedGuardOptions> = {},
): Promise<StagedGuard> {
  return new StagedGuard({
    runDir,
    sysroot: '/sysroot',
    lockFinalization: opts.lockFinalization ?? true,
    retryDelayMs: opts.retryDelayMs ?? 1000,
    retryMaxDelayMs: opts.retryMaxDelayMs ?? 8000,
    logger: logger(),
    record: { get: () => store.staged, set: (r) => store.setStaged(r) },
    presence: () => Promise.resolve(presence),
    retry: () => void retries++,
    now: () => now,
    ...extra,
  });
}

const ids = (): string[] => logged.flatMap((l) => (l.messageId ? [l.messageId] : []));
const missingOne: Presence = { total: 2, present: 1, missing: ['quay.io/x/app:2'], problems: [] };
const allThere: Presence = { total: 2, present: 2, missing: [], problems: [] };

let store: StateStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'staged-guard-'));
  runDir = join(dir, 'run-ostree');
  lockFile = join(runDir, FINALIZATION_LOCK);
  logged = [];
  retries = 0;
  now = 1_800_000_000_000;
  presence = missingOne;
  store = await StateStore.open(join(dir, 'state'), logger());
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the lock file', () => {
  it('is created only if absent, and is ours only by token and identity', async () => {
    await mkdir(runDir);
    const ours = await takeLock(runDir, `os/${CSUM_A}.0`);
    if (ours === null) throw new Error('no lock taken in an empty directory');
    expect(await takeLock(runDir, `os/${CSUM_A}.0`)).toBeNull();
    expect(await lookAtLock(runDir, ours)).toMatchObject({ present: true, owned: true });
    expect(await lookAtLock(runDir, { ...ours, token: 'c'.repeat(32) })).toMatchObject({ owned: false });

    // The same content in another file (ours moved aside, so the inode differs): not ours.
    const content = await readFile(lockFile);
    await rename(lockFile, join(runDir, 'aside'));
    await writeFile(lockFile, content);
    expect(await lookAtLock(runDir, ours)).toMatchObject({ present: true, owned: false });
    expect(await releaseLock(runDir, ours)).toBe('not-ours');
    expect(await readFile(lockFile)).toEqual(content);

    await unlink(lockFile);
    expect(await releaseLock(runDir, ours)).toBe('absent');
    await rename(join(runDir, 'aside'), lockFile);
    expect(await releaseLock(runDir, ours)).toBe('removed');
    expect((await lookAtLock(runDir, null)).present).toBe(false);
  });
});

describe('StagedGuard', () => {
  it('does nothing while nothing is staged', async () => {
    const guard = await guardWith(store);
    expect((await guard.refresh()).deployment).toBe('');
    expect((await lookAtLock(runDir, null)).present).toBe(false);
    expect(store.staged).toBeNull();
  });

  it('takes the lock for a staged deployment with a missing image, once, and releases it when all are present', async () => {
    const id = await stage(CSUM_A, 0);
    const guard = await guardWith(store);
    const s1 = await guard.refresh();
    expect(s1).toMatchObject({
      deployment: id,
      lock: 'held',
      imagesTotal: 2,
      imagesPresent: 1,
      complete: false,
    });
    expect(s1.reason).toContain('quay.io/x/app:2');
    expect(s1.root).toBe(`/sysroot/ostree/deploy/os/deploy/${CSUM_A}.0`);
    const first = await stat(lockFile);
    expect(await readFile(lockFile, 'utf8')).toContain(`deployment=${id}`);
    expect(store.staged?.lock?.ino).toBe(first.ino);

    await guard.refresh();
    expect((await stat(lockFile)).ino).toBe(first.ino);
    expect(ids()).toEqual([MessageId.StagedLockTaken]);

    presence = allThere;
    const s2 = await guard.refresh();
    expect(s2).toMatchObject({ lock: 'none', complete: true });
    expect((await lookAtLock(runDir, null)).present).toBe(false);
    expect(ids()).toEqual([MessageId.StagedLockTaken, MessageId.StagedLockReleased]);
    expect(store.staged?.lock).toBeNull();
  });

  it('never removes a lock that was there before (an operator, rpm-ostree, bootc --download-only)', async () => {
    await stage(CSUM_A, 0);
    await writeFile(lockFile, '');
    const guard = await guardWith(store);
    expect((await guard.refresh()).lock).toBe('other');
    presence = allThere;
    expect((await guard.refresh()).lock).toBe('other');
    expect(await readFile(lockFile, 'utf8')).toBe('');
    expect(ids()).toEqual([MessageId.StagedLockNotOurs]);
  });

  it("does not take ours when ostree's metadata locks finalization already", async () => {
    await stage(CSUM_A, 0, { locked: true });
    const guard = await guardWith(store);
    expect((await guard.refresh()).lock).toBe('other');
    expect((await lookAtLock(runDir, null)).present).toBe(false);
  });

  it('respects an operator who removed our lock: not taken again for that deployment', async () => {
    const id = await stage(CSUM_A, 0);
    const guard = await guardWith(store);
    await guard.refresh();
    await unlink(lockFile);
    const s = await guard.refresh();
    expect(s.lock).toBe('none');
    expect(s.reason).toContain('removed by someone else');
    expect((await lookAtLock(runDir, null)).present).toBe(false);
    expect(store.staged).toMatchObject({ deployment: id, lockOverridden: true, lock: null });
    await guard.refresh();
    expect((await lookAtLock(runDir, null)).present).toBe(false);
  });

  it('removes our lock when its staged deployment is gone (finalized or undeployed)', async () => {
    await stage(CSUM_A, 0);
    const guard = await guardWith(store);
    await guard.refresh();
    await unlink(join(runDir, STAGED_MARKER));
    expect((await guard.refresh()).deployment).toBe('');
    expect((await lookAtLock(runDir, null)).present).toBe(false);
    expect(store.staged).toBeNull();
    expect(logged.find((l) => l.messageId === MessageId.StagedLockReleased)?.message).toContain(
      'is no longer staged',
    );
  });

  it('moves to a newly staged deployment: the old lock (left by an older ostree) goes, a new one is taken', async () => {
    const a = await stage(CSUM_A, 0);
    const guard = await guardWith(store);
    await guard.refresh();
    const tokenA = store.staged?.lock?.token;
    const b = await stage(CSUM_B, 0);
    const s = await guard.refresh();
    expect(s).toMatchObject({ deployment: b, lock: 'held' });
    expect(store.staged?.lock?.token).not.toBe(tokenA);
    expect(await readFile(lockFile, 'utf8')).toContain(`deployment=${b}`);
    expect(logged.find((l) => l.messageId === MessageId.StagedLockReleased)?.message).toContain(
      `${a} was replaced by ${b}`,
    );
  });

  it('leaves a lock someone else put in place of ours after a restage', async () => {
    await stage(CSUM_A, 0);
    const guard = await guardWith(store);
    await guard.refresh();
    // A newer ostree removes the lock when restaging; the new stage came with --lock-finalization.
    await unlink(lockFile);
    await stage(CSUM_B, 1);
    await writeFile(lockFile, '');
    expect((await guard.refresh()).lock).toBe('other');
    presence = allThere;
    await guard.refresh();
    expect(await readFile(lockFile, 'utf8')).toBe('');
  });

  it('holds the lock while the store cannot be asked, and not at all when lock-finalization is off', async () => {
    await stage(CSUM_A, 0);
    presence = { total: 1, present: 0, missing: [], problems: ['cannot list the store: connection refused'] };
    expect((await (await guardWith(store)).refresh()).lock).toBe('held');
    await unlink(lockFile);
    const other = await StateStore.open(join(dir, 'state2'), logger());
    expect((await (await guardWith(other, { lockFinalization: false })).refresh()).lock).toBe('none');
    expect((await lookAtLock(runDir, null)).present).toBe(false);
  });

  it('retries with a doubling delay up to the ceiling, persisted across a restart', async () => {
    await stage(CSUM_A, 0);
    const guard = await guardWith(store, { retryDelayMs: 1000, retryMaxDelayMs: 3000 });
    await guard.refresh();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await guard.reconcileFinished();
      delays.push(s.nextRetryAt - now);
    }
    expect(delays).toEqual([1000, 2000, 3000, 3000]);
    expect(store.staged).toMatchObject({ attempts: 4, nextRetryAt: now + 3000 });
    guard.stop();
    await store.flush();

    // A new daemon: the schedule and the lock ownership come back from the state file.
    const reopened = await StateStore.open(join(dir, 'state'), logger());
    expect(reopened.staged?.attempts).toBe(4);
    now += 2990;
    const again = await guardWith(reopened, { retryDelayMs: 1000, retryMaxDelayMs: 3000 });
    expect((await again.start()).lock).toBe('held');
    expect(retries).toBe(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(retries).toBe(1);
    presence = allThere;
    await again.reconcileFinished();
    expect(reopened.staged).toMatchObject({ attempts: 0, nextRetryAt: 0, lock: null });
    expect((await lookAtLock(runDir, null)).present).toBe(false);
    again.stop();
  });
});

describe("StagedGuard's retry kept in PendingWork (the daemon's wiring, attach.ts)", () => {
  const pwLog = { warning: (m: string): void => void logged.push({ level: 'warning', message: m }) };
  const onDisk = async (stateDir: string): Promise<PendingEntry[]> =>
    (JSON.parse(await readFile(join(stateDir, PENDING_WORK_FILE), 'utf8')) as { pending: PendingEntry[] })
      .pending;

  it('schedules and moves one staged-retry entry, keeps it over a stop, resumes it from the state file, cancels it when complete', async () => {
    const stateDir = join(dir, 'state');
    const id = await stage(CSUM_A, 0);
    const due: string[] = [];
    const work = await PendingWork.open(stateDir, (e) => due.push(e.key), pwLog);
    const guard = await guardWith(store, {}, { scheduler: retryScheduler(work) });
    await guard.refresh();
    expect(work.list()).toEqual([]);
    await guard.reconcileFinished();
    await guard.reconcileFinished();
    expect(work.list()).toEqual([
      {
        key: STAGED_RETRY,
        dueAt: now + 2000,
        reason: `retry the missing bound images of the staged deployment ${id}`,
      },
    ]);
    expect(store.staged).toMatchObject({ attempts: 2, nextRetryAt: now + 2000 });
    // What the idle exit hands to systemd; no in-process timer of the guard's own.
    expect(work.next()?.key).toBe(STAGED_RETRY);

    // Idle exit: the guard stops, the entry stays on disk for the next process.
    guard.stop();
    work.close();
    await Promise.all([store.flush(), work.flush()]);
    expect((await onDisk(stateDir)).map((e) => [e.key, e.dueAt])).toEqual([[STAGED_RETRY, now + 2000]]);
    expect(retries).toBe(0);

    // The next process: the state file is the truth; a lost pending-work.json is written again.
    await unlink(join(stateDir, PENDING_WORK_FILE));
    const reopened = await StateStore.open(stateDir, logger());
    const work2 = await PendingWork.open(stateDir, (e) => due.push(e.key), pwLog);
    expect(work2.list()).toEqual([]);
    const again = await guardWith(reopened, {}, { scheduler: retryScheduler(work2) });
    expect((await again.start()).lock).toBe('held');
    expect(work2.list().map((e) => [e.key, e.dueAt])).toEqual([[STAGED_RETRY, now + 2000]]);

    // All images present: no retry owed any more, in memory and on disk; our lock is gone.
    presence = allThere;
    await again.refresh();
    expect(work2.list()).toEqual([]);
    await work2.flush();
    expect(await onDisk(stateDir)).toEqual([]);
    expect((await lookAtLock(runDir, null)).present).toBe(false);
    expect(due).toEqual([]);
    again.stop();
    work2.close();
  });

  it('gives the entry, the state file and the status one due time, though the clock moves while judging', async () => {
    const stateDir = join(dir, 'state');
    await stage(CSUM_A, 0);
    const work = await PendingWork.open(stateDir, () => undefined, pwLog);
    // Every look at the clock finds it a millisecond later.
    const guard = await guardWith(store, {}, { now: () => ++now, scheduler: retryScheduler(work) });
    await guard.refresh();
    const status = await guard.reconcileFinished();
    const dueAt = store.staged?.nextRetryAt;
    expect(dueAt).toBeGreaterThan(1_800_000_000_000 + 1000);
    expect(work.next()?.dueAt).toBe(dueAt);
    expect(status.nextRetryAt).toBe(dueAt);

    // A restart resumes the very same instant.
    const work2 = await PendingWork.open(stateDir, () => undefined, pwLog);
    const again = await guardWith(store, {}, { now: () => ++now, scheduler: retryScheduler(work2) });
    await again.start();
    expect(work2.next()?.dueAt).toBe(dueAt);
    guard.stop();
    again.stop();
    work.close();
    work2.close();
    await Promise.all([work.flush(), work2.flush()]);
  });

  it('is judging until the retry after a reconcile is scheduled: an idle exit then finds it to hand over', async () => {
    const stateDir = join(dir, 'state');
    await stage(CSUM_A, 0);
    const work = await PendingWork.open(stateDir, () => undefined, pwLog);
    // The store answers slower than the idle time (a Podman service starting on a busy host):
    // each judgement waits until the test opens the gate.
    let open: () => void = () => undefined;
    const closeGate = (): Promise<void> => new Promise((resolve) => (open = resolve));
    let gate = closeGate();
    const slow = async (): Promise<Presence> => {
      await gate;
      return presence;
    };
    const guard = await guardWith(
      store,
      { retryDelayMs: 60_000 },
      { now: Date.now, scheduler: retryScheduler(work), presence: slow },
    );
    let settled = 0;
    guard.on('settled', () => void settled++);
    const first = guard.refresh();
    expect(guard.judging).toBe(true);
    open();
    await first;
    expect(guard.judging).toBe(false);
    expect(settled).toBe(1);

    // As daemon.ts wires it: the idle time starts when the reconcile finishes.
    const handedOver: (string | undefined)[] = [];
    const idle = new IdleMonitor({
      idleMs: 20,
      busy: () => guard.judging || (work.next()?.dueAt ?? Infinity) - Date.now() < 20,
      onIdle: () => handedOver.push(work.next()?.key),
    });
    guard.on('settled', () => idle.check());
    work.onChange(() => idle.check());
    gate = closeGate();
    const finished = guard.reconcileFinished();
    idle.start();
    await new Promise((r) => setTimeout(r, 80));
    expect(handedOver).toEqual([]);
    open();
    await finished;
    for (let i = 0; i < 250 && handedOver.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(handedOver).toEqual([STAGED_RETRY]);
    expect(settled).toBe(2);
    idle.stop();
    guard.stop();
    work.close();
    await work.flush();
  });

  it('runs the retry when the entry falls due, and cancels it when the deployment is no longer staged', async () => {
    const stateDir = join(dir, 'state');
    await stage(CSUM_A, 0);
    const work = await PendingWork.open(stateDir, () => undefined, pwLog);
    const guard = await guardWith(
      store,
      { retryDelayMs: 30 },
      { now: Date.now, scheduler: retryScheduler(work) },
    );
    work.onDue(STAGED_RETRY, () => void retries++);
    work.arm();
    await guard.refresh();
    await guard.reconcileFinished();
    expect(work.next()?.key).toBe(STAGED_RETRY);
    await new Promise((r) => setTimeout(r, 80));
    expect(retries).toBe(1);
    expect(work.list()).toEqual([]);

    await guard.reconcileFinished();
    expect(work.next()?.key).toBe(STAGED_RETRY);
    await unlink(join(runDir, STAGED_MARKER));
    expect((await guard.refresh()).deployment).toBe('');
    expect(work.list()).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(retries).toBe(1);
    guard.stop();
    work.close();
    await work.flush();
  });
});
