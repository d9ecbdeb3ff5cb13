// The org.bootc.BoundImages object at /org/bootc/BoundImages: its properties are a table over the
// daemon's model and the reconciler (MANAGER_PROPERTIES, one entry per property of the contract),
// PropertiesChanged for the ones whose value moved, and JobRemoved.
import dbus from 'dbus-next';
import { isDeepStrictEqual } from 'node:util';
import { MANAGER_INTERFACE, MANAGER_PATH, MANAGER_SPEC, jobPath } from '../contract/index.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { StagedStatus } from '../staged/staged-guard.js';
import { emitChanged, serveProperties, type PropertyTable } from './interface-config.js';
import { stagedProperty } from './staged-property.js';

/** What the manager object shows that the reconciler does not know. */
export interface ManagerView {
  readonly lastResult: string;
  /** µs since the epoch, 0 when never. */
  readonly lastReconcileTime: number;
  readonly roots: readonly string[];
  readonly storePath: string;
  readonly version: string;
  /** What the staged-deployment guard knows (staged/staged-guard.ts). */
  readonly staged: StagedStatus;
}

interface ManagerSource {
  readonly view: ManagerView;
  readonly reconciler: Reconciler;
}

/** Every manager property; all are re-read by refresh(), so none names fields. */
export const MANAGER_PROPERTIES: PropertyTable<typeof MANAGER_SPEC, ManagerSource> = {
  State: { get: (m) => (m.reconciler.busy ? 'reconciling' : 'idle') },
  LastResult: { get: (m) => m.view.lastResult },
  LastReconcileTime: { get: (m) => m.view.lastReconcileTime },
  Roots: { get: (m) => [...m.view.roots] },
  StorePath: { get: (m) => m.view.storePath },
  Version: { get: (m) => m.view.version },
  StagedDeployment: { get: (m) => stagedProperty(m.view.staged) },
  CurrentJob: {
    get: (m) => {
      const running = m.reconciler.running;
      return running ? jobPath(running.id) : '/';
    },
  },
};

export class ManagerObject extends dbus.interface.Interface {
  readonly source: ManagerSource;
  private sent = new Map<string, unknown>();

  constructor(view: ManagerView, reconciler: Reconciler) {
    super(MANAGER_INTERFACE);
    this.source = { view, reconciler };
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
}

serveProperties(ManagerObject, MANAGER_SPEC, MANAGER_PROPERTIES, (o) => o.source);

/** JobRemoved(o job, s result) from the manager object. */
export function jobRemovedSignal(id: number, result: string): dbus.Message {
  return dbus.Message.newSignal(MANAGER_PATH, MANAGER_INTERFACE, 'JobRemoved', 'os', [jobPath(id), result]);
}
