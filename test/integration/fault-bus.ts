// The daemon's side of the fault suite (test/integration/fault-*.test.ts): a
// job's properties in one GetAll through dbus-next, waiting for a job's end, and whether the daemon
// still owns its name and answers.
import dbus from 'dbus-next';
import { PROPERTIES_INTERFACE, type JobProperties } from '../../src/contract/index.js';
import type { PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { waitUntil } from '../../scripts/harness/proc.js';
import {
  BUS_NAME,
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  busctl,
  nameHasOwner,
  rawCall,
} from './daemon-harness.js';

/** The job properties the fault suite reads, typed by the contract (src/contract/). */
export type JobView = Pick<
  JobProperties,
  'State' | 'Phase' | 'Result' | 'Progress' | 'Pulled' | 'Removed' | 'Errors' | 'GcSkipped'
>;

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

/** Every property of a job, read in one GetAll through a dbus-next connection. */
export async function jobView(client: dbus.MessageBus, path: string): Promise<JobView> {
  const reply = await rawCall(client, path, PROPERTIES_INTERFACE, 'GetAll', 's', [JOB_IFACE]);
  if (reply.type === dbus.MessageType.ERROR) {
    throw new Error(`GetAll ${path}: ${reply.errorName ?? ''} ${JSON.stringify(reply.body)}`);
  }
  const all = reply.body[0] as Record<string, dbus.Variant>;
  const v = (k: string): unknown => all[k]?.value;
  return {
    State: String(v('State')),
    Phase: String(v('Phase')),
    Result: String(v('Result')),
    Progress: Number(v('Progress')),
    Pulled: asStrings(v('Pulled')),
    Removed: asStrings(v('Removed')),
    Errors: (Array.isArray(v('Errors')) ? (v('Errors') as unknown[][]) : []).map(
      (e) => [String(e[0]), String(e[1])] as [string, string],
    ),
    GcSkipped: String(v('GcSkipped')),
  };
}

/** Polls a job until it is no longer running; returns its final view. */
export async function jobEnd(client: dbus.MessageBus, path: string, timeoutMs = 120_000): Promise<JobView> {
  let view: JobView | undefined;
  await waitUntil(`${path} to finish`, async () => (view = await jobView(client, path)).State !== 'running', {
    timeoutMs,
    intervalMs: 100,
  });
  if (!view) throw new Error(`${path}: no view`);
  return view;
}

export interface Liveness {
  /** The daemon owns org.bootc.BoundImages. */
  owner: boolean;
  /** The manager's State property, as busctl prints it (empty when the read failed). */
  state: string;
  /**
   * ListBoundImages: `ok` (every state known), `unknown: DETAIL` (the daemon answered, but could not
   * list the store: the rows' state is `unknown`), or the D-Bus error busctl printed.
   */
  list: string;
}

/** Whether the daemon owns its name and answers: a property read and ListBoundImages. */
export async function liveness(bus: PrivateBus): Promise<Liveness> {
  const owner = await nameHasOwner(bus);
  const state = await busctl(bus, ['get-property', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'State']);
  const list = await busctl(bus, [
    '--json=short',
    'call',
    BUS_NAME,
    MANAGER_PATH,
    MANAGER_IFACE,
    'ListBoundImages',
  ]);
  let listed = list.stderr.trim();
  if (list.code === 0) {
    const [rows] = (JSON.parse(list.stdout) as { data: [string[][]] }).data;
    const unknown = rows.find((r) => r[2] === 'unknown');
    listed = unknown ? `unknown: ${unknown[3]}` : 'ok';
  }
  return { owner, state: state.code === 0 ? state.stdout.trim() : '', list: listed };
}

/** The daemon owns its name, is idle and answers ListBoundImages with every state known. */
export async function daemonAnswers(bus: PrivateBus): Promise<boolean> {
  const l = await liveness(bus);
  return l.owner && l.state === 's "idle"' && l.list === 'ok';
}
