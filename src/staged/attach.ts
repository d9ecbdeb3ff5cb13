// Wires the staged-deployment guard into the running daemon: the staged root joins every reconcile's
// roots (so its images are pulled and kept by GC); a reconcile that starts refreshes the guard (the
// lock is taken at once when images are missing) and, while the staged deployment still misses
// images, holds the logind delay inhibitor until the reconcile ends; a finished reconcile refreshes
// the guard again (lock released, or the next retry scheduled); a retry starts an ordinary reconcile.
// The retry's timer is the daemon's PendingWork entry `staged-retry`, so the idle monitor sees it and
// an idle exit hands it to systemd; the state file's `staged` record stays the source of truth.
// A shutdown announced while the inhibitor is held is logged as RebootDelayed. While the daemon runs
// it also watches ostree's run directory itself (inotify): a marker staged, replaced or removed, or a
// lock file removed, is seen at once even when bound-imaged-staged.path's service is still busy with
// an earlier change (systemd does not start a unit again while it is active).
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import type { PendingWork } from '../lifecycle/pending-work.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { RunDeps } from '../reconcile/run.js';
import type { StateStore } from '../state/state-store.js';
import type { Logger } from '../systemd/log.js';
import { MessageId } from '../systemd/message-ids.js';
import { FINALIZATION_LOCK, readStagedDeployment, STAGED_MARKER } from './marker.js';
import { ShutdownInhibitor, watchShutdown, type ShutdownWatch } from './shutdown-inhibitor.js';
import { StagedGuard, type Presence, type RetryScheduler } from './staged-guard.js';
import { messageOf } from '../errors.js';

/** The staged deployment's root when one is staged and its directory exists; [] otherwise. */
export async function stagedRoots(config: Config): Promise<string[]> {
  try {
    const staged = await readStagedDeployment(config.staged.ostreeRunDir, config.staged.sysroot);
    if (staged === null) return [];
    await stat(staged.root);
    return [staged.root];
  } catch {
    return [];
  }
}

/** Which of `root`'s bound images the store has, and what kept us from knowing for sure. */
export async function presenceOf(root: string, deps: Pick<RunDeps, 'store'>): Promise<Presence> {
  const [{ discoverRoots }, { collectWanted, findInStore }] = await Promise.all([
    import('../discovery/index.js'),
    import('../reconcile/plan.js'),
  ]);
  const discoveries = await discoverRoots([root]);
  const problems: string[] = [];
  for (const d of discoveries) {
    if (!d.readable) problems.push(`the staged root ${d.root} cannot be read`);
    for (const e of d.errors) problems.push(`${e.file ?? e.entry ?? e.root}: ${e.message}`);
  }
  const wanted = collectWanted(discoveries);
  let missing = wanted.map((w) => w.reference);
  try {
    const stored = await deps.store.listImages();
    missing = wanted.filter((w) => !findInStore(w.reference, stored)).map((w) => w.reference);
  } catch (err) {
    problems.push(`cannot list the store: ${messageOf(err)}`);
  }
  return { total: wanted.length, present: wanted.length - missing.length, missing, problems };
}

export interface StagedWiring {
  readonly guard: StagedGuard;
  readonly inhibitor: ShutdownInhibitor;
  /** Applies the rules once at start and resumes a persisted retry schedule. */
  start(): Promise<void>;
  stop(): void;
}

/** The PendingWork key of the staged deployment's next retry. */
export const STAGED_RETRY = 'staged-retry';

/** The guard's retry timer as the PendingWork entry STAGED_RETRY (one entry: scheduling moves it). */
export function retryScheduler(pendingWork: Pick<PendingWork, 'schedule' | 'cancel'>): RetryScheduler {
  return {
    schedule: (dueAt, deployment) =>
      void pendingWork.schedule(
        STAGED_RETRY,
        dueAt,
        `retry the missing bound images of the staged deployment ${deployment}`,
      ),
    cancel: () => void pendingWork.cancel(STAGED_RETRY),
  };
}

