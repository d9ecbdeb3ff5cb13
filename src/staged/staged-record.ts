// What the state file keeps about the staged deployment between daemon runs (its `staged` field):
// the finalization lock this daemon created (token and file identity, for which deployment), the
// retry schedule (attempts so far, when the next one is due), and whether an operator removed our
// lock for this deployment (then it is not taken again). Parsing validates every field and says
// which one is wrong; the retry delay grows by doubling up to a ceiling.
import type { OwnedLock } from './finalization-lock.js';
import { isRecord } from '../errors.js';

export interface StagedRecord {
  /** The staged deployment (`<osname>/<checksum>.<serial>`) the schedule belongs to. */
  deployment: string;
  /** The lock file we created and still own, if any. */
  lock: OwnedLock | null;
  /** Reconciles that ended with the deployment's images still missing. */
  attempts: number;
  /** ms since the epoch when the next retry is due; 0 when none is scheduled. */
  nextRetryAt: number;
  /** Someone removed our lock for this deployment: it is not taken again. */
  lockOverridden: boolean;
}

export function freshRecord(deployment: string): StagedRecord {
  return { deployment, lock: null, attempts: 0, nextRetryAt: 0, lockOverridden: false };
}

/** The delay before retry number `attempts` (1 = after the first failed reconcile). */
export function retryDelay(attempts: number, initialMs: number, maxMs: number): number {
  const n = Math.max(1, Math.min(attempts, 40));
  return Math.min(maxMs, initialMs * 2 ** (n - 1));
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\/[0-9a-f]{64}\.\d+$/;

/** Validates the `staged` field of the state file; throws an Error naming the bad field. */
export function parseStagedRecord(raw: unknown): StagedRecord | null {
  if (raw === null) return null;
  if (!isRecord(raw)) throw new Error('staged must be an object or null');
  const { deployment, lock, attempts, nextRetryAt, lockOverridden } = raw;
  if (typeof deployment !== 'string' || !ID.test(deployment)) {
    throw new Error(`staged.deployment ${JSON.stringify(deployment)} is not '<osname>/<checksum>.<serial>'`);
  }
  if (!count(attempts)) throw new Error('staged.attempts must be a non-negative integer');
  if (!count(nextRetryAt)) throw new Error('staged.nextRetryAt must be a non-negative integer (ms)');
  if (typeof lockOverridden !== 'boolean') throw new Error('staged.lockOverridden must be a boolean');
  let owned: OwnedLock | null = null;
  if (lock !== null) {
    if (!isRecord(lock)) throw new Error('staged.lock must be an object or null');
    const { token, deployment: lockFor, dev, ino, takenAt } = lock;
    if (typeof token !== 'string' || !/^[0-9a-f]{32}$/.test(token)) {
      throw new Error('staged.lock.token must be 32 hex digits');
    }
    if (typeof lockFor !== 'string' || !ID.test(lockFor)) {
      throw new Error(
        `staged.lock.deployment ${JSON.stringify(lockFor)} is not '<osname>/<checksum>.<serial>'`,
      );
    }
    if (!count(dev) || !count(ino) || !count(takenAt)) {
      throw new Error('staged.lock.dev, .ino and .takenAt must be non-negative integers');
    }
    owned = { token, deployment: lockFor, dev, ino, takenAt };
  }
  return { deployment, lock: owned, attempts, nextRetryAt, lockOverridden };
}
