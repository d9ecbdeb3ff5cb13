// The rules that keep a staged deployment from booting without its bound images. One refresh reads
// ostree's marker, asks which of the staged deployment's bound images are missing from the store,
// looks at the finalization lock file, and then:
//   - images missing, no lock file, not locked in ostree's metadata → create the lock (ours), record it;
//   - images missing, a lock file that is not ours (operator, rpm-ostree, bootc --download-only) or
//     ostree's `locked` key → leave it, say so, keep retrying the pulls;
//   - our lock removed by someone else → respected: not taken again for that deployment;
//   - every image present → remove our lock (never another one);
//   - our lock, but its staged deployment gone (finalized, undeployed) or replaced by another → ours is
//     removed (it no longer guards anything), then the new staged deployment is judged afresh.
// After each reconcile that left images missing, the next retry is scheduled (doubling delay up to a
// ceiling), persisted in the state file so a restarted daemon resumes the schedule; the daemon keeps
// the timer itself in its PendingWork (`scheduler`), so an idle exit hands the retry to systemd. Refreshes run one
// at a time. The guard decides and logs; the daemon gives it a presence probe and a way to start a
// reconcile.
import { EventEmitter } from 'node:events';
import { lockPath, lookAtLock, releaseLock, takeLock, type OwnedLock } from './finalization-lock.js';
import { readStagedDeployment, type StagedDeployment } from './marker.js';
import { freshRecord, retryDelay, type StagedRecord } from './staged-record.js';
import { MessageId } from '../systemd/message-ids.js';
import type { LogFields } from '../systemd/fields.js';
import { messageOf } from '../errors.js';

/** The staged root's bound images against the store. */
export interface Presence {
  total: number;
  present: number;
  /** References not in the store. */
  missing: string[];
  /** What prevents knowing for sure: an unreadable root, a bad bound-image file, the store unreachable. */
  problems: string[];
}

export type LockState = 'held' | 'other' | 'none';

/** What the manager's StagedDeployment property and `bound-images status` show. */
export interface StagedStatus {
  /** `<osname>/<checksum>.<serial>`; empty when nothing is staged. */
  deployment: string;
  root: string;
  imagesTotal: number;
  imagesPresent: number;
  missing: string[];
  /** `held`: our lock; `other`: a lock we did not create (or ostree's metadata); `none`. */
  lock: LockState;
  /** Every bound image is present and nothing kept us from knowing it. */
  complete: boolean;
  /** Why the lock is (not) held, in words. */
  reason: string;
  attempts: number;
  /** ms since the epoch; 0 when no retry is scheduled. */
  nextRetryAt: number;
}

export const NOTHING_STAGED: StagedStatus = {
  deployment: '',
  root: '',
  imagesTotal: 0,
  imagesPresent: 0,
  missing: [],
  complete: true,
  lock: 'none',
  reason: 'no deployment is staged',
  attempts: 0,
  nextRetryAt: 0,
};

interface GuardLogger {
  notice(message: string, fields?: LogFields): void;
  warning(message: string, fields?: LogFields): void;
  err(message: string, fields?: LogFields): void;
}

export interface StagedGuardOptions {
  runDir: string;
  sysroot: string;
  /** [staged] lock-finalization: false → never create a lock (status and retries still work). */
  lockFinalization: boolean;
  retryDelayMs: number;
  retryMaxDelayMs: number;
  logger: GuardLogger;
  /** The persisted record (state file). */
  record: { get(): StagedRecord | null; set(record: StagedRecord | null): Promise<void> };
  presence(root: string): Promise<Presence>;
  /** Starts a reconcile (a retry). */
  retry(): void;
  /**
   * Where the next retry is kept instead of an in-process timer (the daemon's PendingWork, so an idle
   * exit hands it to systemd); its due handler must call `retry()`. The state file's
   * `nextRetryAt` stays the source of truth: start() schedules (or cancels) from it again.
   */
  scheduler?: RetryScheduler;
  now?: () => number;
}

export interface RetryScheduler {
  /** The next retry of `deployment`'s images is due at `dueAt` (ms since the epoch); moves an earlier one. */
  schedule(dueAt: number, deployment: string): void;
  /** No retry is owed any more (images present, nothing staged). */
  cancel(): void;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export class StagedGuard extends EventEmitter<{ changed: [StagedStatus]; settled: [] }> {
  private current: StagedStatus = NOTHING_STAGED;
  /** start(), refresh() and reconcileFinished() calls not yet resolved. */
  private inFlight = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: StagedGuardOptions) {
    super();
  }

