// One reconcile, step by step: discover → check the store → plan → pull → GC → result.
// Everything it learns goes into the Job (progress model) and the journal; it never speaks D-Bus.
import type { Logger } from '../systemd/log.js';
import type { Config } from '../config/index.js';
import { messageOf } from '../errors.js';
import { StoreError } from '../store/errors.js';
import { sameDirectory } from '../store/served-root.js';
import type { PullOptions, StoredImage } from '../store/podman-client.js';
import type { HostImageScan } from '../discovery/host-image.js';
import type { RootDiscovery } from '../types.js';
import { gcBlocker, planGc, type ProtectedImage } from './gc-plan.js';
import type { ImageState, Job } from './job.js';
import * as journal from './journal.js';
import { collectWanted, findInStore, planPulls, type PullPlan, type WantedImage } from './plan.js';
import { runPulls } from './pull-pool.js';

/** What a reconcile needs from the Podman store client. */
export interface StoreApi {
  /** The store directory the Podman service behind the socket serves (store/served-root.ts). */
  storeRoot(): Promise<string>;
  listImages(): Promise<StoredImage[]>;
  /** The id of the image a reference names (one cheap call), or null. */
  imageId(reference: string): Promise<string | null>;
  pull(reference: string, opts: PullOptions): Promise<void>;
  removeImage(id: string): Promise<void>;
  untag(name: string): Promise<void>;
}

export interface RunDeps {
  store: StoreApi;
  logger: Logger;
  storePath: string;
  gcEnabled: boolean;
  /** The configuration's [pull] section, but the auth files: credentials come from `credentialFor`. */
  pull: Omit<Config['pull'], 'authFiles'>;
  /** Discover every root of this run (configured, remembered and the caller's). */
  discover(extraRoots: readonly string[]): Promise<RootDiscovery[]>;
  /** The host images of these roots' deployments (their origin files), which GC keeps. */
  hostImages(roots: readonly string[]): Promise<HostImageScan>;
  credentialFor(w: WantedImage): Promise<PullOptions['auth']>;
}

/** Refuse to touch a store other than the configured one (e.g. the host's /var/lib/containers). */
export async function checkStoreIdentity(store: StoreApi, storePath: string): Promise<void> {
  const rootDir = await store.storeRoot();
  if (!(await sameDirectory(storePath, rootDir))) {
    throw new Error(
      `the Podman service behind the socket serves ${rootDir}, not the configured store ${storePath}: refusing to pull or remove anything`,
    );
  }
}

/** What discovery found, with its problems counted. */
interface Discovered {
  discoveries: RootDiscovery[];
  /** Bound-image entries or files that could not be used. */
  errors: number;
  /** Roots that could not be read. */
  unreadable: string[];
  /** The roots' host images (discovery/host-image.ts); an origin file in `errors` blocks GC. */
  hosts: HostImageScan;
}

/** How the pulls went. */
interface Pulled {
  /** Pulls ran (nothing to pull, or a dry run: false); then the store changed since the listing. */
  ran: boolean;
  /** Failed pulls that count (a `newer` check of an image already present does not). */
  failed: number;
  /** The Podman API socket itself failed: the headline of the result. */
  socketFailure: string | null;
}

/** Runs one reconcile to its end; the job is ended here in every case. */
export async function runReconcile(job: Job, deps: RunDeps): Promise<void> {
  const log = deps.logger;
  const signal = job.abort.signal;
  // The store identity check and the first listing are read-only: they run while discovery does.
  // Nothing is pulled or removed before the identity check has passed; the listing need not wait for
  // /info, its result is used only after the check.
  const identity = checkStoreIdentity(deps.store, deps.storePath);
  const listing = deps.store.listImages();
  identity.catch(() => undefined);
  listing.catch(() => undefined);
  try {
    job.setPhase('discover');
    const found = await discover(job, deps);
    if (signal.aborted) return finishCancelled(job, log);

    await identity;
    const wanted = collectWanted(found.discoveries);
    const before = await listing;
    const plan = planPulls(wanted, before, job.options.pullPolicy);
    setImages(job, plan);

    const pulled = await pull(job, deps, plan.toPull, before);
    if (signal.aborted) return finishCancelled(job, log);

    job.setPhase('gc');
    const blocker = gcBlocker({
      enabledByConfig: deps.gcEnabled,
      enabledByCaller: job.options.gc,
      cancelled: signal.aborted,
      unreadableRoots: found.unreadable,
      discoveryErrors: found.errors,
      originErrors: found.hosts.errors.length,
      failedPulls: pulled.failed,
    });
    if (blocker) {
      job.skipGc(blocker);
      journal.logGcSkipped(log, job, blocker, found.unreadable);
    } else {
      // Nothing pulled: the store is as listed (the daemon owns it), so GC plans from that listing.
      const after = pulled.ran ? await deps.store.listImages() : before;
      await collectGarbage(job, deps, wanted, found.hosts.images, after);
    }
    if (signal.aborted) return finishCancelled(job, log);
    finish(job, log, found, pulled, wanted.length);
  } catch (err) {
    if (signal.aborted) return finishCancelled(job, log);
    const reason = messageOf(err);
    job.addError('reconcile', reason);
    job.end('failed', reason);
    journal.logFailed(log, job, reason);
  }
}

/** Discovers every root of the run; each problem goes into the job and the journal. */
async function discover(job: Job, deps: RunDeps): Promise<Discovered> {
  const log = deps.logger;
  const discoveries = await deps.discover(job.options.extraRoots);
  journal.logStarted(
    log,
    job,
    discoveries.map((d) => d.root),
  );
  let errors = 0;
  const unreadable: string[] = [];
  for (const d of discoveries) {
    if (!d.readable) unreadable.push(d.root);
    for (const e of d.errors) {
      errors += 1;
      job.addError(journal.discoveryErrorPlace(e), e.message);
      journal.logDiscoveryError(log, job, e);
    }
  }
  const hosts = await deps.hostImages(discoveries.map((d) => d.root));
  for (const e of hosts.errors) {
    job.addError(journal.originErrorPlace(e), `deployment origin file: ${e.message}`);
    journal.logOriginError(log, job, e);
  }
  return { discoveries, errors, unreadable, hosts };
}

