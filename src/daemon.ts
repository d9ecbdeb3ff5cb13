// bound-imaged's wiring and process lifecycle: config → state file → reconciler → D-Bus service →
// READY=1; STATUS= kept current; watchdog; SIGTERM/SIGINT → STOPPING=1, in-flight pulls cancelled,
// name released, exit 0 within 5 s; idle for [daemon] idle-exit → pending work handed to systemd,
// STOPPING=1, name released, calls already queued answered, exit 0 (src/lifecycle/). What a
// reconcile needs (Podman client, discovery) is loaded on the first call, so READY comes quickly.
import type { BoundImagesService } from './dbus/service.js';
import { messageOf } from './errors.js';
import type { PendingEntry, PendingWork } from './lifecycle/pending-work.js';
import type { InventoryRow } from './reconcile/inventory.js';
import type { Job, JobSnapshot, ReconcileOptions } from './reconcile/job.js';
import type { Reconciler } from './reconcile/reconciler.js';
import type { Logger } from './systemd/log.js';
import { MessageId } from './systemd/message-ids.js';
import type { Notifier } from './systemd/notify.js';
import { readVersion } from './version.js';

export { readVersion };

/** Everything must be down this long after SIGTERM (systemd's stop timeout is longer; callers wait less). */
const STOP_DEADLINE_MS = 4500;
/** How long the running reconcile gets to wind down after its pulls are aborted. */
const RECONCILE_STOP_MS = 3000;
/** A ListBoundImages answer is served again for this long (from the start of its computation). */
export const INVENTORY_MAX_AGE_MS = 1000;
/** At most this many ListBoundImages callers wait for one computation; more get LimitsExceeded. */
export const INVENTORY_MAX_WAITING = 1024;

export interface DaemonOptions {
  /** --config PATH; undefined: /etc/bound-imaged/config.ini when it exists, else defaults. */
  configPath?: string;
}

export interface DaemonHandle {
  /** Resolves with the exit code once the daemon has stopped. */
  readonly done: Promise<number>;
  stop(reason: string): Promise<number>;
  /** The hook for work owed later (src/lifecycle/pending-work.ts): the idle exit never drops it. */
  readonly pendingWork: PendingWork;
}

const DEFAULT_RECONCILE: ReconcileOptions = {
  extraRoots: [],
  pullPolicy: 'missing',
  dryRun: false,
  gc: true,
};

/** Thrown before READY: the message is what the operator needs; main prints it and exits 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** STATUS= while idle, from the last finished job of this run (or the persisted result). */
export function idleStatus(last: JobSnapshot | null, persistedResult: string): string {
  if (!last) return persistedResult ? `idle, last reconcile: ${persistedResult}` : 'idle';
  if (last.state === 'success' && !last.options.dryRun) {
    return `idle, ${last.imagesTotal} bound image${last.imagesTotal === 1 ? '' : 's'} present`;
  }
  return `idle, last reconcile: ${last.result}${last.options.dryRun ? ' (dry run)' : ''}`;
}

/** STATUS= while a job runs. */
export function runningStatus(s: JobSnapshot): string {
  switch (s.phase) {
    case 'waiting':
    case 'discover':
      return `reconciling (job ${s.id}): discovering bound images`;
    case 'pull':
      return `pulling ${Math.min(s.imagesDone + 1, s.imagesTotal)}/${s.imagesTotal} ${s.current ?? ''}`.trimEnd();
    case 'gc':
      return `reconciling (job ${s.id}): removing images no root binds`;
    case 'done':
      return `reconciling (job ${s.id}): finishing`;
  }
}