export function attachStaged(o: {
  config: Config;
  logger: Logger;
  reconciler: Reconciler;
  deps: Pick<RunDeps, 'store'>;
  state: StateStore;
  /** Keeps the retry timer (before its arm(): a retry the last process left is taken over here). */
  pendingWork: Pick<PendingWork, 'schedule' | 'cancel' | 'onDue'>;
}): StagedWiring {
  const { config, logger, reconciler, state } = o;
  const inhibitor = new ShutdownInhibitor(logger);
  let shutdownWatch: Promise<ShutdownWatch | null> | null = null;
  let runDirWatch: FSWatcher | null = null;
  let debounce: NodeJS.Timeout | undefined;
  let stopped = false;
  let started = false;

  const retry = (): void => {
    if (stopped) return;
    try {
      const job = reconciler.start({ extraRoots: [], pullPolicy: 'missing', dryRun: false, gc: true }, 0);
      logger.info(`retrying the missing images of the staged deployment (job ${job.id})`, { jobId: job.id });
    } catch (err) {
      logger.warning(`cannot start a retry for the staged deployment: ${messageOf(err)}`);
    }
  };

  const guard = new StagedGuard({
    runDir: config.staged.ostreeRunDir,
    sysroot: config.staged.sysroot,
    lockFinalization: config.staged.lockFinalization,
    retryDelayMs: config.staged.retryDelayMs,
    retryMaxDelayMs: config.staged.retryMaxDelayMs,
    logger,
    record: {
      get: () => state.staged,
      // Most refreshes change nothing: write the state file only when the record moved.
      set: (r) =>
        JSON.stringify(r) === JSON.stringify(state.staged) ? Promise.resolve() : state.setStaged(r),
    },
    presence: (root) => presenceOf(root, o.deps),
    retry,
    // The state file's record (attempts, nextRetryAt) is the truth; the pending-work entry is its
    // timer, written again by every schedule and by start(), so the two cannot disagree for long.
    scheduler: retryScheduler(o.pendingWork),
  });
  // Due before start() has judged the deployment (an overdue entry left by the last process): start()
  // schedules the retry again from the state file, so it is not run twice; if start() schedules
  // none (images present, nothing staged, or the check failed), the owed retry still runs once.
  let dueBeforeStart = false;
  o.pendingWork.onDue(STAGED_RETRY, () => {
    if (started) retry();
    else dueBeforeStart = true;
  });

  const onShutdown = (): void => {
    if (!inhibitor.held) return;
    const s = guard.status;
    void shutdownWatch?.then((w) => {
      logger.warning(
        `shutdown delayed: still pulling the bound images of the staged deployment ${s.deployment} (${s.missing.join(', ') || s.reason}); ` +
          (s.lock === 'held'
            ? 'its finalization stays locked if they do not arrive in time'
            : `finalization lock: ${s.lock}`),
        {
          messageId: MessageId.RebootDelayed,
          DEPLOYMENT: s.deployment,
          MISSING: s.missing.join(' '),
          LOCKED: s.lock,
          DELAY_MAX_USEC: w?.delayMaxUsec ?? 0,
        },
      );
    });
  };

  const hold = (deployment: string): void => {
    inhibitor.hold(`pulling the bound images of the staged deployment ${deployment}`);
    shutdownWatch ??= watchShutdown(onShutdown).catch((err: unknown) => {
      logger.warning(`cannot watch logind for shutdowns: ${messageOf(err)}`);
      return null;
    });
  };

  reconciler.on('added', (job) => {
    if (job.options.dryRun) return;
    void guard.refresh().then((s) => {
      if (!stopped && !job.finished && s.deployment !== '' && !s.complete) hold(s.deployment);
    });
  });
  reconciler.on('finished', () => {
    // The inhibitor goes only after the guard has judged the result: a shutdown waiting for it must
    // find the lock already released when the images arrived.
    void guard.reconcileFinished().finally(() => {
      if (!reconciler.busy) inhibitor.release();
    });
  });

  /** A change in ostree's run directory: re-judge, and reconcile when the staged deployment misses images. */
  const runDirChanged = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      const before = guard.status.deployment;
      void guard.refresh().then((s) => {
        if (!stopped && s.deployment !== '' && !s.complete && s.deployment !== before) retry();
      });
    }, 200);
  };

  const watchRunDir = (): void => {
    try {
      runDirWatch = watch(config.staged.ostreeRunDir, { persistent: false }, (_event, name) => {
        if (name === STAGED_MARKER || name === FINALIZATION_LOCK || name === null) runDirChanged();
      });
      runDirWatch.on('error', (err) => {
        logger.warning(`stopped watching ${config.staged.ostreeRunDir}: ${err.message}`);
        runDirWatch?.close();
        runDirWatch = null;
      });
    } catch (err) {
      // No run directory yet (nothing staged since boot): bound-imaged-staged.path covers it.
      logger.info(`not watching ${config.staged.ostreeRunDir}: ${messageOf(err)}`);
    }
  };

  return {
    guard,
    inhibitor,
    async start() {
      watchRunDir();
      try {
        await guard.start();
      } finally {
        started = true;
      }
      if (dueBeforeStart && !guard.pending) retry();
    },
    stop() {
      stopped = true;
      clearTimeout(debounce);
      runDirWatch?.close();
      guard.stop();
      inhibitor.release();
      void shutdownWatch?.then((w) => w?.stop());
    },
  };
}
