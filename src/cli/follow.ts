// Following a job to its end without a race: the match rules for the jobs' PropertiesChanged, the
// manager's JobRemoved and the daemon's name owner are added BEFORE Upgrade is called (JobWatch.start),
// so nothing the job does after it exists can be missed; the job's properties are then read in bus
// order with the signals, and a job that already ended is recognized from its State or its JobRemoved.
import type { Message } from 'dbus-next';
import type { BusClient } from './bus.js';
import { CliError, ExitCode } from './cli-error.js';
import {
  BUS_NAME,
  JOB_INTERFACE,
  JOB_PATH_PREFIX,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  PROPERTIES_INTERFACE,
  jobIdOfPath,
} from '../contract/index.js';
import { applyJobProperties, emptyJob, type JobView } from './decode.js';
import { isFinal } from './job-events.js';

/** How many other jobs' views the watch keeps while it waits for its own job path (single flight). */
const MAX_TRACKED = 32;

export const MATCH_RULES = [
  `type='signal',sender='${BUS_NAME}',interface='${PROPERTIES_INTERFACE}',member='PropertiesChanged',path_namespace='${JOB_PATH_PREFIX.replace(/\/$/, '')}'`,
  `type='signal',sender='${BUS_NAME}',interface='${MANAGER_INTERFACE}',member='JobRemoved',path='${MANAGER_PATH}'`,
  `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${BUS_NAME}'`,
];

interface Tracked {
  view: JobView;
  /** The JobRemoved result, once seen. */
  removed: string | null;
  /** The properties were invalidated without values: read them again. */
  stale: boolean;
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

export class JobWatch {
  private readonly tracked = new Map<string, Tracked>();
  private listener: (() => void) | null = null;
  private daemonGone = false;
  private wake: (() => void) | null = null;
  private failure: unknown = null;

  private constructor(private readonly bus: BusClient) {}

  /** Subscribes to everything a job does; call before Upgrade (or before reading a job). */
  static async start(bus: BusClient): Promise<JobWatch> {
    const watch = new JobWatch(bus);
    watch.listener = bus.onSignal((msg) => watch.onSignal(msg));
    await Promise.all(MATCH_RULES.map((rule) => bus.addMatch(rule)));
    return watch;
  }

  private entry(path: string): Tracked {
    let t = this.tracked.get(path);
    if (!t) {
      const id = jobIdOfPath(path) ?? 0;
      t = { view: emptyJob(path, id), removed: null, stale: false };
      this.tracked.set(path, t);
      if (this.tracked.size > MAX_TRACKED) {
        const oldest = this.tracked.keys().next().value;
        if (oldest !== undefined) this.tracked.delete(oldest);
      }
    }
    return t;
  }

  private onSignal(msg: Message): void {
    try {
      const body: unknown[] = Array.isArray(msg.body) ? msg.body : [];
      if (msg.interface === PROPERTIES_INTERFACE && msg.member === 'PropertiesChanged') {
        if (jobIdOfPath(msg.path) === null || body[0] !== JOB_INTERFACE) return;
        const t = this.entry(msg.path);
        t.view = applyJobProperties(t.view, body[1] ?? {});
        if (Array.isArray(body[2]) && body[2].length > 0) t.stale = true;
      } else if (
        msg.interface === MANAGER_INTERFACE &&
        msg.member === 'JobRemoved' &&
        msg.path === MANAGER_PATH
      ) {
        const [path, result] = body;
        if (isString(path) && isString(result) && jobIdOfPath(path) !== null)
          this.entry(path).removed = result;
      } else if (msg.member === 'NameOwnerChanged' && body[0] === BUS_NAME && body[2] === '') {
        this.daemonGone = true;
      } else {
        return;
      }
    } catch (err) {
      this.failure = err;
    }
    this.wake?.();
  }

  /** Waits for the next signal (or the loss of the bus). */
  private nextSignal(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const offLost = this.bus.onLost((err) => {
        this.wake = null;
        reject(err);
      });
      this.wake = () => {
        this.wake = null;
        offLost();
        resolve();
      };
    });
  }

  private ended(t: Tracked): boolean {
    return t.removed !== null || isFinal(t.view.state);
  }

  /** Reads the job's properties; false when it has ended and its object is gone (pruned). */
  private async read(t: Tracked, path: string): Promise<boolean> {
    try {
      await this.bus.getAllInOrder(path, JOB_INTERFACE, (props) => {
        t.view = applyJobProperties(t.view, props);
        t.stale = false;
      });
      return true;
    } catch (err) {
      // A finished job may be pruned (the daemon keeps the last few): then its JobRemoved says how it ended.
      if (this.ended(t) && err instanceof CliError && err.code === ExitCode.Failed) return false;
      if (err instanceof CliError && err.code === ExitCode.Failed) {
        throw new CliError(ExitCode.Failed, `job ${path} cannot be read: ${err.message}`);
      }
      throw err;
    }
  }

  /**
   * Follows the job at `path` until it ends; `onView` sees every new view while it runs. Resolves with
   * the job as it ended (read once more after the end, so every list is complete).
   */
  async follow(path: string, onView: (view: JobView) => void): Promise<JobView> {
    const t = this.entry(path);
    await this.read(t, path);
    let shown: JobView | null = null;
    for (;;) {
      if (this.failure !== null) throw this.failure;
      if (t.view !== shown && !this.ended(t)) {
        shown = t.view;
        onView(t.view);
      }
      if (this.ended(t)) break;
      if (this.daemonGone) {
        throw new CliError(
          ExitCode.Unreachable,
          `bound-imaged left the bus while job ${t.view.id} was running`,
        );
      }
      if (t.stale) await this.read(t, path);
      else await this.nextSignal();
    }
    const readable = await this.read(t, path);
    if (!readable || !isFinal(t.view.state)) {
      // Pruned, or JobRemoved seen while the object still shows the past: the signal has the last word.
      const state = t.removed ?? t.view.state;
      t.view = { ...t.view, state, phase: 'done' };
    }
    return t.view;
  }

  close(): void {
    this.listener?.();
    this.listener = null;
    this.wake = null;
  }
}
