// The org.bootc.BoundImages service: connects to the system bus (connectBus()),
// exports the manager object, exports and unexports one object per job as the reconciler creates and
// prunes them, mirrors their changes as PropertiesChanged and JobRemoved, and owns the bus name —
// last, so no caller ever sees the name before the objects behind it.
import dbus from 'dbus-next';
import type { InventoryRow } from '../reconcile/inventory.js';
import type { Job, ReconcileOptions } from '../reconcile/job.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { SharedResultBusyError } from '../reconcile/shared-result.js';
import { connectBus, type BusConnection } from '../contract/connect-bus.js';
import { BUS_NAME, MANAGER_PATH, jobPath } from '../contract/index.js';
import { messageOf } from '../errors.js';
import { DBusErrorName, ServiceError } from './errors.js';
import { JobObject } from './job-object.js';
import { ManagerObject, jobRemovedSignal, type ManagerView } from './manager-object.js';
import { installMethodHandler, type InventoryTuple, type RootInventoryTuple } from './method-handler.js';

/** The daemon's side of the service: what the manager shows and the two actions it takes. */
export interface ServiceModel extends ManagerView {
  /** Starts or joins a reconcile (remembering the caller's root is the daemon's business). */
  upgrade(options: ReconcileOptions, uid: number): Job;
  listBoundImages(): Promise<InventoryRow[]>;
}

/** Journal hooks for what happens at the bus boundary. */
export interface ServiceEvents {
  denied?(member: string, sender: string, uid: number | null, reason: string): void;
  authorized?(member: string, sender: string, uid: number, action: string): void;
  /** A method call is being answered; the returned function runs once its reply is sent. */
  callStarted?(): () => void;
  cancelled?(jobId: number, uid: number): void;
  /** The bus connection broke after start: the daemon cannot serve any more. */
  busLost?(err: Error): void;
}

export interface ServiceOptions {
  reconciler: Reconciler;
  model: ServiceModel;
  events?: ServiceEvents;
  /** Defaults to $DBUS_SYSTEM_BUS_ADDRESS, else the standard system bus socket. */
  address?: string;
}

/** Starting failed: the message says why and what to check. */
export class ServiceStartError extends Error {
  override name = 'ServiceStartError';
}

async function ownName(bus: dbus.MessageBus): Promise<void> {
  let reply: number;
  try {
    reply = await bus.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  } catch (err) {
    throw new ServiceStartError(
      `the bus refused to let this process own ${BUS_NAME} (${messageOf(err)}); ` +
        `check the bus policy (dbus/org.bootc.BoundImages.conf) and that the daemon runs as root`,
    );
  }
  if (reply === dbus.RequestNameReply.PRIMARY_OWNER || reply === dbus.RequestNameReply.ALREADY_OWNER) return;
  const owner = await bus
    .call(
      new dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'GetNameOwner',
        signature: 's',
        body: [BUS_NAME],
      }),
    )
    .then((m) => String(m?.body?.[0] ?? 'another connection'))
    .catch(() => 'another connection');
  throw new ServiceStartError(`${BUS_NAME} is already owned by ${owner}: is another bound-imaged running?`);
}

function tuples(rows: readonly InventoryRow[]): InventoryTuple[] {
  return rows.map((r) => [r.reference, r.sourceFile, r.state, r.detail]);
}

function rootTuples(rows: readonly InventoryRow[]): RootInventoryTuple[] {
  return rows.map((r) => [r.root, r.reference, r.sourceFile, r.state, r.detail]);
}

export class BoundImagesService {
  private readonly jobs = new Map<number, JobObject>();
  private readonly manager: ManagerObject;
  private readonly detach: Array<() => void> = [];
  private stopped = false;

  readonly bus: dbus.MessageBus;
  readonly address: string;

  private constructor(
    private readonly connection: BusConnection,
    private readonly opts: ServiceOptions,
  ) {
    this.bus = connection.bus;
    this.address = connection.address;
    this.manager = new ManagerObject(opts.model, opts.reconciler);
  }