/** Starts the daemon; resolves once READY=1 has been sent. Throws StartupError (or ConfigError) before. */
export async function startDaemon(
  opts: DaemonOptions,
  logger: Logger,
  notifier: Notifier,
): Promise<DaemonHandle> {
  notifier.status('starting');
  const { loadConfig } = await import('./config/load.js');
  const config = await loadConfig(opts.configPath);
  const version = readVersion();

  const [
    { StateStore },
    { Reconciler },
    { BoundImagesService },
    { createRunDeps },
    { RootSet },
    { attachStaged, stagedRoots },
    { SharedResult },
    { PendingWork },
    { IdleMonitor },
    wake,
    idleExit,
  ] = await Promise.all([
    import('./state/state-store.js'),
    import('./reconcile/reconciler.js'),
    import('./dbus/service.js'),
    import('./reconcile/deps.js'),
    import('./reconcile/root-set.js'),
    import('./staged/attach.js'),
    import('./reconcile/shared-result.js'),
    import('./lifecycle/pending-work.js'),
    import('./lifecycle/idle-monitor.js'),
    import('./lifecycle/wake-timer.js'),
    import('./lifecycle/idle-exit.js'),
  ]);
  const state = await StateStore.open(config.daemon.stateDirectory, logger);
  // The staged deployment (ostree's marker) is a root of every reconcile while it is staged.
  const roots = new RootSet(config.discovery.roots, state, undefined, () => stagedRoots(config));
  const deps = createRunDeps({ config, logger, roots, keepListingIn: config.daemon.stateDirectory });
  // Work owed later; when an entry falls due without a handler of its own: one default reconcile.
  const runDue = (entry: PendingEntry): void => {
    try {
      const job = reconciler.start(DEFAULT_RECONCILE, 0);
      logger.notice(`pending work ${entry.key} is due (${entry.reason}): reconcile job ${job.id}`, {
        jobId: job.id,
        PENDING_WORK: entry.key,
      });
    } catch (err) {
      logger.warning(`pending work ${entry.key} is due but no reconcile could start: ${messageOf(err)}`);
    }
  };
  const pendingWork = await PendingWork.open(config.daemon.stateDirectory, runDue, logger);
  const resumed = pendingWork.list();
  // Job paths continue from the last process's: a caller never meets an older job's path again.
  const reconciler: Reconciler = new Reconciler(deps, config.daemon.keepJobs, state.lastJobId + 1);
  // The staged guard keeps its retry in pendingWork (key staged-retry): an idle exit never drops it.
  const staged = attachStaged({ config, logger, reconciler, deps, state, pendingWork });
  staged.guard.on('changed', () => service?.refreshManager());
  let service: BoundImagesService | null = null;
  let lastFinished: JobSnapshot | null = null;
  // Any local user may call ListBoundImages: concurrent calls share one computation, and a result is
  // served again for a moment, so callers cannot make the daemon discover and list once per call.
  const inventory = new SharedResult<InventoryRow[]>(
    async () => {
      const { listInventory } = await import('./reconcile/inventory.js');
      const last = reconciler
        .list()
        .filter((j) => j.finished)
        .at(-1);
      return listInventory(deps, last);
    },
    { maxAgeMs: INVENTORY_MAX_AGE_MS, maxWaiting: INVENTORY_MAX_WAITING },
  );

  const currentStatus = (): string => {
    const running = reconciler.running;
    return running ? runningStatus(running.snapshot()) : idleStatus(lastFinished, state.lastResult);
  };
  const setStatus = (): void => notifier.status(currentStatus());

  const model = {
    get lastResult() {
      return state.lastResult;
    },
    get lastReconcileTime() {
      return state.lastReconcileTime;
    },
    get roots() {
      return roots.listed;
    },
    storePath: config.storage.path,
    version,
    get staged() {
      return staged.guard.status;
    },
    upgrade(options: ReconcileOptions, uid: number): Job {
      const job = reconciler.start(options, uid);
      roots.rememberCallers(options).then(
        (added) => {
          if (!added) return;
          inventory.invalidate();
          service?.refreshManager();
        },
        (err: unknown) => logger.err(`cannot remember the root of job ${job.id}: ${messageOf(err)}`),
      );
      return job;
    },
    listBoundImages: (): Promise<InventoryRow[]> => inventory.get(),
  };

  reconciler.on('added', (job) => {
    inventory.invalidate();
    void state.recordJobId(job.id);
    const onChanged = (fields: string[]): void => {
      if (job === reconciler.running && fields.some((f) => f !== 'progress')) setStatus();
    };
    job.on('changed', onChanged);
    job.once('finished', () => job.off('changed', onChanged));
  });
  reconciler.on('finished', (job) => {
    inventory.invalidate();
    const snap = job.snapshot();
    lastFinished = snap;
    void state.recordResult(snap.result, snap.finishTime).then(() => service?.refreshManager());
    service?.refreshManager();
    setStatus();
  });

  // Idle exit: no job running or waiting, no method call being answered, no work due within the idle
  // time, and the staged guard not judging (after a reconcile it may yet schedule a retry to hand over).
  const idleMs = config.daemon.idleExitMs;
  const idle = new IdleMonitor({
    idleMs,
    busy: () => {
      const next = pendingWork.next();
      return (
        reconciler.busy || staged.guard.judging || (next !== undefined && next.dueAt - Date.now() < idleMs)
      );
    },
    onIdle: () => void exitIdle(),
  });
  reconciler.on('added', () => idle.check());
  reconciler.on('finished', () => idle.touch());
  pendingWork.onChange(() => idle.check());
  staged.guard.on('settled', () => idle.check());

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let stopping: Promise<number> | null = null;

  const stop = (reason: string, code = 0): Promise<number> => {
    stopping ??= (async () => {
      idle.stop();
      pendingWork.close();
      notifier.stopWatchdog();
      notifier.stopping();
      notifier.status(`stopping (${reason})`);
      logger.notice(`stopping (${reason})`, { messageId: MessageId.DaemonStopping, SIGNAL: reason });
      const deadline = setTimeout(() => {
        logger.warning(`shutdown took longer than ${STOP_DEADLINE_MS} ms; exiting anyway`);
        resolveDone(code);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      await Promise.race([
        reconciler.shutdown(),
        new Promise((r) => setTimeout(r, RECONCILE_STOP_MS).unref()),
      ]).catch((err: unknown) => logger.err(`stopping the reconciler failed: ${messageOf(err)}`));
      staged.stop();
      await Promise.all([state.flush(), pendingWork.flush()]);
      await service?.stop().catch(() => undefined);
      clearTimeout(deadline);
      resolveDone(code);
      return code;
    })();
    return stopping.then(() => done);
  };

  /** Leaves for lack of work (src/lifecycle/idle-exit.ts); the next D-Bus call or the timer starts a new process. */
  const exitIdle = async (): Promise<void> => {
    if (stopping || !service) return;
    if (!(await idleExit.handOverPendingWork(service.bus, pendingWork, logger))) {
      idle.resume();
      return;
    }
    if (stopping) return;
    stopping = idleExit
      .leaveIdle({
        idleMs,
        logger,
        notifier,
        releaseName: async () => service?.releaseName(),
        pendingCalls: () => idle.pendingCalls,
        busy: () => reconciler.busy,
        finish: async () => {
          pendingWork.close();
          await Promise.all([state.flush(), pendingWork.flush()]);
          await service?.stop().catch(() => undefined);
        },
      })
      .then(() => {
        resolveDone(0);
        return 0;
      });
  };

  try {
    service = await BoundImagesService.start({
      reconciler,
      model,
      events: {
        denied: (member, sender, uid, reason) =>
          logger.notice(`refused ${member} from ${sender} (UID ${uid ?? 'unknown'}): ${reason}`, {
            CALLER: sender,
            CALLER_UID: uid ?? undefined,
          }),
        authorized: (member, sender, uid, action) =>
          logger.notice(`${member} from ${sender} (UID ${uid}) allowed by polkit (${action})`, {
            CALLER: sender,
            CALLER_UID: uid,
            POLKIT_ACTION: action,
          }),
        callStarted: () => idle.callStarted(),
        cancelled: (jobId, uid) =>
          logger.notice(`job ${jobId} cancelled by UID ${uid}`, { jobId, CANCELLED_BY_UID: uid }),
        busLost: (err) => {
          logger.err(`lost the system bus connection: ${err.message}`);
          void stop('bus connection lost', 1);
        },
      },
    });
  } catch (err) {
    throw new StartupError(messageOf(err));
  }

  notifier.ready(currentStatus());
  logger.notice(`bound-imaged ${version} ready on ${service.address} as org.bootc.BoundImages`, {
    messageId: MessageId.DaemonReady,
    VERSION: version,
    STORE_PATH: config.storage.path,
    ROOTS: roots.listed.join(' '),
  });
  notifier.startWatchdog();
  // Every call counts as activity, Get/GetAll too (dbus-next answers those; ours come first).
  service.bus.addMethodHandler(() => {
    idle.touch();
    return false;
  });
  if (resumed.length > 0) {
    // This process now keeps the schedule: a wake timer left by the last idle exit is not needed.
    await wake.disarmWakeTimer(service.bus).catch((err: unknown) => logger.warning(messageOf(err)));
    logger.notice(
      `resuming ${resumed.length} pending work item(s), the first ${resumed[0]?.key} (${resumed[0]?.reason})`,
    );
  }
  pendingWork.arm();
  void staged.start();
  idle.start();
  return { done, stop: (reason) => stop(reason), pendingWork };
}