/** The job's image list from the plan: present images count as done. */
function setImages(job: Job, plan: PullPlan): void {
  const states = new Map<string, ImageState>();
  for (const p of plan.present) states.set(p.wanted.reference, 'present');
  for (const w of plan.toPull) states.set(w.reference, 'missing');
  job.setImages(states);
}

/** Pulls what the plan wants (a dry run only records it as planned). */
async function pull(
  job: Job,
  deps: RunDeps,
  toPull: readonly WantedImage[],
  before: readonly StoredImage[],
): Promise<Pulled> {
  if (job.options.dryRun) {
    for (const w of toPull) job.addPlanned({ action: 'pull', name: w.reference });
    return { ran: false, failed: 0, socketFailure: null };
  }
  if (toPull.length === 0) return { ran: false, failed: 0, socketFailure: null };
  const log = deps.logger;
  const signal = job.abort.signal;
  job.setPhase('pull');
  const attempts = new Map<string, number>();
  const logging: Promise<void>[] = [];
  const outcomes = await runPulls(deps.store, toPull, {
    ...deps.pull,
    signal,
    credentialFor: deps.credentialFor,
    onStart: (w) => job.pullStarted(w.reference),
    onProgress: (w, f) => job.pullProgress(w.reference, f),
    onLevel: (change) => journal.logConcurrencyChange(log, job, change),
    onSettled: (summary) => journal.logConcurrencySettled(log, job, summary, deps.pull.maxConcurrency),
    onRetry: (w, e, attempt, left) => {
      attempts.set(w.reference, attempt);
      journal.logRetry(log, job, w, e, attempt, left);
    },
    onDone: (w, e) => {
      if (e && signal.aborted) {
        job.pullFinished(w.reference, false, 'cancelled');
        return;
      }
      job.pullFinished(w.reference, e === null, e?.message);
      if (e) {
        journal.logPullFailed(log, job, w, e, (attempts.get(w.reference) ?? 0) + 1);
        return;
      }
      logging.push(
        deps.store
          .imageId(w.reference)
          .catch(() => null)
          .then((id) => journal.logPulled(log, job, w, id ?? undefined)),
      );
    },
  });
  await Promise.all(logging);
  const failed = outcomes.filter((o) => o.error);
  // Policy `newer`: a present image whose registry check failed is still usable.
  const tolerated =
    job.options.pullPolicy === 'newer' ? failed.filter((o) => findInStore(o.wanted.reference, before)) : [];
  return {
    ran: true,
    failed: failed.length - tolerated.length,
    socketFailure: socketFailureOf(failed.map((o) => o.error)),
  };
}

/** Ends a reconcile that ran to its end: failed when anything went wrong, else success. */
function finish(job: Job, log: Logger, found: Discovered, pulled: Pulled, images: number): void {
  const originErrors = found.hosts.errors.length;
  const problems = pulled.failed + found.errors + found.unreadable.length + originErrors;
  if (problems === 0) {
    job.end('success');
    journal.logSucceeded(log, job, images);
    return;
  }
  const counts = summarize(pulled.failed, found.errors, found.unreadable.length, originErrors);
  const reason = pulled.socketFailure ? `${pulled.socketFailure}; ${counts}` : counts;
  job.end('failed', reason);
  journal.logFailed(log, job, reason);
}

async function collectGarbage(
  job: Job,
  deps: RunDeps,
  wanted: readonly WantedImage[],
  hostImages: readonly ProtectedImage[],
  after: readonly StoredImage[],
): Promise<void> {
  const log = deps.logger;
  const gc = planGc(
    wanted.map((w) => w.reference),
    after,
    hostImages,
  );
  for (const u of gc.untag) {
    if (job.options.dryRun) {
      job.addPlanned({ action: 'untag', name: u.name });
      continue;
    }
    await deps.store.untag(u.name);
    job.addRemoved(u.name);
    journal.logUntagged(log, job, u.name, u.id);
  }
  for (const r of gc.remove) {
    const label = r.names[0] ?? r.id;
    if (job.options.dryRun) {
      job.addPlanned({ action: 'remove', name: label });
      continue;
    }
    await deps.store.removeImage(r.id);
    job.addRemoved(label);
    journal.logRemoved(log, job, label, r.id);
  }
}

/**
 * When pulls failed because the Podman API socket could not be used, that is the news an operator
 * needs in the result and STATUS=, not only "N pull(s) failed".
 */
function socketFailureOf(errors: readonly (Error | null)[]): string | null {
  for (const e of errors) if (e instanceof StoreError && e.socketFailure) return e.socketFailure;
  return null;
}

function summarize(
  failedPulls: number,
  discoveryErrors: number,
  unreadable: number,
  originErrors: number,
): string {
  const parts: string[] = [];
  if (failedPulls) parts.push(`${failedPulls} pull(s) failed`);
  if (discoveryErrors) parts.push(`${discoveryErrors} bound-image file error(s)`);
  if (unreadable) parts.push(`${unreadable} unreadable root(s)`);
  if (originErrors) parts.push(`${originErrors} deployment origin file error(s)`);
  return parts.join(', ');
}

function finishCancelled(job: Job, log: Logger): void {
  job.skipGc('the reconcile was cancelled');
  job.end('cancelled');
  journal.logCancelled(log, job);
}
