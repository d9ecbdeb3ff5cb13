// One reconcile, step by step: discover → check the store → plan → pull → GC → result.
// Everything it learns goes into the Job (progress model) and the journal; it never speaks D-Bus.
import type { Logger } from '../systemd/log.js';
import { PullError, StoreError } from '../store/errors.js';
import { sameDirectory } from '../store/served-root.js';
import type { PullOptions, StoredImage } from '../store/podman-client.js';
import type { RootDiscovery } from '../types.js';
import { gcBlocker, planGc } from './gc-plan.js';
import type { ImageState, Job } from './job.js';
import * as journal from './journal.js';
import { collectWanted, findInStore, planPulls, type WantedImage } from './plan.js';
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
  pull: { concurrency: number; retries: number; retryDelayMs: number; timeoutMs: number };
  /** Discover every root of this run (configured, remembered and the caller's). */
  discover(extraRoots: readonly string[]): Promise<RootDiscovery[]>;
  credentialFor(w: WantedImage): Promise<PullOptions['auth']>;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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

/** Runs one reconcile to its end; the job is ended here in every case. */
export async function runReconcile(job: Job, deps: RunDeps): Promise<void> {
  const log = deps.logger;
  const signal = job.abort.signal;
  // The store identity check and the first listing are read-only: they run while discovery does.
  // Nothing is pulled or removed before the identity check has passed.
  const identity = checkStoreIdentity(deps.store, deps.storePath);
  // Listing is read-only too, so it need not wait for /info; its result is used only after the check.
  const listing = deps.store.listImages();
  identity.catch(() => undefined);
  listing.catch(() => undefined);
  try {
    job.setPhase('discover');
    const discoveries = await deps.discover(job.options.extraRoots);
    journal.logStarted(
      log,
      job,
      discoveries.map((d) => d.root),
    );
    let discoveryErrors = 0;
    const unreadable: string[] = [];
    for (const d of discoveries) {
      if (!d.readable) unreadable.push(d.root);
      for (const e of d.errors) {
        discoveryErrors += 1;
        job.addError(journal.discoveryErrorPlace(e), e.message);
        journal.logDiscoveryError(log, job, e);
      }
    }
    if (signal.aborted) return finishCancelled(job, log);

    await identity;
    const wanted = collectWanted(discoveries);
    const before = await listing;
    const plan = planPulls(wanted, before, job.options.pullPolicy);
    const states = new Map<string, ImageState>();
    for (const p of plan.present) states.set(p.wanted.reference, 'present');
    for (const w of plan.toPull) states.set(w.reference, 'missing');
    job.setImages(states);

    let failedPulls = 0;
    let socketProblem: string | null = null;
    const pulls = plan.toPull.length > 0 && !job.options.dryRun;
    if (pulls) {
      job.setPhase('pull');
      const attempts = new Map<string, number>();
      const logging: Promise<void>[] = [];
      const outcomes = await runPulls(deps.store, plan.toPull, {
        ...deps.pull,
        signal,
        credentialFor: deps.credentialFor,
        onStart: (w) => job.pullStarted(w.reference),
        onProgress: (w, f) => job.pullProgress(w.reference, f),
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
        job.options.pullPolicy === 'newer'
          ? failed.filter((o) => findInStore(o.wanted.reference, before))
          : [];
      failedPulls = failed.length - tolerated.length;
      socketProblem = unreachableSocket(failed.map((o) => o.error));
    } else if (job.options.dryRun) {
      for (const w of plan.toPull) job.addPulled(`${w.reference} (dry run: would pull)`);
    }
    if (signal.aborted) return finishCancelled(job, log);

    job.setPhase('gc');
    const blocker = gcBlocker({
      enabledByConfig: deps.gcEnabled,
      enabledByCaller: job.options.gc,
      cancelled: signal.aborted,
      unreadableRoots: unreadable,
      discoveryErrors,
      failedPulls,
    });
    if (blocker) {
      job.skipGc(blocker);
      journal.logGcSkipped(log, job, blocker, unreadable);
    } else {
      // Nothing pulled: the store is as listed (the daemon owns it), so GC plans from that listing.
      await collectGarbage(job, deps, wanted, pulls ? await deps.store.listImages() : before);
    }

    const problems = failedPulls + discoveryErrors + unreadable.length;
    if (signal.aborted) return finishCancelled(job, log);
    if (problems > 0) {
      const counts = summarize(failedPulls, discoveryErrors, unreadable.length);
      const reason = socketProblem ? `${socketProblem}; ${counts}` : counts;
      job.end('failed', reason);
      journal.logFailed(log, job, reason);
    } else {
      job.end('success');
      journal.logSucceeded(log, job, wanted.length);
    }
  } catch (err) {
    if (signal.aborted) return finishCancelled(job, log);
    const reason = errorMessage(err);
    job.addError('reconcile', reason);
    job.end('failed', reason);
    journal.logFailed(log, job, reason);
  }
}

async function collectGarbage(
  job: Job,
  deps: RunDeps,
  wanted: readonly WantedImage[],
  after: readonly StoredImage[],
): Promise<void> {
  const log = deps.logger;
  const gc = planGc(
    wanted.map((w) => w.reference),
    after,
  );
  for (const u of gc.untag) {
    if (job.options.dryRun) {
      job.addRemoved(`${u.name} (dry run: would untag)`);
      continue;
    }
    await deps.store.untag(u.name);
    job.addRemoved(u.name);
    journal.logUntagged(log, job, u.name, u.id);
  }
  for (const r of gc.remove) {
    const label = r.names[0] ?? r.id;
    if (job.options.dryRun) {
      job.addRemoved(`${label} (dry run: would remove)`);
      continue;
    }
    await deps.store.removeImage(r.id);
    job.addRemoved(label);
    journal.logRemoved(log, job, label, r.id);
  }
}

/**
 * When pulls failed because the Podman API socket could not be reached, that is the news an operator
 * needs in the result and STATUS=, not only "N pull(s) failed".
 */
function unreachableSocket(errors: readonly (Error | null)[]): string | null {
  for (const e of errors) {
    if (e instanceof StoreError && !(e instanceof PullError) && e.socketPath && e.code) {
      const at = e.message.indexOf('Podman API socket');
      return at >= 0 ? e.message.slice(at) : e.message;
    }
  }
  return null;
}

function summarize(failedPulls: number, discoveryErrors: number, unreadable: number): string {
  const parts: string[] = [];
  if (failedPulls) parts.push(`${failedPulls} pull(s) failed`);
  if (discoveryErrors) parts.push(`${discoveryErrors} bound-image file error(s)`);
  if (unreadable) parts.push(`${unreadable} unreadable root(s)`);
  return parts.join(', ');
}

function finishCancelled(job: Job, log: Logger): void {
  job.skipGc('the reconcile was cancelled');
  job.end('cancelled');
  journal.logCancelled(log, job);
}
