// The org.bootc.BoundImages object at /org/bootc/BoundImages: read-only properties from the daemon's
// model and the reconciler, PropertiesChanged for the ones whose value moved, and JobRemoved.
import dbus from 'dbus-next';
import { isDeepStrictEqual } from 'node:util';
import type { Reconciler } from '../reconcile/reconciler.js';
import { MANAGER_INTERFACE, MANAGER_PATH, MANAGER_SPEC, jobPath } from './contract.js';
import { configureProperties, emitChanged } from './interface-config.js';

/** What the manager object shows that the reconciler does not know. */
export interface ManagerView {
  readonly lastResult: string;
  /** µs since the epoch, 0 when never. */
  readonly lastReconcileTime: number;
  readonly roots: readonly string[];
  readonly storePath: string;
  readonly version: string;
}

export class ManagerObject extends dbus.interface.Interface {
  private sent = new Map<string, unknown>();

  constructor(
    private readonly view: ManagerView,
    private readonly reconciler: Reconciler,
  ) {
    super(MANAGER_INTERFACE);
    this.sent = this.values();
  }

  private values(): Map<string, unknown> {
    const self = this as unknown as Record<string, unknown>;
    return new Map(MANAGER_SPEC.properties.map((p) => [p.name, self[p.name]]));
  }

  /** Sends PropertiesChanged for every property whose value differs from the last one sent. */
  refresh(): void {
    const now = this.values();
    const moved = [...now.keys()].filter((k) => !isDeepStrictEqual(now.get(k), this.sent.get(k)));
    this.sent = now;
    emitChanged(this, moved);
  }

  get State(): string {
    return this.reconciler.busy ? 'reconciling' : 'idle';
  }
  get LastResult(): string {
    return this.view.lastResult;
  }
  get LastReconcileTime(): number {
    return this.view.lastReconcileTime;
  }
  get Roots(): string[] {
    return [...this.view.roots];
  }
  get StorePath(): string {
    return this.view.storePath;
  }
  get Version(): string {
    return this.view.version;
  }
  get CurrentJob(): string {
    const running = this.reconciler.running;
    return running ? jobPath(running.id) : '/';
  }
}

configureProperties(ManagerObject, MANAGER_SPEC);

/** JobRemoved(o job, s result) from the manager object. */
export function jobRemovedSignal(id: number, result: string): dbus.Message {
  return dbus.Message.newSignal(MANAGER_PATH, MANAGER_INTERFACE, 'JobRemoved', 'os', [jobPath(id), result]);
}