  /** Connects, exports the objects, installs the method handler, then owns the name. */
  static async start(opts: ServiceOptions): Promise<BoundImagesService> {
    let connection: BusConnection;
    try {
      connection = await connectBus(opts.address === undefined ? {} : { address: opts.address });
    } catch (err) {
      throw new ServiceStartError(messageOf(err));
    }
    const service = new BoundImagesService(connection, opts);
    try {
      service.wire();
      await ownName(service.bus);
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  private wire(): void {
    const { reconciler, model, events } = this.opts;
    this.bus.export(MANAGER_PATH, this.manager);
    for (const job of reconciler.list()) this.exportJob(job);

    this.detach.push(
      installMethodHandler(this.bus, {
        upgrade: (options, uid) => jobPath(model.upgrade(options, uid).id),
        listBoundImages: async () => tuples(await this.inventory()),
        listBoundImagesByRoot: async () => rootTuples(await this.inventory()),
        jobState: (id) => this.jobs.get(id)?.job.state,
        cancel: (id, uid) => {
          reconciler.cancel(id, uid);
          events?.cancelled?.(id, uid);
        },
        hasJobs: () => this.jobs.size > 0,
        ...(events?.denied ? { denied: events.denied } : {}),
        ...(events?.authorized ? { authorized: events.authorized } : {}),
        ...(events?.callStarted ? { callStarted: events.callStarted } : {}),
      }),
    );

    const onAdded = (job: Job): void => {
      this.exportJob(job);
      this.manager.refresh();
    };
    const onFinished = (job: Job): void => {
      this.jobs.get(job.id)?.flush();
      this.send(jobRemovedSignal(job.id, job.state));
      this.manager.refresh();
    };
    const onPruned = (job: Job): void => this.unexportJob(job.id);
    reconciler.on('added', onAdded);
    reconciler.on('finished', onFinished);
    reconciler.on('pruned', onPruned);
    this.detach.push(() => {
      reconciler.off('added', onAdded);
      reconciler.off('finished', onFinished);
      reconciler.off('pruned', onPruned);
    });

    this.detach.push(this.connection.onLost((err) => this.lost(err)));
  }

  /** The inventory of both List methods; a failure is the caller's Failed error. */
  private async inventory(): Promise<InventoryRow[]> {
    try {
      return await this.opts.model.listBoundImages();
    } catch (err) {
      if (err instanceof SharedResultBusyError) {
        throw new ServiceError(DBusErrorName.LimitsExceeded, `ListBoundImages: ${err.message}`);
      }
      throw new ServiceError(DBusErrorName.Failed, `cannot list the bound images: ${messageOf(err)}`);
    }
  }

  private lost(err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.events?.busLost?.(err);
  }

  private send(msg: dbus.Message): void {
    try {
      this.bus.send(msg);
    } catch {
      // connection gone; reported through busLost
    }
  }

  private exportJob(job: Job): void {
    if (this.jobs.has(job.id)) return;
    // The manager's State and CurrentJob move when a waiting job starts running.
    const obj = new JobObject(job, (fields) => {
      if (fields.includes('phase')) this.manager.refresh();
    });
    this.jobs.set(job.id, obj);
    this.bus.export(obj.path, obj);
  }

  private unexportJob(id: number): void {
    const obj = this.jobs.get(id);
    if (!obj) return;
    obj.dispose();
    this.jobs.delete(id);
    this.bus.unexport(obj.path, obj);
  }

  /** Re-reads the model (after the daemon changed LastResult, Roots, …) and announces what moved. */
  refreshManager(): void {
    if (!this.stopped) this.manager.refresh();
  }

  /**
   * Gives up the bus name but keeps the connection: the calls the bus routed here before can still
   * be answered, and a new call activates a new process. The reply comes after those calls (the bus
   * keeps order), so once it resolves, no call for the name is still on its way here.
   */
  async releaseName(): Promise<void> {
    await Promise.race([
      this.bus.releaseName(BUS_NAME).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
  }

  /** Releases the name and disconnects; safe to call twice. */
  async stop(): Promise<void> {
    const wasStopped = this.stopped;
    this.stopped = true;
    for (const d of this.detach.splice(0)) d();
    for (const id of [...this.jobs.keys()]) this.unexportJob(id);
    if (!wasStopped) {
      await Promise.race([
        this.bus.releaseName(BUS_NAME).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
    }
    this.connection.close();
  }
}
