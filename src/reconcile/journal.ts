// The journal entries of one reconcile: one function per event, each with its MESSAGE_ID, priority
// and the fields docs/logging.md promises (src/systemd/message-ids.ts MessageCatalog).
import { posix } from 'node:path';
import type { Logger } from '../systemd/log.js';
import { MessageId } from '../systemd/message-ids.js';
import type { OriginError } from '../discovery/host-image.js';
import type { DiscoveryError } from '../types.js';
import type { ConcurrencySummary, LevelChange } from './concurrency-controller.js';
import type { Job } from './job.js';
import type { WantedImage } from './plan.js';
import { BOUND_IMAGES_DIR } from '../discovery/discover-root.js';

/** Where a bound image came from, for BOUND_SOURCE= and ROOT=. */
function sourceFields(w: WantedImage): { boundSource?: string; root?: string } {
  const s = w.sources[0];
  return s ? { boundSource: s.sourceFile, root: s.root } : {};
}

function durationMs(job: Job): number {
  return Math.round((Date.now() * 1000 - job.startTime) / 1000);
}

export function logStarted(log: Logger, job: Job, roots: readonly string[]): void {
  log.info(`reconcile ${job.id} started: ${roots.length} root(s), pull policy ${job.options.pullPolicy}`, {
    messageId: MessageId.ReconcileStarted,
    jobId: job.id,
    ROOTS: roots.join(' '),
    PULL_POLICY: job.options.pullPolicy,
    DRY_RUN: String(job.options.dryRun),
  });
}

/**
 * Where a discovery error is, as a path on the host: the file at fault inside its root, else the
 * entry of bound-images.d, else the root. Unambiguous when two roots hold the same file.
 */
export function discoveryErrorPlace(e: DiscoveryError): string {
  if (e.file !== undefined) return posix.join(e.root, e.file);
  if (e.entry !== undefined) return posix.join(e.root, BOUND_IMAGES_DIR, e.entry);
  return e.root;
}

export function logDiscoveryError(log: Logger, job: Job, e: DiscoveryError): void {
  const where = `${discoveryErrorPlace(e)}${e.file !== undefined && e.line ? `:${e.line}` : ''}`;
  log.warning(`${where}: ${e.message}`, {
    messageId: MessageId.DiscoveryError,
    jobId: job.id,
    root: e.root,
    ...(e.file ? { boundSource: e.file } : {}),
    ...(e.entry ? { ENTRY: e.entry } : {}),
    ...(e.line ? { LINE: e.line } : {}),
    ERROR: e.message,
  });
}

/** `ORIGIN:LINE` of a deployment origin file that could not be read: the job's error subject. */
export function originErrorPlace(e: OriginError): string {
  return e.line !== undefined ? `${e.origin}:${e.line}` : e.origin;
}

/** An origin file whose host image is unknown: GC is skipped (no MESSAGE_ID of its own, like a retry). */
export function logOriginError(log: Logger, job: Job, e: OriginError): void {
  log.warning(`${originErrorPlace(e)}: deployment origin file: ${e.message}`, {
    jobId: job.id,
    root: e.root,
    ORIGIN: e.origin,
    ...(e.line !== undefined ? { LINE: e.line } : {}),
    ERROR: e.message,
  });
}

export function logRetry(
  log: Logger,
  job: Job,
  w: WantedImage,
  e: Error,
  attempt: number,
  left: number,
): void {
  log.warning(`pull of ${w.reference} failed (attempt ${attempt}), retrying: ${e.message}`, {
    image: w.reference,
    jobId: job.id,
    ATTEMPT: attempt,
    RETRIES_LEFT: left,
  });
}

const perSecond = (x: number | undefined): string | undefined => (x === undefined ? undefined : x.toFixed(2));

