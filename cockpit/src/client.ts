// The page's only connection: cockpit.dbus() to org.bootc.BoundImages on the system bus (through the
// Cockpit bridge; no server of its own). Reads the manager's properties, follows PropertiesChanged of
// the manager and of the job being watched, and JobRemoved; lists the bound images; calls Upgrade and
// Cancel. Subscriptions are made before the reads they guard, so no change between them is lost.
import {
  decodeJob,
  decodeManager,
  decodeRows,
  type BoundImageRow,
  type JobView,
  type ManagerView,
} from './decode.js';

export const BUS_NAME = 'org.bootc.BoundImages';
export const MANAGER_PATH = '/org/bootc/BoundImages';
export const MANAGER_IFACE = 'org.bootc.BoundImages';
export const JOB_IFACE = 'org.bootc.BoundImages.Job';
const PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties';
/** Answers to ListBoundImagesByRoot from a daemon (or a bus policy) older than the page. */
const NOT_OFFERED = ['org.freedesktop.DBus.Error.UnknownMethod', 'org.freedesktop.DBus.Error.AccessDenied'];

export interface ClientEvents {
  manager(view: ManagerView): void;
  job(view: JobView): void;
  jobRemoved(path: string, result: string): void;
  /**
   * The daemon's name got an owner: `first` for the first one this page sees (the service was
   * there, or came up), else a new process after an earlier one (a restart, or a start on demand
   * after an idle exit) — nothing cached from the old one holds (a job path may name another job).
   */
  ownerChanged(first: boolean): void;
}

/** {name: {t, v}} as cockpit.js hands over a{sv}, to {name: v}. */
export function unwrapVariants(dict: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!dict || typeof dict !== 'object') return out;
  for (const [k, x] of Object.entries(dict as Record<string, unknown>))
    out[k] = x && typeof x === 'object' && 'v' in x ? (x as { v: unknown }).v : x;
  return out;
}

export class BoundImagesClient {
  private bus: cockpit.DBusClient;
  /** Whether `bus` was closed by the bridge (the name was absent and not activatable): reopen it. */
  private closed = false;
  private manager: Record<string, unknown> = {};
  private jobPath: string | null = null;
  private job: Record<string, unknown> = {};
  /** The last owner of the name seen; null before the first. */
  private lastOwner: string | null = null;
  private byRoot = true;

  constructor(private readonly events: ClientEvents) {
    this.bus = this.open();
    // A channel the bridge closed sees no owner any more; the bus itself says when the name appears.
    cockpit.dbus('org.freedesktop.DBus', { bus: 'system' }).subscribe(
      {
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'NameOwnerChanged',
        arg0: BUS_NAME,
      },
      (_p, _i, _s, args) => {
        if (this.closed && typeof args[2] === 'string' && args[2] !== '') this.events.ownerChanged(true);
      },
    );
  }

  /** The channel to the daemon's name, opened again when the bridge closed it. */
  private get channel(): cockpit.DBusClient {
    if (this.closed) {
      this.closed = false;
      this.bus = this.open();
    }
    return this.bus;
  }

  private open(): cockpit.DBusClient {
    // superuser 'try': in a session with administrative access the calls go out as root.
    const bus = cockpit.dbus(BUS_NAME, { bus: 'system', superuser: 'try' });
    bus.subscribe(
      { path_namespace: MANAGER_PATH, interface: PROPERTIES_IFACE, member: 'PropertiesChanged' },
      (path, _iface, _signal, args) => this.propertiesChanged(path, args),
    );
    bus.subscribe(
      { path: MANAGER_PATH, interface: MANAGER_IFACE, member: 'JobRemoved' },
      (_p, _i, _s, args) => {
        const [job, result] = args;
        if (typeof job === 'string') this.events.jobRemoved(job, typeof result === 'string' ? result : '');
      },
    );
    bus.addEventListener('owner', (_event, owner) => {
      if (!owner) return;
      const before = this.lastOwner;
      this.lastOwner = owner;
      if (before === owner) return;
      if (before !== null) {
        this.manager = {};
        this.jobPath = null;
        this.job = {};
      }
      this.events.ownerChanged(before === null);
    });
    bus.addEventListener('close', () => {
      if (this.bus === bus) this.closed = true;
    });
    return bus;
  }

  /** Reads the manager's properties (this starts the daemon when it is D-Bus activated). */
  async readManager(): Promise<ManagerView> {
    const [all] = await this.channel.call(MANAGER_PATH, PROPERTIES_IFACE, 'GetAll', [MANAGER_IFACE], {
      type: 's',
    });
    this.manager = { ...this.manager, ...unwrapVariants(all) };
    const view = decodeManager(this.manager);
    this.events.manager(view);
    return view;
  }

  /** Every bound entry with its deployment root (or without, from a daemon that cannot say). */
  async listImages(): Promise<BoundImageRow[]> {
    if (this.byRoot) {
      try {
        const [rows] = await this.channel.call(MANAGER_PATH, MANAGER_IFACE, 'ListBoundImagesByRoot', []);
        return decodeRows(rows, true);
      } catch (error) {
        if (!NOT_OFFERED.includes(String((error as { name?: unknown }).name))) throw error;
        this.byRoot = false;
      }
    }
    const [rows] = await this.channel.call(MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages', []);
    return decodeRows(rows, false);
  }

  /** Upgrade with the daemon's defaults; returns the job path (a running one, by single flight). */
  async upgrade(): Promise<string> {
    const [job] = await this.channel.call(MANAGER_PATH, MANAGER_IFACE, 'Upgrade', [{}], { type: 'a{sv}' });
    if (typeof job !== 'string') throw new Error(`Upgrade answered ${JSON.stringify(job)}`);
    return job;
  }

  async cancel(path: string): Promise<void> {
    await this.channel.call(path, JOB_IFACE, 'Cancel', []);
  }

  /** Follows one job: its PropertiesChanged from now on, after one GetAll of it. */
  async follow(path: string): Promise<void> {
    if (this.jobPath === path) return;
    this.jobPath = path;
    this.job = {};
    try {
      const [all] = await this.channel.call(path, PROPERTIES_IFACE, 'GetAll', [JOB_IFACE], { type: 's' });
      if (this.jobPath !== path) return;
      // A change that arrived while GetAll was under way is newer than GetAll's answer.
      this.job = { ...unwrapVariants(all), ...this.job };
      this.events.job(decodeJob(path, this.job));
    } catch (error) {
      // The job was unexported (it ended long ago): nothing left to follow.
      if (this.jobPath === path) this.jobPath = null;
      throw error;
    }
  }

  get followedJob(): string | null {
    return this.jobPath;
  }

  private propertiesChanged(path: string, args: unknown[]): void {
    const [iface, changed] = args;
    const values = unwrapVariants(changed);
    if (path === MANAGER_PATH && iface === MANAGER_IFACE) {
      this.manager = { ...this.manager, ...values };
      this.events.manager(decodeManager(this.manager));
    } else if (path === this.jobPath && iface === JOB_IFACE) {
      this.job = { ...this.job, ...values };
      // Before GetAll's answer the job is incomplete: it is shown once GetAll has merged in.
      if ('Id' in this.job) this.events.job(decodeJob(path, this.job));
    }
  }
}