  get status(): StagedStatus {
    return this.current;
  }

  /**
   * A judgement is under way (start, refresh, or the one after a reconcile): whether a retry is owed
   * is not known yet, so the daemon must not exit idle now. `settled` is emitted when none is left.
   */
  get judging(): boolean {
    return this.inFlight > 0;
  }

  /** A staged deployment still misses images: the daemon has retries to run and must stay up. */
  get pending(): boolean {
    return this.incomplete(this.current);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Re-reads everything and applies the rules. Serialized; never rejects (errors are logged). */
  refresh(): Promise<StagedStatus> {
    const run = this.queue.then(() => this.apply());
    this.queue = run.catch(() => undefined);
    return this.track(
      run.catch((err: unknown) => {
        this.o.logger.err(`checking the staged deployment failed: ${messageOf(err)}`);
        return this.current;
      }),
    );
  }

  /** At daemon start: apply the rules, resume a persisted retry schedule (or retry at once). */
  start(): Promise<StagedStatus> {
    return this.track(
      this.refresh().then((status) => {
        if (this.incomplete(status)) {
          // Due at the recorded instant (now when overdue or none was recorded).
          this.arm(Math.max(this.now(), this.o.record.get()?.nextRetryAt ?? 0), status.deployment);
        }
        // Otherwise apply() has cancelled it (images present, nothing staged); after a failed check an
        // earlier process's retry stays scheduled and runs.
        return status;
      }),
    );
  }

  /** After a reconcile: apply the rules; when images are still missing, schedule the next retry. */
  reconcileFinished(): Promise<StagedStatus> {
    const run = this.queue.then(async () => {
      const status = await this.apply();
      const record = this.o.record.get();
      if (!this.incomplete(status) || record === null) return status;
      const attempts = record.attempts + 1;
      // One reading of the clock: the state file, the timer and the status name the same instant.
      const nextRetryAt = this.now() + retryDelay(attempts, this.o.retryDelayMs, this.o.retryMaxDelayMs);
      await this.o.record.set({ ...record, attempts, nextRetryAt });
      this.arm(nextRetryAt, status.deployment);
      return this.publish({ ...status, attempts, nextRetryAt });
    });
    this.queue = run.catch(() => undefined);
    return this.track(
      run.catch((err: unknown) => {
        this.o.logger.err(`checking the staged deployment failed: ${messageOf(err)}`);
        return this.current;
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Counts `p` as a judgement under way until it settles (it never rejects). */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight++;
    return p.finally(() => {
      if (--this.inFlight === 0) this.emit('settled');
    });
  }

  private incomplete(s: StagedStatus): boolean {
    return s.deployment !== '' && !s.complete;
  }

  /** The next retry of `deployment` at `dueAt` (ms since the epoch). */
  private arm(dueAt: number, deployment: string): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (this.o.scheduler) return this.o.scheduler.schedule(dueAt, deployment);
    this.timer = setTimeout(() => this.o.retry(), Math.max(0, dueAt - this.now()));
    this.timer.unref();
  }

  /** No retry owed. stop() does not call it: a scheduled retry outlives this process. */
  private disarm(): void {
    clearTimeout(this.timer);
    if (!this.stopped) this.o.scheduler?.cancel();
  }

  private publish(status: StagedStatus): StagedStatus {
    this.current = status;
    this.emit('changed', status);
    return status;
  }

  private async apply(): Promise<StagedStatus> {
    const { runDir, logger } = this.o;
    const file = lockPath(runDir);
    const staged = await readStagedDeployment(runDir, this.o.sysroot);
    let record = this.o.record.get();

    // Our lock whose deployment is no longer the staged one: it guards nothing now.
    if (record?.lock && record.lock.deployment !== staged?.id) {
      const why = staged === null ? 'is no longer staged' : `was replaced by ${staged.id}`;
      await this.dropOurLock(record.lock, `the staged deployment ${record.lock.deployment} ${why}`);
      record = null;
    }
    if (record !== null && record.deployment !== staged?.id) record = null;
    if (staged === null) {
      this.disarm();
      if (this.o.record.get() !== null) await this.o.record.set(null);
      return this.publish(NOTHING_STAGED);
    }
    record ??= freshRecord(staged.id);

    const presence = await this.o.presence(staged.root);
    const complete = presence.missing.length === 0 && presence.problems.length === 0;
    const look = await lookAtLock(runDir, record.lock);
    const base = {
      deployment: staged.id,
      root: staged.root,
      imagesTotal: presence.total,
      imagesPresent: presence.present,
      missing: presence.missing,
      complete,
      attempts: record.attempts,
      nextRetryAt: record.nextRetryAt,
    };
    const fields = (reason: string): LogFields => ({
      DEPLOYMENT: staged.id,
      LOCK_FILE: file,
      REASON: reason,
    });

    // Our recorded lock is gone or is no longer our file: someone else acted; respect it.
    if (record.lock && !(look.present && look.owned)) {
      const reason = look.present
        ? 'our finalization lock was replaced by another file'
        : 'our finalization lock was removed by someone else: it is not taken again for this deployment';
      logger.notice(`${file}: ${reason} (staged deployment ${staged.id})`, {
        messageId: MessageId.StagedLockNotOurs,
        ...fields(reason),
      });
      record = { ...record, lock: null, lockOverridden: !look.present || record.lockOverridden };
    }

    if (complete) {
      if (record.lock) {
        const reason = `all ${plural(presence.total, 'bound image')} of ${staged.id} are present`;
        await this.dropOurLock(record.lock, reason);
      }
      this.disarm();
      await this.o.record.set({ ...freshRecord(staged.id), lockOverridden: record.lockOverridden });
      const lock: LockState = look.present && !(record.lock && look.owned) ? 'other' : 'none';
      return this.publish({
        ...base,
        attempts: 0,
        nextRetryAt: 0,
        lock,
        reason:
          lock === 'other'
            ? `all ${plural(presence.total, 'bound image')} present; ${file} is not ours and stays`
            : `all ${plural(presence.total, 'bound image')} present`,
      });
    }

    const what = missingReason(presence);
    let lock: LockState;
    let reason: string;
    if (record.lock) {
      lock = 'held';
      reason = what;
    } else if (look.present || staged.lockedInMetadata) {
      lock = 'other';
      reason = `${what}; finalization is already locked by ${look.present ? `${file}, which is not ours` : "ostree's staged metadata"}`;
      if (!(this.current.deployment === staged.id && this.current.lock === 'other')) {
        logger.notice(`staged deployment ${staged.id}: ${reason}: left as it is`, {
          messageId: MessageId.StagedLockNotOurs,
          ...fields(reason),
        });
      }
    } else if (record.lockOverridden) {
      lock = 'none';
      reason = `${what}; our finalization lock was removed by someone else, so the next boot finalizes it`;
    } else if (!this.o.lockFinalization) {
      lock = 'none';
      reason = `${what}; [staged] lock-finalization is off`;
    } else {
      const taken: OwnedLock | null = await takeLock(runDir, staged.id, this.now());
      if (taken === null) {
        lock = 'other';
        reason = `${what}; ${file} appeared meanwhile and is not ours`;
      } else {
        record = { ...record, lock: taken };
        lock = 'held';
        reason = what;
        logger.notice(
          `staged deployment ${staged.id}: ${what}: created ${file}, a reboot keeps the current deployment`,
          {
            messageId: MessageId.StagedLockTaken,
            ROOT: staged.root,
            MISSING: presence.missing.join(' '),
            ...fields(what),
          },
        );
      }
    }
    await this.o.record.set(record);
    return this.publish({
      ...base,
      attempts: record.attempts,
      nextRetryAt: record.nextRetryAt,
      lock,
      reason,
    });
  }

  private async dropOurLock(lock: OwnedLock, reason: string): Promise<void> {
    const file = lockPath(this.o.runDir);
    const outcome = await releaseLock(this.o.runDir, lock);
    if (outcome === 'removed') {
      this.o.logger.notice(`removed ${file}: ${reason}`, {
        messageId: MessageId.StagedLockReleased,
        DEPLOYMENT: lock.deployment,
        LOCK_FILE: file,
        REASON: reason,
      });
    } else if (outcome === 'not-ours') {
      const why = `${reason}, but ${file} is no longer the file we created: left as it is`;
      this.o.logger.notice(why, {
        messageId: MessageId.StagedLockNotOurs,
        DEPLOYMENT: lock.deployment,
        LOCK_FILE: file,
        REASON: why,
      });
    }
  }
}

function missingReason(p: Presence): string {
  const parts: string[] = [];
  if (p.missing.length > 0) {
    parts.push(`${p.missing.length} of ${plural(p.total, 'bound image')} missing: ${p.missing.join(', ')}`);
  }
  parts.push(...p.problems);
  return parts.join('; ');
}

export type { StagedDeployment };