/** `[pull] concurrency = auto` moved its level (debug: several per run; no MESSAGE_ID, like a retry). */
export function logConcurrencyChange(log: Logger, job: Job, c: LevelChange): void {
  const why =
    c.reason === 'transient'
      ? 'a transient pull failure'
      : `throughput ${perSecond(c.throughput)} pulls/s at ${c.from}` +
        (c.previous === undefined ? '' : ` against ${perSecond(c.previous)} at the level before`);
  const what = c.from === c.to ? `stays at ${c.to}` : `${c.from} → ${c.to}`;
  log.debug(`pull concurrency ${what} (${c.reason}: ${why})`, {
    jobId: job.id,
    CONCURRENCY: c.to,
    PREVIOUS_CONCURRENCY: c.from,
    REASON: c.reason,
    THROUGHPUT: perSecond(c.throughput),
    PREVIOUS_THROUGHPUT: perSecond(c.previous),
  });
}

/** Where `auto` settled, once per reconcile that pulled. */
export function logConcurrencySettled(log: Logger, job: Job, s: ConcurrencySummary, max: number): void {
  const levels = s.levels.join(' → ');
  log.info(`pull concurrency settled at ${s.settled} (auto, max ${max}: ${levels})`, {
    jobId: job.id,
    CONCURRENCY: s.settled,
    HIGHEST_CONCURRENCY: s.highest,
    MAX_CONCURRENCY: max,
    CONCURRENCY_LEVELS: s.levels.join(' '),
  });
}

export function logPulled(log: Logger, job: Job, w: WantedImage, imageId: string | undefined): void {
  log.info(`pulled ${w.reference}`, {
    messageId: MessageId.ImagePulled,
    jobId: job.id,
    image: w.reference,
    ...(imageId ? { IMAGE_ID: imageId } : {}),
    ...sourceFields(w),
  });
}

export function logPullFailed(log: Logger, job: Job, w: WantedImage, e: Error, attempts: number): void {
  log.err(`pull of ${w.reference} failed: ${e.message}`, {
    messageId: MessageId.ImagePullFailed,
    jobId: job.id,
    image: w.reference,
    ...sourceFields(w),
    ATTEMPTS: attempts,
    ERROR: e.message,
  });
}

export function logGcSkipped(
  log: Logger,
  job: Job,
  reason: string,
  unreadableRoots: readonly string[],
): void {
  log.warning(`GC skipped: ${reason}`, {
    messageId: MessageId.GcSkipped,
    jobId: job.id,
    REASON: reason,
    ...(unreadableRoots.length ? { root: unreadableRoots.join(' ') } : {}),
  });
}

export function logUntagged(log: Logger, job: Job, name: string, imageId: string): void {
  log.info(`untagged ${name}`, {
    messageId: MessageId.ImageUntagged,
    jobId: job.id,
    image: name,
    IMAGE_ID: imageId,
  });
}

export function logRemoved(log: Logger, job: Job, name: string, imageId: string): void {
  log.info(`removed ${name}`, {
    messageId: MessageId.ImageRemoved,
    jobId: job.id,
    image: name,
    IMAGE_ID: imageId,
  });
}

export function logSucceeded(log: Logger, job: Job, present: number): void {
  const s = job.snapshot();
  log.notice(`reconcile ${job.id} finished: ${present} bound image(s) present`, {
    messageId: MessageId.ReconcileSucceeded,
    jobId: job.id,
    PULLED: s.pulled.length,
    REMOVED: s.removed.length,
    DURATION_MS: durationMs(job),
  });
}

export function logFailed(log: Logger, job: Job, reason: string): void {
  const s = job.snapshot();
  const first = s.errors[0];
  log.err(`reconcile ${job.id} failed: ${reason}`, {
    messageId: MessageId.ReconcileFailed,
    jobId: job.id,
    ERRORS: s.errors.length,
    ERROR: first ? `${first.subject}: ${first.message}` : reason,
    PULLED: s.pulled.length,
    DURATION_MS: durationMs(job),
  });
}

export function logCancelled(log: Logger, job: Job): void {
  const by = job.cancelledByUid;
  log.notice(`reconcile ${job.id} cancelled${by === undefined ? '' : ` by UID ${by}`}`, {
    messageId: MessageId.ReconcileCancelled,
    jobId: job.id,
    ...(by === undefined ? {} : { CANCELLED_BY_UID: by }),
  });
}
